"""A month's notice or 整改通知书 as a file (docx or pdf) with its Chinese and ASCII file names;
the one call of the `gridmap notice` command and the office's download."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from gridmap import clock
from gridmap.errors import InvalidInput
from gridmap.notice import text
from gridmap.notice.assemble import RankingSource, assemble_notice
from gridmap.notice.data import DEFAULT_ISSUER, NoticeData, month_text, parse_month
from gridmap.notice.docx import notice_docx, rectification_docx
from gridmap.notice.evaluated import evaluation_source
from gridmap.notice.pdf import notice_pdf, rectification_pdf
from gridmap.problems.context import ProblemContext

MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
KINDS = {"notice": "网格化管理工作通报", "rectify": "整改通知书"}
_WRITERS: dict[tuple[str, str], Callable[[NoticeData], bytes]] = {
    ("notice", "docx"): notice_docx,
    ("notice", "pdf"): notice_pdf,
    ("rectify", "docx"): rectification_docx,
    ("rectify", "pdf"): rectification_pdf,
}


@dataclass(frozen=True)
class NoticeFile:
    """A written notice: the file's bytes, MIME type, names, and the data it was written from."""

    data: bytes
    mimetype: str
    filename: str  # Chinese, e.g. 2026年11月网格化管理工作通报.docx
    ascii_filename: str  # notice-2026-11.docx, for clients that cannot read a UTF-8 name
    notice: NoticeData


def check_format(value: object) -> str:
    fmt = str(value or "docx").strip().lower().lstrip(".")
    if fmt not in MIMETYPES:
        msg = f"通报格式“{str(value)[:20]}”无效；可选 docx（Word，可编辑）或 pdf"
        raise InvalidInput(msg)
    return fmt


def check_kind(value: object) -> str:
    kind = str(value or "notice").strip().lower()
    if kind not in KINDS:
        msg = f"文书种类“{str(value)[:20]}”无效；可选 notice（月度通报）或 rectify（整改通知书）"
        raise InvalidInput(msg)
    return kind


def previous_month(now: dt.datetime | None = None) -> str:
    """The month before now's (China time), as 2026-11: the month a notice is usually about."""
    today = clock.china(now).date()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _clean(value: object, *, what: str, limit: int) -> str | None:
    # no control characters (they are not allowed in a Word file's XML) and no runs of spaces
    shown = "".join(
        ch for ch in str(value or "") if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    text = " ".join(shown.split())
    if len(text) > limit:
        msg = f"{what}最多 {limit} 个字（现有 {len(text)} 个），请缩短"
        raise InvalidInput(msg)
    return text or None


def gather(
    ctx: ProblemContext,
    *,
    month: object,
    issuer: object = None,
    number: object = None,
    now: dt.datetime | None = None,
    ranking: RankingSource | None = None,
    with_map: bool = True,
) -> NoticeData:
    """The month's NoticeData with checked inputs (month, issuer, number); ranked by
    gridmap.evaluation with the county's scoring scheme unless ``ranking`` says otherwise."""
    year, mon = parse_month(month)
    return assemble_notice(
        ctx,
        month=f"{year:04d}-{mon:02d}",
        issuer=_clean(issuer, what="发文机关", limit=40) or DEFAULT_ISSUER,
        number=_clean(number, what="文号", limit=30),
        now=now,
        ranking=ranking or evaluation_source(),
        with_map=with_map,
    )


def notice_file(
    ctx: ProblemContext,
    *,
    month: object,
    fmt: object = "docx",
    kind: object = "notice",
    issuer: object = None,
    number: object = None,
    now: dt.datetime | None = None,
    ranking: RankingSource | None = None,
    with_map: bool = True,
    unit: object = None,
) -> NoticeFile:
    """Write a month's notice (kind "notice") or its units' 整改通知书 ("rectify") as docx or pdf;
    ``unit`` (a unit code) writes that unit's 整改通知书 alone."""
    checked_fmt, checked_kind = check_format(fmt), check_kind(kind)
    data = gather(
        ctx,
        month=month,
        issuer=issuer,
        number=number,
        now=now,
        ranking=ranking,
        with_map=with_map and checked_kind == "notice",
    )
    stem = "notice" if checked_kind == "notice" else "rectification"
    title = f"{month_text(data.month)}{KINDS[checked_kind]}"
    code = _clean(unit, what="单位代码", limit=64)
    if code is None:
        content = _WRITERS[(checked_kind, checked_fmt)](data)
    else:
        named = _overdue_unit(data, code, kind=checked_kind)
        writer = rectification_docx if checked_fmt == "docx" else rectification_pdf
        content = writer(data, unit_codes=[code])
        title += f"（{named}）"
        stem += "-" + "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in code)
    return NoticeFile(
        data=content,
        mimetype=MIMETYPES[checked_fmt],
        filename=f"{title}.{checked_fmt}",
        ascii_filename=f"{stem}-{data.month}.{checked_fmt}",
        notice=data,
    )


def _overdue_unit(data: NoticeData, code: str, *, kind: str) -> str:
    """The name of the unit with overdue cases whose code this is; InvalidInput otherwise."""
    if kind != "rectify":
        msg = "只有整改通知书（kind=rectify）可以按单位生成；月度通报请不要指定单位"
        raise InvalidInput(msg)
    for unit in data.overdue:
        if unit.unit_code == code:
            return unit.unit_name
    have = "、".join(f"{u.unit_name}（{u.unit_code}）" for u in data.overdue[:10]) or "无"
    msg = f"单位“{code}”没有超期未办结的问题，无需整改通知书；有超期问题的单位：{have}"
    raise InvalidInput(msg)


def notice_contents(
    ctx: ProblemContext,
    *,
    month: object,
    issuer: object = None,
    number: object = None,
    now: dt.datetime | None = None,
    ranking: RankingSource | None = None,
) -> dict:
    """What the month's notice contains, as JSON-ready data (no map drawn, no file written)."""
    data = gather(ctx, month=month, issuer=issuer, number=number, now=now, ranking=ranking, with_map=False)
    out = data.contents()
    out["table"] = {
        "header": text.table_header(data),
        "towns": [text.table_cells(data, r) for r in data.towns],
        "grids": [text.table_cells(data, r) for r in data.grids],
    }
    out["has_map"] = True  # the file draws it; the listing does not spend the time
    out["files"] = {
        f"{kind}.{fmt}": f"{month_text(data.month)}{KINDS[kind]}.{fmt}" for kind in KINDS for fmt in MIMETYPES
    }
    return out
