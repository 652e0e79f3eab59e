"""The demo county's day through `gridmap patrol-day`: 46 inspectors, 139 points, open problems, street distances."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gridmap.cli import main
from tests.routing import town
from tests.test_demo_data import DEMO


@pytest.fixture(scope="module")
def demo(module_database):
    """The demo county and its seeded problems, once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.problems.service import context_from_settings
    from gridmap.reference import ReferenceCache, load_directory
    from gridmap.settings import load_settings
    from gridmap.store import Store

    folder, url = module_database
    settings = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
    }
    store = Store(settings["GRIDMAP_DATABASE_URL"])
    load_directory(store, DEMO)
    cache = ReferenceCache(store, tolerance_m=50.0)
    problems = town.seed_demo_problems(
        context_from_settings(store, cache, load_settings(settings, environ={})), cache.model(), count=24
    )
    return settings, problems


def run(settings, *args):
    env = {**settings, "GRIDMAP_PATROL_TIME_LIMIT": "2"}
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("grids", ["--own-grids", "--any-grid"])
def test_demo_day_visits_every_mandatory_stop_within_a_working_day(demo, grids):
    settings, problems = demo
    done = run(settings, "patrol-day", "--day", "2026-11-27", "--json", grids)
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    must = {n for n, kind in problems.items() if kind in ("rectified", "overdue")}
    visited = [s for r in body["routes"] for s in r["stops"]]
    assert len(visited) == len(set(visited))
    assert must <= set(visited)  # every problem to verify and every overdue one
    assert body["mandatory"] == len(must)
    assert all(r["work"] <= r["budget"] for r in body["routes"])
    assert body["options"]["budget_m"] == 27000  # 6 h walking at 4.5 km/h
    assert len(visited) + len(body["dropped"]) == 139 + len(problems)
    assert len(body["routes"]) + len(body["idle"]) == 46
    assert body["network"]["components"] == 1 and body["network"]["edges"] >= 237


def test_demo_day_text_prints_the_dropped_list(demo):
    settings, _ = demo
    done = run(settings, "patrol-day", "--day", "2026-11-27", "--hours", "0.5")
    assert done.exit_code == 0, done.output
    assert "未安排的可选点位（" in done.stdout  # 46 × 30 minutes cannot take all 139 points and the problems
    assert "必去" in done.stdout
