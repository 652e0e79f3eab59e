"""Several servers' workers on one PostgreSQL: rows another is taking are skipped, never waited for or taken twice."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import insert, select, text

from gridmap.notify import repository
from gridmap.notify.notice import Notice
from gridmap.notify.schema import notify_deliveries, notify_outbox

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
WAIT_S = 30.0  # generous: a claim that waits on another's lock would wait until it is released


@pytest.fixture
def on_postgresql(backend):
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite lets one writer in at a time")


def _notices(n: int, *, dedupe: str | None = None) -> list[Notice]:
    return [
        Notice(
            event="urged",
            message=f"创建办催办问题 20261201-{i:04d}：请抓紧办理。",
            recipients=("unit1",),
            tracking_no=f"20261201-{i:04d}",
            unit_code="U1",
            dedupe=dedupe,
        )
        for i in range(1, n + 1)
    ]


def _in_thread(call):
    """Run ``call`` in a thread; (finished in time, its result or exception)."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(WAIT_S)
    return (not thread.is_alive()), out


def _someone_waits_for_a_lock(store) -> bool:
    """Poll (bounded) until a session waits for a row or key lock another transaction holds."""
    end = time.monotonic() + WAIT_S
    with store.engine.connect() as conn:
        while time.monotonic() < end:
            if conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return True
            time.sleep(0.05)
    return False


def test_claim_skips_deliveries_another_server_is_taking(people, on_postgresql):
    store = people
    repository.add(store, _notices(4), now=T0)
    repository.plan(store, channels=lambda row: ["webhook"], now=T0)
    ids = [r.id for r in repository.deliveries(store)]
    assert len(ids) == 4
    held = sorted(ids)[:2]
    with store.engine.connect() as other:  # another server, in the middle of its claim
        transaction = other.begin()
        other.execute(
            select(notify_deliveries.c.id).where(notify_deliveries.c.id.in_(held)).with_for_update()
        ).all()
        done, out = _in_thread(
            lambda: repository.claim(store, worker="b", now=T0 + dt.timedelta(seconds=1), lease_s=60)
        )
        transaction.rollback()
    assert done, "claim waited for rows another worker had locked"
    assert "error" not in out, out.get("error")
    assert sorted(c.id for c in out["value"]) == sorted(set(ids) - set(held))
    # once the other lets go, its rows are free for the next claim; b's stay b's
    again = repository.claim(store, worker="c", now=T0 + dt.timedelta(seconds=2), lease_s=60)
    assert sorted(c.id for c in again) == held


def test_plan_skips_notices_another_worker_is_planning(people, on_postgresql):
    store = people
    repository.add(store, _notices(3), now=T0)
    with store.engine.connect() as conn:
        first = conn.execute(select(notify_outbox.c.id).order_by(notify_outbox.c.id)).scalars().first()
    with store.engine.connect() as other:
        transaction = other.begin()
        other.execute(select(notify_outbox.c.id).where(notify_outbox.c.id == first).with_for_update()).all()
        done, out = _in_thread(lambda: repository.plan(store, channels=lambda row: ["webhook"], now=T0))
        transaction.rollback()
    assert done and "error" not in out, out.get("error")
    assert out["value"] == 2
    assert repository.plan(store, channels=lambda row: ["webhook"], now=T0) == 1  # the one skipped
    assert len(repository.deliveries(store)) == 3  # one delivery per notice, none twice


def test_a_reminder_key_added_by_another_server_meanwhile_is_dropped_not_an_error(people, on_postgresql):
    """Two servers' scans make the same reminder: the second's insert waits, then drops its copy."""
    store = people
    with store.engine.connect() as other:
        transaction = other.begin()
        other.execute(
            insert(notify_outbox).values(
                event="due_soon",
                recipients='["unit1"]',
                message="另一台服务器的提醒",
                dedupe_key="due_soon:1",
                created_at=T0.replace(tzinfo=None),
            )
        )
        started = threading.Event()

        def add():
            started.set()
            return repository.add(store, _notices(1, dedupe="due_soon:1") + _notices(1), now=T0)

        thread_result: dict = {}
        thread = threading.Thread(target=lambda: thread_result.update(value=add()), daemon=True)
        thread.start()
        assert started.wait(WAIT_S)
        assert _someone_waits_for_a_lock(store), "the second insert never reached the key"
        transaction.commit()  # the other server's reminder lands first
        thread.join(WAIT_S)
    assert not thread.is_alive()
    assert len(thread_result.get("value", [])) == 1  # the keyless notice; the duplicate reminder dropped
    with store.engine.connect() as conn:
        keyed = conn.execute(
            select(notify_outbox.c.message).where(notify_outbox.c.dedupe_key == "due_soon:1")
        )
        assert keyed.scalars().all() == ["另一台服务器的提醒"]
