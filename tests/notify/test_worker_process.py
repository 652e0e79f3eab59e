"""`gridmap notify worker` as a real process: kill -9 mid-delivery loses nothing; SIGTERM stops it cleanly."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from gridmap.notify import repository
from gridmap.notify.notice import Notice

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


def start_worker(settings, hook_url, *, name, lease=5, timeout=1):
    env = dict(
        os.environ,
        GRIDMAP_INSTANCE_DIR=settings["GRIDMAP_INSTANCE_DIR"],
        GRIDMAP_DATABASE_URL=settings["GRIDMAP_DATABASE_URL"],
        GRIDMAP_SECRET_KEY="test-secret",
        GRIDMAP_WEBHOOK_URL=hook_url,
        GRIDMAP_NOTIFY_POLL_SECONDS="0.2",
        GRIDMAP_NOTIFY_TIMEOUT_SECONDS=str(timeout),
        GRIDMAP_NOTIFY_LEASE_SECONDS=str(lease),
        GRIDMAP_NOTIFY_RETRY_SECONDS="0.5",
        GRIDMAP_DIGEST_AT="",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "notify", "worker", "--name", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(check, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return False


def notices(n):
    return [
        Notice(
            event="urged",
            message=f"创建办催办问题 20261201-000{i}：请抓紧办理。",
            recipients=("unit1",),
            tracking_no=f"20261201-000{i}",
            unit_code="U1",
        )
        for i in range(1, n + 1)
    ]


def test_kill_9_mid_delivery_loses_nothing(people, settings, receiver):
    hook = receiver()
    hook.block_first = True
    hook.start()
    repository.add(people, notices(3), now=T0)
    # the lease must outlast 4 timeouts for an attempt to start; the kill comes long before the timeout
    first = start_worker(settings, hook.url, name="first", timeout=2, lease=10)
    try:
        assert hook.first_arrived.wait(30), first.stderr.read() if first.poll() is not None else "no request"
        first.send_signal(signal.SIGKILL)  # mid-delivery: the POST is in flight, nothing recorded
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    hook.release.set()  # the receiver gives up on the dead connection (500: not accepted)
    held = repository.deliveries(people)
    assert {d.claimed_by for d in held} == {"first"} and {d.status for d in held} == {"pending"}
    assert repository.attempts(people) == []  # the killed attempt left no record

    second = start_worker(settings, hook.url, name="second")
    try:
        assert wait_until(lambda: {d.status for d in repository.deliveries(people)} == {"sent"}, 60)
    finally:
        second.send_signal(signal.SIGTERM)
        _out, err = second.communicate(timeout=20)
    assert second.returncode == 0 and "通知发送进程已停止" in err
    ids = [f"gridmap-notice-{i}" for i in (1, 2, 3)]
    assert hook.accepted() == dict.fromkeys(ids, 1)  # each accepted exactly once
    # the killed attempt's request reached the receiver too: same stable id, so it can tell
    assert len(hook.requests) == 4 and sorted({b["id"] for b in hook.requests}) == ids
    attempts = repository.attempts(people)
    assert [(a.worker, a.ok) for a in attempts] == [("second", True)] * 3


def test_sigterm_stops_an_idle_worker(people, settings, receiver):
    hook = receiver().start()
    worker = start_worker(settings, hook.url, name="idle")
    started = ""
    while "已启动" not in started and worker.poll() is None:  # written once the signal handlers are in place
        started = worker.stderr.readline()
    assert "通知发送进程 idle 已启动" in started and "webhook" in started
    time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    _out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert "通知发送进程已停止" in err


def test_two_workers_at_once_send_each_notice_once(people, settings, receiver):
    hook = receiver().start()
    repository.add(people, notices(9), now=T0)
    more = [
        Notice(event="overdue", message=f"问题 B{i} 已逾期。", recipients=("unit1",), tracking_no=f"B{i}")
        for i in range(30)
    ]
    repository.add(people, more, now=T0)
    workers = [start_worker(settings, hook.url, name=name) for name in ("w1", "w2")]
    try:
        assert wait_until(lambda: repository.delivery_counts(people) == {"sent": 39}, 60)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.communicate(timeout=20)
    assert len(hook.requests) == 39 and len({b["id"] for b in hook.requests}) == 39
    assert all(n == 1 for n in hook.accepted().values())
    assert len(repository.attempts(people)) == 39


def test_once_scans_and_delivers_one_round_then_exits(people, settings, receiver):
    hook = receiver().start()
    repository.add(people, notices(2), now=T0)
    env = dict(os.environ)
    env.update(
        GRIDMAP_INSTANCE_DIR=settings["GRIDMAP_INSTANCE_DIR"],
        GRIDMAP_DATABASE_URL=settings["GRIDMAP_DATABASE_URL"],
        GRIDMAP_WEBHOOK_URL=hook.url,
        GRIDMAP_DIGEST_AT="",
    )
    done = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "notify", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert repository.delivery_counts(people) == {"sent": 2}
    assert sorted(b["id"] for b in hook.requests) == ["gridmap-notice-1", "gridmap-notice-2"]
