"""The `gridmap basemap` commands: bring offline basemap tiles (MBTiles) into the instance folder."""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.basemaps import import_mbtiles
from gridmap.settings import load_settings


@click.group("basemap")
def basemap() -> None:
    """离线底图：导入 MBTiles 瓦片文件。"""


@basemap.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_command(file: Path) -> None:
    """检查 FILE（栅格 MBTiles）并复制到实例目录，供 GRIDMAP_BASEMAP=mbtiles 使用。"""
    settings = load_settings()
    info = import_mbtiles(file, instance_dir=settings.instance_dir)
    bounds = "、".join(f"{v:.5f}" for v in info.bounds) if info.bounds else "未注明"
    click.echo(
        f"已导入离线底图 {info.name}：{info.tiles} 张 {info.format.upper()} 瓦片，"
        f"缩放级别 {info.min_zoom}–{info.max_zoom}，范围 {bounds}。\n"
        f"文件：{info.path}\n"
        "请设置 GRIDMAP_BASEMAP=mbtiles（环境变量或实例目录的 gridmap.toml），然后重启服务。"
    )


commands = [basemap]
