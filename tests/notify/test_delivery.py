"""Delivery by email to a real SMTP server and by webhook to a real HTTP receiver, with retries and attempts."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

from gridmap.clock import to_db
from gridmap.notify import repository
from gridmap.notify.notice import Notice
from gridmap.notify.worker import Worker
from gridmap.settings import load_settings

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime = T0) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def make_worker(store, clock=None, **values) -> Worker:
    settings = load_settings({k: str(v) for k, v in values.items()}, environ={})
    return Worker(store, settings, name="test-worker", clock=clock or Clock())


def notice(n: int = 1, **kw) -> Notice:
    values = {
        "event": "dispatched",
        "message": f"问题 20261201-000{n} 已交办给县住建局，请在 12月2日 17:00 前办理。",
        "recipients": ("unit1", "unit1b"),
        "problem_id": n,
        "tracking_no": f"20261201-000{n}",
        "unit_code": "U1",
    }
    values.update(kw)
    return Notice(**values)


def test_an_email_reaches_a_real_smtp_server_in_chinese(people, smtp_server):
    repository.add(people, [notice()], now=T0)
    worker = make_worker(people, GRIDMAP_SMTP_URL=smtp_server.url, GRIDMAP_SMTP_FROM="gridmap@county.example")
    assert worker.deliver() == 1
    assert len(smtp_server.messages) == 1
    rcpt, raw = smtp_server.messages[0]
    assert rcpt == ["unit1@county.example"]  # unit1b has no email: nobody else
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["To"] == "unit1@county.example"
    assert mail["From"] == "gridmap@county.example"
    assert str(mail["Subject"]) == "【网格责任地图】新交办 20261201-0001"
    assert mail["Message-ID"] == "<gridmap-notice-1@gridmap>"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "已交办给县住建局，请在 12月2日 17:00 前办理" in body
    assert "/problems/20261201-0001" in body
    (sent,) = repository.deliveries(people)
    assert (sent.channel, sent.status, sent.attempts) == ("email", "sent", 1)
    (attempt,) = repository.attempts(people, sent.id)
    assert attempt.ok and attempt.status_code == 250 and attempt.worker == "test-worker"


def test_no_email_delivery_when_no_recipient_has_an_address(people, smtp_server):
    repository.add(people, [notice(recipients=("unit1b", "unit2"))], now=T0)
    worker = make_worker(people, GRIDMAP_SMTP_URL=smtp_server.url)
    assert worker.deliver() == 0
    assert repository.deliveries(people) == []
    assert smtp_server.messages == []


def test_the_webhook_receives_the_documented_json(people, receiver):
    hook = receiver().start()
    repository.add(people, [notice(recipients=("unit1", "office1"))], now=T0)
    repository.add(
        people,
        [notice(2, event="closed", message="您反映的问题已办结。", recipients=(), phone="13700001111")],
        now=T0,
    )
    assert make_worker(people, GRIDMAP_WEBHOOK_URL=hook.url).deliver() == 2
    first, second = sorted(hook.requests, key=lambda b: b["id"])
    assert first["id"] == "gridmap-notice-1"
    assert first["_headers"]["Idempotency-Key"] == "gridmap-notice-1"
    assert first["event"] == "dispatched" and first["event_label"] == "新交办"
    assert first["tracking_no"] == "20261201-0001" and first["unit_code"] == "U1"
    assert first["message"].startswith("问题 20261201-0001 已交办给县住建局")
    assert first["recipients"] == [
        {"username": "office1", "phone": "13800000001", "email": "office1@county.example"},
        {"username": "unit1", "email": "unit1@county.example"},
    ]
    assert first["sms"] == [] and first["problem_url"] == "/problems/20261201-0001"
    assert first["text"] == {"content": first["message"]} and first["msgtype"] == "text"
    assert first["sent_at"] == "2026-12-01T09:00:00+08:00" and first["attempt"] == 1
    assert second["event"] == "closed" and second["sms"] == ["13700001111"] and second["recipients"] == []
    assert {d.status for d in repository.deliveries(people)} == {"sent"}


def test_receiver_down_then_500_then_back_nothing_lost_each_delivered_once(people, receiver):
    hook = receiver()  # not started: connections are refused
    clock = Clock()
    worker = make_worker(
        people,
        clock,
        GRIDMAP_WEBHOOK_URL=hook.url,
        GRIDMAP_NOTIFY_RETRY_SECONDS=30,
        GRIDMAP_NOTIFY_TIMEOUT_SECONDS=2,
    )
    repository.add(people, [notice(n) for n in range(1, 6)], now=T0)

    assert worker.deliver() == 5  # refused
    assert worker.deliver() == 0  # nothing is due before the backoff ends
    rows = repository.deliveries(people)
    assert {(r.status, r.attempts, r.next_at) for r in rows} == {
        ("pending", 1, to_db(T0) + dt.timedelta(seconds=30))
    }
    assert all("无法连接 webhook" in r.last_error for r in rows)

    hook.status = 500
    hook.start()
    clock.advance(30)
    assert worker.deliver() == 5
    rows = repository.deliveries(people)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 2)}
    assert {r.next_at for r in rows} == {clock().replace(tzinfo=None) + dt.timedelta(seconds=60)}  # doubled

    hook.status = 200
    clock.advance(59)
    assert worker.deliver() == 0  # still waiting
    clock.advance(1)
    assert worker.deliver() == 5
    assert worker.deliver() == 0
    assert {(r.status, r.attempts) for r in repository.deliveries(people)} == {("sent", 3)}
    assert hook.accepted() == {f"gridmap-notice-{n}": 1 for n in range(1, 6)}
    assert len(hook.requests) == 10  # five refused by 500, five accepted; the refused ones never arrived
    attempts = repository.attempts(people)
    assert len(attempts) == 15
    assert [a.status_code for a in attempts if a.ok] == [200] * 5
    assert sorted(a.status_code for a in attempts if not a.ok and a.status_code) == [500] * 5
    assert sum(1 for a in attempts if a.error and "无法连接" in a.error) == 5


def test_a_delivery_that_keeps_failing_is_given_up_and_shown(people, receiver):
    hook = receiver()
    hook.status = 503
    hook.start()
    clock = Clock()
    worker = make_worker(
        people,
        clock,
        GRIDMAP_WEBHOOK_URL=hook.url,
        GRIDMAP_NOTIFY_MAX_ATTEMPTS=3,
        GRIDMAP_NOTIFY_RETRY_SECONDS=1,
    )
    repository.add(people, [notice()], now=T0)
    for _ in range(3):
        worker.deliver()
        clock.advance(3600)
    (dead,) = repository.deliveries(people, status="dead")
    assert dead.attempts == 3 and dead.last_error == "webhook 返回 HTTP 503"
    assert repository.delivery_counts(people) == {"dead": 1}
    clock.advance(3600)
    assert worker.deliver() == 0 and len(hook.requests) == 3


def test_backoff_doubles_and_stops_at_an_hour():
    waits = [repository.backoff_seconds(n, retry_s=30) for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_lease_keeps_a_delivery_with_one_worker(people):
    repository.add(people, [notice()], now=T0)
    repository.plan(people, channels=lambda row: ["webhook"], now=T0)
    assert len(repository.claim(people, worker="a", now=T0, lease_s=60)) == 1
    assert repository.claim(people, worker="b", now=T0 + dt.timedelta(seconds=59), lease_s=60) == []
    (taken,) = repository.claim(people, worker="b", now=T0 + dt.timedelta(seconds=61), lease_s=60)
    # a's late failure does not undo b's hold; b's success is kept
    assert (
        repository.finish(people, taken.id, worker="a", ok=False, now=T0, max_attempts=5, retry_s=1)
        == "pending"
    )
    assert (repository.deliveries(people)[0].claimed_by) == "b"
    assert (
        repository.finish(people, taken.id, worker="b", ok=True, now=T0, max_attempts=5, retry_s=1) == "sent"
    )
    assert len(repository.attempts(people)) == 2


def test_planning_happens_once_and_picks_channels(people):
    repository.add(people, [notice(1), notice(2)], now=T0)
    assert repository.plan(people, channels=lambda row: ["email", "webhook"], now=T0) == 2
    assert repository.plan(people, channels=lambda row: ["email", "webhook"], now=T0) == 0
    assert sorted((d.outbox_id, d.channel) for d in repository.deliveries(people)) == [
        (1, "email"),
        (1, "webhook"),
        (2, "email"),
        (2, "webhook"),
    ]


def test_a_lease_shorter_than_five_timeouts_is_refused(people):
    import pytest

    from gridmap.errors import ConfigError

    with pytest.raises(ConfigError, match="GRIDMAP_NOTIFY_LEASE_SECONDS（40 秒）应至少为"):
        make_worker(people, GRIDMAP_NOTIFY_LEASE_SECONDS=40, GRIDMAP_NOTIFY_TIMEOUT_SECONDS=10)
    assert make_worker(people, GRIDMAP_NOTIFY_LEASE_SECONDS=50, GRIDMAP_NOTIFY_TIMEOUT_SECONDS=10)
