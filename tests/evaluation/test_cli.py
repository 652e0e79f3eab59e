"""`gridmap evaluate` and `gridmap flags` as real processes over cases made through the workflow."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from gridmap.evaluation.groups import COUNT_KEYS, RATE_KEYS
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]
T0 = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 in Beijing
HOUR = dt.timedelta(hours=1)


def _report(ctx, spot, now):
    return report_problem(
        ctx, lon=spot[0], lat=spot[1], category="garbage", description="垃圾", now=now
    ).record["tracking_no"]


@pytest.fixture
def env(settings, ctx, make_user):
    office = make_user("office", "office")
    for n in range(6):  # grid 610330100001: fixed and closed within the day
        no = _report(ctx, ON_BINJIANG_ROAD, T0 + n * HOUR)
        act(ctx, no, user=office, action="dispatch", unit_code="U1", now=T0 + (n + 1) * HOUR)
        for step, action in enumerate(("rectify", "verify", "close"), 2):
            act(ctx, no, user=office, action=action, now=T0 + (n + step) * HOUR)
    for n in range(6):  # grid 610330100002: dispatched and left
        no = _report(ctx, NEAR_HOSPITAL, T0 + n * HOUR)
        act(ctx, no, user=office, action="dispatch", unit_code="U2", now=T0 + (n + 1) * HOUR)
    make_user("insp", "inspector")
    no = _report(ctx, NEAR_HOSPITAL, T0)  # sent to verify, never answered
    act(ctx, no, user=office, action="send_verify", inspector="insp", now=T0 + HOUR)
    _report(ctx, ON_BINJIANG_ROAD, dt.datetime(2026, 10, 31, 15, 30, tzinfo=dt.UTC))  # 23:30 on 31 October
    _report(ctx, ON_BINJIANG_ROAD, dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC))  # 00:30 on 1 November
    return {**os.environ, **settings}


def run(env, *args):
    """A real process: what a county's clerk runs."""
    return subprocess.run([*GRIDMAP, *args], env=env, capture_output=True, text=True)


@pytest.fixture
def invoke(env, monkeypatch):
    """The same command in this process (quicker), with the same settings."""
    from click.testing import CliRunner

    from gridmap.cli import main

    for name in ("GRIDMAP_INSTANCE_DIR", "GRIDMAP_DATABASE_URL", "GRIDMAP_SECRET_KEY"):
        monkeypatch.setenv(name, env[name])

    def call(*args):
        return CliRunner().invoke(main, list(args))

    return call


def test_evaluate_json_lists_groups_with_counts_rates_score_grade_rank_and_flag(env):
    done = run(env, "evaluate", "--month", "2026-11", "--by", "grid", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["code"] for r in rows] == ["610330100001", "610330100002"]
    assert list(rows[0]) == ["code", "name", *COUNT_KEYS, *RATE_KEYS, "score", "grade", "rank", "flag"]
    first, last = rows
    assert (first["reports"], first["filed"], first["closed"], first["closure_rate"]) == (7, 6, 6, 1.0)
    assert first["on_time_closure_rate"] == 1.0 and first["citizen_share"] == 1.0
    assert (last["reports"], last["overdue_pending"], last["closure_rate"]) == (7, 6, 0.0)
    assert last["verifications_due"] == 1 and last["verified_on_time"] == 0
    assert last["on_time_verification_rate"] is None  # one verification: under the minimum sample
    assert (first["rank"], first["flag"], last["rank"], last["flag"]) == (1, "red", 2, "grey")
    # citizen share 1 → 0, 6 filed → 40, closure 100, on-time closure 100
    assert first["score"] == pytest.approx((0 * 10 + 40 * 20 + 100 * 30 + 100 * 40) / 100)
    assert first["grade"] == "B" and last["score"] == pytest.approx(8.0) and last["grade"] == "E"
    for row in rows:
        assert all(row[k] is None or 0 <= row[k] <= 1 for k in RATE_KEYS)


def test_evaluate_keeps_the_flags_and_flags_lists_them(invoke):
    assert invoke("flags").output.startswith("还没有记入任何月份的红旗")
    done = invoke("evaluate", "--month", "2026-11", "--by", "grid", "--flags")
    assert done.exit_code == 0, done.output
    assert "排名\t代码\t名称" in done.output and "流动红旗" in done.output
    invoke("evaluate", "--month", "2026-11", "--by", "grid", "--flags")  # again: replaced, not added
    history = json.loads(invoke("flags", "--json").output)
    assert [(h["month"], h["level"], h["flag"], h["code"], h["rank"], h["of"]) for h in history] == [
        ("2026-11", "grid", "red", "610330100001", 1, 2),
        ("2026-11", "grid", "grey", "610330100002", 2, 2),
    ]


def test_evaluate_refuses_a_bad_month_in_chinese(invoke):
    done = invoke("evaluate", "--month", "2026-13", "--by", "town")
    assert done.exit_code == 2 and "月份 month 应写成“年-月”" in done.output
    done = invoke("evaluate", "--month", "2026-11", "--by", "street")
    assert done.exit_code != 0 and "street" in done.output


def test_an_empty_month_says_so_and_other_groupings_work(invoke):
    done = invoke("evaluate", "--month", "2026-09", "--by", "town")
    assert done.exit_code == 0 and "该月没有上报的案件" in done.output
    assert json.loads(invoke("evaluate", "--month", "2026-09", "--by", "town", "--json").output) == []
    for by, codes in [
        ("town", ["610330100"]),
        ("unit", ["U1", "U2"]),
        ("category", ["garbage"]),
        ("inspector", ["insp"]),
    ]:
        done = invoke("evaluate", "--month", "2026-11", "--by", by, "--json")
        assert done.exit_code == 0, done.output
        assert [r["code"] for r in json.loads(done.output)] == codes, by
    inspectors = json.loads(invoke("evaluate", "--month", "2026-11", "--by", "inspector", "--json").output)
    assert inspectors[0]["name"] == "巡查员（insp）" and inspectors[0]["verifications_due"] == 1
    departments = json.loads(invoke("evaluate", "--month", "2026-11", "--by", "department", "--json").output)
    assert all(r["name"] for r in departments)


def test_the_county_scheme_file_is_read_from_gridmap_scoring_file(invoke, tmp_path, monkeypatch):
    from gridmap.evaluation.scoring import DEFAULT_FILE

    scheme = tmp_path / "本县评分.toml"
    scheme.write_text(
        DEFAULT_FILE.read_text(encoding="utf-8").replace("grey_flag = true", "grey_flag = false")
    )
    monkeypatch.setenv("GRIDMAP_SCORING_FILE", str(scheme))
    rows = json.loads(invoke("evaluate", "--month", "2026-11", "--by", "grid", "--json").output)
    assert [r["flag"] for r in rows] == ["red", None]
    scheme.write_text("min_sample = -1\n")
    done = invoke("evaluate", "--month", "2026-11", "--by", "grid")
    assert done.exit_code == 1 and f"评分方案文件 {scheme} 中 exclude_parked 缺失" in done.output
