"""Tables of users, their sessions, API tokens, Open311 keys and rate-limit hits, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from gridmap.clock import to_db
from gridmap.store import MIGRATIONS, metadata

# Times are naive UTC datetimes (converted at the edges).

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("unit_code", String(64), nullable=True),
    Column("leader_code", String(64), nullable=True),
    Column("email", Text, nullable=True),  # schema 4: where email notices go
    Column("phone", Text, nullable=True),  # schema 4: where SMS notices go (through the webhook)
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex; token shown once
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),  # schema 2; NULL would mean no expiry (nothing writes it)
)

open311_keys = Table(
    "open311_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    # schema 2: the source every report under this key is filed as, and when the key stops working
    Column("source", String(16), nullable=False, server_default="citizen"),
    Column("expires_at", DateTime, nullable=True),
)

# Logged-in browser sessions (schema 2): the signed cookie carries a random id whose hash is here;
# logging out deletes the row, a password change or disabling a user deletes all of theirs.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sid_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# Attempts counted for limits shared by every worker process (schema 2): failed logins per user
# name and per address, anonymous reports and supports per address. ``key`` is a sha256 of the
# kind and the value, so neither names nor addresses are kept in clear.
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("key", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)
Index("ix_rate_hits_kind_key_at", rate_hits.c.kind, rate_hits.c.key, rate_hits.c.at)
Index("ix_rate_hits_kind_at", rate_hits.c.kind, rate_hits.c.at)


def _migrate_2(conn) -> None:
    """Schema 2: expiry of tokens and api keys, the source an api key files reports as.

    Tokens and keys issued before schema 2 get an expiry counted from the migration: tokens
    90 days, api keys 365 days (reissue them to choose another).
    """
    import datetime as dt

    from sqlalchemy import inspect, text

    now = to_db(None)
    have = {t: {c["name"] for c in inspect(conn).get_columns(t)} for t in ("api_tokens", "open311_keys")}
    if "expires_at" not in have["api_tokens"]:
        conn.execute(text("ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP"))
    if "source" not in have["open311_keys"]:
        conn.execute(
            text("ALTER TABLE open311_keys ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'citizen'")
        )
    if "expires_at" not in have["open311_keys"]:
        conn.execute(text("ALTER TABLE open311_keys ADD COLUMN expires_at TIMESTAMP"))
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.expires_at.is_(None))
        .values(expires_at=now + dt.timedelta(days=90))
    )
    conn.execute(
        open311_keys.update()
        .where(open311_keys.c.expires_at.is_(None))
        .values(expires_at=now + dt.timedelta(days=365))
    )


MIGRATIONS[2] = _migrate_2


def _migrate_4(conn) -> None:
    """Schema 4: users' email and phone for notifications."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("users")}
    for name in ("email", "phone"):
        if name not in have:
            conn.execute(text(f"ALTER TABLE users ADD COLUMN {name} TEXT"))


MIGRATIONS[4] = _migrate_4
