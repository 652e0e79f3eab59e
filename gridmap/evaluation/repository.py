"""The evaluation's data access: cases and events (asked of problems.repository) and the flag history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row

from gridmap.clock import to_db
from gridmap.evaluation.facts import CASE_COLUMNS, EVENT_COLUMNS
from gridmap.evaluation.schema import evaluation_flags
from gridmap.problems import repository as problems
from gridmap.store import Store

__all__ = ["flag_history", "load_cases", "save_flags"]

_TIMES = ("created_at", "verify_deadline", "deadline", "closed_at", "satisfaction_at")


def _times(column: pd.Series) -> pd.Series:
    """Stored times (text from SQLite, datetimes from other drivers; None) as datetime64 naive UTC."""
    return pd.to_datetime(column, format="ISO8601").astype("datetime64[ns]")


def load_cases(store: Store, *, start: dt.datetime, end: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cases reported in ``[start, end)`` (CASE_COLUMNS) and their events (EVENT_COLUMNS), as
    frames with naive UTC datetime columns."""
    rows, events = problems.evaluation_rows(
        store, created_from=start, created_before=end, columns=CASE_COLUMNS
    )
    cases = pd.DataFrame([tuple(r) for r in rows], columns=list(CASE_COLUMNS))  # plain tuples: quick
    for column in _TIMES:
        cases[column] = _times(cases[column])
    ev = pd.DataFrame([tuple(r) for r in events], columns=list(EVENT_COLUMNS))
    ev["at"] = _times(ev["at"])
    ev["deadline"] = _times(ev["deadline"])
    return cases, ev


def save_flags(
    store: Store, *, month: str, level: str, flags: Iterable[Mapping[str, object]], now: dt.datetime
) -> None:
    """Replace the flags of a month and level (town or grid) with these (flag, code, name, score, rank, of)."""
    c = evaluation_flags.c
    with store.writing() as conn:
        conn.execute(delete(evaluation_flags).where(c.month == month, c.level == level))
        for flag in flags:
            conn.execute(
                insert(evaluation_flags).values(month=month, level=level, recorded_at=to_db(now), **flag)
            )


def flag_history(store: Store, *, level: str | None = None, limit: int = 240) -> list[Row]:
    """The flags awarded, newest month first (red before grey), at most ``limit`` rows."""
    c = evaluation_flags.c
    query = select(evaluation_flags).order_by(c.month.desc(), c.level, c.flag.desc()).limit(limit)
    if level is not None:
        query = query.where(c.level == level)
    with store.reading() as conn:
        return list(conn.execute(query).all())
