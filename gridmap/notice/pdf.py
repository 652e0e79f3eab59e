"""The notice and the units' 整改通知书 as A4 PDF (reportlab), with the CJK font of the print maps
embedded so that every Chinese character is drawn on any reader."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gridmap.notice import text
from gridmap.notice.data import NoticeData, month_text
from gridmap.printmap import fonts

FONT = "GridmapCJK"
RED = colors.HexColor("#E60012")
_lock = threading.Lock()


def register_font() -> str:
    """Register the print maps' CJK TrueType font with reportlab (once); return its name."""
    with _lock:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT, str(fonts.font_path())))
    return FONT


def _style(size: float, *, align: int = 0, indent: bool = False, color=colors.black, leading=None):
    return ParagraphStyle(
        f"s{size}{align}{indent}",
        fontName=FONT,
        fontSize=size,
        leading=leading or size * 1.6,
        alignment=align,
        firstLineIndent=size * 2 if indent else 0,
        textColor=color,
        wordWrap="CJK",
        bulletFontName=FONT,
    )


BODY = 13.0
CELL = 9.0


def _p(content: str, size: float = BODY, **options) -> Paragraph:
    return Paragraph(escape(text.printable(content)), _style(size, **options))


def _header(issuer: str, number: str) -> list[Flowable]:
    return [
        _p(issuer, 22, align=TA_CENTER, color=RED, leading=30),
        Spacer(1, 0.3 * cm),
        _p(number, BODY, align=TA_CENTER),
        HRFlowable(width="100%", thickness=2, color=RED, spaceBefore=2, spaceAfter=12),
    ]


def _heading(index: int, content: str) -> Paragraph:
    return _p(f"{'一二三四五六七八九十'[index]}、{content}", BODY + 1, indent=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, red_rows=(), widths=None) -> Table:
    head = [_p(h, CELL, align=TA_CENTER) for h in header]
    body = [
        [_p(v, CELL, align=TA_CENTER, color=RED if i in red_rows else colors.black) for v in values]
        for i, values in enumerate(rows)
    ]
    table = Table([head, *body], colWidths=widths, repeatRows=1, hAlign="CENTER")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _ranking_widths(data: NoticeData) -> list[float]:
    width = A4[0] - 4.4 * cm
    fixed = [1.0 * cm, 3.2 * cm]
    tail = [1.2 * cm, 1.0 * cm, 1.6 * cm]
    rest = (width - sum(fixed) - sum(tail)) / max(1, len(data.columns))
    return [*fixed, *[rest] * len(data.columns), *tail]


def _image(data: bytes, *, max_width: float, max_height: float) -> Flowable | None:
    try:
        with PILImage.open(io.BytesIO(data)) as probe:
            w, h = probe.size
    except Exception:  # not an image: the caller leaves a note
        return None
    scale = min(max_width / w, max_height / h)
    return Image(io.BytesIO(data), width=w * scale, height=h * scale)


_OVERDUE_WIDTHS = [1.0 * cm, 3.2 * cm, 2.4 * cm, 4.4 * cm, 4.0 * cm, 1.6 * cm]


def _signature(data: NoticeData) -> list[Flowable]:
    return [
        Spacer(1, 0.8 * cm),
        _p(data.issuer, align=TA_RIGHT),
        _p(text.date_text(data.issued_on), align=TA_RIGHT),
    ]


def _build(story: list[Flowable], title: str, author: str) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        topMargin=3.0 * cm,
        bottomMargin=2.5 * cm,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        title=title,
        author=author,
        initialFontName=FONT,  # no unembedded Helvetica in the page resources
    )
    doc.build(story)
    return out.getvalue()


def notice_pdf(data: NoticeData) -> bytes:
    """The month's notice as PDF bytes (A4, the CJK font embedded as a subset)."""
    register_font()
    story: list[Flowable] = [*_header(data.issuer, data.number)]
    story += [_p(data.title, 18, align=TA_CENTER, leading=28), Spacer(1, 0.4 * cm)]
    story += [_p(data.recipients), _p(text.summary(data), indent=True)]
    section = 0
    story.append(_heading(section, "流动红旗评比结果"))
    story += [_p(s, indent=True) for s in text.flag_sentences(data) or ["本月无单位达到流动红旗评比条件。"]]
    for what, rows in (("镇", data.towns), ("网格", data.grids)):
        section += 1
        story.append(_heading(section, f"各{what}排名情况"))
        story.append(_p(text.ranking_sentence(what, rows), indent=True))
        story.append(_p(f"{month_text(data.month)}{what}排名表", BODY, align=TA_CENTER))
        reds = {i for i, r in enumerate(rows) if r.flag == "red"}
        cells = [text.table_cells(data, r) for r in rows]
        story += [_table(text.table_header(data), cells, red_rows=reds, widths=_ranking_widths(data))]
        story.append(Spacer(1, 0.3 * cm))
    if data.method:
        story.append(_p(f"注：{data.method}", 10, indent=True))
    if data.typical:
        section += 1
        story.append(_heading(section, "典型问题"))
        for i, problem in enumerate(data.typical, start=1):
            story.append(_p(text.typical_line(problem, i), indent=True))
            if problem.photo is not None:
                picture = _image(problem.photo, max_width=9 * cm, max_height=7 * cm)
                story.append(picture or _p("（照片无法读取）", align=TA_CENTER))
    if data.overdue:
        section += 1
        story.append(_heading(section, "超期未办结问题"))
        story.append(
            _p(
                f"截至通报时，共有{data.overdue_total}件问题超期未办结，涉及{len(data.overdue)}个责任单位：",
                indent=True,
            )
        )
        for unit in data.overdue:
            story.append(_p(f"{unit.unit_name}（{len(unit.cases)}件）", indent=True))
            listed = text.overdue_rows(unit, limit=text.NOTICE_OVERDUE_ROWS)
            story.append(_table(text.OVERDUE_HEADER, listed, widths=_OVERDUE_WIDTHS))
            more = text.overdue_more(unit)
            if more:
                story.append(_p(more, 10, indent=True))
    if data.map_png is not None:
        section += 1
        picture = _image(data.map_png, max_width=A4[0] - 4.4 * cm, max_height=A4[1] - 9 * cm)
        shown = picture or _p("（分布图无法读取）", align=TA_CENTER)
        story.append(
            KeepTogether([_heading(section, "问题分布图"), shown])
        )  # no heading alone at a page foot
    section += 1
    demands = [_p(f"{i}. {d}", indent=True) for i, d in enumerate(text.requirements(data), start=1)]
    story += [KeepTogether([_heading(section, "工作要求"), demands[0]]), *demands[1:]]
    story += _signature(data)
    return _build(story, data.title, data.issuer)


def rectification_pdf(data: NoticeData, *, unit_codes: Sequence[str] | None = None) -> bytes:
    """The units' 整改通知书 as one PDF, a unit per page."""
    register_font()
    # numbered by the unit's place in the whole month's list, also when only some are written
    units = [(i, u) for i, u in enumerate(data.overdue) if unit_codes is None or u.unit_code in unit_codes]
    story: list[Flowable] = []
    if not units:
        story.append(_p("本月没有超期未办结的问题，无需下发整改通知书。", indent=True))
    for n, (i, unit) in enumerate(units):
        if n:
            story.append(PageBreak())
        story += _header(data.issuer, text.rectification_number(data, i))
        story += [_p("整改通知书", 18, align=TA_CENTER, leading=28), Spacer(1, 0.4 * cm)]
        story.append(_p(f"{unit.unit_name}："))
        story += [_p(t, indent=True) for t in text.rectification_text(data, unit)]
        story.append(_table(text.OVERDUE_HEADER, text.overdue_rows(unit), widths=_OVERDUE_WIDTHS))
        story += _signature(data)
    return _build(story, f"{month_text(data.month)}整改通知书", data.issuer)
