"""Tests for scripts/bench_evaluation.py: a quick run times every grouping against a plain groupby."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_evaluation.py"


def test_quick_run_times_every_grouping_against_a_plain_groupby(tmp_path):
    out = tmp_path / "evaluation.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["cases"] == 2000 and result["events"] > 2000
    by = {g["by"]: g for g in result["groupings"]}
    assert list(by) == ["town", "grid", "unit", "department", "category", "inspector"]
    assert (by["town"]["groups"], by["grid"]["groups"], by["unit"]["groups"]) == (9, 12, 30)
    assert (by["department"]["groups"], by["category"]["groups"], by["inspector"]["groups"]) == (5, 28, 46)
    for g in by.values():
        assert g["seconds"] > 0 and g["plain_groupby_s"] > 0 and g["ratio_to_plain_groupby"] > 0
    assert "纯 groupby" in done.stdout
