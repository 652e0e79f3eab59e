"""The notice and the units' 整改通知书 as Word documents (.docx), laid out like a county
government document (GB/T 9704: red header, number, red line, 小标宋 title, 仿宋 body)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from gridmap.notice import text
from gridmap.notice.data import NoticeData, month_text

# The fonts named in the file (the reader's Word/WPS draws them; common on Chinese desktops).
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
RED = RGBColor(0xE6, 0x00, 0x12)
SIZE_2 = Pt(22)  # 二号
SIZE_3 = Pt(16)  # 三号
SIZE_TABLE = Pt(10.5)  # 五号
CHINESE_NUMBERS = "一二三四五六七八九十"


def set_font(run, *, east_asia: str, size: Pt | None = None, bold: bool = False, color=None) -> None:
    """Name a CJK font for the run (w:rFonts w:eastAsia) and a Latin one for digits and letters."""
    run.font.name = LATIN_FONT
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")
    if size is not None:
        run.font.size = size
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color


def _para(
    doc,
    content: str = "",
    *,
    font: str = BODY_FONT,
    size: Pt = SIZE_3,
    align=None,
    indent: bool = False,
    bold: bool = False,
    color=None,
) -> Paragraph:
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(28) if size == SIZE_3 else None  # the 28-point grid of the body; titles single
    if indent:
        fmt.first_line_indent = Pt(size.pt * 2)  # two characters
    if align is not None:
        paragraph.alignment = align
    if content:
        run = paragraph.add_run(text.printable(content))
        set_font(run, east_asia=font, size=size, bold=bold, color=color)
    return paragraph


# The children of w:pPr that come after w:pBdr (ECMA-376 CT_PPrBase); Word refuses another order.
_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def _red_line(paragraph: Paragraph) -> None:
    """A red rule under the paragraph (the line below the red header)."""
    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "E60012")):
        bottom.set(qn(key), value)
    border.append(bottom)
    ppr.insert_element_before(border, *_AFTER_PBDR)  # CT_PPr's children have a fixed order


def _page_setup(doc: DocumentType) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = SIZE_3
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)


def _header(doc: DocumentType, issuer: str, number: str) -> None:
    _para(doc, issuer, font=TITLE_FONT, size=Pt(26), align=WD_ALIGN_PARAGRAPH.CENTER, color=RED)
    _para(doc)
    numbered = _para(doc, number, size=SIZE_3, align=WD_ALIGN_PARAGRAPH.CENTER)
    _red_line(numbered)
    _para(doc)


def _heading(doc: DocumentType, index: int, content: str) -> None:
    heading = _para(doc, f"{CHINESE_NUMBERS[index]}、{content}", font=HEADING_FONT, indent=True)
    heading.paragraph_format.keep_with_next = True  # never alone at the foot of a page


def _table(doc: DocumentType, header: Sequence[str], rows: Sequence[Sequence[str]], *, red_rows=()) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, value in zip(table.rows[0].cells, header):
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_font(paragraph.add_run(value), east_asia=HEADING_FONT, size=SIZE_TABLE)
    for i, values in enumerate(rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, values):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            color = RED if i in red_rows else None
            run = paragraph.add_run(text.printable(value))
            set_font(run, east_asia=TABLE_FONT, size=SIZE_TABLE, color=color)


def _ranking(doc: DocumentType, data: NoticeData, what: str, rows) -> None:
    _para(doc, text.ranking_sentence(what, rows), indent=True)
    _para(doc, f"{month_text(data.month)}{what}排名表", font=HEADING_FONT, align=WD_ALIGN_PARAGRAPH.CENTER)
    reds = {i for i, r in enumerate(rows) if r.flag == "red"}
    _table(doc, text.table_header(data), [text.table_cells(data, r) for r in rows], red_rows=reds)
    _para(doc)


def _picture(doc: DocumentType, data: bytes, *, width: Cm) -> bool:
    try:
        doc.add_picture(io.BytesIO(data), width=width)
    except Exception:  # not an image python-docx can read: leave a note instead
        return False
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    return True


def _typical(doc: DocumentType, data: NoticeData) -> None:
    for i, problem in enumerate(data.typical, start=1):
        _para(doc, text.typical_line(problem, i), indent=True)
        if problem.photo is not None and not _picture(doc, problem.photo, width=Cm(9)):
            _para(doc, "（照片无法读取）", align=WD_ALIGN_PARAGRAPH.CENTER)


def _signature(doc: DocumentType, issuer: str, data: NoticeData) -> None:
    _para(doc)
    _para(doc, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, text.date_text(data.issued_on), align=WD_ALIGN_PARAGRAPH.RIGHT)


def _save(doc: DocumentType) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def notice_docx(data: NoticeData) -> bytes:
    """The month's notice as a .docx file's bytes."""
    doc = Document()
    doc.core_properties.title = data.title
    doc.core_properties.author = data.issuer
    _page_setup(doc)
    _header(doc, data.issuer, data.number)
    _para(doc, data.title, font=TITLE_FONT, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc)
    _para(doc, data.recipients)
    _para(doc, text.summary(data), indent=True)
    section = 0
    _heading(doc, section, "流动红旗评比结果")
    for sentence in text.flag_sentences(data) or ["本月无单位达到流动红旗评比条件。"]:
        _para(doc, sentence, indent=True)
    section += 1
    _heading(doc, section, "各镇排名情况")
    _ranking(doc, data, "镇", data.towns)
    section += 1
    _heading(doc, section, "各网格排名情况")
    _ranking(doc, data, "网格", data.grids)
    if data.method:
        _para(doc, f"注：{data.method}", size=Pt(12), indent=True)
    if data.typical:
        section += 1
        _heading(doc, section, "典型问题")
        _typical(doc, data)
    if data.overdue:
        section += 1
        _heading(doc, section, "超期未办结问题")
        _para(
            doc,
            f"截至通报时，共有{data.overdue_total}件问题超期未办结，涉及{len(data.overdue)}个责任单位：",
            indent=True,
        )
        for unit in data.overdue:
            _para(doc, f"{unit.unit_name}（{len(unit.cases)}件）", font=HEADING_FONT, indent=True)
            _table(doc, text.OVERDUE_HEADER, text.overdue_rows(unit, limit=text.NOTICE_OVERDUE_ROWS))
            more = text.overdue_more(unit)
            if more:
                _para(doc, more, size=Pt(12), indent=True)
    if data.map_png is not None:
        section += 1
        _heading(doc, section, "问题分布图")
        if not _picture(doc, data.map_png, width=Cm(15.6)):
            _para(doc, "（分布图无法读取）", align=WD_ALIGN_PARAGRAPH.CENTER)
    section += 1
    _heading(doc, section, "工作要求")
    for i, demand in enumerate(text.requirements(data), start=1):
        _para(doc, f"{i}. {demand}", indent=True)
    _signature(doc, data.issuer, data)
    return _save(doc)


def rectification_docx(data: NoticeData, *, unit_codes: Sequence[str] | None = None) -> bytes:
    """The 整改通知书 of every unit with overdue cases (or of ``unit_codes``), one per page
    section in one document, so the office prints and sends them in one go."""
    # numbered by the unit's place in the whole month's list, also when only some are written
    units = [(i, u) for i, u in enumerate(data.overdue) if unit_codes is None or u.unit_code in unit_codes]
    doc = Document()
    doc.core_properties.title = f"{month_text(data.month)}整改通知书"
    _page_setup(doc)
    if not units:
        _para(doc, "本月没有超期未办结的问题，无需下发整改通知书。", indent=True)
    for n, (i, unit) in enumerate(units):
        if n:
            doc.add_section(WD_SECTION.NEW_PAGE)
        _header(doc, data.issuer, text.rectification_number(data, i))
        _para(doc, "整改通知书", font=TITLE_FONT, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
        _para(doc)
        _para(doc, f"{unit.unit_name}：")
        for paragraph in text.rectification_text(data, unit):
            _para(doc, paragraph, indent=True)
        _table(doc, text.OVERDUE_HEADER, text.overdue_rows(unit))
        _signature(doc, data.issuer, data)
    return _save(doc)
