"""Tables of the notification outbox and the in-app inbox, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

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
    # when a worker made this notice's deliveries (one per channel switched on); NULL: not yet
    Column("planned_at", DateTime, nullable=True, index=True),
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

# One row per notice and channel (email, webhook): what the worker delivers, retries and gives up.
# A worker takes a row by writing its name and a lease; another may take it once the lease ends.
notify_deliveries = Table(
    "notify_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("notify_outbox.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),  # email / webhook
    Column("status", String(16), nullable=False),  # pending / sent / dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime, nullable=False),  # not before this time
    Column("claimed_by", String(100), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
)
Index("ix_notify_deliveries_due", notify_deliveries.c.status, notify_deliveries.c.next_at)
Index("ix_notify_deliveries_outbox", notify_deliveries.c.outbox_id, notify_deliveries.c.channel, unique=True)

# Every attempt of every delivery, successful or not: the delivery's record.
notify_attempts = Table(
    "notify_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("notify_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("worker", String(100), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),  # HTTP status or SMTP reply code
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=True),
)
Index("ix_notify_attempts_delivery", notify_attempts.c.delivery_id)
