"""The `gridmap import` command: one file of any common format into one layer or table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gridmap.io.columns import KINDS


class _ProgressBars:
    """A click progress bar per stage (reading, checking, writing) on stderr."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._bar: Any = None  # a click progress bar while a stage with a known total runs
        self._done = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._done = 0
            if total:
                self._bar = click.progressbar(length=total, label=stage, file=sys.stderr, show_pos=True)
                self._bar.__enter__()
            else:
                click.echo(f"{stage}……", err=True)
        if self._bar is not None and done > self._done:
            self._bar.update(done - self._done)
            self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "kind",
    required=True,
    type=click.Choice(KINDS),
    help="文件内容：towns 镇/街道、grids 网格、segments 路段、points 考察点位、"
    "communities 小区、rivers 河流、units 责任单位、leaders 县级领导，"
    "subgrids 下级网格（村/组/子网格）、shops 商户、frontages 门前五包范围、buildings 楼栋，"
    "以及 grid_roles、grid_leaders、town_leaders、household_heads、grid_people、inspectors 责任表。",
)
@click.option("--layer", default=None, help="GeoPackage/KML 图层、ZIP 中的 Shapefile 或 XLSX 工作表名。")
@click.option(
    "--crs",
    default=None,
    help="坐标系（覆盖文件声明）：EPSG:4490、EPSG:4545 等，或 gcj02（高德/腾讯）、bd09（百度）。",
)
@click.option("--encoding", default=None, help="文本编码（覆盖自动判断）：UTF-8、GBK、GB18030 等。")
@click.option(
    "--columns",
    "columns",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="字段映射文件：每行“模型字段 = 文件列名”（如“网格名称 = 名称”），或 JSON 对象。",
)
@click.option("--xy", default=None, help="从这两列取点位坐标：经度列,纬度列（如 --xy Lng_WGS84,Lat_WGS84）。")
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入数据库。")
@click.option(
    "--replace",
    "mode",
    flag_value="replace",
    default=True,
    help="替换该类数据（默认）：导入后只剩本文件的内容。",
)
@click.option("--merge", "mode", flag_value="merge", help="合并：编码相同的记录被替换，其余保留。")
@click.option(
    "--tolerance",
    default=None,
    type=float,
    help="网格缝隙/重叠的面积容差（平方米）。  [默认：设置 GRIDMAP_COVERAGE_TOLERANCE_M2]",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出报告。")
def import_command(
    file: Path,
    kind: str,
    layer: str | None,
    crs: str | None,
    encoding: str | None,
    columns: Path | None,
    xy: str | None,
    dry_run: bool,
    mode: str,
    tolerance: float | None,
    as_json: bool,
) -> None:
    """导入一个文件（Shapefile 或其 ZIP、GeoPackage、GeoJSON、KML/KMZ、CSV、XLSX）为一类数据。

    报告列出所用编码和坐标系及其依据，逐条列出问题（要素/行号与处理办法）。有错误时不导入、
    退出码非 0，数据库保持原样；导入在一个事务中完成。
    """
    from gridmap.cliopen import open_store
    from gridmap.errors import InvalidInput
    from gridmap.importer import run_import

    pair = None
    if xy:
        parts = [p.strip() for p in xy.replace("，", ",").split(",")]
        if len(parts) != 2 or not all(parts):
            msg = f"--xy 应写成“经度列,纬度列”，收到：{xy!r}"
            raise InvalidInput(msg)
        pair = (parts[0], parts[1])
    store = open_store()
    bars = _ProgressBars()
    try:
        report = run_import(
            store,
            file,
            kind=kind,
            layer=layer,
            crs=crs,
            encoding=encoding,
            columns=columns,
            xy=pair,
            mode=mode,
            dry_run=dry_run,
            tolerance_m2=tolerance,
            progress=bars,
        )
    finally:
        bars.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


commands = [import_command]
