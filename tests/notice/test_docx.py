"""The notice and the 整改通知书 as .docx: read back with python-docx."""

from __future__ import annotations

import datetime as dt
import io

from docx import Document
from docx.oxml.ns import qn

from gridmap.notice import (
    OverdueCase,
    TypicalProblem,
    UnitOverdue,
    notice_docx,
    notice_pdf,
    rectification_docx,
)
from gridmap.notice.data import FLAG_LABELS, format_figure
from tests.notice.samples import GRIDS, TOWNS, sample_notice


def _open(data: bytes):
    return Document(io.BytesIO(data))


def _east_asia(run) -> str | None:
    fonts = run._element.rPr.rFonts
    return fonts.get(qn("w:eastAsia"))


def _expected(row) -> list[str]:
    return [
        str(row.rank) if row.rank is not None else "—",
        row.name,
        str(row.figures["cases"]),
        str(row.figures["closed"]),
        format_figure(row.figures["closure_rate"], "rate"),
        format_figure(row.figures["on_time_closure_rate"], "rate"),
        str(row.figures["overdue"]),
        format_figure(row.score, "score"),
        row.grade or "—",
        FLAG_LABELS.get(row.flag or "", ""),
    ]


def test_ranking_tables_list_towns_and_grids_in_order_with_their_figures():
    doc = _open(notice_docx(sample_notice()))
    towns, grids = doc.tables[0], doc.tables[1]
    header = [c.text for c in grids.rows[0].cells]
    assert header == [
        "排名",
        "名称",
        "案件数",
        "结案数",
        "结案率",
        "按期结案率",
        "超期未办",
        "得分",
        "等级",
        "流动旗",
    ]
    assert [[c.text for c in r.cells] for r in grids.rows[1:]] == [_expected(r) for r in GRIDS]
    assert [[c.text for c in r.cells] for r in towns.rows[1:]] == [_expected(r) for r in TOWNS]
    # the figures as printed: halves round up, rates as percentages, the unranked town has dashes
    assert grids.rows[1].cells[5].text == "94.4%"
    assert towns.rows[4].cells[0].text == "—"


def test_flag_winners_are_named():
    text = "\n".join(p.text for p in _open(notice_docx(sample_notice())).paragraphs)
    assert "授予凤州镇第二网格本月网格级流动红旗。" in text
    assert "给予红花铺镇第一网格本月网格级流动灰旗。" in text
    assert "授予凤州镇本月镇级流动红旗。" in text
    assert "约谈" in text and "红花铺镇第一网格" in text


def test_red_header_number_title_and_chinese_fonts():
    doc = _open(notice_docx(sample_notice()))
    paragraphs = [p for p in doc.paragraphs if p.text]
    header = paragraphs[0]
    assert header.text == "凤县创建全国文明城市工作指挥部办公室"
    assert str(header.runs[0].font.color.rgb) == "E60012"
    assert _east_asia(header.runs[0]) == "方正小标宋简体"
    number = paragraphs[1]
    assert number.text == "〔2026〕11号"
    border = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:color")) == "E60012"  # the red line under the number
    assert paragraphs[2].text == "关于2026年11月网格化管理工作情况的通报"
    assert _east_asia(paragraphs[2].runs[0]) == "方正小标宋简体"
    body = next(p for p in paragraphs if p.text.startswith("2026年11月，全县共受理"))
    assert _east_asia(body.runs[0]) == "仿宋_GB2312"
    assert "共受理网格问题118件，立案110件，已结案95件，结案率80.5%，其中群众举报31件" in body.text
    heading = next(p for p in paragraphs if p.text == "一、流动红旗评比结果")
    assert _east_asia(heading.runs[0]) == "黑体"
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


def test_typical_problems_with_photos_units_and_the_map():
    doc = _open(notice_docx(sample_notice()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "（1）占道经营：双石铺镇凤州路与滨河路交叉口（受理编号 20261105-0003）" in text
    assert "责任单位：县城市管理执法局；处置期限：2026年11月6日18时" in text  # 10:00 UTC is 18时 in China
    assert "（照片无法读取）" in text  # the second photo is not an image: a note, no failure
    assert len(doc.inline_shapes) == 2  # the first photo and the map
    assert "问题分布图" in text


def test_without_map_typical_or_overdue_the_sections_are_left_out():
    doc = _open(notice_docx(sample_notice(map_png=None, typical=(), overdue=())))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "典型问题" not in text and "问题分布图" not in text and "超期未办结问题" not in text
    assert len(doc.inline_shapes) == 0
    assert "四、工作要求" in text  # the sections are numbered on


def test_rectification_notices_one_section_per_unit():
    doc = _open(rectification_docx(sample_notice()))
    assert len(doc.sections) == 2
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "县城市管理执法局：" in text and "红花铺镇人民政府：" in text
    assert "整改〔2026〕11-1号" in text and "整改〔2026〕11-2号" in text
    assert [len(t.rows) for t in doc.tables] == [2, 3]  # header + the unit's cases
    assert [c.text for c in doc.tables[1].rows[2].cells] == [
        "2",
        "20261122-0002",
        "绿化损坏",
        "红花铺镇政府门前",
        "2026年11月23日17时",
        "7",
    ]
    only = _open(rectification_docx(sample_notice(), unit_codes=["U09"]))
    only_text = [p.text for p in only.paragraphs]
    assert (
        len(only.sections) == 1
        and "红花铺镇人民政府：" in only_text
        and "县城市管理执法局：" not in only_text
    )


def test_the_notice_lists_a_units_ten_longest_overdue_cases_and_its_rectification_notice_all():
    cases = tuple(
        OverdueCase(f"N{i:02d}", "道路破损", "滨江路", dt.datetime(2026, 11, 1 + i, 1), 30 - i)
        for i in range(12)
    )
    data = sample_notice(overdue=(UnitOverdue(unit_code="U01", unit_name="县住建局", cases=cases),))
    notice = _open(notice_docx(data))
    overdue = notice.tables[-1]
    assert [r.cells[1].text for r in overdue.rows[1:]] == [f"N{i:02d}" for i in range(10)]
    assert "另有2件，详见对县住建局的整改通知书。" in [p.text for p in notice.paragraphs]
    assert len(_open(rectification_docx(data)).tables[0].rows) == 13


def test_control_characters_from_the_store_do_not_break_the_files():
    odd = TypicalProblem(
        tracking_no="X1",
        category="垃圾暴露",
        place="滨江路\x00\x0b东口",
        unit="县住建局\x1f",
        deadline=None,
        status="dispatched",
        description="描述\x07",
    )
    data = sample_notice(typical=(odd,))
    text = "\n".join(p.text for p in _open(notice_docx(data)).paragraphs)
    assert "滨江路  东口" in text and "\x00" not in text
    assert notice_pdf(data)[:5] == b"%PDF-"


def test_the_red_line_sits_where_the_schema_wants_it():
    doc = _open(notice_docx(sample_notice()))
    number = next(p for p in doc.paragraphs if p.text == "〔2026〕11号")
    order = [child.tag.split("}")[1] for child in number._p.pPr]
    assert order.index("pBdr") < order.index("spacing") < order.index("jc"), order
