"""A month's notice gathered from a real SQLite store: counts, ranking, flags, overdue, photos."""

from __future__ import annotations

import io

import pytest
from docx import Document

from gridmap.errors import InvalidInput
from gridmap.notice import notice_docx
from gridmap.notice.assemble import assemble_notice, month_bounds
from tests.notice.conftest import GRID_A, GRID_B, NOW


@pytest.fixture(scope="module")
def notice(month):
    return assemble_notice(month.ctx, month="2026-11", issuer="凤县创文办", now=NOW, with_map=False)


def test_month_bounds_are_china_months():
    start, end = month_bounds("2026-11")
    assert (start.isoformat(), end.isoformat()) == ("2026-10-31T16:00:00", "2026-11-30T16:00:00")
    assert month_bounds("2026-12")[1].isoformat() == "2026-12-31T16:00:00"
    with pytest.raises(InvalidInput, match="2026-11"):
        month_bounds("2026/13")


def test_grids_ranked_from_the_months_cases(notice):
    a, b = {r.code: r for r in notice.grids}[GRID_A], {r.code: r for r in notice.grids}[GRID_B]
    assert [r.code for r in notice.grids] == [GRID_B, GRID_A]
    assert (b.rank, b.flag, b.score, b.grade) == (1, "red", 100.0, "A")
    assert dict(b.figures) == {
        "cases": 7,  # the parked case is a case of the month ...
        "closed": 6,
        "closure_rate": 1.0,  # ... but left out of the denominators
        "on_time_closure_rate": 1.0,
        "overdue": 0,  # the October case is not November's
    }
    assert (a.rank, a.flag, a.grade) == (2, "grey", "C")
    assert a.score == pytest.approx(100 * (0.4 * 5 / 6 + 0.6 * 4 / 6), abs=0.01)
    assert dict(a.figures)["cases"] == 6  # the rejected report is no case
    assert dict(a.figures)["overdue"] == 1


def test_towns_and_totals(notice):
    assert [(r.name, r.rank, r.flag) for r in notice.towns] == [
        ("双石铺镇", 1, "red"),
        ("凤州镇", None, None),
    ]
    assert dict(notice.totals) == {
        "reported": 13,
        "closed": 11,
        "citizen": 13,
        "closure_rate": 11 / 12,  # the parked case is not due
        "overdue": 2,
    }
    assert notice.number == "〔2026〕11号" and notice.issued_on.isoformat() == "2026-12-02"
    assert "少于5件的只列数据" in notice.method


def test_overdue_cases_by_unit_and_typical_problems_with_photos(month, notice):
    overdue = {c.tracking_no: c for u in notice.overdue for c in u.cases}
    assert set(overdue) == {month.tracking["A5"], month.tracking["OCT"]}
    assert overdue[month.tracking["OCT"]].days_overdue == 32
    first = notice.typical[0]
    assert first.tracking_no == month.tracking["A5"]  # overdue and with a photo: most telling
    assert first.category == "占道经营" and first.photo is not None and first.photo[:2] == b"\xff\xd8"
    assert len(notice.typical) == 4


def test_the_docx_of_the_assembled_month(notice):
    doc = Document(io.BytesIO(notice_docx(notice)))
    grids = doc.tables[1]
    assert [r.cells[1].text for r in grids.rows[1:]] == ["新建路网格", "滨江网格"]
    assert [c.text for c in grids.rows[2].cells] == [
        "2",
        "滨江网格",
        "6",
        "5",
        "83.3%",
        "66.7%",
        "1",
        "73.3",
        "C",
        "流动灰旗",
    ]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "授予新建路网格本月网格级流动红旗。" in text


def test_the_map_of_problems_is_a_png(month):
    notice = assemble_notice(month.ctx, month="2026-11", issuer="凤县创文办", now=NOW)
    assert notice.map_png is not None and notice.map_png[:8] == b"\x89PNG\r\n\x1a\n"
