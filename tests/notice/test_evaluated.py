"""The notice ranked by gridmap.evaluation: after a history import, the .docx ranking tables list the
towns and grids in the order `evaluate_month` computes, with its figures, and name its flag winners."""

from __future__ import annotations

import io

from docx import Document

from gridmap.notice import text
from gridmap.notice.data import EVALUATION_COLUMNS, format_figure
from gridmap.notice.export import notice_file
from tests.notice.conftest import NOW, evaluated


def cells(record: dict) -> list[str]:
    """A ranking table's row as the notice must print an evaluation record."""
    flag = {"red": "流动红旗", "grey": "流动灰旗"}.get(record["flag"] or "", "")
    return [
        "—" if record["rank"] is None else str(record["rank"]),
        record["name"],
        *(format_figure(record[key], kind) for key, _label, kind in EVALUATION_COLUMNS),
        format_figure(record["score"], "score"),
        record["grade"] or "—",
        flag,
    ]


def test_the_docx_ranks_grids_as_the_evaluation_computes(imported):
    written = notice_file(imported.ctx, month="2026-11", fmt="docx", now=NOW, with_map=False)
    doc = Document(io.BytesIO(written.data))
    towns, grids = doc.tables[0], doc.tables[1]
    assert [c.text for c in grids.rows[0].cells] == text.table_header(written.notice)
    expected = evaluated(imported.ctx, "grid")
    assert len(expected) == 2 and all(r["rank"] is not None for r in expected)
    assert [[c.text for c in row.cells] for row in grids.rows[1:]] == [cells(r) for r in expected]
    town_rows = [[c.text for c in row.cells] for row in towns.rows[1:]]
    assert town_rows[0] == cells(evaluated(imported.ctx, "town")[0])
    assert town_rows[1][:2] == ["—", "凤州镇"]  # a town without cases: listed, not ranked
    body = "\n".join(p.text for p in doc.paragraphs)
    red = [r["name"] for r in expected if r["flag"] == "red"]
    assert len(red) == 1 and f"授予{red[0]}本月网格级流动红旗。" in body
    for name in (r["name"] for r in expected if r["flag"] == "grey"):
        assert f"给予{name}本月网格级流动灰旗。" in body
    assert "注：综合得分按县评分方案计算" in body  # the note says how the ranking was computed
