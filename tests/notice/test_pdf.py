"""The notice and the 整改通知书 as PDF: the Chinese text extracted back, every glyph in the embedded font."""

from __future__ import annotations

import io
import re

import pypdf

from gridmap.notice import notice_pdf, rectification_pdf
from gridmap.printmap import fonts
from tests.notice.samples import GRIDS, sample_notice


def _text(data: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def _fonts(reader: pypdf.PdfReader) -> list[dict]:
    found = []
    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            found.append(
                {
                    "name": str(font["/BaseFont"]),
                    "subtype": str(font["/Subtype"]),
                    "embedded": descriptor is not None and "/FontFile2" in descriptor.get_object(),
                }
            )
    return found


def test_notice_pdf_shows_the_chinese_text_with_the_embedded_font():
    data = notice_pdf(sample_notice())
    reader, text = _text(data)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "凤县创建全国文明城市工作指挥部办公室",
        "〔2026〕11号",
        "关于2026年11月网格化管理工作情况的通报",
        "授予凤州镇第二网格本月网格级流动红旗。",
        "给予红花铺镇第一网格本月网格级流动灰旗。",
        "责任单位：县城市管理执法局",
        "超期未办结问题",
    ):
        assert expected in flat, expected
    # the grids in rank order
    table = flat.index("2026年11月网格排名表")
    positions = [flat.index(row.name, table) for row in GRIDS]
    assert positions == sorted(positions)
    used = _fonts(reader)
    assert used and all(f["embedded"] and f["subtype"] == "/TrueType" for f in used), used
    # every character drawn has a glyph in the embedded font (reportlab takes glyphs from it by cmap)
    assert fonts.missing_chars(text) == []
    assert len(set(text) - set("0123456789 \n")) > 150  # a real amount of Chinese text was checked


def test_a_missing_glyph_would_be_caught():
    assert fonts.missing_chars("通报\U000f0000") == ["\U000f0000"]  # a private-use character no font has


def test_rectification_pdf_a_unit_per_page():
    reader, text = _text(rectification_pdf(sample_notice()))
    assert len(reader.pages) == 2
    first = re.sub(r"\s+", "", reader.pages[0].extract_text())
    second = re.sub(r"\s+", "", reader.pages[1].extract_text())
    assert "县城市管理执法局：" in first and "20261105-0003" in first and "红花铺镇人民政府" not in first
    assert "红花铺镇人民政府：" in second and "20261122-0002" in second
    assert fonts.missing_chars(text) == []


def test_no_overdue_no_notices():
    _reader, text = _text(rectification_pdf(sample_notice(overdue=())))
    assert "无需下发整改通知书" in re.sub(r"\s+", "", text)
