"""Follow-up (回访): the reporter's answer by the tracking key, the office's phone call, reopening."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.problems import followup
from gridmap.problems.records import find_row, show
from gridmap.problems.repository import events_and_photos
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import ON_BINJIANG_ROAD

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # a Friday, 09:00 in Beijing


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
        "leader": make_user("lead", "leader", leader_code="L01"),
    }


def closed_case(ctx, people, *, at=T0):
    """A citizen's report taken through dispatch, rectify, verify and close; (tracking no, key)."""
    made = report_problem(
        ctx, lon=ON_BINJIANG_ROAD[0], lat=ON_BINJIANG_ROAD[1], category="garbage", description="垃圾", now=at
    )
    no = made.record["tracking_no"]
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=at)
    act(ctx, no, user=people["unit"], action="rectify", note="已清理", now=at + dt.timedelta(hours=1))
    act(ctx, no, user=people["inspector"], action="verify", now=at + dt.timedelta(hours=2))
    act(ctx, no, user=people["inspector"], action="close", now=at + dt.timedelta(hours=3))
    return no, made.reporter_key


def events(ctx, no):
    row = find_row(ctx, no)
    return events_and_photos(ctx.store, [row.id])[0][row.id]


def test_the_reporter_says_satisfied_once_per_closure(ctx, people):
    no, key = closed_case(ctx, people)
    assert key and len(key) >= 20
    view = followup.tracking(ctx, no, key=key, now=T0 + dt.timedelta(hours=4))
    assert view["followup"]["ask"] is True and "reporter" not in view
    done = followup.answer(ctx, no, key=key, result="satisfied", now=T0 + dt.timedelta(hours=5))
    assert done["outcome"] == {
        "result": "satisfied",
        "reopened": False,
        "within_window": True,
        "message": "已收到您的回访，谢谢您的支持！",
    }
    assert done["status"] == "closed" and done["followup"]["ask"] is False
    row = find_row(ctx, no)
    assert (row.satisfaction, row.satisfaction_note) == ("satisfied", None)
    last = events(ctx, no)[-1]
    assert (last.action, last.actor, last.actor_role, last.to_status) == (
        "followup",
        None,
        "citizen",
        "closed",
    )
    assert json.loads(last.detail) == {
        "result": "satisfied",
        "channel": "tracking",
        "within_window": True,
        "reopened": False,
    }
    with pytest.raises(Conflict, match="已经回访过"):
        followup.answer(ctx, no, key=key, result="unsatisfied", note="x", now=T0 + dt.timedelta(hours=6))
    # staff see the satisfaction for evaluation; the public record does not carry it
    assert show(ctx, no, viewer=people["office"])["satisfaction"]["result"] == "satisfied"
    assert "satisfaction" not in show(ctx, no, viewer=None)


def test_a_wrong_or_missing_key_is_refused_and_changes_nothing(ctx, people):
    no, key = closed_case(ctx, people)
    for wrong in (None, "", key[:-1] + ("A" if key[-1] != "A" else "B"), key + "x", "钥匙"):
        with pytest.raises(Forbidden, match="上报人"):
            followup.answer(
                ctx, no, key=wrong, result="unsatisfied", note="没清", now=T0 + dt.timedelta(hours=4)
            )
        with pytest.raises(Forbidden):
            followup.tracking(ctx, no, key=wrong)
    assert find_row(ctx, no).satisfaction is None and events(ctx, no)[-1].action == "close"


def test_not_fixed_within_the_window_reopens_for_the_same_unit(ctx, people):
    no, key = closed_case(ctx, people)
    with pytest.raises(InvalidInput, match="哪里没解决"):
        followup.answer(ctx, no, key=key, result="unsatisfied", now=T0 + dt.timedelta(days=2))
    answered_at = T0 + dt.timedelta(days=2)
    done = followup.answer(ctx, no, key=key, result="不满意", note="垃圾还在", now=answered_at)
    assert done["outcome"]["reopened"] is True and "重新交办" in done["outcome"]["message"]
    row = find_row(ctx, no)
    assert (row.status, row.unit_code, row.reopens, row.closed_at) == ("dispatched", "U1", 1, None)
    assert (row.satisfaction, row.satisfaction_note) == ("unsatisfied", "垃圾还在")
    assert row.deadline > answered_at.replace(tzinfo=None)  # a fresh deadline from now
    *_, answer_event, reopen = events(ctx, no)
    assert (answer_event.action, reopen.action) == ("followup", "reopen")
    assert (reopen.actor_role, reopen.from_status, reopen.to_status, reopen.unit_code) == (
        "citizen",
        "closed",
        "dispatched",
        "U1",
    )
    assert reopen.deadline == row.deadline
    assert json.loads(answer_event.detail)["reopened"] is True
    # the unit reworks; the case is closed again and the reporter is asked again
    later = answered_at + dt.timedelta(hours=1)
    act(ctx, no, user=people["unit"], action="rectify", note="再次清理", now=later)
    act(ctx, no, user=people["inspector"], action="verify", now=later + dt.timedelta(hours=1))
    act(ctx, no, user=people["inspector"], action="close", now=later + dt.timedelta(hours=2))
    assert followup.tracking(ctx, no, key=key, now=later + dt.timedelta(hours=3))["followup"]["ask"] is True
    again = followup.answer(ctx, no, key=key, result="satisfied", now=later + dt.timedelta(hours=3))
    assert again["status"] == "closed" and find_row(ctx, no).reopens == 1


def test_not_fixed_after_the_window_is_recorded_but_does_not_reopen(ctx, people):
    no, key = closed_case(ctx, people)
    days = ctx.settings.followup_days
    late = T0 + dt.timedelta(hours=3, days=days, minutes=1)
    done = followup.answer(ctx, no, key=key, result="unsatisfied", note="还是脏", now=late)
    assert done["outcome"]["reopened"] is False and done["outcome"]["within_window"] is False
    assert "不再重新打开" in done["outcome"]["message"] and "重新上报" in done["outcome"]["message"]
    row = find_row(ctx, no)
    assert (row.status, row.reopens, row.satisfaction) == ("closed", 0, "unsatisfied")
    assert events(ctx, no)[-1].action == "followup"


def test_only_a_closed_case_is_followed_up(ctx, people):
    made = report_problem(
        ctx, lon=ON_BINJIANG_ROAD[0], lat=ON_BINJIANG_ROAD[1], category="garbage", description="d", now=T0
    )
    with pytest.raises(Conflict, match="办结"):
        followup.answer(ctx, made.record["tracking_no"], key=made.reporter_key, result="satisfied", now=T0)
    with pytest.raises(InvalidInput, match="result"):
        followup.answer(ctx, made.record["tracking_no"], key=made.reporter_key, result="maybe", now=T0)


def test_the_office_records_a_phone_follow_up_with_the_same_reopen_rule(ctx, people):
    no, _key = closed_case(ctx, people)
    at = T0 + dt.timedelta(days=1)
    for role in ("unit", "inspector", "leader"):
        with pytest.raises(Forbidden):
            followup.phone(ctx, no, user=people[role], result="satisfied", now=at)
    with pytest.raises(Unauthorized):
        followup.phone(ctx, no, user=None, result="satisfied", now=at)
    assert events(ctx, no)[-1].action == "close"
    rec = followup.phone(
        ctx, no, user=people["office"], result="unsatisfied", note="电话回访：仍有垃圾", now=at
    )
    assert rec["status"] == "dispatched" and rec["reopens"] == 1 and rec["outcome"]["reopened"] is True
    *_, call, reopen = events(ctx, no)
    assert (call.action, call.actor, call.actor_role) == ("followup", "office", "office")
    assert json.loads(call.detail)["channel"] == "phone"
    assert (reopen.action, reopen.actor) == ("reopen", "office")


def test_two_answers_at_once_count_once(ctx, people, monkeypatch):
    # both read the closed, unanswered row; the second write finds it answered and is refused
    no, key = closed_case(ctx, people)
    stale = find_row(ctx, no)
    followup.answer(ctx, no, key=key, result="satisfied", now=T0 + dt.timedelta(hours=4))
    monkeypatch.setattr(followup, "find_row", lambda _ctx, _ref: stale)
    with pytest.raises(Conflict, match="刚被他人处理或回访过"):
        followup.answer(ctx, no, key=key, result="unsatisfied", note="没清", now=T0 + dt.timedelta(hours=4))
    monkeypatch.undo()
    row = find_row(ctx, no)
    assert (row.status, row.satisfaction, row.reopens) == ("closed", "satisfied", 0)
    assert [e.action for e in events(ctx, no)].count("followup") == 1
