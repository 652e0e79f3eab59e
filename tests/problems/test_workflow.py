"""The workflow as a library: transitions, notes, deadlines, overdue, events with actors."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.problems.records import show
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act, support
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, OUTSIDE_GRIDS

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
    }


def _report(ctx, spot=ON_BINJIANG_ROAD, category="garbage"):
    return report_problem(ctx, lon=spot[0], lat=spot[1], category=category, description="d", now=T0).record


def test_reject_needs_a_reason_and_is_final(ctx, people):
    no = _report(ctx)["tracking_no"]
    with pytest.raises(InvalidInput, match="不予立案的理由"):
        act(ctx, no, user=people["office"], action="reject", now=T0)
    rec = act(ctx, no, user=people["office"], action="reject", note="重复上报", now=T0)
    assert rec["status"] == "rejected" and rec["closed_at"]
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="accept", now=T0)
    with pytest.raises(Conflict):
        support(ctx, no, now=T0)


def test_extend_by_deadline_and_overdue_flag(ctx, people):
    rec = _report(ctx, category="manhole")  # 4 hours
    no = rec["tracking_no"]
    later = T0 + dt.timedelta(hours=5)
    act(ctx, no, user=people["office"], action="accept", now=T0)
    from gridmap.problems.records import find_row, record

    assert record(ctx, find_row(ctx, no), now=later)["overdue"] is True
    with pytest.raises(InvalidInput, match="晚于原期限"):
        act(
            ctx,
            no,
            user=people["office"],
            action="extend",
            deadline="2026-11-27T08:00:00+08:00",
            note="x",
            now=later,
        )
    rec = act(
        ctx, no, user=people["office"], action="extend", deadline="2026-11-28", note="等井盖", now=later
    )
    assert rec["deadline"] == "2026-11-28T00:00:00+08:00" and rec["overdue"] is False
    event = rec["history"][-1]
    assert (event["action"], event["actor"], event["note"]) == ("extend", "office", "等井盖")
    assert event["deadline"] == rec["deadline"]


def test_unknown_action_missing_user_and_wrong_unit(ctx, people, make_user):
    no = _report(ctx)["tracking_no"]
    with pytest.raises(InvalidInput, match="操作 action"):
        act(ctx, no, user=people["office"], action="explode", now=T0)
    with pytest.raises(Unauthorized):
        act(ctx, no, user=None, action="accept", now=T0)
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    other = make_user("u2", "unit", unit_code="U2")
    with pytest.raises(Forbidden, match="本单位"):
        act(ctx, no, user=other, action="rectify", now=T0)
    # its own unit may act
    rec = act(ctx, no, user=people["unit"], action="rectify", note="已处理", now=T0)
    assert rec["status"] == "rectified"


def test_out_of_grid_problem_needs_a_unit_to_dispatch(ctx, people):
    rec = _report(ctx, spot=OUTSIDE_GRIDS)
    assert rec["unit"] is None
    with pytest.raises(InvalidInput, match=r"明确选择责任单位.*没有建议的单位"):
        act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", now=T0)
    with pytest.raises(InvalidInput, match="不存在"):
        act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", unit_code="U99", now=T0)
    done = act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", unit_code="U3", now=T0)
    assert done["unit"] == {"code": "U3", "name": "县供电分公司"} and done["status"] == "dispatched"


# --- who may do what, for pages -------------------------------------------------------------
def _user(role, **kw):
    from gridmap.auth import User

    return User(id=1, username=role, role=role, **kw)


@pytest.mark.parametrize(
    ("role", "extra", "status", "unit", "expected"),
    [
        (
            "office",
            {},
            "reported",
            "U1",
            ["send_verify", "accept", "reject", "dispatch", "extend", "set_urgency", "urge"],
        ),
        ("office", {}, "rectified", "U1", ["verify", "rework", "set_urgency", "urge"]),
        ("office", {}, "verified", "U1", ["rework", "set_urgency", "urge", "close"]),
        ("office", {}, "closed", "U1", []),
        ("office", {}, "parked", "U1", ["unpark", "rectify", "set_urgency", "urge"]),
        ("office", {}, "returned", "U1", ["dispatch", "extend", "set_urgency", "urge"]),
        (
            "unit",
            {"unit_code": "U1"},
            "dispatched",
            "U1",
            ["return", "request_extension", "request_park", "rectify"],
        ),
        ("unit", {"unit_code": "U1"}, "parked", "U1", ["rectify"]),
        ("unit", {"unit_code": "U1"}, "returned", "U1", []),
        ("unit", {"unit_code": "U2"}, "dispatched", "U1", []),  # another unit's problem
        ("unit", {"unit_code": "U1"}, "reported", "U1", []),
        ("inspector", {}, "rectified", None, ["verify", "rework"]),
        ("inspector", {}, "verified", None, ["rework", "close"]),
        ("leader", {"leader_code": "L01"}, "reported", "U1", ["urge"]),
        ("leader", {"leader_code": "L01"}, "closed", "U1", []),
    ],
)
def test_allowed_actions_by_role_status_and_unit(role, extra, status, unit, expected):
    from gridmap.problems.workflow import allowed_actions

    rec = {"status": status, "unit": {"code": unit, "name": "单位"} if unit else None}
    assert allowed_actions(_user(role, **extra), rec) == expected


def test_anonymous_visitors_take_no_action():
    from gridmap.problems.workflow import allowed_actions

    assert allowed_actions(None, {"status": "reported", "unit": None}) == []


def test_allowed_actions_are_the_ones_act_accepts(ctx, people):
    """What the page offers a unit is exactly what act() lets it do, and nothing act() refuses."""
    from gridmap.problems.workflow import TRANSITIONS, allowed_actions, problem_page

    no = _report(ctx)["tracking_no"]
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    page = problem_page(ctx, no, user=people["unit"], now=T0)
    assert page.actions == ["return", "request_extension", "request_park", "rectify"] and page.units == []
    for action in set(TRANSITIONS) - set(page.actions):
        with pytest.raises((Forbidden, Conflict, InvalidInput)):
            act(ctx, no, user=people["unit"], action=action, note="说明", hours=1, urgency="urgent", now=T0)
    assert act(ctx, no, user=people["unit"], action="rectify", now=T0)["status"] == "rectified"
    office = problem_page(ctx, no, user=people["office"], now=T0)
    assert office.actions == allowed_actions(people["office"], office.record)
    assert office.actions == ["verify", "rework", "set_urgency", "urge"]
    assert "reporter" in office.record
    public = problem_page(ctx, no, user=None, now=T0)
    assert public.actions == [] and "reporter" not in public.record
    assert all(h["actor"] is None for h in public.record["history"])


def test_dispatch_offers_every_unit_with_the_suggested_one_first(ctx, people):
    from gridmap.problems.workflow import problem_page

    no = _report(ctx, spot=NEAR_HOSPITAL)["tracking_no"]  # point P2: unit U2 answers for it
    page = problem_page(ctx, no, user=people["office"], now=T0)
    assert "dispatch" in page.actions and page.suggested_unit == "U2"
    codes = [code for code, _name in page.units]
    assert codes == ["U2", "U1", "U3"] and sorted(codes) == sorted(ctx.reference.model().units.index)


def test_dispatch_without_a_unit_is_refused_naming_the_suggestion(ctx, people):
    """The office chooses; nothing is handed to a unit by default (issue 11)."""
    no = _report(ctx, spot=NEAR_HOSPITAL)["tracking_no"]
    for empty in (None, "", "  "):
        with pytest.raises(InvalidInput, match=r"明确选择责任单位.*建议交给“县城管执法局”（U2）"):
            act(ctx, no, user=people["office"], action="dispatch", unit_code=empty, now=T0)
    assert show(ctx, no, viewer=people["office"], now=T0)["status"] == "reported"
    with pytest.raises(InvalidInput, match="“U99”不存在"):
        act(ctx, no, user=people["office"], action="dispatch", unit_code="U99", now=T0)
    done = act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    assert done["unit"] == {"code": "U1", "name": "县住建局"} and done["status"] == "dispatched"
