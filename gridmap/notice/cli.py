"""Command `gridmap notice`: a month's written notice (书面通报) or 整改通知书 as .docx or .pdf."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gridmap.cliopen import open_reference
from gridmap.notice.export import KINDS, MIMETYPES, notice_contents, notice_file, previous_month
from gridmap.problems.context import context_from_settings
from gridmap.settings import load_settings


def _context():
    settings = load_settings()
    reference = open_reference(settings)
    return context_from_settings(reference.store, reference, settings)


@click.command("notice")
@click.option("--month", default=None, help="通报月份（北京时间），如 2026-11；默认上个月。")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="输出文件，如 通报.docx；默认按月份命名，放在当前目录。",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(MIMETYPES)),
    default=None,
    help="docx（Word，可编辑）或 pdf；默认取 --out 的扩展名，否则 docx。",
)
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    default="notice",
    show_default=True,
    help="notice 月度通报；rectify 各责任单位的整改通知书（一个单位一节）。",
)
@click.option(
    "--unit",
    "unit",
    default=None,
    help="只生成这个单位（单位代码）的整改通知书（与 --kind rectify 一起用）。",
)
@click.option("--issuer", default=None, help="发文机关（红头），如“凤县创建全国文明城市工作指挥部办公室”。")
@click.option("--number", default=None, help="文号，默认如〔2026〕11号。")
@click.option("--no-map", is_flag=True, help="不附问题分布图（出图较慢时）。")
@click.option("--json", "as_json", is_flag=True, help="不写文件，以 JSON 列出通报内容。")
def notice(
    month: str | None,
    out: Path | None,
    fmt: str | None,
    kind: str,
    unit: str | None,
    issuer: str | None,
    number: str | None,
    no_map: bool,
    as_json: bool,
) -> None:
    """生成某月的书面通报（排名、流动红旗、典型问题、超期问题、分布图）或整改通知书。"""
    ctx = _context()
    month = month or previous_month()
    if as_json:
        contents = notice_contents(ctx, month=month, issuer=issuer, number=number)
        click.echo(json.dumps(contents, ensure_ascii=False, indent=2))
        return
    if fmt is None:
        suffix = out.suffix.lower().lstrip(".") if out is not None else ""
        fmt = suffix if suffix in MIMETYPES else "docx"
    written = notice_file(
        ctx, month=month, fmt=fmt, kind=kind, issuer=issuer, number=number, with_map=not no_map, unit=unit
    )
    target = out or Path(written.filename)
    try:
        target.write_bytes(written.data)
    except OSError as error:
        msg = f"无法写入 {target}：{error.strerror or error}；请检查目录是否存在、是否有写权限"
        raise click.ClickException(msg) from None
    data = written.notice
    reds = [r.name for r in (*data.towns, *data.grids) if r.flag == "red"]
    click.echo(f"已生成 {target}（{len(written.data) / 1024:.0f} KB）：{data.title}，{data.number}")
    if kind == "notice":
        click.echo(f"  流动红旗：{'、'.join(reds) or '无'}；超期未办结 {data.overdue_total} 件")
    else:
        units = [u for u in data.overdue if unit is None or u.unit_code == unit]
        click.echo(f"  整改通知书 {len(units)} 份（{sum(len(u.cases) for u in units)} 件超期问题）")


commands = [notice]
