"""Tests for scripts/bench_notify.py: a tiny run delivers every notice once and measures a report with and without its notice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_notify.py"


def test_quick_run_delivers_each_notice_once_and_writes_the_report_notices(tmp_path):
    out = tmp_path / "notify.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--skip-http", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    sizes = [t["notices"] for t in result["throughput"]]
    assert sizes == [20, 100]
    for t in result["throughput"]:
        n = t["notices"]
        assert t["exactly_once"] and t["distinct_ids_received"] == n and t["requests_received"] == n
        assert t["deliveries"] == {"sent": n}
        assert t["worker_per_s"] > 0 and t["plain_posts_per_s"] > 0 and t["ratio_to_plain_posts"] > 0
    cost = result["report_cost"]
    # the rounds with the notice wrote one each (in every office user's inbox), those without none
    assert cost["notices_written"] == cost["notices_expected"] == cost["rounds"] * cost["reports_per_round"]
    assert cost["with_notice_per_s"] > 0 and cost["without_notice_per_s"] > 0 and cost["ratio"] > 0
    assert "http" not in result
    assert "每条恰好一次" in done.stdout and "上报并通知创建办" in done.stdout
