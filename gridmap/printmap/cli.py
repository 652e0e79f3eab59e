"""Commands `gridmap export-map`, `gridmap atlas` and `gridmap export-data`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gridmap.cliopen import open_reference
from gridmap.errors import InvalidInput

_KIND_OPTIONS = (
    ("grid", "--grid"),
    ("subgrid", "--subgrid"),
    ("town", "--town"),
    ("unit", "--unit"),
    ("leader", "--leader"),
)


def _write(path: Path, data: bytes) -> None:
    """Write a file whole or not at all."""
    if path.exists() and path.is_dir():
        msg = f"输出路径 {path} 是一个文件夹，请给出文件名"
        raise InvalidInput(msg)
    if not path.parent.exists():
        msg = f"输出文件夹 {path.parent} 不存在，请先创建"
        raise InvalidInput(msg)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _font_notice() -> None:
    from gridmap.printmap import fonts

    if not fonts.is_ready():
        click.echo("首次出图：正在准备中文字体（约需半分钟，只需一次）……", err=True)


def _format_from(output: Path | None, fmt: str | None, default: str) -> str:
    if fmt:
        return fmt
    if output is not None and output.suffix:
        return output.suffix.lstrip(".").lower()
    return default


@click.command("export-map")
@click.option("--grid", "grid", metavar="网格编码", help="网格责任图。")
@click.option("--subgrid", "subgrid", metavar="网格编码", help="村网格、组网格或子网格责任图。")
@click.option("--town", "town", metavar="镇代码", help="镇（街道）网格责任图。")
@click.option("--unit", "unit", metavar="单位代码", help="责任单位“我的责任区”图。")
@click.option("--leader", "leader", metavar="领导编号", help="包片县级领导“我的网格”图。")
@click.option("--county", is_flag=True, help="全县网格责任总图。")
@click.option("--format", "fmt", metavar="png|pdf|svg", help="图片格式（默认取输出文件扩展名，否则 png）。")
@click.option("--paper", default="A4", show_default=True, metavar="A4|A3", help="纸张大小。")
@click.option("--landscape", is_flag=True, help="横向（默认纵向）。")
@click.option("--dpi", default="300", show_default=True, metavar="72–600", help="分辨率（PNG 写入文件）。")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="输出文件（默认按图名命名，存到当前文件夹）。"
)
def export_map(grid, subgrid, town, unit, leader, county, fmt, paper, landscape, dpi, output) -> None:
    """导出打印用的网格责任图（PNG、PDF、SVG；A4/A3，纵向/横向）。"""
    from gridmap.printmap import export_map as render

    chosen = [
        (kind, code)
        for (kind, _), code in zip(_KIND_OPTIONS, (grid, subgrid, town, unit, leader))
        if code is not None
    ]
    if county:
        chosen.append(("county", None))
    if len(chosen) != 1:
        msg = (
            "请且只请指定一个出图对象：--grid 网格编码、--subgrid 村/组网格或子网格编码、--town 镇代码、"
            "--unit 单位代码、--leader 领导编号 或 --county"
        )
        raise InvalidInput(msg)
    kind, code = chosen[0]
    fmt = _format_from(output, fmt, "png")
    from gridmap.printmap import page_options

    page_options(fmt=fmt, paper=paper, landscape=landscape, dpi=dpi)  # fail before loading data
    cache = open_reference()
    _font_notice()
    rendered = render(cache, kind=kind, code=code, fmt=fmt, paper=paper, landscape=landscape, dpi=dpi)
    path = output or Path(rendered.filename)
    _write(path, rendered.data)
    click.echo(f"已导出“{rendered.title}”：{path}（{len(rendered.data) / 1024:.0f} KB）")


@click.command("atlas")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("网格责任图集.pdf"),
    show_default=True,
    help="输出文件：.pdf（多页 PDF）或 .zip（每页一张 PNG）。",
)
@click.option("--format", "fmt", metavar="pdf|zip", help="图集格式（默认取输出文件扩展名）。")
@click.option("--paper", default="A4", show_default=True, metavar="A4|A3", help="纸张大小。")
@click.option("--landscape", is_flag=True, help="横向（默认纵向）。")
@click.option("--dpi", default="300", show_default=True, metavar="72–600", help="PNG 页面的分辨率。")
@click.option("--workers", default="2", show_default=True, metavar="1–16", help="并行出图的进程数。")
@click.option("--levels", is_flag=True, help="另为每个村网格、组网格和子网格各出一页（排在网格之后）。")
def atlas(output, fmt, paper, landscape, dpi, workers, levels) -> None:
    """生成全县网格责任图集：全县总图加每个网格一页（--levels 另加各村、组网格和子网格）。"""
    from gridmap.printmap import page_options, source_note
    from gridmap.printmap.atlas import atlas_pages, render_atlas

    fmt = _format_from(output, fmt, "pdf")
    if not str(workers).isdigit() or not 1 <= int(workers) <= 16:
        msg = f"并行进程数 --workers 应为 1–16 的整数，收到“{workers}”"
        raise InvalidInput(msg)
    workers = int(workers)
    if fmt not in ("pdf", "zip"):
        msg = f"图集格式“{fmt}”不支持：输出文件请以 .pdf（多页 PDF）或 .zip（PNG 压缩包）结尾"
        raise InvalidInput(msg)
    page_options(fmt="pdf" if fmt == "pdf" else "png", paper=paper, landscape=landscape, dpi=dpi)
    cache = open_reference()
    model = cache.model()
    _font_notice()
    from gridmap.printmap import fonts

    fonts.register()  # build the font once here, not in every worker
    total = len(atlas_pages(model, levels=levels))
    with click.progressbar(length=total, label="生成图集", show_pos=True, file=None) as bar:
        state = {"done": 0}

        def progress(done: int, _total: int) -> None:
            bar.update(done - state["done"])
            state["done"] = done

        data = render_atlas(
            model,
            fmt=fmt,
            paper=paper,
            landscape=landscape,
            dpi=dpi,
            workers=workers,
            progress=progress,
            source=source_note(cache.store),
            levels=levels,
        )
    _write(output, data)
    click.echo(f"已生成图集（{total} 页）：{output}（{len(data) / 1024 / 1024:.1f} MB）")


@click.command("export-data")
@click.option("--format", "fmt", required=True, metavar="gpkg|geojson|kml|shp|csv|xlsx", help="导出格式。")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="输出路径：GeoPackage、XLSX 为一个文件（超过 Excel 行数上限的表另存为同名前缀的 CSV）；"
    "GeoJSON、KML、Shapefile、CSV 为一个文件夹（每层一个文件），以 .zip 结尾则输出压缩包。",
)
def export_data(fmt, output) -> None:
    """导出图层和责任表（GeoPackage、GeoJSON、KML、Shapefile、CSV、XLSX）。"""
    from gridmap.dataexport import check_format, write_export

    check_format(fmt)  # fail before loading data
    written = write_export(open_reference().model(), fmt=fmt, path=output)
    click.echo(f"已导出 {output}（{len(written)} 个文件）")


commands = [export_map, atlas, export_data]
