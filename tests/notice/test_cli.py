"""`gridmap notice`, run as a real process against the month's SQLite file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pypdf
from docx import Document

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]


def run(month, *args):
    env = {**os.environ, **month.settings}
    return subprocess.run([*GRIDMAP, "notice", *map(str, args)], env=env, capture_output=True, text=True)


def test_notice_docx_and_pdf(month, tmp_path):
    out = tmp_path / "通报.docx"
    done = run(
        month,
        "--month",
        "2026-11",
        "--out",
        out,
        "--no-map",
        "--issuer",
        "凤县创建全国文明城市工作指挥部办公室",
    )
    assert done.returncode == 0, done.stderr
    assert "流动红旗：双石铺镇、新建路网格" in done.stdout
    doc = Document(io.BytesIO(out.read_bytes()))
    assert doc.paragraphs[0].text == "凤县创建全国文明城市工作指挥部办公室"
    assert [r.cells[1].text for r in doc.tables[1].rows[1:]] == ["新建路网格", "滨江网格"]
    pdf = tmp_path / "通报.pdf"
    done = run(month, "--month", "2026-11", "--out", pdf, "--no-map")  # format from the suffix
    assert done.returncode == 0, done.stderr
    text = "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages).replace("\n", "")
    assert "授予新建路网格本月网格级流动红旗" in text.replace(" ", "")


def test_rectification_notices_and_json(month, tmp_path):
    out = tmp_path / "整改.docx"
    done = run(month, "--month", "2026-11", "--kind", "rectify", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "整改通知书 2 份（2 件超期问题）" in done.stdout  # A5 in grid A, the October case in grid B
    listed = run(month, "--month", "2026-11", "--json")
    assert listed.returncode == 0, listed.stderr
    contents = json.loads(listed.stdout)
    assert contents["flags"]["grids"] == {"red": ["新建路网格"], "grey": ["滨江网格"]}
    assert [g["name"] for g in contents["grids"]] == ["新建路网格", "滨江网格"]


def test_a_bad_month_is_refused_with_a_chinese_message(month):
    done = run(month, "--month", "2026-13", "--json")
    assert done.returncode == 2
    assert "月份“2026-13”无效" in done.stderr and "Traceback" not in done.stderr
