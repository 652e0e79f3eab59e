"""The closed loop's new states and actions (issue 12): 核实, 回退, unit requests, 挂账, urgency, 催办.

Each action: the role that may (and its event: actor, time, note, photos, detail), the roles that
may not (403), and a status it may not start from (409).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gridmap.clock import iso, to_db
from gridmap.errors import Conflict, Forbidden, InvalidInput
from gridmap.problems import deadlines, lists, repository
from gridmap.problems.records import find_row, record
from gridmap.problems.service import report_problem
from gridmap.problems.states import PENDING_STATUSES, is_overdue, verified_on_time
from gridmap.problems.workflow import ACTION_ROLES, act, allowed_actions, problem_page, require_action
from tests.problems.conftest import ON_BINJIANG_ROAD, jpeg_bytes

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # Friday 09:00 in Beijing
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "unit2": make_user("u2", "unit", unit_code="U2"),
        "inspector": make_user("insp", "inspector"),
        "inspector2": make_user("insp2", "inspector"),
        "leader": make_user("lead1", "leader", leader_code="L01"),  # leads grid 610330100001
        "leader3": make_user("lead3", "leader", leader_code="L03"),  # leads grid 610330100002 only
    }


def _report(ctx, category="garbage"):
    spot = ON_BINJIANG_ROAD  # grid 610330100001, unit U1
    rec = report_problem(ctx, lon=spot[0], lat=spot[1], category=category, description="d", now=T0).record
    return rec["tracking_no"]


def _dispatched(ctx, people, category="garbage"):
    no = _report(ctx, category)
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    return no


def _last(rec):
    return rec["history"][-1]


def _refused(ctx, no, users, action, error, **kw):
    for user in users:
        with pytest.raises(error):
            act(ctx, no, user=user, action=action, now=T0 + HOUR, **kw)


def _row(ctx, no):
    return find_row(ctx, no)


# --- 核实 ------------------------------------------------------------------------------------
def test_send_verify_names_an_active_inspector_and_sets_the_verification_deadline(ctx, people, make_user):
    no = _report(ctx)
    office = people["office"]
    with pytest.raises(InvalidInput, match="选择巡查员"):
        act(ctx, no, user=office, action="send_verify", now=T0)
    with pytest.raises(InvalidInput, match="“nobody”不存在或已停用"):
        act(ctx, no, user=office, action="send_verify", inspector="nobody", now=T0)
    with pytest.raises(InvalidInput, match="“u1”是责任单位，不是巡查员"):
        act(ctx, no, user=office, action="send_verify", inspector="u1", now=T0)
    from gridmap.auth import set_active

    make_user("gone", "inspector")
    set_active(ctx.store, username="gone", active=False)
    with pytest.raises(InvalidInput, match="“gone”不存在或已停用"):
        act(ctx, no, user=office, action="send_verify", inspector="gone", now=T0)
    _refused(
        ctx,
        no,
        [people["unit"], people["inspector"], people["leader"]],
        "send_verify",
        Forbidden,
        inspector="insp",
    )

    rec = act(ctx, no, user=office, action="send_verify", inspector="insp", note="请核实", now=T0)
    due = deadlines.due(ctx, T0, ctx.settings.verify_hours)
    assert rec["status"] == "verifying" and rec["verifier"] == "insp"
    assert rec["verify_deadline"] == iso(to_db(due))
    event = _last(rec)
    assert (event["action"], event["actor"], event["note"]) == ("send_verify", "office", "请核实")
    assert event["detail"] == {"inspector": "insp", "verify_deadline": iso(to_db(due))}
    assert event["deadline"] is None  # the unit's deadline is unchanged; the verification's is in detail
    # only from reported
    with pytest.raises(Conflict, match="核实中"):
        act(ctx, no, user=office, action="send_verify", inspector="insp", now=T0)
    # the page offers the active inspectors
    page = problem_page(ctx, _report(ctx), user=office, now=T0)
    assert "send_verify" in page.actions
    assert [login for login, _name in page.inspectors] == ["insp", "insp2"]


def test_confirm_by_the_inspector_sent_files_the_case_and_counts_on_time(ctx, people):
    no = _report(ctx)
    act(ctx, no, user=people["office"], action="send_verify", inspector="insp", now=T0)
    # another inspector, a unit and a leader may not answer; the one sent is offered it
    _refused(ctx, no, [people["inspector2"], people["unit"], people["leader"]], "confirm", Forbidden)
    rec = record(ctx, _row(ctx, no), viewer=people["inspector"], now=T0)
    assert allowed_actions(people["inspector"], rec) == ["confirm", "refute"]
    assert allowed_actions(people["inspector2"], rec) == []
    done = act(
        ctx,
        no,
        user=people["inspector"],
        action="confirm",
        note="现场确有垃圾",
        photos=[("a.jpg", jpeg_bytes())],
        now=T0 + HOUR,
    )
    assert done["status"] == "accepted"
    event = _last(done)
    assert (event["action"], event["actor"], event["actor_role"]) == ("confirm", "insp", "inspector")
    assert event["detail"]["on_time"] is True and len(event["photos"]) == 1
    assert [p["stage_label"] for p in done["photos"] if p["id"] in event["photos"]] == ["核实"]
    # wrong status: a filed case is not being verified
    with pytest.raises(Conflict):
        act(ctx, no, user=people["inspector"], action="confirm", now=T0 + HOUR)


def test_a_late_verification_is_not_on_time_and_the_office_may_answer(ctx, people):
    no = _report(ctx)
    act(ctx, no, user=people["office"], action="send_verify", inspector="insp", now=T0)
    late = to_db(deadlines.due(ctx, T0, ctx.settings.verify_hours)) + dt.timedelta(minutes=1)
    done = act(ctx, no, user=people["office"], action="confirm", now=late.replace(tzinfo=dt.UTC))
    assert done["status"] == "accepted" and _last(done)["detail"]["on_time"] is False
    row = _row(ctx, no)
    assert verified_on_time(row.verify_deadline, late) is False
    assert verified_on_time(row.verify_deadline, row.verify_deadline) is True
    assert verified_on_time(None, late) is None and verified_on_time(row.verify_deadline, None) is None


def test_refute_needs_a_note_and_ends_the_case(ctx, people):
    no = _report(ctx)
    with pytest.raises(Conflict):  # not being verified
        act(ctx, no, user=people["office"], action="refute", note="x", now=T0)
    act(ctx, no, user=people["office"], action="send_verify", inspector="insp", now=T0)
    _refused(ctx, no, [people["inspector2"], people["unit"]], "refute", Forbidden, note="x")
    with pytest.raises(InvalidInput, match="核实不实的情况"):
        act(ctx, no, user=people["inspector"], action="refute", now=T0 + HOUR)
    done = act(ctx, no, user=people["inspector"], action="refute", note="现场未见垃圾", now=T0 + HOUR)
    assert done["status"] == "rejected" and done["closed_at"]
    assert (_last(done)["action"], _last(done)["note"]) == ("refute", "现场未见垃圾")


# --- 回退 ------------------------------------------------------------------------------------
def test_return_by_the_unit_and_a_redispatch_with_a_fresh_deadline(ctx, people):
    no = _report(ctx)
    with pytest.raises(Conflict):  # not dispatched yet
        act(ctx, no, user=people["unit"], action="return", note="x", now=T0)
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    _refused(
        ctx,
        no,
        [people["unit2"], people["office"], people["inspector"], people["leader"]],
        "return",
        Forbidden,
        note="x",
    )
    with pytest.raises(InvalidInput, match="回退的理由"):
        act(ctx, no, user=people["unit"], action="return", now=T0 + HOUR)
    back = act(ctx, no, user=people["unit"], action="return", note="该路段归县供电分公司", now=T0 + HOUR)
    assert back["status"] == "returned" and back["returns"] == 1
    event = _last(back)
    assert (event["action"], event["actor"], event["note"]) == ("return", "u1", "该路段归县供电分公司")
    assert event["detail"] == {"unit_code": "U1"}
    # the office sees it among the returned and pending requests
    assert [
        r["tracking_no"] for r in lists.list_problems(ctx, user=people["office"], scope="decide", now=T0)
    ] == [no]
    # the unit cannot act on it any more; the office re-dispatches
    _refused(ctx, no, [people["unit"]], "rectify", Conflict)
    later = T0 + 3 * HOUR
    again = act(ctx, no, user=people["office"], action="dispatch", unit_code="U3", now=later)
    fresh = deadlines.due(ctx, later, ctx.categories.get("garbage").deadline_hours)
    assert again["status"] == "dispatched" and again["unit"]["code"] == "U3"
    assert again["deadline"] == iso(to_db(fresh)) and _last(again)["deadline"] == iso(to_db(fresh))
    assert _last(again)["detail"] == {"redispatch": True, "returned_by": "U1"}
    assert lists.list_problems(ctx, user=people["office"], scope="decide", now=later) == []


# --- unit requests ---------------------------------------------------------------------------
def test_extension_request_approved_moves_the_deadline_in_working_time(ctx, people):
    no = _dispatched(ctx, people)
    before = _row(ctx, no).deadline
    _refused(
        ctx,
        no,
        [people["office"], people["unit2"], people["inspector"]],
        "request_extension",
        Forbidden,
        hours=8,
        note="x",
    )
    with pytest.raises(InvalidInput, match="申请延长的小时数"):
        act(ctx, no, user=people["unit"], action="request_extension", note="等材料", now=T0)
    with pytest.raises(InvalidInput, match="申请延期的理由"):
        act(ctx, no, user=people["unit"], action="request_extension", hours=8, now=T0)
    asked = act(
        ctx, no, user=people["unit"], action="request_extension", hours=8, note="等材料", now=T0 + HOUR
    )
    assert asked["status"] == "dispatched" and asked["deadline"] == iso(before)
    assert asked["pending_request"]["kind"] == "extend" and asked["pending_request"]["hours"] == 8
    assert _last(asked)["detail"] == {"kind": "extend", "hours": 8.0}
    # one pending request at a time
    with pytest.raises(Conflict, match="待审批"):
        act(ctx, no, user=people["unit"], action="request_park", until="2027-03-31", note="x", now=T0 + HOUR)
    assert "request_extension" not in allowed_actions(people["unit"], asked)
    office_view = record(ctx, _row(ctx, no), viewer=people["office"], now=T0)
    assert {"approve", "refuse"} <= set(allowed_actions(people["office"], office_view))
    _refused(ctx, no, [people["unit"], people["inspector"], people["leader"]], "approve", Forbidden)
    done = act(ctx, no, user=people["office"], action="approve", note="同意", now=T0 + 2 * HOUR)
    moved = deadlines.due(ctx, before, 8)
    assert done["deadline"] == iso(to_db(moved)) and done["extensions"] == 1
    assert done["status"] == "dispatched" and done["pending_request"] is None
    assert _last(done)["detail"]["kind"] == "extend" and _last(done)["deadline"] == iso(to_db(moved))
    with pytest.raises(Conflict, match="没有待审批的申请"):
        act(ctx, no, user=people["office"], action="approve", now=T0 + 2 * HOUR)


def test_a_refused_request_needs_a_note_and_changes_nothing(ctx, people):
    no = _dispatched(ctx, people)
    before = _row(ctx, no).deadline
    act(ctx, no, user=people["unit"], action="request_extension", hours=4, note="等材料", now=T0)
    with pytest.raises(InvalidInput, match="驳回的理由"):
        act(ctx, no, user=people["office"], action="refuse", now=T0)
    _refused(ctx, no, [people["unit"]], "refuse", Forbidden, note="x")
    done = act(ctx, no, user=people["office"], action="refuse", note="时限足够", now=T0 + HOUR)
    assert done["status"] == "dispatched" and done["deadline"] == iso(before) and done["extensions"] == 0
    assert done["pending_request"] is None and _last(done)["action"] == "refuse"
    # the unit may ask again
    again = act(
        ctx, no, user=people["unit"], action="request_extension", hours=2, note="再等等", now=T0 + HOUR
    )
    assert again["pending_request"]["hours"] == 2


def test_park_request_approved_parks_the_case_out_of_the_overdue_counts(ctx, people):
    no = _dispatched(ctx, people, category="manhole")
    with pytest.raises(InvalidInput, match="复查日期"):
        act(ctx, no, user=people["unit"], action="request_park", note="等预算", now=T0)
    with pytest.raises(InvalidInput, match="应晚于现在"):
        act(ctx, no, user=people["unit"], action="request_park", until="2026-01-01", note="等预算", now=T0)
    act(ctx, no, user=people["unit"], action="request_park", until="2027-03-31", note="等预算", now=T0)
    done = act(ctx, no, user=people["office"], action="approve", now=T0 + HOUR)
    assert done["status"] == "parked" and done["parked_until"] == "2027-04-01T00:00:00+08:00"
    assert _last(done)["detail"]["kind"] == "park"
    far = T0 + dt.timedelta(days=30)
    assert "parked" not in PENDING_STATUSES
    assert record(ctx, _row(ctx, no), now=far)["overdue"] is False
    assert not is_overdue("parked", to_db(T0), to_db(far))
    assert lists.list_problems(ctx, user=people["office"], scope="chase", now=far) == []
    # the unit may still fix it
    fixed = act(ctx, no, user=people["unit"], action="rectify", note="已修复", now=far)
    assert fixed["status"] == "rectified"


# --- 挂账 ------------------------------------------------------------------------------------
def test_office_parks_and_resumes_with_a_fresh_deadline(ctx, people):
    no = _report(ctx)
    with pytest.raises(Conflict):  # a bare report is not parked
        act(ctx, no, user=people["office"], action="park", until="2027-01-31", note="x", now=T0)
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    _refused(
        ctx,
        no,
        [people["unit"], people["inspector"], people["leader"]],
        "park",
        Forbidden,
        until="2027-01-31",
        note="x",
    )
    with pytest.raises(InvalidInput, match="挂账的理由"):
        act(ctx, no, user=people["office"], action="park", until="2027-01-31", now=T0)
    with pytest.raises(InvalidInput, match="复查日期 until"):
        act(ctx, no, user=people["office"], action="park", note="等施工季", now=T0)
    parked = act(
        ctx, no, user=people["office"], action="park", until="2027-01-31", note="等施工季", now=T0 + HOUR
    )
    assert parked["status"] == "parked" and parked["parked_until"] == "2027-02-01T00:00:00+08:00"
    assert _last(parked)["detail"] == {"until": "2027-02-01T00:00:00+08:00"}
    _refused(ctx, no, [people["unit"]], "unpark", Forbidden)
    later = T0 + dt.timedelta(days=40)
    back = act(ctx, no, user=people["office"], action="unpark", now=later)
    fresh = deadlines.due(ctx, later, ctx.categories.get("garbage").deadline_hours)
    assert back["status"] == "dispatched" and back["deadline"] == iso(to_db(fresh))
    assert back["parked_until"] is None and _last(back)["detail"] == {"back_to": "dispatched"}
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="unpark", now=later)


def test_a_case_parked_when_accepted_resumes_as_accepted(ctx, people):
    no = _report(ctx)
    act(ctx, no, user=people["office"], action="accept", now=T0)
    act(ctx, no, user=people["office"], action="park", until="2027-01-31", note="等预算", now=T0)
    back = act(ctx, no, user=people["office"], action="unpark", now=T0 + HOUR)
    assert back["status"] == "accepted"


# --- urgency ---------------------------------------------------------------------------------
def test_set_urgency_recomputes_the_deadline_from_the_start(ctx, people):
    no = _dispatched(ctx, people)  # garbage: 24 working hours, normal
    _refused(
        ctx,
        no,
        [people["unit"], people["inspector"], people["leader"]],
        "set_urgency",
        Forbidden,
        urgency="urgent",
    )
    with pytest.raises(InvalidInput, match="紧急程度 urgency"):
        act(ctx, no, user=people["office"], action="set_urgency", urgency="panic", now=T0)
    with pytest.raises(InvalidInput, match="已经是“一般”"):
        act(ctx, no, user=people["office"], action="set_urgency", urgency="normal", now=T0)
    urgent = act(ctx, no, user=people["office"], action="set_urgency", urgency="urgent", now=T0 + HOUR)
    hours = deadlines.hours_for(ctx, "garbage", "urgent")
    assert urgent["urgency"] == "urgent" and urgent["urgency_label"] == "紧急"
    assert urgent["deadline"] == iso(to_db(deadlines.due(ctx, T0, hours)))  # from the report
    assert _last(urgent)["detail"] == {"urgency": "urgent", "previous": "normal", "hours": hours}
    normal = act(ctx, no, user=people["office"], action="set_urgency", urgency="normal", now=T0 + HOUR)
    assert normal["deadline"] == iso(
        to_db(deadlines.due(ctx, T0, deadlines.hours_for(ctx, "garbage", "normal")))
    )
    act(ctx, no, user=people["unit"], action="rectify", now=T0 + HOUR)
    act(ctx, no, user=people["office"], action="verify", now=T0 + HOUR)
    act(ctx, no, user=people["office"], action="close", now=T0 + HOUR)
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="set_urgency", urgency="urgent", now=T0 + HOUR)


def test_urgent_page_shows_the_badge(ctx, people):
    no = _report(ctx)
    rec = act(ctx, no, user=people["office"], action="set_urgency", urgency="urgent", now=T0)
    assert rec["urgency"] == "urgent"
    # a public view keeps urgency but not who verifies or what a unit asked
    from gridmap.problems.records import public_view

    public = public_view(rec)
    assert public["urgency"] == "urgent" and "verifier" not in public and "pending_request" not in public


# --- 催办 ------------------------------------------------------------------------------------
def test_urge_by_office_or_the_grids_leader_is_an_event_naming_the_unit(ctx, people):
    no = _dispatched(ctx, people)
    _refused(ctx, no, [people["unit"], people["inspector"]], "urge", Forbidden)
    with pytest.raises(Forbidden, match="所包网格"):
        act(ctx, no, user=people["leader3"], action="urge", now=T0)
    assert "urge" not in problem_page(ctx, no, user=people["leader3"], now=T0).actions
    assert "urge" in problem_page(ctx, no, user=people["leader"], now=T0).actions
    by_leader = act(ctx, no, user=people["leader"], action="urge", note="请今天处理", now=T0 + HOUR)
    by_office = act(ctx, no, user=people["office"], action="urge", now=T0 + 2 * HOUR)
    assert by_office["status"] == by_leader["status"] == "dispatched"
    events = repository.events_and_photos(ctx.store, [by_office["id"]])[0][by_office["id"]]
    urges = [e for e in events if e.action == "urge"]
    assert [(e.actor, e.actor_role, e.unit_code, e.note) for e in urges] == [
        ("lead1", "leader", "U1", "请今天处理"),
        ("office", "office", "U1", None),
    ]
    assert json.loads(urges[0].detail) == {"unit_code": "U1", "overdue": False}
    for step in ("rectify", "verify", "close"):
        act(ctx, no, user=people["office"], action=step, now=T0 + 2 * HOUR)
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="urge", now=T0 + 2 * HOUR)


# --- roles for the actions other modules take -------------------------------------------------
def test_merge_and_followup_are_office_actions(people):
    for action in ("merge", "followup"):
        assert ACTION_ROLES[action] == frozenset({"office"})
        require_action(people["office"], action, unit_code=None)
        for role in ("unit", "inspector", "leader"):
            with pytest.raises(Forbidden):
                require_action(people[role], action, unit_code="U1")


def test_office_extend_by_hours_counts_working_time(ctx, people):
    no = _dispatched(ctx, people)
    before = _row(ctx, no).deadline
    rec = act(ctx, no, user=people["office"], action="extend", hours=10, note="等材料", now=T0)
    assert rec["deadline"] == iso(to_db(deadlines.due(ctx, before, 10)))


def test_inspector_lists_the_cases_sent_to_them(ctx, people):
    mine, theirs = _report(ctx), _report(ctx)
    act(ctx, mine, user=people["office"], action="send_verify", inspector="insp", now=T0)
    act(ctx, theirs, user=people["office"], action="send_verify", inspector="insp2", now=T0)
    listed = lists.list_problems(ctx, user=people["inspector"], scope="verify", now=T0)
    assert [r["tracking_no"] for r in listed] == [mine]
    office = lists.list_problems(ctx, user=people["office"], scope="verify", now=T0)
    assert {r["tracking_no"] for r in office} == {mine, theirs}
    with pytest.raises(Forbidden):
        lists.list_problems(ctx, user=people["unit"], scope="verify", now=T0)
    with pytest.raises(Forbidden):
        lists.list_problems(ctx, user=people["inspector"], scope="decide", now=T0)


def test_a_pending_request_is_withdrawn_when_the_case_moves_on(ctx, people):
    no = _dispatched(ctx, people)
    act(ctx, no, user=people["unit"], action="request_extension", hours=8, note="等材料", now=T0)
    fixed = act(ctx, no, user=people["unit"], action="rectify", note="已处理", now=T0 + HOUR)
    assert fixed["pending_request"] is None
    assert lists.list_problems(ctx, user=people["office"], scope="decide", now=T0) == []
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="refuse", note="x", now=T0 + HOUR)
    back = act(ctx, no, user=people["office"], action="rework", note="不到位", now=T0 + HOUR)
    again = act(ctx, no, user=people["unit"], action="request_extension", hours=4, note="再等", now=T0 + HOUR)
    assert back["status"] == again["status"] == "dispatched" and again["pending_request"]["hours"] == 4


def test_my_tasks_by_role(people):
    assert [lists.task_scope(people[r]) for r in ("unit", "inspector", "office")] == [
        "tasks",
        "verify",
        "decide",
    ]
    assert lists.task_scope(people["leader"]) == "tasks"


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("request_extension", {"hours": 8, "note": "等材料"}),
        ("request_park", {"until": "2027-03-31", "note": "等预算"}),
        ("return", {"note": "不归本单位"}),
    ],
)
def test_a_unit_asks_or_returns_only_while_the_case_is_dispatched_to_it(ctx, people, action, form):
    no = _report(ctx)  # reported; the spot's unit is U1 but nothing is dispatched yet
    with pytest.raises(Conflict, match="已上报"):
        act(ctx, no, user=people["unit"], action=action, now=T0, **form)
    act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    act(ctx, no, user=people["unit"], action="rectify", now=T0)
    with pytest.raises(Conflict, match="已整改"):
        act(ctx, no, user=people["unit"], action=action, now=T0, **form)


def test_approving_a_park_needs_the_case_still_dispatched(ctx, people):
    no = _dispatched(ctx, people)
    act(ctx, no, user=people["unit"], action="request_park", until="2027-03-31", note="等预算", now=T0)
    act(ctx, no, user=people["office"], action="extend", hours=4, note="先延期", now=T0)  # status unchanged
    assert record(ctx, _row(ctx, no), viewer=people["office"], now=T0)["pending_request"]["kind"] == "park"
    act(ctx, no, user=people["office"], action="park", until="2027-01-31", note="创建办直接挂账", now=T0)
    with pytest.raises(Conflict):  # parking withdrew the unit's request; approve starts from dispatched
        act(ctx, no, user=people["office"], action="approve", now=T0)
