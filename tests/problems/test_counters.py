"""The day's counter under writers racing on several servers: each report its own number, none refused."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import insert, select, text

from gridmap.problems import repository
from gridmap.problems.schema import problem_counters

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
WRITERS = 8


def _values(n: int) -> dict:
    return {
        "category": "garbage",
        "description": f"第 {n} 条",
        "lon": 106.5151,
        "lat": 33.9101,
        "source": "citizen",
        "status": "reported",
        "fallback": False,
        "deadline": T0.replace(tzinfo=None),
        "urgency": "normal",
        "reporter_key": f"key-{n}",
        "supporters": 0,
        "extensions": 0,
        "reworks": 0,
        "created_at": T0.replace(tzinfo=None),
        "updated_at": T0.replace(tzinfo=None),
    }


def _insert(ctx, n: int, day: str = "20261128") -> str:
    stored = repository.insert_report(
        ctx.store,
        day=day,
        prefix="FX",
        values=_values(n),
        event={
            "at": T0.replace(tzinfo=None),
            "actor_role": "citizen",
            "action": "report",
            "to_status": "reported",
        },
        key=None,
        fingerprint="f" * 64,
        hits=[],
        photos=[],
        put_photo=lambda photo, day: ("k", "t"),
        now=T0,
    )
    return stored.tracking_no


def test_the_first_reports_of_a_day_race_for_its_counter_and_all_get_numbers(ctx):
    """Writers start together on a day with no counter row yet: none may fail on its insert."""
    barrier = threading.Barrier(WRITERS)
    numbers: list[str] = []
    failures: list[BaseException] = []

    def write(n: int) -> None:
        barrier.wait(30)
        try:
            numbers.append(_insert(ctx, n))
        except BaseException as exc:  # the test reports it
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(numbers) == [f"FX20261128-{i:04d}" for i in range(1, WRITERS + 1)]
    with ctx.store.engine.connect() as conn:
        last = conn.execute(
            select(problem_counters.c.last).where(problem_counters.c.day == "20261128")
        ).scalar()
    assert last == WRITERS


def test_a_day_counter_made_by_another_server_meanwhile_is_taken_over_not_a_failure(ctx, backend):
    """PostgreSQL: another server's first report of the day holds the new counter row uncommitted;
    this report waits for it, then takes the next number (no failed insert, no retry)."""
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no second writer reaches the counter")
    with ctx.store.engine.connect() as other:
        transaction = other.begin()
        other.execute(insert(problem_counters).values(day="20261129", last=1))
        result: dict = {}

        def write() -> None:
            try:
                result["number"] = _insert(ctx, 1, day="20261129")
            except BaseException as exc:  # the test reports it
                result["error"] = exc

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        end = time.monotonic() + 30
        with ctx.store.engine.connect() as watch:  # until the report waits on the other's row
            while time.monotonic() < end and thread.is_alive():
                if watch.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                    break
                time.sleep(0.05)
        transaction.commit()
        thread.join(30)
    assert "error" not in result, result.get("error")
    assert result["number"] == "FX20261129-0002"
