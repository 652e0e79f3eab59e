"""Indicators of a year of cases (100,000, all groupings): time per grouping against a plain pandas groupby.

For each grouping (town, grid, unit, department, category, inspector) the whole computation runs:
the facts of every case from its row and events (gridmap.evaluation.facts.case_facts), then the
counts, rates, scores, ranks and flags (gridmap.evaluation.groups.group_table). The baseline, in
the same run, is a plain pandas groupby summing the same count columns, already computed, per
group: the least any implementation has to do. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.evaluation import repository
from gridmap.evaluation.facts import CASE_COLUMNS, EVENT_COLUMNS, case_facts
from gridmap.evaluation.groups import COUNT_KEYS, group_table
from gridmap.evaluation.scoring import GROUPINGS, load_scheme
from gridmap.evaluation.service import evaluate_month
from gridmap.problems import repository as problems
from gridmap.store import Store

GOAL_SECONDS = 1.0  # per grouping, the "well under a second"
START = np.datetime64("2026-01-01T00:00")


def synthetic(n: int, *, seed: int = 13) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``n`` cases over a year in 9 towns, 12 grids, 30 units, 28 categories, 46 inspectors, with
    their events (report, accept or verify, dispatch, return, extend, park, rectify, rework, verify,
    close) at increasing times; and the grids' lead departments."""
    rng = np.random.default_rng(seed)
    hour = np.timedelta64(1, "h")
    ids = np.arange(1, n + 1)
    created = START + (rng.random(n) * 365 * 24 * 60).astype("int64") * np.timedelta64(1, "m")
    grid = rng.integers(0, 12, n)
    source = np.where(rng.random(n) < 0.6, "citizen", "inspector")
    inspector = np.array([f"insp{i:02d}" for i in range(46)])[rng.integers(0, 46, n)]
    verify = (source == "citizen") & (rng.random(n) < 0.3)
    fate = rng.random(n)
    filed = fate < 0.92
    voided = filed & (fate > 0.90)
    dispatched = filed & ~voided & (fate < 0.88)
    parked = dispatched & (rng.random(n) < 0.03)
    handled = dispatched & ~parked & (rng.random(n) < 0.9)
    closed = handled & (rng.random(n) < 0.9)
    deadline = created + rng.choice([24, 48, 72], n) * hour
    cases = pd.DataFrame(
        {
            "id": ids,
            "created_at": created,
            "source": source,
            "status": np.where(closed, "closed", np.where(handled, "rectified", "dispatched")),
            "category": np.array([f"cat{i:02d}" for i in range(28)])[rng.integers(0, 28, n)],
            "town_code": np.array([f"T{i}" for i in range(9)])[grid % 9],
            "town_name": np.array([f"镇{i}" for i in range(9)])[grid % 9],
            "grid_code": np.array([f"G{i:02d}" for i in range(12)])[grid],
            "grid_name": np.array([f"网格{i}" for i in range(12)])[grid],
            "unit_code": np.array([f"U{i:02d}" for i in range(30)])[rng.integers(0, 30, n)],
            "unit_name": "单位",
            "reported_by": np.where(source == "inspector", inspector, None),
            "verifier": np.where(verify, inspector, None),
            "verify_deadline": np.where(verify, created + 4 * hour, np.datetime64("NaT")),
            "deadline": deadline,
            "closed_at": pd.NaT,
            "satisfaction": np.where(closed & (rng.random(n) < 0.3), "satisfied", None),
            "satisfaction_at": created + 200 * hour,
        },
        columns=list(CASE_COLUMNS),
    )
    parts = []

    def add(mask, at, action, source_status, to, new_deadline=None):
        parts.append(
            pd.DataFrame(
                {
                    "problem_id": ids[mask],
                    "at": at[mask],
                    "action": action,
                    "from_status": source_status,
                    "to_status": to,
                    "deadline": pd.NaT if new_deadline is None else new_deadline[mask],
                }
            )
        )

    steps = created + rng.integers(1, 30, n) * hour
    add(np.ones(n, bool), created, "report", None, "reported")
    add(filed & verify, steps, "confirm", "verifying", "accepted")
    add(filed & ~verify, steps, "accept", "reported", "accepted")
    add(voided, steps + hour, "reject", "accepted", "rejected")
    add(dispatched, steps + 2 * hour, "dispatch", "accepted", "dispatched")
    wrong = dispatched & (rng.random(n) < 0.05)
    add(wrong, steps + 3 * hour, "return", "dispatched", "returned")
    add(wrong, steps + 4 * hour, "dispatch", "returned", "dispatched")
    extended = dispatched & (rng.random(n) < 0.1)
    add(extended, steps + 5 * hour, "extend", "dispatched", "dispatched", deadline + 48 * hour)
    add(parked, steps + 6 * hour, "park", "dispatched", "parked")
    reworked = handled & (rng.random(n) < 0.08)
    fixed = steps + rng.integers(8, 90, n) * hour
    add(reworked, fixed - 2 * hour, "rework", "rectified", "dispatched")
    add(handled, fixed, "rectify", "dispatched", "rectified")
    add(closed, fixed + 5 * hour, "verify", "rectified", "verified")
    add(closed, fixed + 6 * hour, "close", "verified", "closed")
    events = pd.concat(parts, ignore_index=True)[list(EVENT_COLUMNS)].sort_values(["problem_id", "at"])
    departments = {f"G{i:02d}": (f"D{i % 5}", f"牵头部门{i % 5}") for i in range(12)}
    return cases, events.reset_index(drop=True), departments


def _plain(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain values (None for NaT/NaN) for the store."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def stored(directory: Path, cases: pd.DataFrame, events: pd.DataFrame) -> Store:
    """A SQLite store holding the synthetic cases and events (through problems.repository)."""
    store = Store(f"sqlite:///{directory / 'bench-evaluation.sqlite'}")
    extra = {
        "description": "bench",
        "lon": 106.5,
        "lat": 33.9,
        "fallback": False,
        "supporters": 0,
        "extensions": 0,
        "reworks": 0,
        "urgency": "normal",
        "returns": 0,
        "reopens": 0,
    }
    rows = _plain(cases.drop(columns=["id"]))
    for n, row in enumerate(rows):
        row.update(extra, tracking_no=f"B{n:07d}", updated_at=row["created_at"])
    ev = events.assign(actor_role="import")
    per_case = dict(tuple(ev.groupby("problem_id", sort=True)))
    chunk = 20_000
    for first in range(0, len(rows), chunk):
        part = range(first, min(first + chunk, len(rows)))
        problems.insert_history(
            store,
            [rows[i] for i in part],
            [_plain(per_case[i + 1].drop(columns=["problem_id"])) for i in part],
        )
    return store


def best_of(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default="bench-evaluation.json")
    parser.add_argument("-n", type=int, default=100_000, help="cases (default: a year's 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    parser.add_argument(
        "--quick", action="store_true", help="2,000 cases, one run (smoke test); goal not enforced"
    )
    args = parser.parse_args(argv)
    n, repeat = (2000, 1) if args.quick else (args.n, args.repeat)
    scheme = load_scheme()
    cases, events, departments = synthetic(n)
    as_of = pd.Timestamp(START + np.timedelta64(366, "D")).to_pydatetime()
    facts = case_facts(cases, events, as_of=as_of, scheme=scheme, departments=departments)
    facts_s = best_of(
        repeat, lambda: case_facts(cases, events, as_of=as_of, scheme=scheme, departments=departments)
    )
    results: dict = {
        "cases": n,
        "events": len(events),
        "cores": os.cpu_count(),
        "facts_s": round(facts_s, 4),
        "goal_s": GOAL_SECONDS,
        "groupings": [],
    }
    rows = []
    for by in GROUPINGS:
        keyed = facts[facts[f"{by}_code"].notna()]

        def plain(keyed=keyed, by=by):
            return keyed.groupby(f"{by}_code")[list(COUNT_KEYS)].sum()

        table_s = best_of(repeat, lambda by=by: group_table(facts, by=by, scheme=scheme))
        plain_s = best_of(repeat, plain)
        total = facts_s + table_s
        groups = len(group_table(facts, by=by, scheme=scheme))
        results["groupings"].append(
            {
                "by": by,
                "groups": groups,
                "seconds": round(total, 4),
                "table_s": round(table_s, 4),
                "plain_groupby_s": round(plain_s, 4),
                "ratio_to_plain_groupby": round(total / plain_s, 1),
            }
        )
        rows.append((by, groups, total, table_s, plain_s, total / plain_s))
    print(
        f"考核指标：{n:,} 件案件、{len(events):,} 条事件；每件案件的事实 {facts_s * 1000:.0f} ms（各分组共用一次也已计入每个分组）"
    )
    print(f"{'分组':<12}{'组数':>6}{'合计 ms':>10}{'汇总 ms':>10}{'纯 groupby ms':>16}{'倍数':>8}")
    for by, groups, total, table_s, plain_s, ratio in rows:
        print(
            f"{by:<12}{groups:>6}{total * 1000:>10.1f}{table_s * 1000:>10.1f}{plain_s * 1000:>16.2f}{ratio:>8.1f}x"
        )
    worst = max(r[2] for r in rows)
    print(f"最慢分组 {worst * 1000:.0f} ms，目标每个分组 < {GOAL_SECONDS:g} s")
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        store = stored(Path(tmp), cases, events)
        results["store_write_s"] = round(time.perf_counter() - began, 2)
        year = (
            START.astype("datetime64[us]").item(),
            (START + np.timedelta64(366, "D")).astype("datetime64[us]").item(),
        )
        load_s = best_of(repeat, lambda: repository.load_cases(store, start=year[0], end=year[1]))
        month_s = {
            by: best_of(
                repeat, lambda by=by: evaluate_month(store, month="2026-06", by=by, scheme=scheme, now=as_of)
            )
            for by in GROUPINGS
        }
        store.engine.dispose()
    results["store_year_load_s"] = round(load_s, 4)
    results["store_month_evaluate_s"] = {by: round(v, 4) for by, v in month_s.items()}
    print(
        f"从数据库（SQLite）读一年的案件和事件 {load_s * 1000:.0f} ms；一个月（约 {n // 12:,} 件）从数据库到排名，每个分组："
    )
    print("  " + "，".join(f"{by} {v * 1000:.0f} ms" for by, v in month_s.items()))
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"结果已写入 {args.json}")
    return 0 if args.quick or worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
