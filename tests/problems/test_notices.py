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
    assert outbox.inbox(ctx.store, "u2") == [] and outbox.inbox(ctx.store, "office") == []


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
            {"note": "等预算", "detail": {"until": "2027-03-01"}},
            "park_requested",
            ("office", "office2"),
            "挂账至 2027-03-01",
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
