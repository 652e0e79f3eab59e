"""The periodic chase with a fixed `now`: reminders, overdue, escalation, follow-ups and digests, each once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gridmap.clock import from_db
from gridmap.notify import repository as outbox
from gridmap.problems.chasing import scan
from gridmap.problems.records import find_row
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import ON_BINJIANG_ROAD

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # a Friday, 09:00 China time


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "other_unit": make_user("u2", "unit", unit_code="U2"),
        "leader": make_user("boss", "leader", leader_code="L01"),  # leads grid 610330100001
        "far_leader": make_user("far", "leader", leader_code="L03"),  # leads the other grid only
    }


@pytest.fixture
def dispatched(ctx, people):
    rec = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="garbage",
        description="垃圾堆放",
        reporter_phone="13700001111",
        now=T0,
    ).record
    act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", unit_code="U1", now=T0)
    return rec["tracking_no"]


def deadline(ctx, no):
    return from_db(find_row(ctx, no).deadline)


def events(ctx, username):
    return [(r.event, r.tracking_no) for r in outbox.inbox(ctx.store, username)]


def no_digest(ctx):
    ctx.settings = dataclasses.replace(ctx.settings, digest_at="")


def test_a_reminder_before_the_deadline_once(ctx, people, dispatched):
    no_digest(ctx)
    due = deadline(ctx, dispatched)
    assert scan(ctx, now=due - dt.timedelta(days=30)) == {}  # far from the deadline
    assert scan(ctx, now=due - dt.timedelta(minutes=30)) == {"due_soon": 1}
    assert scan(ctx, now=due - dt.timedelta(minutes=20)) == {}  # already reminded
    assert events(ctx, "u1")[0] == ("due_soon", dispatched)
    assert "将于" in outbox.inbox(ctx.store, "u1")[0].message
    assert events(ctx, "u2") == [] and events(ctx, "boss") == []


def test_overdue_once_per_deadline_and_escalation_to_the_grids_leaders(ctx, people, dispatched):
    no_digest(ctx)
    due = deadline(ctx, dispatched)
    assert scan(ctx, now=due + dt.timedelta(minutes=1)) == {"overdue": 1}
    assert scan(ctx, now=due + dt.timedelta(minutes=2)) == {}
    assert events(ctx, "u1")[0] == ("overdue", dispatched)
    assert events(ctx, "office")[0] == ("overdue", dispatched)
    assert events(ctx, "boss") == []  # not overdue long enough (8 working hours) yet
    late = due + dt.timedelta(days=30)
    assert scan(ctx, now=late) == {"escalated": 1}
    assert events(ctx, "boss") == [("escalated", dispatched)]
    assert "逾期已超过 8 个工作小时" in outbox.inbox(ctx.store, "boss")[0].message
    assert events(ctx, "far") == []  # another grid's leader hears nothing
    assert scan(ctx, now=late + dt.timedelta(hours=1)) == {}

    # an extension moves the deadline: overdue and escalation are armed again
    new_due = late + dt.timedelta(days=1)
    act(
        ctx,
        dispatched,
        user=people["office"],
        action="extend",
        deadline=new_due.isoformat(),
        note="x",
        now=late,
    )
    assert scan(ctx, now=new_due + dt.timedelta(minutes=1)) == {"overdue": 1}
    assert [e for e, _ in events(ctx, "u1")].count("overdue") == 2


def test_a_fixed_problem_is_not_chased(ctx, people, dispatched):
    no_digest(ctx)
    act(ctx, dispatched, user=people["unit"], action="rectify", note="已清理", now=T0)
    assert scan(ctx, now=deadline(ctx, dispatched) + dt.timedelta(days=30)) == {}


def test_follow_up_due_tells_the_office_once(ctx, people, dispatched):
    no_digest(ctx)
    office = people["office"]
    act(ctx, dispatched, user=people["unit"], action="rectify", note="已清理", now=T0)
    act(ctx, dispatched, user=office, action="verify", now=T0)
    act(ctx, dispatched, user=office, action="close", now=T0)
    assert scan(ctx, now=T0 + dt.timedelta(days=2, hours=23)) == {}
    assert scan(ctx, now=T0 + dt.timedelta(days=3, minutes=1)) == {"followup_due": 1}
    assert scan(ctx, now=T0 + dt.timedelta(days=4)) == {}
    (entry,) = [r for r in outbox.inbox(ctx.store, "office") if r.event == "followup_due"]
    assert "请电话回访" in entry.message and entry.tracking_no == dispatched


def test_the_leaders_daily_digest_once_a_day_after_its_hour(ctx, people, dispatched):
    ctx.settings = dataclasses.replace(ctx.settings, due_soon_hours=0.0)
    before = dt.datetime(2026, 11, 27, 23, 59, tzinfo=dt.UTC)  # 07:59 China time on the 28th
    assert scan(ctx, now=before) == {}
    at_eight = before + dt.timedelta(minutes=1)
    assert scan(ctx, now=at_eight) == {"digest": 2}
    assert scan(ctx, now=at_eight + dt.timedelta(hours=3)) == {}
    (mine,) = outbox.inbox(ctx.store, "boss")
    assert mine.event == "digest"
    assert mine.message.startswith("11月28日网格问题汇总：您包片的网格共有未办结问题 1 件")
    (far,) = outbox.inbox(ctx.store, "far")
    assert "目前没有未办结的问题" in far.message
    assert scan(ctx, now=at_eight + dt.timedelta(days=1)) == {"digest": 2}  # the next day's


def test_a_scan_with_nothing_to_say_writes_nothing(ctx, people):
    assert scan(ctx, now=T0) == {"digest": 2}  # 09:00: only the digests (no problems)
    assert scan(ctx, now=T0) == {}


def test_before_dispatch_the_office_is_chased_not_the_unit(ctx, people):
    ctx.settings = dataclasses.replace(ctx.settings, digest_at="")
    rec = report_problem(
        ctx, lon=ON_BINJIANG_ROAD[0], lat=ON_BINJIANG_ROAD[1], category="garbage", description="垃圾", now=T0
    ).record
    due = deadline(ctx, rec["tracking_no"])
    assert scan(ctx, now=due - dt.timedelta(minutes=5)) == {"due_soon": 1}
    assert scan(ctx, now=due + dt.timedelta(minutes=5)) == {"overdue": 1}
    assert events(ctx, "u1") == []
    assert [e for e, _ in events(ctx, "office")] == ["overdue", "due_soon", "reported"]
