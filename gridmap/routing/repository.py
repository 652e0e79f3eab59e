"""Routing's queries and writes: imported streets, stored patrol plans with check-ins.

The only routing code that touches tables. Times in and out are naive UTC (how the database
keeps them); what the rows mean (who may plan or check in, which stops count) lives in
gridmap/routing/patrols.py and gridmap/routing/county.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import CursorResult, delete, insert, select, update

from gridmap.errors import Conflict
from gridmap.routing.schema import (
    patrol_plans,
    patrol_replaced,
    patrol_runs,
    patrol_stops,
    street_imports,
    streets,
)
from gridmap.store import Store, reference_tables

_STREET_CHUNK = 5000


def _new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row insert just added."""
    key = result.inserted_primary_key
    if key is None:
        msg = "internal error: the insert returned no primary key"
        raise RuntimeError(msg)
    return int(key[0])


# --- imported streets ---------------------------------------------------------------------
def replace_streets(
    store: Store, *, source: str, rows: Sequence[dict], km: float, components: int, at: dt.datetime
) -> int:
    """Make `rows` (name, kind, osm_id, WKB geom) the imported streets, in one write; return the import id."""
    with store.writing() as conn:
        conn.execute(delete(streets))
        new_id = _new_id(
            conn.execute(
                insert(street_imports).values(
                    source=source, imported_at=at, streets=len(rows), km=km, components=components
                )
            )
        )
        for start in range(0, len(rows), _STREET_CHUNK):
            chunk = rows[start : start + _STREET_CHUNK]
            conn.execute(insert(streets), [dict(r, import_id=new_id) for r in chunk])
    return new_id


def clear_streets(store: Store, *, at: dt.datetime) -> None:
    """Delete the imported streets and record an empty import (the segments layer is used again)."""
    with store.writing() as conn:
        conn.execute(delete(streets))
        empty = {"source": "", "imported_at": at, "streets": 0, "km": 0.0, "components": 0}
        conn.execute(insert(street_imports).values(**empty))


def current_import(store: Store) -> dict | None:
    """The newest street import (id, source, imported_at, streets, km, components), or None when it
    holds no streets (then the segments layer is the network)."""
    with store.reading() as conn:
        row = conn.execute(select(street_imports).order_by(street_imports.c.id.desc()).limit(1)).first()
    if row is None or not row.streets:
        return None
    return dict(row._mapping)


def street_lines(store: Store, import_id: int) -> list[tuple[str | None, bytes]]:
    """(name, WKB line) of every street of an import."""
    with store.reading() as conn:
        query = select(streets.c.name, streets.c.geom).where(streets.c.import_id == import_id)
        rows = conn.execute(query).all()
    return [(r.name, r.geom) for r in rows]


def segment_lines(store: Store) -> list[tuple[str | None, bytes]]:
    """(road name, WKB line) of every road segment of the reference data."""
    table = reference_tables["segments"]
    with store.reading() as conn:
        rows = conn.execute(select(table.c.road_name, table.c.geom)).all()
    return [(r.road_name, r.geom) for r in rows]


# --- stored patrol plans --------------------------------------------------------------------
def replace_day_plans(
    store: Store, *, day: str, codes: Sequence[str], run: dict, plans: Sequence[tuple[dict, list[dict]]]
) -> list[int]:
    """Store one planning run and its plans (plan row, stop rows), replacing the same inspectors' plans
    of the day, in one write; return the new plan ids. The replaced plans' ids are kept in
    patrol_replaced with their inspector and day, so that their links find the current plan.

    Raises
    ------
    Conflict
        When an inspector being replaced has checked in at a stop of the day (nothing is written).
    """
    with store.writing() as conn:
        old = conn.execute(
            select(patrol_plans.c.id, patrol_plans.c.inspector_code).where(
                patrol_plans.c.day == day, patrol_plans.c.inspector_code.in_(codes or [""])
            )
        ).all()
        old_ids = [r.id for r in old]
        if old_ids:
            done = (
                conn.execute(
                    select(patrol_plans.c.inspector_code)
                    .join(patrol_stops, patrol_stops.c.plan_id == patrol_plans.c.id)
                    .where(patrol_plans.c.id.in_(old_ids), patrol_stops.c.checked_in_at.is_not(None))
                    .distinct()
                )
                .scalars()
                .all()
            )
            if done:
                msg = (
                    f"巡查员 {'、'.join(sorted(done))} 在 {day} 的计划已有签到，不能重新规划；"
                    "请不选这些巡查员重新规划，或改日期"
                )
                raise Conflict(msg)
            conn.execute(delete(patrol_stops).where(patrol_stops.c.plan_id.in_(old_ids)))
            conn.execute(delete(patrol_plans).where(patrol_plans.c.id.in_(old_ids)))
            conn.execute(
                insert(patrol_replaced),
                [
                    {
                        "old_id": r.id,
                        "day": day,
                        "inspector_code": r.inspector_code,
                        "replaced_at": run["created_at"],
                    }
                    for r in old
                ],
            )
        run_id = _new_id(conn.execute(insert(patrol_runs).values(day=day, **run)))
        ids = []
        for plan, stops in plans:
            plan_id = _new_id(conn.execute(insert(patrol_plans).values(run_id=run_id, day=day, **plan)))
            conn.execute(insert(patrol_stops), [dict(s, plan_id=plan_id) for s in stops])
            ids.append(plan_id)
    return ids


def day_plans(
    store: Store, *, day: str, inspector: str | None, kinds: Iterable[str]
) -> list[tuple[Any, int, int]]:
    """The stored plans of a day (of one inspector if given), by inspector code, each with its number of
    stops of `kinds` and how many of them are checked in: (plan row, stops, checked in)."""
    query = select(patrol_plans).where(patrol_plans.c.day == day).order_by(patrol_plans.c.inspector_code)
    if inspector:
        query = query.where(patrol_plans.c.inspector_code == inspector)
    counts: dict[int, tuple[int, int]] = {}
    with store.reading() as conn:
        rows = conn.execute(query).all()
        if rows:
            for plan_id, checked in conn.execute(
                select(patrol_stops.c.plan_id, patrol_stops.c.checked_in_at).where(
                    patrol_stops.c.plan_id.in_([r.id for r in rows]), patrol_stops.c.kind.in_(list(kinds))
                )
            ):
                total, done = counts.get(plan_id, (0, 0))
                counts[plan_id] = (total + 1, done + (checked is not None))
    return [(r, *counts.get(r.id, (0, 0))) for r in rows]


def run_of_plan(store: Store, run_id: int) -> tuple[dict, list[dict]]:
    """The options and the stops left out (as stored) of the planning run `run_id`."""
    with store.reading() as conn:
        row = conn.execute(
            select(patrol_runs.c.options, patrol_runs.c.dropped).where(patrol_runs.c.id == run_id)
        ).first()
    return (json.loads(row.options), json.loads(row.dropped)) if row else ({}, [])


def replaced_plan(store: Store, plan_id: int) -> tuple[str, str] | None:
    """(day, inspector code) of a plan a later planning run replaced, or None."""
    with store.reading() as conn:
        row = conn.execute(
            select(patrol_replaced.c.day, patrol_replaced.c.inspector_code).where(
                patrol_replaced.c.old_id == plan_id
            )
        ).first()
    return (row.day, row.inspector_code) if row else None


def plan_id_of(store: Store, *, day: str, inspector: str) -> int | None:
    """The id of the stored plan of an inspector and day, or None."""
    with store.reading() as conn:
        return conn.execute(
            select(patrol_plans.c.id).where(
                patrol_plans.c.day == day, patrol_plans.c.inspector_code == inspector
            )
        ).scalar()


def latest_dropped(store: Store, *, day: str) -> list[dict]:
    """The stops the day's latest planning run left out (as stored), or [] without a run."""
    with store.reading() as conn:
        row = conn.execute(
            select(patrol_runs.c.dropped)
            .where(patrol_runs.c.day == day)
            .order_by(patrol_runs.c.id.desc())
            .limit(1)
        ).first()
    return json.loads(row.dropped) if row else []


def plan_with_stops(store: Store, plan_id: int) -> tuple[Any, list[Any]] | None:
    """A stored plan's row and its stop rows in order, or None when there is no such plan."""
    with store.reading() as conn:
        row = conn.execute(select(patrol_plans).where(patrol_plans.c.id == plan_id)).first()
        if row is None:
            return None
        stops = conn.execute(
            select(patrol_stops).where(patrol_stops.c.plan_id == plan_id).order_by(patrol_stops.c.seq)
        ).all()
    return row, list(stops)


def record_check_in(
    store: Store,
    plan_id: int,
    seq: int,
    *,
    at: dt.datetime,
    by: str,
    lon: float | None,
    lat: float | None,
    distance_m: float | None,
    note: str | None,
) -> bool:
    """Mark stop `seq` of a plan checked in, unless it already is; whether this call marked it."""
    with store.writing() as conn:
        done = conn.execute(
            update(patrol_stops)
            .where(
                patrol_stops.c.plan_id == plan_id,
                patrol_stops.c.seq == seq,
                patrol_stops.c.checked_in_at.is_(None),
            )
            .values(
                checked_in_at=at,
                checked_in_by=by,
                checkin_lon=lon,
                checkin_lat=lat,
                checkin_distance_m=distance_m,
                note=note,
            )
        ).rowcount
    return bool(done)
