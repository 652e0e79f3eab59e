"""gridmap.problems.repository on its own: selections and orders, the report, action and support writes."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from sqlalchemy.exc import OperationalError

from gridmap.accounts.repository import Limit
from gridmap.problems import repository
from gridmap.problems.service import report_problem
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD, OUTSIDE_GRIDS

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)


def _report(ctx, spot, category="garbage", *, at=T0, **kw) -> dict:
    return report_problem(
        ctx, lon=spot[0], lat=spot[1], category=category, description=f"{category} 问题", now=at, **kw
    ).record


@pytest.fixture
def four(ctx):
    """Four problems an hour apart: grid A garbage, grid B stall, grid B manhole (4 h), outside grids."""
    return [
        _report(ctx, ON_BINJIANG_ROAD, at=T0),
        _report(ctx, ON_XINJIAN_ROAD, "stall", at=T0 + dt.timedelta(hours=1)),
        _report(ctx, NEAR_HOSPITAL, "manhole", at=T0 + dt.timedelta(hours=2)),
        _report(ctx, OUTSIDE_GRIDS, at=T0 + dt.timedelta(hours=3)),
    ]


def _numbers(rows) -> list[str]:
    return [r.tracking_no for r in rows]


def test_find_problem_by_id_or_number(ctx, four):
    first = four[0]
    assert repository.find_problem(ctx.store, problem_id=first["id"]).tracking_no == first["tracking_no"]
    assert repository.find_problem(ctx.store, tracking_no=first["tracking_no"]).id == first["id"]
    assert repository.find_problem(ctx.store, tracking_no="FX20000101-0001") is None
    assert repository.find_problem(ctx.store, problem_id=10_000) is None


def test_criteria_and_orders(ctx, four):
    p1, p2, p3, p4 = (p["tracking_no"] for p in four)
    select = repository.select_problems
    assert _numbers(select(ctx.store, order=("-created_at", "-id"))) == [p4, p3, p2, p1]
    assert _numbers(select(ctx.store, order=("created_at",), limit=2)) == [p1, p2]
    grid_b = repository.Criteria(equal=(("grid_code", "610330100002"),))
    assert _numbers(select(ctx.store, grid_b, order=("id",))) == [p2, p3]
    # equalities on the same column all hold: the scope's unit and a filter's other unit give nothing
    both = repository.Criteria(equal=(("unit_code", "U1"), ("unit_code", "U2")))
    assert select(ctx.store, both) == []
    assert select(ctx.store, repository.Criteria(among=(("tracking_no", []),))) == []
    assert _numbers(select(ctx.store, repository.Criteria(fallback=True))) == [p4]
    # the manhole (4 hours) is overdue five hours after T0; the 24-hour ones are not
    late = repository.Criteria(overdue_at=T0 + dt.timedelta(hours=7))
    assert _numbers(select(ctx.store, late)) == [p3]
    one, three = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)
    window = repository.Criteria(created_from=one, created_before=three)
    assert _numbers(select(ctx.store, window, order=("id",))) == [p2, p3]
    until = repository.Criteria(created_from=one, created_until=three)
    assert _numbers(select(ctx.store, until, order=("id",))) == [p2, p3, p4]
    assert _numbers(select(ctx.store, repository.Criteria(text="stall"))) == [p2]
    box = repository.Criteria(
        lon_between=(ON_BINJIANG_ROAD[0] - 0.001, ON_BINJIANG_ROAD[0] + 0.001),
        lat_between=(ON_BINJIANG_ROAD[1] - 0.001, ON_BINJIANG_ROAD[1] + 0.001),
    )
    assert _numbers(select(ctx.store, box)) == [p1]
    assert repository.counts_by_status(ctx.store) == {"reported": 4}


def test_a_reused_idempotency_key_is_key_taken_and_writes_nothing(ctx, four):
    values = repository.find_problem(ctx.store, problem_id=four[0]["id"])._asdict()
    values = {k: v for k, v in values.items() if k not in ("id", "tracking_no")}
    event = {
        "at": T0.replace(tzinfo=None),
        "actor": None,
        "actor_role": "citizen",
        "action": "report",
        "from_status": None,
        "to_status": "reported",
        "note": None,
    }
    kwargs = {
        "day": "20261127",
        "prefix": "FX",
        "values": values,
        "event": event,
        "fingerprint": "f" * 64,
        "hits": [],
        "photos": [],
        "put_photo": lambda photo, day: ("k", "t"),
        "now": T0,
    }
    first = repository.insert_report(ctx.store, key="same-key", **kwargs)
    assert first.tracking_no == "FX20261127-0005"
    with pytest.raises(repository.KeyTaken):
        repository.insert_report(ctx.store, key="same-key", **kwargs)
    assert len(repository.select_problems(ctx.store)) == 5
    assert repository.idempotency_hit(ctx.store, "same-key")[0] == "f" * 64
    # the failed transaction took no number either
    assert repository.insert_report(ctx.store, key="other-key", **kwargs).tracking_no == "FX20261127-0006"


def test_an_action_on_a_moved_problem_changes_nothing(ctx, four):
    problem_id = four[0]["id"]
    event = {
        "at": T0.replace(tzinfo=None),
        "actor": "office",
        "actor_role": "office",
        "action": "accept",
        "to_status": "accepted",
        "note": None,
        "deadline": None,
        "unit_code": None,
    }
    common = {
        "problem_id": problem_id,
        "changes": {"status": "accepted"},
        "event": event,
        "photos": [],
        "put_photo": lambda photo, day: ("k", "t"),
        "day": "20261127",
        "now": T0,
    }
    assert repository.apply_action(ctx.store, from_status="dispatched", **common) is False
    assert repository.find_problem(ctx.store, problem_id=problem_id).status == "reported"
    assert repository.apply_action(ctx.store, from_status="reported", **common) is True
    assert repository.find_problem(ctx.store, problem_id=problem_id).status == "accepted"
    events, _photos = repository.events_and_photos(ctx.store, [problem_id])
    assert [(e.action, e.from_status, e.to_status) for e in events[problem_id]] == [
        ("report", None, "reported"),
        ("accept", "reported", "accepted"),
    ]


def test_one_support_per_client_within_the_window(ctx, four):
    problem_id = four[0]["id"]
    rule = Limit("support", 1, dt.timedelta(hours=24))
    common = {"problem_id": problem_id, "status": "reported", "note": None, "rule": rule}
    assert repository.add_support(ctx.store, now=T0, who="a", **common) is True
    assert repository.add_support(ctx.store, now=T0 + dt.timedelta(hours=1), who="a", **common) is False
    assert repository.add_support(ctx.store, now=T0 + dt.timedelta(hours=25), who="a", **common) is True
    assert repository.add_support(ctx.store, now=T0, who=None, **common) is True
    assert repository.add_support(ctx.store, now=T0, who=None, **common) is True
    assert repository.find_problem(ctx.store, problem_id=problem_id).supporters == 4


def test_a_locked_database_is_tried_again(ctx, monkeypatch):
    real = type(ctx.store).writing
    failures = []

    @contextlib.contextmanager
    def flaky(store):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("BEGIN", {}, Exception("database is locked"))
        with real(store) as conn:
            yield conn

    monkeypatch.setattr(type(ctx.store), "writing", flaky)
    rec = _report(ctx, ON_BINJIANG_ROAD)
    assert len(failures) == 2
    assert rec["tracking_no"] == "FX20261127-0001"
    assert _numbers(repository.select_problems(ctx.store)) == [rec["tracking_no"]]


def test_other_database_errors_are_not_retried(ctx, monkeypatch):
    calls = []

    @contextlib.contextmanager
    def broken(store):
        calls.append(1)
        raise OperationalError("BEGIN", {}, Exception("disk I/O error"))
        yield

    monkeypatch.setattr(type(ctx.store), "writing", broken)
    with pytest.raises(OperationalError, match="disk I/O error"):
        _report(ctx, ON_BINJIANG_ROAD)
    assert calls == [1]


def test_a_database_locked_on_every_attempt_is_a_503_that_writes_nothing(ctx, monkeypatch):
    from gridmap.errors import ServiceBusy

    @contextlib.contextmanager
    def locked(store):
        raise OperationalError("BEGIN", {}, Exception("database is locked"))
        yield

    monkeypatch.setattr("gridmap.problems.service.time.sleep", lambda _s: None)
    monkeypatch.setattr(type(ctx.store), "writing", locked)
    with pytest.raises(ServiceBusy, match="数据库正忙") as caught:
        _report(ctx, ON_BINJIANG_ROAD)
    assert caught.value.status == 503 and caught.value.retry_after > 0
    monkeypatch.undo()
    assert repository.select_problems(ctx.store) == []
