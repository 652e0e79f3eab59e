"""Tables of problems, their events, photos, counters and idempotency keys, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from gridmap.store import MIGRATIONS, metadata

# Times are naive UTC datetimes (converted at the edges).

problems = Table(
    "problems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tracking_no", String(32), nullable=False, unique=True),
    Column("category", String(64), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("address", Text, nullable=True),
    Column("source", String(16), nullable=False, index=True),
    Column("reporter_name", Text, nullable=True),  # personal data: office users only
    Column("reporter_phone", Text, nullable=True),  # personal data: office users only
    Column("reported_by", String(64), nullable=True),  # username of a logged-in reporter
    Column("status", String(16), nullable=False, index=True),
    Column("town_code", String(64), nullable=True),
    Column("town_name", Text, nullable=True),
    Column("grid_code", String(64), nullable=True, index=True),
    Column("grid_name", Text, nullable=True),
    Column("unit_code", String(64), nullable=True, index=True),
    Column("unit_name", Text, nullable=True),
    Column("leader_codes", Text, nullable=True),  # comma-separated, as derived at report time
    Column("fallback", Boolean, nullable=False, default=False),  # outside every grid: town's queue
    Column("deadline", DateTime, nullable=False, index=True),
    Column("supporters", Integer, nullable=False, default=0),  # "me too" reports added to it
    Column("extensions", Integer, nullable=False, default=0),
    Column("reworks", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("updated_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    # schema 3 (issue 12): urgency, verification, parking, merging, follow-up
    Column("urgency", String(16), nullable=False, server_default="normal"),  # normal / urgent
    Column("verify_deadline", DateTime, nullable=True),  # by when the inspector sent must verify (核实)
    Column("verifier", String(64), nullable=True),  # username of the inspector sent to verify
    Column("parked_until", DateTime, nullable=True),  # review date of a parked case (挂账)
    Column("merged_into", Integer, nullable=True),  # id of the kept problem this duplicate went into
    Column("returns", Integer, nullable=False, server_default="0"),  # times a unit sent it back (回退)
    Column("reopens", Integer, nullable=False, server_default="0"),  # times a follow-up reopened it
    Column("satisfaction", String(16), nullable=True),  # satisfied / unsatisfied (回访)
    Column("satisfaction_note", Text, nullable=True),
    Column("satisfaction_at", DateTime, nullable=True),
    Column("reporter_key", String(64), nullable=True),  # secret in the reporter's tracking link
    # schema 7 (issue 15): the shop a 门前五包 problem went to first (its segment's unit is informed)
    Column("shop_code", String(64), nullable=True, index=True),
    Column("shop_name", Text, nullable=True),
)
Index("ix_problems_lonlat", problems.c.lon, problems.c.lat)

problem_events = Table(
    "problem_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=True),  # username; None for a citizen
    Column("actor_role", String(16), nullable=False),  # office/leader/unit/inspector/citizen/api
    Column("action", String(32), nullable=False),  # request_extension is 17: PostgreSQL checks lengths
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("deadline", DateTime, nullable=True),  # the new deadline of an extension
    Column("unit_code", String(64), nullable=True),  # the unit a dispatch handed it to
    Column("detail", Text, nullable=True),  # schema 3: JSON of an action's further facts
)
Index("ix_problem_events_at", problem_events.c.at)  # schema 3: Open311 updates since a date

problem_photos = Table(
    "problem_photos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event_id", Integer, ForeignKey("problem_events.id", ondelete="CASCADE"), nullable=True),
    Column("key", String(200), nullable=False),
    Column("thumb_key", String(200), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# One row per day (Asia/Shanghai) and prefix; incremented in the reporting transaction.
problem_counters = Table(
    "problem_counters",
    metadata,
    Column("day", String(16), primary_key=True),
    Column("last", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # sha256 of what was reported
    Column("created_at", DateTime, nullable=False),
)

# A unit's request for more time (extend) or to park a case (park), decided by the office.
problem_requests = Table(
    "problem_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("problem_id", Integer, ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # extend / park
    Column("unit_code", String(64), nullable=True),
    Column("requested_by", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("hours", Float, nullable=True),  # extend: working hours asked for
    Column("until", DateTime, nullable=True),  # park: review date asked for
    Column("status", String(16), nullable=False, default="pending"),  # pending / approved / refused
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", DateTime, nullable=True),
    Column("decision_note", Text, nullable=True),
)


def _migrate_3(conn) -> None:
    """Schema 3: urgency, verification, parking, merging and follow-up columns; event details."""
    from sqlalchemy import inspect, text

    columns = {
        "problems": [
            ("urgency", "VARCHAR(16) NOT NULL DEFAULT 'normal'"),
            ("verify_deadline", "TIMESTAMP"),
            ("verifier", "VARCHAR(64)"),
            ("parked_until", "TIMESTAMP"),
            ("merged_into", "INTEGER"),
            ("returns", "INTEGER NOT NULL DEFAULT 0"),
            ("reopens", "INTEGER NOT NULL DEFAULT 0"),
            ("satisfaction", "VARCHAR(16)"),
            ("satisfaction_note", "TEXT"),
            ("satisfaction_at", "TIMESTAMP"),
            ("reporter_key", "VARCHAR(64)"),
        ],
        "problem_events": [("detail", "TEXT")],
    }
    for table, wanted in columns.items():
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for name, kind in wanted:
            if name not in have:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_problem_events_at ON problem_events (at)"))


MIGRATIONS[3] = _migrate_3


def _migrate_7(conn) -> None:
    """Schema 7: the shop a 门前五包 problem is assigned to."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("problems")}
    for name, kind in (("shop_code", "VARCHAR(64)"), ("shop_name", "TEXT")):
        if name not in have:
            conn.execute(text(f"ALTER TABLE problems ADD COLUMN {name} {kind}"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_problems_shop_code ON problems (shop_code)"))


MIGRATIONS[7] = _migrate_7
