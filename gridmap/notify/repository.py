"""The SQL of notifications: the outbox, the deliveries and their attempts, and the in-app inbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from gridmap.clock import to_db
from gridmap.notify.notice import Notice
from gridmap.notify.schema import notify_attempts, notify_deliveries, notify_inbox, notify_outbox
from gridmap.store import Store

_INSERT_OUTBOX = insert(notify_outbox)
_INSERT_INBOX = insert(notify_inbox)


def enqueue(conn: Connection, notices: Sequence[Notice], *, now: dt.datetime) -> list[int]:
    """Write notices to the outbox and the recipients' inboxes inside the caller's transaction.

    A notice whose ``dedupe`` key is already in the outbox is skipped. Returns the new ids.
    """
    ids: list[int] = []
    at = to_db(now)
    for notice in notices:
        # one statement built once: a report pays for the row, not for SQL building
        statement = _INSERT_OUTBOX
        if notice.dedupe is not None:
            seen = conn.execute(
                select(notify_outbox.c.id).where(notify_outbox.c.dedupe_key == notice.dedupe)
            ).first()
            if seen is not None:
                continue
            # another server's scan may add the same key meanwhile: its row wins, this one is dropped
            statement = _insert_unless_known(conn)
        recipients = sorted(set(notice.recipients))
        result = conn.execute(
            statement,
            {
                "event": notice.event,
                "problem_id": notice.problem_id,
                "tracking_no": notice.tracking_no,
                "unit_code": notice.unit_code,
                "recipients": json.dumps(recipients, ensure_ascii=False),
                "phone": notice.phone,
                "message": notice.message,
                "extra": json.dumps(notice.extra, ensure_ascii=False) if notice.extra else None,
                "dedupe_key": notice.dedupe,
                "created_at": at,
                "planned_at": None if notice.external else at,  # in-app only: planned with no delivery
            },
        )
        if notice.dedupe is not None:
            outbox_id = result.scalar()
            if outbox_id is None:  # the key came in from a concurrent writer
                continue
        else:
            outbox_id = result.inserted_primary_key[0]  # type: ignore[index]
        if recipients:
            conn.execute(
                _INSERT_INBOX,
                [{"username": u, "outbox_id": outbox_id, "created_at": at} for u in recipients],
            )
        ids.append(int(outbox_id))
    return ids


def _insert_unless_known(conn: Connection) -> Any:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, in the connection's dialect."""
    return _UNLESS_KNOWN_PG if conn.dialect.name == "postgresql" else _UNLESS_KNOWN_SQLITE


_UNLESS_KNOWN_PG = (
    postgresql.insert(notify_outbox)
    .on_conflict_do_nothing(index_elements=[notify_outbox.c.dedupe_key])
    .returning(notify_outbox.c.id)
)
_UNLESS_KNOWN_SQLITE = (
    sqlite.insert(notify_outbox)
    .on_conflict_do_nothing(index_elements=[notify_outbox.c.dedupe_key])
    .returning(notify_outbox.c.id)
)


def add(store: Store, notices: Sequence[Notice], *, now: dt.datetime) -> list[int]:
    """Enqueue notices in a transaction of their own (periodic scans); duplicates by key are dropped."""
    if not notices:
        return []
    with store.writing() as conn:
        return enqueue(conn, notices, now=now)


def known_keys(store: Store, keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys are already in the outbox."""
    found: set[str] = set()
    wanted = sorted(set(keys))
    with store.reading() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(
                select(notify_outbox.c.dedupe_key).where(notify_outbox.c.dedupe_key.in_(chunk))
            )
            found.update(str(r[0]) for r in rows)
    return found


# --- delivery ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds under a lease, with the notice it carries."""

    id: int
    channel: str
    attempts: int
    outbox_id: int
    event: str
    message: str
    recipients: tuple[str, ...]
    phone: str | None
    tracking_no: str | None
    unit_code: str | None
    problem_id: int | None
    extra: dict
    created_at: dt.datetime


def plan(
    store: Store,
    *,
    channels: Callable[[Row], Sequence[str]],
    now: dt.datetime,
    limit: int = 500,
) -> int:
    """Make the deliveries of notices not yet planned: one per channel ``channels(row)`` names.

    Returns how many notices were planned. Safe with several workers: a notice is planned once
    (PostgreSQL: rows another worker is planning are skipped, ``FOR UPDATE SKIP LOCKED``).
    """
    at = to_db(now)
    with store.writing() as conn:
        rows = conn.execute(
            select(notify_outbox)
            .where(notify_outbox.c.planned_at.is_(None))
            .order_by(notify_outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            taken = conn.execute(
                update(notify_outbox)
                .where(notify_outbox.c.id == row.id, notify_outbox.c.planned_at.is_(None))
                .values(planned_at=at)
            ).rowcount
            wanted = list(dict.fromkeys(channels(row))) if taken else []
            if wanted:
                conn.execute(
                    insert(notify_deliveries),
                    [
                        {
                            "outbox_id": row.id,
                            "channel": channel,
                            "status": "pending",
                            "attempts": 0,
                            "next_at": at,
                            "created_at": at,
                        }
                        for channel in wanted
                    ],
                )
    return len(rows)


def claim(store: Store, *, worker: str, now: dt.datetime, lease_s: float, limit: int = 50) -> list[Claimed]:
    """Take due deliveries nobody holds (or whose holder's lease ran out) under a lease for ``worker``.

    On PostgreSQL the rows are selected ``FOR UPDATE SKIP LOCKED``: workers on any number of servers
    take disjoint batches without waiting for each other (SQLite has one writer at a time). Each row
    is then taken by a compare-and-set on its lease, so two workers never hold one delivery.
    """
    at = to_db(now)
    until = at + dt.timedelta(seconds=lease_s)
    d, o = notify_deliveries.c, notify_outbox.c
    free = or_(d.lease_until.is_(None), d.lease_until < at)
    out: list[Claimed] = []
    with store.writing() as conn:
        rows = conn.execute(
            select(notify_deliveries, *[o[name] for name in _NOTICE_COLUMNS])
            .join(notify_outbox, o.id == d.outbox_id)
            .where(d.status == "pending", d.next_at <= at, free)
            .order_by(d.next_at, d.id)
            .limit(limit)
            .with_for_update(of=notify_deliveries, skip_locked=True)
        ).all()
        for row in rows:
            taken = conn.execute(
                update(notify_deliveries)
                .where(d.id == row.id, d.status == "pending", free)
                .values(claimed_by=worker, lease_until=until)
            ).rowcount
            if taken:
                out.append(_claimed(row))
    return out


_NOTICE_COLUMNS = (
    "event",
    "message",
    "recipients",
    "phone",
    "tracking_no",
    "unit_code",
    "problem_id",
    "extra",
)


def _claimed(row: Any) -> Claimed:
    return Claimed(
        id=int(row.id),
        channel=row.channel,
        attempts=int(row.attempts),
        outbox_id=int(row.outbox_id),
        event=row.event,
        message=row.message,
        recipients=tuple(json.loads(row.recipients or "[]")),
        phone=row.phone,
        tracking_no=row.tracking_no,
        unit_code=row.unit_code,
        problem_id=row.problem_id,
        extra=json.loads(row.extra) if row.extra else {},
        created_at=row.created_at,
    )


def backoff_seconds(attempts: int, *, retry_s: float) -> float:
    """The wait after the ``attempts``-th failed attempt: ``retry_s`` doubled each time, at most an hour."""
    return min(retry_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S)


MAX_BACKOFF_S = 3600.0


def finish(
    store: Store,
    delivery_id: int,
    *,
    worker: str,
    ok: bool,
    now: dt.datetime,
    max_attempts: int,
    retry_s: float,
    status_code: int | None = None,
    error: str | None = None,
    duration_ms: int | None = None,
) -> str:
    """Record one attempt and move the delivery on: sent, retried later (backoff) or dead. Returns its status."""
    at = to_db(now)
    d = notify_deliveries.c
    with store.writing() as conn:
        conn.execute(
            insert(notify_attempts).values(
                delivery_id=delivery_id,
                at=at,
                worker=worker,
                ok=ok,
                status_code=status_code,
                error=(error or None) and str(error)[:2000],
                duration_ms=duration_ms,
            )
        )
        row = conn.execute(select(notify_deliveries).where(d.id == delivery_id)).first()
        if row is None or row.status != "pending":
            return "gone" if row is None else str(row.status)
        attempts = int(row.attempts) + 1
        values: dict[str, object] = {"attempts": attempts, "claimed_by": None, "lease_until": None}
        if ok:
            values.update(status="sent", sent_at=at, last_error=None)
        else:
            values["last_error"] = (error or "未知错误")[:2000]
            if attempts >= max_attempts:
                values["status"] = "dead"
            else:
                values["next_at"] = at + dt.timedelta(seconds=backoff_seconds(attempts, retry_s=retry_s))
        query = update(notify_deliveries).where(d.id == delivery_id, d.status == "pending")
        if not ok:  # a failure of a worker whose lease ran out does not undo another's success
            query = query.where(d.claimed_by == worker)
        conn.execute(query.values(**values))
        return str(values.get("status", "pending"))


def deliveries(store: Store, *, status: str | None = None, limit: int = 200) -> list[Row]:
    """Deliveries with their notice's event, tracking number and message, newest first."""
    d, o = notify_deliveries.c, notify_outbox.c
    query = (
        select(notify_deliveries, o.event, o.tracking_no, o.message)
        .join(notify_outbox, o.id == d.outbox_id)
        .order_by(d.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(d.status == status)
    with store.reading() as conn:
        return list(conn.execute(query).all())


def delivery_counts(store: Store) -> dict[str, int]:
    """How many deliveries are pending, sent and dead."""
    d = notify_deliveries.c
    with store.reading() as conn:
        rows = conn.execute(select(d.status, func.count()).group_by(d.status)).all()
    return {str(s): int(n) for s, n in rows}


def attempts(store: Store, delivery_id: int | None = None) -> list[Row]:
    """Recorded attempts (of one delivery, or all), oldest first."""
    query = select(notify_attempts).order_by(notify_attempts.c.id)
    if delivery_id is not None:
        query = query.where(notify_attempts.c.delivery_id == delivery_id)
    with store.reading() as conn:
        return list(conn.execute(query).all())


# --- the in-app inbox --------------------------------------------------------------------
def inbox(store: Store, username: str, *, limit: int = 100, unread_only: bool = False) -> list[Row]:
    """A user's inbox entries with their notices, newest first."""
    i, o = notify_inbox.c, notify_outbox.c
    query = (
        select(i.id, i.created_at, i.read_at, o.event, o.message, o.tracking_no, o.problem_id, o.unit_code)
        .join(notify_outbox, o.id == i.outbox_id)
        .where(i.username == username)
        .order_by(i.id.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(i.read_at.is_(None))
    with store.reading() as conn:
        return list(conn.execute(query).all())


def unread_count(store: Store, username: str) -> int:
    """How many of a user's inbox entries are unread (one indexed count)."""
    i = notify_inbox.c
    with store.reading() as conn:
        query = (
            select(func.count()).select_from(notify_inbox).where(i.username == username, i.read_at.is_(None))
        )
        return int(conn.execute(query).scalar() or 0)


def mark_read(store: Store, username: str, *, ids: Sequence[int] | None, now: dt.datetime) -> int:
    """Mark some (``ids``) or all of a user's unread entries read; returns how many changed."""
    i = notify_inbox.c
    query = update(notify_inbox).where(i.username == username, i.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        query = query.where(i.id.in_(list(ids)))
    with store.writing() as conn:
        return int(conn.execute(query.values(read_at=to_db(now))).rowcount)


def recipients_of(row: Any) -> list[str]:
    """The usernames an outbox row is addressed to."""
    return list(json.loads(row.recipients or "[]"))


def release(store: Store, ids: Sequence[int], *, worker: str) -> None:
    """Give back deliveries a worker took but will not try now (stopping, or too little lease left)."""
    if not ids:
        return
    d = notify_deliveries.c
    with store.writing() as conn:
        conn.execute(
            update(notify_deliveries)
            .where(d.id.in_(list(ids)), d.claimed_by == worker, d.status == "pending")
            .values(claimed_by=None, lease_until=None)
        )
