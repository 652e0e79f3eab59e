"""Accounts' queries and writes: users, sessions, API tokens, Open311 keys, and rate-limit hits.

The only code that touches the accounts' tables. Times in and out are naive UTC (how the
database keeps them); the rules that decide what they mean live in gridmap/auth.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gridmap.accounts.schema import (
    api_tokens,
    open311_keys,
    rate_hits,
    user_sessions,
    users,
)
from gridmap.clock import to_db
from gridmap.store import Store, reference_tables

# How often (1 in N records) old rows of a kind are pruned.
PRUNE_EVERY = 50


# --- users ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredUser:
    """A row of the users table, password hash included (it never leaves gridmap.auth)."""

    id: int
    username: str
    role: str
    unit_code: str | None
    leader_code: str | None
    active: bool
    password_hash: str


def _stored_user(row: Any) -> StoredUser:
    return StoredUser(
        id=int(row.id),
        username=row.username,
        role=row.role,
        unit_code=row.unit_code,
        leader_code=row.leader_code,
        active=bool(row.active),
        password_hash=row.password_hash,
    )


def reference_codes(store: Store, table: str) -> set[str] | None:
    """Codes of a reference table ("units", "leaders"), or None when no reference data is loaded yet."""
    t = reference_tables[table]
    with store.reading() as conn:
        codes = {r[0] for r in conn.execute(select(t.c.code))}
    return codes or None


def insert_user(
    store: Store,
    *,
    username: str,
    role: str,
    unit_code: str | None,
    leader_code: str | None,
    password_hash: str,
    created_at: dt.datetime,
) -> int | None:
    """Store a new active user; their id, or None when the name is taken."""
    values = {
        "username": username,
        "role": role,
        "unit_code": unit_code,
        "leader_code": leader_code,
        "password_hash": password_hash,
        "active": True,
        "created_at": to_db(created_at),
    }
    try:
        with store.writing() as conn:
            key = conn.execute(insert(users).values(**values)).inserted_primary_key
    except IntegrityError:
        return None
    assert key is not None
    return int(key[0])


def find_user(store: Store, *, username: str | None = None, user_id: int | None = None) -> StoredUser | None:
    """The active user with this name (or, without a name, this id), or None."""
    query = select(users).where(users.c.active.is_(True))
    if username is not None:
        query = query.where(users.c.username == username)
    else:
        query = query.where(users.c.id == user_id)
    with store.reading() as conn:
        row = conn.execute(query).first()
    return _stored_user(row) if row else None


def all_users(store: Store) -> list[StoredUser]:
    """Every user, disabled ones too, by name."""
    with store.reading() as conn:
        return [_stored_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def users_named(store: Store, names: Iterable[str]) -> list[StoredUser]:
    """The users with these names, disabled ones too."""
    wanted = sorted({n for n in names if n})
    if not wanted:
        return []
    with store.reading() as conn:
        return [_stored_user(r) for r in conn.execute(select(users).where(users.c.username.in_(wanted)))]


def last_logins(store: Store) -> dict[int, dt.datetime]:
    """Each user's latest login still on record (their newest stored session), naive UTC, by user id.

    Logging out, a password change or disabling deletes sessions, so this is what is known, not
    a full history.
    """
    with store.reading() as conn:
        rows = conn.execute(
            select(user_sessions.c.user_id, func.max(user_sessions.c.created_at)).group_by(
                user_sessions.c.user_id
            )
        ).all()
    return {int(user_id): at for user_id, at in rows if at is not None}


def _end_access(conn: Connection, user_id: int) -> tuple[int, int]:
    sessions = conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id)).rowcount
    tokens = conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id)).rowcount
    return sessions, tokens


def change_user(
    store: Store,
    username: str,
    *,
    password_hash: str | None = None,
    active: bool | None = None,
    end_access: bool = False,
) -> tuple[int, int] | None:
    """In one transaction: set a user's password hash and/or active flag and, with ``end_access``,
    delete every session and API token of theirs.

    Returns (sessions, tokens) deleted, or None when no user has this name (nothing written).
    """
    with store.writing() as conn:
        found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if found is None:
            return None
        user_id = int(found)
        values: dict[str, Any] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if active is not None:
            values["active"] = bool(active)
        if values:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))
        return _end_access(conn, user_id) if end_access else (0, 0)


# --- browser sessions -----------------------------------------------------------------------
def insert_session(
    store: Store,
    *,
    sid_hash: str,
    user_id: int,
    created_at: dt.datetime,
    expires_at: dt.datetime,
    prune: bool = False,
) -> None:
    """Store a session; with ``prune``, also forget sessions that ran out by ``created_at``."""
    moment = to_db(created_at)
    with store.writing() as conn:
        conn.execute(
            insert(user_sessions).values(
                sid_hash=sid_hash, user_id=user_id, created_at=moment, expires_at=to_db(expires_at)
            )
        )
        if prune:
            conn.execute(delete(user_sessions).where(user_sessions.c.expires_at <= moment))


def session_user(store: Store, sid_hash: str, *, now: dt.datetime) -> StoredUser | None:
    """The active user of the session with this hash that is still live at ``now``, or None."""
    with store.reading() as conn:
        row = conn.execute(
            select(users)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(
                user_sessions.c.sid_hash == sid_hash,
                user_sessions.c.expires_at > to_db(now),
                users.c.active.is_(True),
            )
        ).first()
    return _stored_user(row) if row else None


def delete_session(store: Store, sid_hash: str) -> None:
    """Forget one session."""
    with store.writing() as conn:
        conn.execute(delete(user_sessions).where(user_sessions.c.sid_hash == sid_hash))


# --- API tokens ---------------------------------------------------------------------------
def insert_token(
    store: Store, *, user_id: int, token_hash: str, created_at: dt.datetime, expires_at: dt.datetime
) -> None:
    """Store an API token's hash."""
    with store.writing() as conn:
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                token_hash=token_hash,
                created_at=to_db(created_at),
                expires_at=to_db(expires_at),
            )
        )


def token_user(store: Store, token_hash: str) -> tuple[StoredUser, dt.datetime | None] | None:
    """The active user a token hash belongs to and the token's expiry (naive UTC), or None."""
    with store.reading() as conn:
        row = conn.execute(
            select(users, api_tokens.c.expires_at.label("token_expires_at"))
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == token_hash, users.c.active.is_(True))
        ).first()
    return (_stored_user(row), row.token_expires_at) if row else None


# --- Open311 api keys ---------------------------------------------------------------------
@dataclass(frozen=True)
class StoredKey:
    """A row of the Open311 keys table."""

    name: str
    key_hash: str
    source: str
    expires_at: dt.datetime | None


def insert_api_key(
    store: Store, *, name: str, key_hash: str, source: str, created_at: dt.datetime, expires_at: dt.datetime
) -> bool:
    """Store a partner's key hash; False (nothing written) when a key of that name exists."""
    try:
        with store.writing() as conn:
            conn.execute(
                insert(open311_keys).values(
                    name=name,
                    key_hash=key_hash,
                    created_at=to_db(created_at),
                    source=source,
                    expires_at=to_db(expires_at),
                )
            )
    except IntegrityError:
        return False
    return True


def all_api_keys(store: Store) -> list[StoredKey]:
    """Every Open311 key, by name."""
    with store.reading() as conn:
        rows = conn.execute(
            select(
                open311_keys.c.name, open311_keys.c.key_hash, open311_keys.c.source, open311_keys.c.expires_at
            ).order_by(open311_keys.c.name)
        ).all()
    return [
        StoredKey(name=r.name, key_hash=r.key_hash, source=r.source or "citizen", expires_at=r.expires_at)
        for r in rows
    ]


def delete_api_key(store: Store, name: str) -> int:
    """Forget the key of this name; how many were deleted (0 or 1)."""
    with store.writing() as conn:
        return int(conn.execute(delete(open311_keys).where(open311_keys.c.name == name)).rowcount)


# --- rate limits ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits of one kind per key within ``window``; count 0 switches it off."""

    kind: str
    count: int
    window: dt.timedelta

    @property
    def active(self) -> bool:
        return self.count > 0 and self.window > dt.timedelta(0)


def hit_key(kind: str, value: object) -> str:
    """The stored key of a value: a hash, so names and addresses are not kept in clear."""
    return hashlib.sha256(f"{kind}\x1f{value}".encode("utf-8", "surrogatepass")).hexdigest()


def wait_seconds(conn: Connection, limit: Limit, value: object, *, now: dt.datetime | None = None) -> int:
    """Seconds until one more hit is allowed for this value (0: allowed now)."""
    if not limit.active:
        return 0
    now = to_db(now)
    since = now - limit.window
    times = (
        conn.execute(
            select(rate_hits.c.at)
            .where(
                rate_hits.c.kind == limit.kind,
                rate_hits.c.key == hit_key(limit.kind, value),
                rate_hits.c.at > since,
            )
            .order_by(rate_hits.c.at.desc())
            .limit(limit.count)
        )
        .scalars()
        .all()
    )
    if len(times) < limit.count:
        return 0
    # allowed again when the limit-th most recent hit leaves the window
    free_at = times[limit.count - 1] + limit.window
    return max(1, int((free_at - now).total_seconds() + 0.999))


def count(conn: Connection, limit: Limit, value: object, *, now: dt.datetime | None = None) -> int:
    """Hits of this value within the limit's window."""
    now = to_db(now)
    return int(
        conn.execute(
            select(func.count())
            .select_from(rate_hits)
            .where(
                rate_hits.c.kind == limit.kind,
                rate_hits.c.key == hit_key(limit.kind, value),
                rate_hits.c.at > now - limit.window,
            )
        ).scalar()
        or 0
    )


def record(conn: Connection, limit: Limit, value: object, *, now: dt.datetime | None = None) -> None:
    """Count one hit for this value; now and then drop hits of this kind older than the window."""
    now = to_db(now)
    conn.execute(insert(rate_hits).values(kind=limit.kind, key=hit_key(limit.kind, value), at=now))
    if random.randrange(PRUNE_EVERY) == 0:
        conn.execute(
            delete(rate_hits).where(rate_hits.c.kind == limit.kind, rate_hits.c.at <= now - limit.window)
        )


def clear(conn: Connection, limit: Limit, value: object) -> None:
    """Forget every hit of this value (e.g. failed logins after a successful one)."""
    conn.execute(
        delete(rate_hits).where(rate_hits.c.kind == limit.kind, rate_hits.c.key == hit_key(limit.kind, value))
    )


def waits(
    store: Store, checks: Iterable[tuple[Limit, object]], *, now: dt.datetime | None = None
) -> list[int]:
    """wait_seconds() of each (limit, value), read together."""
    with store.reading() as conn:
        return [wait_seconds(conn, limit, value, now=now) for limit, value in checks]


def record_hits(
    store: Store, hits: Iterable[tuple[Limit, object]], *, now: dt.datetime | None = None
) -> None:
    """record() each (limit, value) in one write transaction."""
    with store.writing() as conn:
        for limit, value in hits:
            record(conn, limit, value, now=now)


def clear_hits(store: Store, limit: Limit, value: object) -> None:
    """clear() in a write transaction of its own."""
    with store.writing() as conn:
        clear(conn, limit, value)


def minutes_text(seconds: int) -> str:
    """A wait in words: "45 秒" or "约 12 分钟"."""
    if seconds < 60:
        return f"{seconds} 秒"
    return f"约 {(seconds + 59) // 60} 分钟"


# --- contacts for notifications ----------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """Where a user's notices go: their email and phone (None when not given)."""

    username: str
    role: str
    email: str | None
    phone: str | None


_ACTIVE_BY_ROLE = (
    select(users.c.username)
    .where(users.c.active.is_(True), users.c.role.in_(bindparam("roles", expanding=True)))
    .order_by(users.c.username)
)


def active_usernames(
    store: Store,
    *,
    roles: Iterable[str],
    unit_code: str | None = None,
    leader_codes: Iterable[str] | None = None,
) -> list[str]:
    """Active users of these roles (of this unit, or with one of these leader codes), by name."""
    if unit_code is None and leader_codes is None:  # every new report asks this: a statement built once
        with store.reading() as conn:
            return [str(r[0]) for r in conn.execute(_ACTIVE_BY_ROLE, {"roles": sorted(set(roles))})]
    query = select(users.c.username).where(users.c.active.is_(True), users.c.role.in_(sorted(set(roles))))
    if unit_code is not None:
        query = query.where(users.c.unit_code == unit_code)
    if leader_codes is not None:
        query = query.where(users.c.leader_code.in_(sorted({c for c in leader_codes if c})))
    with store.reading() as conn:
        return [str(r[0]) for r in conn.execute(query.order_by(users.c.username))]


def leaders(store: Store) -> list[tuple[str, str]]:
    """Active leader users with a leader code: (username, leader_code), by name."""
    query = (
        select(users.c.username, users.c.leader_code)
        .where(users.c.active.is_(True), users.c.role == "leader", users.c.leader_code.is_not(None))
        .order_by(users.c.username)
    )
    with store.reading() as conn:
        return [(str(u), str(c)) for u, c in conn.execute(query)]


def contacts(store: Store, names: Iterable[str]) -> dict[str, Contact]:
    """The contacts of these users (disabled ones are left out: they get no email or SMS)."""
    wanted = sorted({n for n in names if n})
    if not wanted:
        return {}
    query = select(users.c.username, users.c.role, users.c.email, users.c.phone).where(
        users.c.username.in_(wanted), users.c.active.is_(True)
    )
    with store.reading() as conn:
        return {
            r.username: Contact(r.username, r.role, r.email or None, r.phone or None)
            for r in conn.execute(query)
        }


def set_contact(store: Store, username: str, *, email: str | None, phone: str | None) -> bool:
    """Set a user's email and phone (None clears one); False when no user has this name."""
    with store.writing() as conn:
        changed = conn.execute(
            update(users).where(users.c.username == username).values(email=email, phone=phone)
        ).rowcount
    return bool(changed)


def all_contacts(store: Store) -> dict[str, Contact]:
    """Every user's contact, disabled ones too (the office's user list)."""
    query = select(users.c.username, users.c.role, users.c.email, users.c.phone)
    with store.reading() as conn:
        return {
            r.username: Contact(r.username, r.role, r.email or None, r.phone or None)
            for r in conn.execute(query)
        }
