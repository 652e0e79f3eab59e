"""`gridmap notice`, run as a real process against a store of imported November cases."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pypdf
from docx import Document

from gridmap.printmap import fonts
from tests.notice.conftest import evaluated

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]


def run(month, *args):
    env = {**os.environ, **month.settings}
    return subprocess.run([*GRIDMAP, "notice", *map(str, args)], env=env, capture_output=True, text=True)


def test_notice_docx_and_pdf(imported, tmp_path):
    grids = evaluated(imported.ctx, "grid")  # what `gridmap evaluate --by grid` computes
    reds = [r["name"] for r in [*evaluated(imported.ctx, "town"), *grids] if r["flag"] == "red"]
    out = tmp_path / "通报.docx"
    issuer = "凤县创建全国文明城市工作指挥部办公室"
    done = run(imported, "--month", "2026-11", "--out", out, "--no-map", "--issuer", issuer)
    assert done.returncode == 0, done.stderr
    assert f"流动红旗：{'、'.join(reds)}" in done.stdout
    doc = Document(io.BytesIO(out.read_bytes()))
    assert doc.paragraphs[0].text == issuer
    assert [r.cells[1].text for r in doc.tables[1].rows[1:]] == [r["name"] for r in grids]
    assert [r.cells[0].text for r in doc.tables[1].rows[1:]] == [str(r["rank"]) for r in grids]
    pdf = tmp_path / "通报.pdf"
    done = run(imported, "--month", "2026-11", "--out", pdf, "--no-map")  # format from the suffix
    assert done.returncode == 0, done.stderr
    text = "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert f"授予{reds[-1]}本月网格级流动红旗" in "".join(text.split())
    assert fonts.missing_chars(text) == []


def test_rectification_notices_and_json(imported, tmp_path):
    listed = run(imported, "--month", "2026-11", "--json")
    assert listed.returncode == 0, listed.stderr
    contents = json.loads(listed.stdout)
    grids = evaluated(imported.ctx, "grid")
    assert [g["name"] for g in contents["grids"]] == [r["name"] for r in grids]
    assert contents["flags"]["grids"]["red"] == [r["name"] for r in grids if r["flag"] == "red"]
    units, cases = len(contents["overdue"]), contents["totals"]["overdue"]
    assert units >= 2 and cases > units
    out = tmp_path / "整改.docx"
    done = run(imported, "--month", "2026-11", "--kind", "rectify", "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"整改通知书 {units} 份（{cases} 件超期问题）" in done.stdout
    assert len(Document(io.BytesIO(out.read_bytes())).sections) == units


def test_a_bad_month_is_refused_with_a_chinese_message(imported):
    done = run(imported, "--month", "2026-13", "--json")
    assert done.returncode == 2
    assert "月份“2026-13”无效" in done.stderr and "Traceback" not in done.stderr


def test_an_unwritable_output_is_a_clear_message(imported, tmp_path):
    done = run(imported, "--month", "2026-11", "--no-map", "--out", tmp_path / "没有这个目录" / "通报.docx")
    assert done.returncode == 1
    assert (
        "无法写入" in done.stderr and "请检查目录是否存在" in done.stderr and "Traceback" not in done.stderr
    )


def test_one_units_rectification_notice_from_the_command_line(imported, tmp_path):
    units = json.loads(run(imported, "--month", "2026-11", "--json").stdout)["overdue"]
    first = units[0]
    out = tmp_path / "一个单位.pdf"
    done = run(
        imported, "--month", "2026-11", "--kind", "rectify", "--unit", first["unit_code"], "--out", out
    )
    assert done.returncode == 0, done.stderr
    assert f"整改通知书 1 份（{len(first['cases'])} 件超期问题）" in done.stdout
    text = "".join("".join(p.extract_text().split()) for p in pypdf.PdfReader(out).pages)
    assert f"{first['unit_name']}：" in text and "整改〔2026〕11-1号" in text
    assert all(u["unit_name"] + "：" not in text for u in units[1:])
