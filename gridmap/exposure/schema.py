"""Tables of the problems the office publishes on the exposure page and of reward payout marks."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text

from gridmap.store import metadata

# Times are naive UTC datetimes (converted at the edges).

# One row per problem the office ever published; unpublishing keeps the row (published false).
exposures = Table(
    "exposures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("title", Text, nullable=False),  # the office's public title
    Column("comment", Text, nullable=True),  # the office's public comment
    Column("published", Boolean, nullable=False, default=True, index=True),
    Column("published_at", DateTime, nullable=False, index=True),
    Column("published_by", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("unpublished_at", DateTime, nullable=True),
)

# Points are derived from the problems and their events; only the payout is stored, one row per
# paid report, with the points paid (the setting may change later).
reward_payouts = Table(
    "reward_payouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("month", String(7), nullable=False, index=True),  # YYYY-MM (Asia/Shanghai) of the filing
    Column("phone_key", String(32), nullable=False, index=True),  # the normalised phone number
    Column("points", Integer, nullable=False),
    Column("paid_at", DateTime, nullable=False),
    Column("paid_by", String(64), nullable=False),
)
