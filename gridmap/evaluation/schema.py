"""The table of monthly flags (流动红旗 and grey flags) awarded, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, String, Table, Text, UniqueConstraint

from gridmap.store import metadata

# One row per month, level (town or grid) and flag: the history of the mobile red flag.
evaluation_flags = Table(
    "evaluation_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False, index=True),  # 2026-11
    Column("level", String(16), nullable=False),  # town / grid
    Column("flag", String(8), nullable=False),  # red / grey
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=True),
    Column("score", Float, nullable=True),
    Column("rank", Integer, nullable=False),
    Column("of", Integer, nullable=False),  # how many were ranked
    Column("recorded_at", DateTime, nullable=False),  # naive UTC
    UniqueConstraint("month", "level", "flag", name="uq_evaluation_flags"),
)
