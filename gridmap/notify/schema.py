"""Tables of the notification outbox and the in-app inbox, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from gridmap.store import metadata

# One row per notice, written in the same transaction as the event that caused it.
notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(32), nullable=False),
    Column("problem_id", Integer, nullable=True, index=True),
    Column("tracking_no", String(32), nullable=True),
    Column("unit_code", String(64), nullable=True),
    Column("recipients", Text, nullable=False),  # JSON list of usernames
    Column("phone", Text, nullable=True),  # a citizen's phone for SMS; personal data
    Column("message", Text, nullable=False),
    Column("extra", Text, nullable=True),  # JSON
    Column("dedupe_key", String(200), nullable=True, unique=True),
    Column("created_at", DateTime, nullable=False, index=True),
)

# One row per notice and user: what the header's unread count and the inbox page show.
notify_inbox = Table(
    "notify_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("outbox_id", Integer, ForeignKey("notify_outbox.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("read_at", DateTime, nullable=True),
)
Index("ix_notify_inbox_user", notify_inbox.c.username, notify_inbox.c.read_at)
