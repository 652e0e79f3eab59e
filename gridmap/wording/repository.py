"""The response templates' data access: list, seed once, save, delete and reorder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from gridmap.store import Store
from gridmap.wording.schema import response_templates

SEEDED = "_seeded"  # the action of the marker row written with the default set

_t = response_templates.c


def rows(store: Store) -> list[Row]:
    """Every response template row (the marker left out), by action and position."""
    query = select(response_templates).where(_t.action != SEEDED).order_by(_t.action, _t.position, _t.id)
    with store.reading() as conn:
        return list(conn.execute(query).all())


def find(store: Store, phrase_id: int) -> Row | None:
    """One template row, or None."""
    with store.reading() as conn:
        return conn.execute(select(response_templates).where(_t.id == phrase_id, _t.action != SEEDED)).first()


def seed(store: Store, values: Sequence[Mapping[str, object]], *, marker: Mapping[str, object]) -> bool:
    """Write the default set and its marker row unless the marker is there; whether it was written."""
    with store.writing() as conn:
        if conn.execute(select(_t.id).where(_t.action == SEEDED)).first() is not None:
            return False
        for row in [*values, {**marker, "action": SEEDED}]:
            conn.execute(insert(response_templates).values(**row))
    return True


def add(store: Store, values: Mapping[str, object]) -> int:
    """Insert a template at the end of its action's list; its id."""
    with store.writing() as conn:
        last = conn.execute(select(func.max(_t.position)).where(_t.action == values["action"])).scalar()
        key = conn.execute(insert(response_templates).values(**values, position=(last or 0) + 1))
        return int(key.inserted_primary_key[0])  # type: ignore[index]


def change(store: Store, phrase_id: int, values: Mapping[str, object]) -> bool:
    """Update one template row; whether there was one."""
    with store.writing() as conn:
        done = conn.execute(update(response_templates).where(_t.id == phrase_id).values(**values))
        return bool(done.rowcount)


def remove(store: Store, phrase_id: int) -> bool:
    """Delete one template row; whether there was one."""
    with store.writing() as conn:
        gone = conn.execute(delete(response_templates).where(_t.id == phrase_id, _t.action != SEEDED))
        return bool(gone.rowcount)


def reorder(store: Store, positions: Mapping[int, int]) -> None:
    """Set each template row's position (id -> position) in one transaction."""
    with store.writing() as conn:
        for phrase_id, position in positions.items():
            conn.execute(update(response_templates).where(_t.id == phrase_id).values(position=position))
