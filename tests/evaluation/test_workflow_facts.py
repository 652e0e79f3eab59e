"""Indicators of cases taken through the real service and workflow (fixed times): verification,
a unit's extension and park requests approved, a return and re-dispatch, a rework, a rejection and
the month boundary in China time — the events the workflow writes count as the definitions say."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gridmap.evaluation.scoring import load_scheme
from gridmap.evaluation.service import evaluate_month
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import ON_BINJIANG_ROAD

T0 = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 in Beijing
LATER = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
SCHEME = dataclasses.replace(load_scheme(), min_sample=1)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "insp": make_user("insp", "inspector"),
    }


def _report(ctx, now):
    lon, lat = ON_BINJIANG_ROAD
    return report_problem(ctx, lon=lon, lat=lat, category="garbage", description="垃圾", now=now).record[
        "tracking_no"
    ]


@pytest.fixture
def cases(ctx, people):
    office, unit, insp = people["office"], people["unit"], people["insp"]

    def step(no, user, action, when, **kw):
        act(ctx, no, user=user, action=action, now=at(when), **kw)

    a = _report(ctx, at(0))  # verified on time, fixed, checked and closed
    step(a, office, "send_verify", 0.5, inspector="insp")
    step(a, insp, "confirm", 1)
    step(a, office, "dispatch", 2, unit_code="U1")
    step(a, unit, "rectify", 3)
    step(a, insp, "verify", 4)
    step(a, office, "close", 5)
    b = _report(ctx, at(0))  # an approved extension and a rework, then closed
    step(b, office, "dispatch", 1, unit_code="U1")
    step(b, unit, "request_extension", 2, hours=8, note="等材料")
    step(b, office, "approve", 3)
    step(b, unit, "rectify", 4)
    step(b, insp, "rework", 5, note="没扫干净")
    step(b, unit, "rectify", 6)
    step(b, insp, "verify", 7)
    step(b, office, "close", 8)
    c = _report(ctx, at(0))  # an approved park
    step(c, office, "dispatch", 1, unit_code="U1")
    step(c, unit, "request_park", 2, until="2027-03-31", note="需列入明年计划")
    step(c, office, "approve", 3)
    d = _report(ctx, at(0))  # returned, re-dispatched, never fixed
    step(d, office, "dispatch", 1, unit_code="U1")
    step(d, unit, "return", 2, note="不归我们管")
    step(d, office, "dispatch", 3, unit_code="U1")
    e = _report(ctx, at(0))  # not filed
    step(e, office, "reject", 1, note="重复上报")
    _report(ctx, dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC))  # 00:30 on 1 November in Beijing
    _report(ctx, dt.datetime(2026, 10, 31, 15, 30, tzinfo=dt.UTC))  # 23:30 on 31 October
    return ctx


def _grid(ctx, month="2026-11", now=LATER):
    result = evaluate_month(ctx.store, month=month, by="grid", scheme=SCHEME, now=now)
    (row,) = result.records()
    return row


def test_workflow_events_count_as_defined(cases):
    row = _grid(cases)
    assert row["code"] == "610330100001"
    expected = {
        "reports": 6,  # a–e and the one reported at 00:30 on 1 November
        "filed": 4,
        "filed_valid": 4,
        "verifications_due": 1,
        "verified_on_time": 1,
        "due_dispatch": 3,  # c is parked
        "dispatched": 3,
        "dispatched_on_time": 3,
        "dispatched_accurately": 2,  # d went back
        "due_handling": 3,
        "handled": 2,
        "handled_on_time": 2,
        "closed": 2,
        "closed_on_time": 2,
        "reworks": 1,
        "reworked": 1,
        "extensions": 1,
        "extended": 1,
        "parked": 1,
        "overdue_pending": 1,
        "checks_due": 2,
        "checked_on_time": 2,
        "citizen_reports": 6,
    }
    assert {k: row[k] for k in expected} == expected
    assert row["accurate_dispatch_rate"] == pytest.approx(2 / 3)
    assert row["closure_rate"] == pytest.approx(2 / 3) and row["rework_rate"] == pytest.approx(1 / 3)


def test_the_month_is_the_china_month_and_the_running_month_is_counted_until_now(cases):
    assert _grid(cases, month="2026-10")["reports"] == 1
    early = _grid(cases, now=at(4.5))  # mid-month: a and b fixed, none closed, d's deadline ahead
    assert (early["overdue_pending"], early["closed"], early["handled"], early["reworked"]) == (0, 0, 2, 0)
    assert early["due_handling"] == 2 and early["checks_due"] == 1  # a checked at 4; b just fixed
