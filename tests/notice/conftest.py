"""A store with a hand-made month of cases whose ranking is known (for assemble, cli and web tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from tests import factory
from tests.notice.samples import jpeg

GRID_A, GRID_B = "610330100001", "610330100002"  # 滨江网格, 新建路网格
IN_A, IN_B = (106.5151, 33.9101), (106.5251, 33.9101)
NOW = dt.datetime(2026, 12, 2, 2, 0)  # naive UTC: 2 December 2026, 10:00 in China
NOV = dt.datetime(2026, 11, 3, 2, 0)


@dataclass
class Month:
    ctx: object
    settings: dict
    tracking: dict  # label -> tracking number


def _seed(ctx) -> dict:
    from gridmap.problems import schema
    from gridmap.problems.service import report_problem

    tracking: dict[str, str] = {}

    def report(label, spot, *, day, category="garbage", photo=False, **state):
        done = report_problem(
            ctx,
            lon=spot[0],
            lat=spot[1],
            category=category,
            description=f"测试问题{label}",
            photos=[("p.jpg", jpeg("blue", (320, 240)))] if photo else None,
            notify=False,
            now=NOV + dt.timedelta(days=day),
        )
        number = done.record["tracking_no"]
        tracking[label] = number
        if state:
            with ctx.store.writing() as conn:
                conn.execute(
                    update(schema.problems).where(schema.problems.c.tracking_no == number).values(**state)
                )

    deadline = NOV + dt.timedelta(days=10)
    # grid A: 5 closed (4 in time, 1 late), 1 dispatched and overdue, 1 rejected (not a case)
    for i in range(4):
        report(f"A{i}", IN_A, day=i, status="closed", deadline=deadline, closed_at=NOV + dt.timedelta(days=5))
    report("A4", IN_A, day=4, status="closed", deadline=deadline, closed_at=NOV + dt.timedelta(days=12))
    report("A5", IN_A, day=5, category="stall", photo=True, status="dispatched", deadline=deadline)
    report("A6", IN_A, day=6, status="rejected")
    # grid B: 6 closed in time, 1 parked (out of the denominators)
    for i in range(6):
        report(f"B{i}", IN_B, day=i, status="closed", deadline=deadline, closed_at=NOV + dt.timedelta(days=2))
    report("B6", IN_B, day=7, status="parked")
    # October: overdue still, but not one of November's cases
    report("OCT", IN_B, day=-10, status="dispatched", deadline=NOV - dt.timedelta(days=3))
    return tracking


def _open(folder, url: str) -> tuple[object, dict]:
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache, load_directory
    from gridmap.settings import load_settings
    from gridmap.store import Store

    settings = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test-secret",
    }
    store = Store(settings["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(folder / "data"))
    ctx = context_from_settings(
        store, ReferenceCache(store, tolerance_m=50.0), load_settings(settings, environ={})
    )
    return ctx, settings


@pytest.fixture(scope="module")
def month(module_database) -> Month:
    """Hand-made cases whose states are written directly (the stand-in ranking's known answers)."""
    ctx, settings = _open(*module_database)
    return Month(ctx=ctx, settings=settings, tracking=_seed(ctx))


@pytest.fixture(scope="module")
def imported(module_database) -> Month:
    """400 past cases of November 2026 imported with their events (`gridmap import-problems`), plus
    one reported case with a photo still pending past its deadline."""
    from gridmap.problems.history import import_history
    from tests.problems.historyfile import make_cases, write_history

    folder, url = module_database
    ctx, settings = _open(folder, url)
    path = write_history(folder / "history.csv", make_cases(400, month="2026-11", seed=7), headers="en")
    report = import_history(ctx, path, now=NOW.replace(tzinfo=dt.UTC))
    assert report.committed, report.to_text()
    from gridmap.problems.service import report_problem

    done = report_problem(
        ctx,
        lon=IN_A[0],
        lat=IN_A[1],
        category="stall",
        description="农贸市场门口占道经营",
        photos=[("p.jpg", jpeg("blue", (320, 240)))],
        notify=False,
        now=NOV,
    )
    return Month(ctx=ctx, settings=settings, tracking={"photo": done.record["tracking_no"]})


def evaluated(ctx, by: str) -> list[dict]:
    """What `gridmap evaluate --month 2026-11 --by <by> --json` lists, in rank order (unranked last)."""
    from gridmap.evaluation.scoring import load_scheme
    from gridmap.evaluation.service import evaluate_month

    scheme = load_scheme(ctx.settings.scoring_file or None)
    records = evaluate_month(ctx.store, month="2026-11", by=by, scheme=scheme, now=NOW).records()
    return sorted(records, key=lambda r: (r["rank"] is None, r["rank"] or 0))
