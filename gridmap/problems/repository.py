"""The problems' data access: every query and write of problems, events, photos, counters and keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, String, bindparam, func, insert, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, OperationalError

from gridmap.accounts import repository as limits
from gridmap.clock import to_db
from gridmap.notify import repository as outbox
from gridmap.notify.notice import Notice
from gridmap.problems.photos import PreparedPhoto
from gridmap.problems.schema import (
    idempotency_keys,
    problem_counters,
    problem_events,
    problem_photos,
    problem_requests,
    problems,
)
from gridmap.problems.states import PENDING_STATUSES
from gridmap.store import Store

# Puts a prepared photo into storage for a day; answers its (photo key, thumbnail key).
PutPhoto = Callable[..., tuple[str, str]]
# The notices of a new report, given its id and tracking number (known only inside the transaction).
ReportNotices = Callable[[int, str], Sequence[Notice]]


class KeyTaken(Exception):
    """A unique value (tracking number or idempotency key) was taken by a concurrent writer."""


class Busy(Exception):
    """The database stayed locked past its busy timeout; the write may be tried again."""


# What a database says when a write failed but may be tried again (SQLite; PostgreSQL)
_RETRYABLE = ("locked", "deadlock detected", "could not serialize")


class RequestPending(Exception):
    """A unit's request could not be added (another is pending) or decided (none is pending)."""


# --- reading ----------------------------------------------------------------------------
def find_problem(
    store: Store, *, problem_id: int | None = None, tracking_no: str | None = None
) -> Row | None:
    """The problem row with this id or tracking number, or None."""
    if problem_id is not None:
        condition = problems.c.id == problem_id
    else:
        condition = problems.c.tracking_no == tracking_no
    with store.reading() as conn:
        return conn.execute(select(problems).where(condition)).first()


def _by_problem(
    conn: Connection, table: Any, problem_ids: list[int], order: Sequence[Any]
) -> dict[int, list]:
    out: dict[int, list] = {i: [] for i in problem_ids}
    for chunk in range(0, len(problem_ids), 500):
        ids = problem_ids[chunk : chunk + 500]
        rows = conn.execute(select(table).where(table.c.problem_id.in_(ids)).order_by(*order))
        for r in rows:
            out[r.problem_id].append(r)
    return out


def events_and_photos(
    store: Store, problem_ids: list[int], *, events: bool = True
) -> tuple[dict[int, list], dict[int, list]]:
    """Per problem id: its events (oldest first; empty without ``events``) and its photos."""
    with store.reading() as conn:
        found = (
            _by_problem(conn, problem_events, problem_ids, (problem_events.c.at, problem_events.c.id))
            if events
            else {}
        )
        photos = _by_problem(conn, problem_photos, problem_ids, (problem_photos.c.id,))
    return found, photos


def find_photo(store: Store, photo_id: int) -> Row | None:
    """The photo row with this id, or None."""
    with store.reading() as conn:
        return conn.execute(select(problem_photos).where(problem_photos.c.id == photo_id)).first()


def idempotency_hit(store: Store, key: str) -> tuple[str, Row | None] | None:
    """For a used Idempotency-Key: the fingerprint stored with it and its problem row; else None."""
    with store.reading() as conn:
        hit = conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
        if hit is None:
            return None
        row = conn.execute(select(problems).where(problems.c.id == hit.problem_id)).first()
    return hit.fingerprint, row


@dataclass(frozen=True)
class Criteria:
    """Which problems to select: every given condition must hold."""

    equal: tuple[tuple[str, object], ...] = ()  # column == value
    among: tuple[tuple[str, Sequence[object]], ...] = ()  # column IN values (none: no row)
    overdue_at: dt.datetime | None = None  # still pending and past the deadline at this moment
    fallback: bool = False  # only problems outside every grid
    created_from: dt.datetime | None = None  # created_at >= this
    created_before: dt.datetime | None = None  # created_at < this
    created_until: dt.datetime | None = None  # created_at <= this
    text: str | None = None  # in the tracking number or the description
    lon_between: tuple[float, float] | None = None
    lat_between: tuple[float, float] | None = None
    awaiting_office: bool = False  # returned by a unit, or with a unit's request pending


def _conditions(criteria: Criteria) -> list[Any]:
    c = problems.c
    out: list[Any] = [c[name] == value for name, value in criteria.equal]
    out += [c[name].in_(list(values)) for name, values in criteria.among]
    if criteria.overdue_at is not None:
        out += [c.status.in_(PENDING_STATUSES), c.deadline < to_db(criteria.overdue_at)]
    if criteria.fallback:
        out.append(c.fallback.is_(True))
    if criteria.awaiting_office:
        pending = select(problem_requests.c.problem_id).where(problem_requests.c.status == "pending")
        out.append((c.status == "returned") | c.id.in_(pending))
    if criteria.created_from is not None:
        out.append(c.created_at >= to_db(criteria.created_from))
    if criteria.created_before is not None:
        out.append(c.created_at < to_db(criteria.created_before))
    if criteria.created_until is not None:
        out.append(c.created_at <= to_db(criteria.created_until))
    if criteria.text:
        like = f"%{criteria.text}%"
        out.append(c.tracking_no.like(like) | c.description.like(like))
    if criteria.lon_between is not None:
        out.append(c.lon.between(*criteria.lon_between))
    if criteria.lat_between is not None:
        out.append(c.lat.between(*criteria.lat_between))
    return out


def select_problems(
    store: Store, criteria: Criteria = Criteria(), *, order: Sequence[str] = (), limit: int | None = None
) -> list[Row]:
    """Problem rows matching ``criteria``; ``order`` names columns, "-" first for descending."""
    columns = [problems.c[name.lstrip("-")] for name in order]
    ordering = [col.desc() if name.startswith("-") else col.asc() for name, col in zip(order, columns)]
    query = select(problems).where(*_conditions(criteria)).order_by(*ordering)
    if limit is not None:
        query = query.limit(limit)
    with store.reading() as conn:
        return list(conn.execute(query).all())


def counts_by_status(store: Store) -> dict[str, int]:
    """How many problems there are in each status."""
    with store.reading() as conn:
        rows = conn.execute(select(problems.c.status, func.count()).group_by(problems.c.status)).all()
    return {str(status): int(n) for status, n in rows}


# --- writing ----------------------------------------------------------------------------
_BUMP = (
    update(problem_counters)
    .where(problem_counters.c.day == bindparam("d"))
    .values(last=problem_counters.c.last + 1)
    .returning(problem_counters.c.last)
)
_BUMP_PG = (
    postgresql_insert(problem_counters)
    .on_conflict_do_update(
        index_elements=[problem_counters.c.day], set_={"last": problem_counters.c.last + 1}
    )
    .returning(problem_counters.c.last)
)
_INSERT_PROBLEM = insert(problems)
_INSERT_EVENT = insert(problem_events)
_INSERT_PHOTO = insert(problem_photos)
_INSERT_KEY = insert(idempotency_keys)
_INSERT_COUNTER = insert(problem_counters)


def _insert(conn: Connection, statement: Any, values: Mapping[str, object]) -> int:
    """Insert one row; its new primary key."""
    key = conn.execute(statement, dict(values)).inserted_primary_key
    assert key is not None  # an insert has one
    return int(key[0])


def _next_number(conn: Connection, day: str) -> int:
    """Increment the day's counter as the transaction's first write (serialises writers).

    On PostgreSQL one upsert takes the counter row's lock, so servers writing at once queue on
    the row and each gets the next number; the day's first reports do not race on its insert.
    """
    if conn.dialect.name == "postgresql":
        return int(conn.execute(_BUMP_PG, {"day": day, "last": 1}).scalar_one())
    row = conn.execute(_BUMP, {"d": day}).first()
    if row is not None:
        return int(row[0])
    conn.execute(_INSERT_COUNTER, {"day": day, "last": 1})
    return 1


def _add_photos(
    conn: Connection,
    *,
    problem_id: int,
    event_id: int,
    photos: Sequence[PreparedPhoto],
    put_photo: PutPhoto,
    day: str,
    now: dt.datetime,
) -> list[dict]:
    out = []
    for photo in photos:
        key, thumb_key = put_photo(photo, day=day)
        row = {
            "problem_id": problem_id,
            "event_id": event_id,
            "key": key,
            "thumb_key": thumb_key,
            "width": photo.width,
            "height": photo.height,
            "size": len(photo.data),
            "created_at": to_db(now),
        }
        row["id"] = _insert(conn, _INSERT_PHOTO, row)
        out.append(row)
    return out


@dataclass
class Inserted:
    """What a new report was stored as."""

    problem_id: int
    tracking_no: str
    event_id: int
    photos: list[dict]


def insert_report(
    store: Store,
    *,
    day: str,
    prefix: str,
    values: Mapping[str, object],
    event: Mapping[str, object],
    key: str | None,
    fingerprint: str,
    hits: Iterable[tuple[limits.Limit, object]],
    photos: Sequence[PreparedPhoto],
    put_photo: PutPhoto,
    now: dt.datetime,
    notices: ReportNotices | None = None,
) -> Inserted:
    """Store a report in one short transaction: its number, row, key, rate hits, event, photos, notices.

    The tracking number is ``prefix``, the (China) ``day`` and the day's next number. Photos
    are put into storage inside the transaction; on failure the caller removes them again.
    ``notices(problem_id, tracking_no)`` go to the outbox in the same transaction.
    A unique value taken meanwhile raises KeyTaken, a database still locked raises Busy.
    """
    try:
        with store.writing() as conn:
            number = _next_number(conn, day)
            tracking_no = f"{prefix}{day}-{number:04d}"
            problem_id = _insert(conn, _INSERT_PROBLEM, {"tracking_no": tracking_no, **values})
            if key is not None:
                conn.execute(
                    _INSERT_KEY,
                    {
                        "key": key,
                        "problem_id": problem_id,
                        "fingerprint": fingerprint,
                        "created_at": to_db(now),
                    },
                )
            for rule, value in hits:
                limits.record(conn, rule, value, now=now)
            event_id = _insert(conn, _INSERT_EVENT, {"problem_id": problem_id, **event})
            rows = _add_photos(
                conn,
                problem_id=problem_id,
                event_id=event_id,
                photos=photos,
                put_photo=put_photo,
                day=day,
                now=now,
            )
            if notices is not None:
                outbox.enqueue(conn, notices(problem_id, tracking_no), now=now)
    except IntegrityError as exc:
        raise KeyTaken(str(exc)) from exc
    except OperationalError as exc:  # "database is locked" after busy_timeout; PostgreSQL's deadlock victim
        if any(word in str(exc).lower() for word in _RETRYABLE):
            raise Busy(str(exc)) from exc
        raise
    return Inserted(problem_id, tracking_no, event_id, rows)


def apply_action(
    store: Store,
    *,
    problem_id: int,
    from_status: str,
    changes: Mapping[str, object],
    event: Mapping[str, object],
    photos: Sequence[PreparedPhoto],
    put_photo: PutPhoto,
    day: str,
    now: dt.datetime,
    notices: Sequence[Notice] = (),
    request: Mapping[str, object] | None = None,
    decision: Mapping[str, object] | None = None,
) -> bool:
    """Change a problem still in ``from_status`` and add its event, photos and notices; False if it moved on.

    A compare-and-set on the status: two people acting at once cannot both win. The notices go
    to the outbox in the same transaction, so an event is never without its notices. A unit's
    ``request`` is added, or the pending one decided (``decision``: its new status and decider),
    in the same transaction; RequestPending if another is pending, or none is to decide.
    """
    with store.writing() as conn:
        done = conn.execute(
            update(problems)
            .where(problems.c.id == problem_id, problems.c.status == from_status)
            .values(**changes)
        ).rowcount
        if not done:
            return False
        if request is not None or decision is not None:
            _request_change(conn, problem_id, request, decision)
        event_id = _insert(
            conn, _INSERT_EVENT, {"problem_id": problem_id, "from_status": from_status, **event}
        )
        _add_photos(
            conn,
            problem_id=problem_id,
            event_id=event_id,
            photos=photos,
            put_photo=put_photo,
            day=day,
            now=now,
        )
        outbox.enqueue(conn, notices, now=now)
    return True


def _request_change(
    conn: Connection,
    problem_id: int,
    request: Mapping[str, object] | None,
    decision: Mapping[str, object] | None,
) -> None:
    r = problem_requests.c
    mine = (r.problem_id == problem_id, r.status == "pending")
    if request is not None:
        if conn.execute(select(r.id).where(*mine)).first() is not None:
            raise RequestPending("pending")
        conn.execute(insert(problem_requests).values(problem_id=problem_id, status="pending", **request))
    if decision is None:
        return
    if not conn.execute(update(problem_requests).where(*mine).values(**decision)).rowcount:
        raise RequestPending("none")


def pending_requests(store: Store, problem_ids: list[int]) -> dict[int, Row]:
    """The pending unit request of each of these problems that has one (at most one each)."""
    out: dict[int, Row] = {}
    r = problem_requests.c
    with store.reading() as conn:
        for chunk in range(0, len(problem_ids), 500):
            ids = problem_ids[chunk : chunk + 500]
            rows = conn.execute(select(problem_requests).where(r.problem_id.in_(ids), r.status == "pending"))
            out.update({row.problem_id: row for row in rows})
    return out


def add_support(
    store: Store,
    *,
    problem_id: int,
    status: str,
    note: str | None,
    now: dt.datetime,
    rule: limits.Limit,
    who: str | None,
) -> bool:
    """Count one "me too" on a problem, unless ``who`` already did within the rule's window."""
    with store.writing() as conn:
        if who is not None and limits.count(conn, rule, who, now=now):
            return False
        conn.execute(
            update(problems)
            .where(problems.c.id == problem_id)
            .values(supporters=problems.c.supporters + 1, updated_at=to_db(now))
        )
        conn.execute(
            insert(problem_events).values(
                problem_id=problem_id,
                at=to_db(now),
                actor=None,
                actor_role="citizen",
                action="support",
                from_status=status,
                to_status=status,
                note=note,
            )
        )
        if who is not None:
            limits.record(conn, rule, who, now=now)
    return True


def events_between(
    store: Store,
    *,
    start: dt.datetime,
    end: dt.datetime,
    skip_actions: Sequence[str] = (),
    limit: int = 1000,
) -> list[Row]:
    """Events with ``start <= at <= end`` (oldest first, at most ``limit``), each row carrying its
    problem's tracking_no; actions in ``skip_actions`` left out (Open311 servicerequestupdates)."""
    e = problem_events.c
    query = (
        select(problem_events, problems.c.tracking_no)
        .join(problems, problems.c.id == e.problem_id)
        .where(e.at >= to_db(start), e.at <= to_db(end))
        .order_by(e.at, e.id)
        .limit(limit)
    )
    if skip_actions:
        query = query.where(e.action.not_in(list(skip_actions)))
    with store.reading() as conn:
        return list(conn.execute(query).all())


# --- follow-up and merge (issue 12) ------------------------------------
def apply_events(
    store: Store,
    *,
    problem_id: int,
    expect: Mapping[str, object],
    changes: Mapping[str, object],
    events: Sequence[Mapping[str, object]],
    now: dt.datetime,
    notices: Sequence[Notice] = (),
) -> bool:
    """Change a problem whose columns still hold ``expect`` and add its events and notices, in one
    transaction; False if it changed meanwhile (a compare-and-set, as apply_action)."""
    c = problems.c
    where = [c.id == problem_id, *(c[k].is_(None) if v is None else c[k] == v for k, v in expect.items())]
    with store.writing() as conn:
        if not conn.execute(update(problems).where(*where).values(**changes)).rowcount:
            return False
        for event in events:
            _insert(conn, _INSERT_EVENT, {"problem_id": problem_id, **event})
        outbox.enqueue(conn, notices, now=now)
    return True


class _Moved(Exception):
    """A problem changed status meanwhile: the merge's transaction is rolled back."""


def merge_problems(
    store: Store,
    *,
    duplicate: tuple[int, str],
    kept: tuple[int, str],
    changes: Mapping[str, object],
    events: tuple[Mapping[str, object], Mapping[str, object]],
    supporters: int,
    now: dt.datetime,
    notices: Sequence[Notice] = (),
) -> int | None:
    """Merge one problem into another in one transaction: the duplicate (id, status) takes
    ``changes``, the kept one (id, status) gains ``supporters`` and copies of the duplicate's photo
    rows (the same stored files) under its event; an event on each. The number of photos carried
    over, or None when either problem changed status meanwhile (nothing is written then)."""
    c = problems.c
    try:
        with store.writing() as conn:
            moved = conn.execute(
                update(problems).where(c.id == duplicate[0], c.status == duplicate[1]).values(**changes)
            ).rowcount
            grown = conn.execute(
                update(problems)
                .where(c.id == kept[0], c.status == kept[1])
                .values(supporters=c.supporters + supporters, updated_at=to_db(now))
            ).rowcount
            if not (moved and grown):
                raise _Moved
            _insert(conn, _INSERT_EVENT, {"problem_id": duplicate[0], **events[0]})
            event_id = _insert(conn, _INSERT_EVENT, {"problem_id": kept[0], **events[1]})
            photos = conn.execute(
                select(problem_photos)
                .where(problem_photos.c.problem_id == duplicate[0])
                .order_by(problem_photos.c.id)
            ).all()
            for p in photos:
                row = {k: v for k, v in p._mapping.items() if k != "id"}
                _insert(conn, _INSERT_PHOTO, {**row, "problem_id": kept[0], "event_id": event_id})
            outbox.enqueue(conn, notices, now=now)
    except _Moved:
        return None
    return len(photos)


def tracking_numbers(store: Store, problem_ids: Iterable[int]) -> dict[int, str]:
    """The tracking number of each of these problem ids."""
    ids = sorted(set(problem_ids))
    if not ids:
        return {}
    with store.reading() as conn:
        rows = conn.execute(select(problems.c.id, problems.c.tracking_no).where(problems.c.id.in_(ids)))
        return {int(i): str(no) for i, no in rows}


def evaluation_rows(
    store: Store, *, created_from: dt.datetime, created_before: dt.datetime, columns: Sequence[str]
) -> tuple[list[Row], list[Row]]:
    """The ``columns`` of the problems reported in ``[created_from, created_before)`` and all their
    events (problem_id, at, action, from/to status, deadline), by problem and time: what the
    indicators (gridmap/evaluation) count. Times come as the driver gives them (text on SQLite), for
    the caller to parse in bulk (pandas.to_datetime): a year of events parses ten times quicker."""
    c, e = problems.c, problem_events.c

    def raw(column: Any) -> Any:  # times as the driver gives them: the caller parses them in bulk
        return type_coerce(column, String).label(column.name) if isinstance(column.type, DateTime) else column

    period = (c.created_at >= to_db(created_from), c.created_at < to_db(created_before))
    cases = select(*(raw(c[name]) for name in columns)).where(*period).order_by(c.id)
    events = (
        select(e.problem_id, raw(e.at), e.action, e.from_status, e.to_status, raw(e.deadline))
        .join(problems, c.id == e.problem_id)
        .where(*period)
        .order_by(e.problem_id, e.at, e.id)
    )
    with store.reading() as conn:
        return list(conn.execute(cases).all()), list(conn.execute(events).all())


# --- history import (issue 13) -----------------------------------------------------------
def _taken(conn: Connection, numbers: Sequence[str]) -> dict[str, int]:
    c, out = problems.c, dict[str, int]()
    for i in range(0, len(numbers), 500):
        query = select(c.tracking_no, c.id).where(c.tracking_no.in_(numbers[i : i + 500]))
        out.update((str(no), int(i)) for no, i in conn.execute(query))
    return out


def taken_tracking_numbers(store: Store, numbers: Sequence[str]) -> set[str]:
    """Those of these tracking numbers that a stored problem already has."""
    with store.reading() as conn:
        return set(_taken(conn, list(numbers)))


def insert_history(store: Store, rows: Sequence[Mapping], events: Sequence[Sequence[Mapping]]) -> int:
    """Store past cases, each row with its events, in bulk in one transaction; how many. KeyTaken
    (nothing written) when a tracking number is taken meanwhile."""
    numbers = [str(r["tracking_no"]) for r in rows]
    try:
        with store.writing() as conn:
            if taken := _taken(conn, numbers):
                raise KeyTaken("、".join(sorted(taken)[:10]))
            conn.execute(_INSERT_PROBLEM, [dict(r) for r in rows])
            ids = _taken(conn, numbers)
            if flat := [{"problem_id": ids[n], **e} for n, evs in zip(numbers, events) for e in evs]:
                conn.execute(_INSERT_EVENT, flat)
    except IntegrityError as exc:  # taken between the check and the insert (PostgreSQL)
        raise KeyTaken("") from exc
    return len(rows)


def dashboard_rows(store: Store, *, since: dt.datetime, open_statuses: Sequence[str]) -> list[Row]:
    """Slim rows of the problems in ``open_statuses`` now, or reported or closed since ``since`` (issue 13)."""
    c, since = problems.c, to_db(since)
    names = "id tracking_no category status urgency lon lat town_code town_name grid_code grid_name unit_name"
    query = select(*(c[n] for n in names.split()), c.deadline, c.created_at, c.closed_at).where(
        c.status.in_(list(open_statuses)) | (c.created_at >= since) | (c.closed_at >= since)
    )
    with store.reading() as conn:
        return list(conn.execute(query.order_by(c.id)).all())
