"""Who is told of each workflow action, and what: the notices an action puts in the outbox."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.notify import repository as outbox
from gridmap.problems.notices import for_action
from gridmap.problems.records import find_row
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import ON_BINJIANG_ROAD

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 China time


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "office2": make_user("office2", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "unit_b": make_user("u1b", "unit", unit_code="U1"),
        "other_unit": make_user("u2", "unit", unit_code="U2"),
        "inspector": make_user("insp", "inspector"),
        "leader": make_user("boss", "leader", leader_code="L01"),
    }


@pytest.fixture
def problem(ctx, people):
    rec = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="garbage",
        description="垃圾堆放",
        reporter_phone="13700001111",
        now=T0,
    ).record
    return rec["tracking_no"]


def notices_of(ctx, no, action, *, actor="office", role="office", note=None, detail=None, changes=None):
    row = find_row(ctx, no)
    event = {"action": action, "actor": actor, "actor_role": role, "note": note, "detail": detail}
    return for_action(ctx, row, event=event, changes=changes or {}, now=T0)


def test_dispatch_tells_the_units_users_through_the_outbox_and_inbox(ctx, people, problem):
    act(ctx, problem, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    rows = outbox.inbox(ctx.store, "u1")
    assert len(rows) == 1 and rows[0].event == "dispatched" and rows[0].tracking_no == problem
    assert "已交办给县住建局" in rows[0].message and "前办理" in rows[0].message
    assert len(outbox.inbox(ctx.store, "u1b")) == 1
    assert outbox.inbox(ctx.store, "u2") == []
    assert [r.event for r in outbox.inbox(ctx.store, "office")] == ["reported"]  # only the report


def test_close_tells_the_reporter_by_sms_and_nobody_else(ctx, people, problem):
    office = people["office"]
    act(ctx, problem, user=office, action="dispatch", unit_code="U1", now=T0)
    act(ctx, problem, user=people["unit"], action="rectify", note="已清理", now=T0)
    act(ctx, problem, user=office, action="verify", now=T0)
    (closed,) = notices_of(ctx, problem, "close")
    assert closed.event == "closed" and closed.phone == "13700001111" and closed.recipients == ()
    assert "已办结" in closed.message


def test_close_tells_a_logged_in_reporter_in_the_app(ctx, people, problem):
    row = find_row(ctx, problem)._asdict()
    row.update(reporter_phone=None, reported_by="insp")
    from types import SimpleNamespace

    event = {"action": "close", "actor": "office", "actor_role": "office"}
    (closed,) = for_action(ctx, SimpleNamespace(**row), event=event, changes={}, now=T0)
    assert closed.recipients == ("insp",) and closed.phone is None


@pytest.mark.parametrize(
    ("action", "role", "kw", "event", "recipients", "words"),
    [
        ("return", "unit", {"note": "不属本单位职责"}, "returned", ("office", "office2"), "回退了"),
        (
            "request_extension",
            "unit",
            {"note": "需采购", "detail": '{"hours": 16}'},
            "extension_requested",
            ("office", "office2"),
            "延期 16 个工作小时",
        ),
        (
            "request_park",
            "unit",
            {"note": "等预算", "detail": {"until": "2027-03-01T00:00:00+08:00"}},
            "park_requested",
            ("office", "office2"),
            "挂账至 2027年3月1日",
        ),
        ("approve", "office", {"detail": {"kind": "extend"}}, "request_decided", ("u1", "u1b"), "批准了"),
        (
            "refuse",
            "office",
            {"note": "理由不足", "detail": {"kind": "park"}},
            "request_decided",
            ("u1", "u1b"),
            "驳回了",
        ),
        ("urge", "leader", {"note": "群众反映强烈"}, "urged", ("u1", "u1b"), "包片领导boss催办"),
        ("rework", "inspector", {"note": "没扫干净"}, "reworked", ("u1", "u1b"), "需要返工"),
        ("reopen", "office", {}, "reopened", ("u1", "u1b"), "重新打开"),
        (
            "send_verify",
            "office",
            {"changes": {"verifier": "insp"}},
            "verify_assigned",
            ("insp",),
            "到现场核实",
        ),
        ("confirm", "inspector", {}, "verified_report", ("office", "office2"), "属实"),
        ("refute", "inspector", {"note": "现场无此问题"}, "verified_report", ("office", "office2"), "不实"),
    ],
)
def test_each_action_tells_the_right_people(ctx, people, problem, action, role, kw, event, recipients, words):
    act(ctx, problem, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    actor = {"unit": "u1", "office": "office9", "leader": "boss", "inspector": "insp9"}[role]
    (notice,) = notices_of(ctx, problem, action, actor=actor, role=role, **kw)
    assert notice.event == event
    assert notice.recipients == recipients
    assert words in notice.message and f"问题 {problem}（垃圾" in notice.message
    assert notice.tracking_no == problem and notice.unit_code == "U1"


def test_the_one_who_acts_is_not_told(ctx, people, problem):
    act(ctx, problem, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    (notice,) = notices_of(ctx, problem, "return", actor="u1", role="unit", note="错派")
    assert notice.recipients == ("office", "office2")
    (notice,) = notices_of(ctx, problem, "confirm", actor="office", role="office")
    assert notice.recipients == ("office2",)


def test_actions_without_listeners_make_no_notice(ctx, people, problem):
    assert notices_of(ctx, problem, "accept") == []
    assert notices_of(ctx, problem, "verify") == []


def test_the_real_workflow_fills_each_actors_inbox(ctx, people, problem):
    """Return, re-dispatch, a unit's extension request and its approval, a leader's 催办, verification."""
    office, unit = people["office"], people["unit"]
    act(ctx, problem, user=office, action="dispatch", unit_code="U1", now=T0)
    act(ctx, problem, user=unit, action="return", note="不属本单位职责", now=T0)
    act(ctx, problem, user=office, action="dispatch", unit_code="U1", now=T0)
    act(ctx, problem, user=unit, action="request_extension", hours="16", note="需采购配件", now=T0)
    act(ctx, problem, user=office, action="approve", now=T0)
    act(ctx, problem, user=people["leader"], action="urge", note="群众反映强烈", now=T0)

    def inbox(name):
        return [r.event for r in outbox.inbox(ctx.store, name)][::-1]  # oldest first

    assert inbox("u1") == ["dispatched", "dispatched", "request_decided", "urged"]
    assert inbox("office2") == ["reported", "returned", "extension_requested"]
    assert inbox("office") == inbox("office2")  # the unit acted: every office user hears
    office_entries = outbox.inbox(ctx.store, "office2")
    assert "延期 16 个工作小时" in office_entries[0].message
    urged = outbox.inbox(ctx.store, "u1")[0]
    assert "包片领导boss催办" in urged.message and "群众反映强烈" in urged.message
    assert inbox("u2") == [] and inbox("boss") == []


def test_park_unpark_and_urgency_tell_the_unit(ctx, people, problem):
    act(ctx, problem, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    (parked,) = notices_of(ctx, problem, "park", detail={"until": "2027-03-01T00:00:00+08:00"})
    assert (
        parked.event == "parked"
        and "已挂账至 2027年3月1日" in parked.message
        and parked.recipients == ("u1", "u1b")
    )
    (back,) = notices_of(ctx, problem, "unpark")
    assert back.event == "unparked" and "已恢复办理" in back.message
    new_deadline = T0.replace(tzinfo=None) + dt.timedelta(hours=4)
    (urgent,) = notices_of(
        ctx, problem, "set_urgency", detail={"urgency": "urgent"}, changes={"deadline": new_deadline}
    )
    assert urgent.event == "urgency_changed" and "调整为紧急件，期限改为 11月27日 13:00" in urgent.message
    assert (
        notices_of(ctx, problem, "set_urgency", detail={"urgency": "urgent"}) == []
    )  # deadline kept: no news
