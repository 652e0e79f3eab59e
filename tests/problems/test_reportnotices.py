"""The notice a new report causes: the office's inbox, the external channels for urgent ones, never twice."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.errors import InvalidInput
from gridmap.notify import repository as outbox
from gridmap.notify.worker import Worker
from gridmap.problems.service import report_problem
from tests.notify.conftest import Receiver
from tests.problems.conftest import ON_BINJIANG_ROAD, OUTSIDE_COUNTY

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 China time, a Friday


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "office2": make_user("office2", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
        "leader": make_user("boss", "leader", leader_code="L01"),
    }


@pytest.fixture
def hook():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def report(ctx, *, category="garbage", **kw):
    values = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": category,
        "description": "滨江路口东侧垃圾堆放两天无人清理",
        "now": T0,
    }
    values.update(kw)
    return report_problem(ctx, **values)


def deliver_all(ctx, url: str) -> int:
    """Run the real worker with the webhook on until a round makes no attempt; attempts made."""
    worker = Worker(ctx.store, ctx.settings.but(webhook_url=url), name="test-worker")
    made = 0
    while (n := worker.deliver()) > 0:
        made += n
    return made


def test_a_new_report_reaches_the_offices_inbox_and_nobody_elses(ctx, people):
    no = report(ctx).record["tracking_no"]
    for name in ("office", "office2"):
        (row,) = outbox.inbox(ctx.store, name)
        assert row.event == "reported" and row.tracking_no == no
        assert row.message.startswith("新上报：市民随手拍上报了问题 " + no)
        assert "滨江路口东侧垃圾堆放" in row.message and "按位置应由县住建局办理" in row.message
    for name in ("u1", "insp", "boss"):
        assert outbox.inbox(ctx.store, name) == []
    assert outbox.unread_count(ctx.store, "office") == 1


def test_a_normal_report_stays_in_the_app(ctx, people, hook):
    report(ctx)
    assert deliver_all(ctx, hook.url) == 0
    assert hook.requests == [] and outbox.delivery_counts(ctx.store) == {}


def test_an_urgent_report_also_goes_out_by_webhook_exactly_once(ctx, people, hook):
    no = report(ctx, user=people["inspector"], urgency="urgent", description="井盖缺失，行人易跌落").record[
        "tracking_no"
    ]
    (row,) = outbox.inbox(ctx.store, "office")
    assert (
        row.message.startswith("紧急上报：巡查员insp上报了问题 " + no)
        and "请立即核实派遣，期限" in row.message
    )
    assert outbox.inbox(ctx.store, "insp") == []  # the reporter is not told of their own report
    assert deliver_all(ctx, hook.url) == 1
    (body,) = hook.requests
    assert body["event"] == "reported" and body["event_label"] == "新上报" and body["tracking_no"] == no
    assert sorted(r["username"] for r in body["recipients"]) == ["office", "office2"]
    assert deliver_all(ctx, hook.url) == 0 and outbox.delivery_counts(ctx.store) == {"sent": 1}


def test_a_category_urgent_by_default_goes_out_even_with_no_office_account(ctx, hook):
    no = report(ctx, category="manhole", description="井盖缺失").record["tracking_no"]
    assert deliver_all(ctx, hook.url) == 1
    (body,) = hook.requests
    assert body["tracking_no"] == no and body["recipients"] == [] and "紧急上报" in body["message"]


def test_the_office_member_who_reports_is_not_told(ctx, people):
    report(ctx, user=people["office"])
    assert outbox.inbox(ctx.store, "office") == []
    (row,) = outbox.inbox(ctx.store, "office2")
    assert "创建办office上报了" in row.message


def test_a_replayed_report_does_not_notify_twice(ctx, people):
    first = report(ctx, idempotency_key="k-1")
    again = report(ctx, idempotency_key="k-1")
    assert again.replayed and again.record["tracking_no"] == first.record["tracking_no"]
    assert len(outbox.inbox(ctx.store, "office")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"lon": OUTSIDE_COUNTY[0], "lat": OUTSIDE_COUNTY[1]},
        {"reporter_phone": "call me"},
        {"description": " "},
        {"category": "no-such-kind"},
    ],
)
def test_a_report_that_fails_validation_leaves_no_notice(ctx, people, hook, bad):
    with pytest.raises(InvalidInput):
        report(ctx, **{"category": "manhole", **bad})  # urgent: it would go out by webhook too
    assert outbox.inbox(ctx.store, "office") == []
    assert deliver_all(ctx, hook.url) == 0 and hook.requests == []
    assert outbox.deliveries(ctx.store) == []


def test_notify_false_leaves_the_outbox_out(ctx, people):
    report(ctx, notify=False)
    assert outbox.inbox(ctx.store, "office") == []
