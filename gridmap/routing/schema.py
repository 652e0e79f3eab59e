"""Tables of imported streets and of patrol plans per inspector and day, with their check-ins."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gridmap.store import metadata

# Times are naive UTC datetimes (converted at the edges), as in gridmap.problems.schema.

# Every import of a street network (history kept, so ids never repeat); the newest row is in
# force: its streets are the network, and a row with 0 streets means "use the segments layer".
street_imports = Table(
    "street_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("imported_at", DateTime, nullable=False),
    Column("streets", Integer, nullable=False),
    Column("km", Float, nullable=False),
    Column("components", Integer, nullable=False),
    sqlite_autoincrement=True,
)

streets = Table(
    "streets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "import_id", Integer, ForeignKey("street_imports.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", Text, nullable=True),
    Column("kind", String(64), nullable=True),  # OSM highway=* value
    Column("osm_id", String(32), nullable=True),
    Column("geom", LargeBinary, nullable=False),  # WKB LineString, EPSG:4326
)

# One planning run (a day's plan for some inspectors): options and the optional stops left out.
patrol_runs = Table(
    "patrol_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", String(10), nullable=False, index=True),  # YYYY-MM-DD, China time
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("options", Text, nullable=False),  # JSON
    Column("dropped", Text, nullable=False),  # JSON list of stops
    Column("network", Text, nullable=False),  # the street network used
    sqlite_autoincrement=True,
)

patrol_plans = Table(
    "patrol_plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("patrol_runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("day", String(10), nullable=False, index=True),
    Column("inspector_code", String(64), nullable=False, index=True),
    Column("inspector_name", Text, nullable=False),
    Column("grid_codes", Text, nullable=False),  # comma-separated
    Column("mode", String(8), nullable=False),  # walk | bike
    Column("length_m", Float, nullable=False),
    Column("work_m", Float, nullable=False),  # length plus time on site, as metres
    Column("budget_m", Float, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("route", LargeBinary, nullable=False),  # WKB LineString along the streets, EPSG:4326
    Column("turns", Text, nullable=False),  # JSON turn list
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("day", "inspector_code", name="uq_patrol_day_inspector"),
    sqlite_autoincrement=True,
)

patrol_stops = Table(
    "patrol_stops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("patrol_plans.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # 0: the start; 1, 2, …: stops in order
    Column("kind", String(16), nullable=False),  # start | end | point | problem
    Column("ref", String(64), nullable=True),  # point code or problem tracking number
    Column("name", Text, nullable=False),
    Column("reason", Text, nullable=True),  # why it is on the route (待核查, 已超期, 考察点位, …)
    Column("mandatory", Boolean, nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("leg_m", Float, nullable=False),  # along the streets from the previous stop
    Column("checked_in_at", DateTime, nullable=True),
    Column("checked_in_by", String(64), nullable=True),
    Column("checkin_lon", Float, nullable=True),
    Column("checkin_lat", Float, nullable=True),
    Column("checkin_distance_m", Float, nullable=True),
    Column("note", Text, nullable=True),
    UniqueConstraint("plan_id", "seq", name="uq_patrol_stop_seq"),
)

# Plans replaced by a later planning run of the same inspector and day: an old plan's link leads
# to the current plan of that inspector and day (ids never repeat, so an old id stays unambiguous).
patrol_replaced = Table(
    "patrol_replaced",
    metadata,
    Column("old_id", Integer, primary_key=True, autoincrement=False),
    Column("day", String(10), nullable=False),
    Column("inspector_code", String(64), nullable=False),
    Column("replaced_at", DateTime, nullable=False),
)
