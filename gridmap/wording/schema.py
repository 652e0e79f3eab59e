"""The table of response templates (惯用语), on the shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from gridmap.store import metadata

# Response templates (惯用语): common notes per action, kept by the office. A row with the
# action SEEDED marks that the default set was written once (so deleting them all keeps them gone).
response_templates = Table(
    "response_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(32), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("updated_by", String(64), nullable=True),
    Column("updated_at", DateTime, nullable=False),
)
