"""Tables of assessment rounds, assessments and their checklist items, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gridmap.store import metadata

# Times are naive UTC datetimes (converted at the edges).

assessment_rounds = Table(
    "assessment_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),  # e.g. 2026年11月第2次测评
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("assessment_rounds.id", ondelete="CASCADE"), nullable=False),
    Column("point_code", String(64), nullable=False, index=True),
    Column("point_name", Text, nullable=True),
    Column("point_category", String(64), nullable=False),
    Column("town_code", String(64), nullable=True),
    Column("town_name", Text, nullable=True),
    Column("grid_code", String(64), nullable=True),
    Column("grid_name", Text, nullable=True),
    Column("unit_code", String(64), nullable=True),
    Column("unit_name", Text, nullable=True),
    Column("inspector", String(64), nullable=False, index=True),  # username of who filled it
    Column(
        "score", Float, nullable=True
    ),  # weighted pass rate 0..1 over applicable criteria; None: none applied
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("not_applicable", Integer, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime, nullable=False, index=True),
    UniqueConstraint("round_id", "point_code", name="uq_assessment_round_point"),  # one per point and round
)

assessment_items = Table(
    "assessment_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "assessment_id", Integer, ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("criterion", String(120), nullable=False),  # the checklist key, e.g. 农贸市场-2
    Column("text", Text, nullable=False),
    Column("weight", Float, nullable=False),
    Column("result", String(8), nullable=False),  # pass / fail / na
    Column("problem_category", String(64), nullable=True),
    Column("problem_id", Integer, nullable=True),  # the problem a fail filed (当场交办)
    Column("tracking_no", String(32), nullable=True),
)
