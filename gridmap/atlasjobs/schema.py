"""The table of county atlas jobs, on the shared metadata: every app server sees and claims the same jobs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Table, Text

from gridmap.store import metadata

atlas_jobs = Table(
    "atlas_jobs",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("fmt", String(8), nullable=False),  # pdf | zip
    Column("paper", String(8), nullable=False),
    Column("landscape", Boolean, nullable=False),
    Column("dpi", Integer, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False, index=True),  # naive UTC, as every stored time
    Column("state", String(16), nullable=False),  # running | done | failed
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("message", Text, nullable=False, default=""),
    Column("finished_at", DateTime, nullable=True),
    Column("size", BigInteger, nullable=False, default=0),
    # the process rendering it: the server's host name and its pid; claimed_at NULL until one claims it
    Column("host", String(255), nullable=False, default=""),
    Column("pid", Integer, nullable=True),
    Column("claimed_at", DateTime, nullable=True),
    Column("heartbeat_at", DateTime, nullable=False),  # the last sign of progress
)
