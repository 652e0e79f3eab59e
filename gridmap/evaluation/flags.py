"""The mobile red flag (流动红旗): monthly, to the first town and the first grid; a grey flag to the last."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridmap.evaluation import repository
from gridmap.evaluation.scoring import Scheme
from gridmap.store import Store

__all__ = ["FLAGGED", "FLAG_LABELS", "assign", "history", "record"]

FLAGGED = ("town", "grid")  # the groupings that compete for the flag
FLAG_LABELS = {"red": "流动红旗", "grey": "灰旗（末位）"}


def assign(table: pd.DataFrame, *, by: str, scheme: Scheme) -> pd.Series:
    """'red' for rank 1 and, when the scheme names the last, 'grey' for the last rank (two or more
    ranked); None otherwise and for groupings that do not compete (units, categories, …)."""
    out = pd.Series([None] * len(table), index=table.index, dtype="object")
    if by not in FLAGGED:
        return out
    ranks = table["rank"].dropna()
    if ranks.empty:
        return out
    out[ranks.idxmin()] = "red"
    if scheme.grey_flag and len(ranks) >= 2:
        out[ranks.idxmax()] = "grey"
    return out


def record(store: Store, *, month: str, by: str, table: pd.DataFrame, now: dt.datetime) -> list[dict]:
    """Keep the month's flags of a grouping (town or grid) in the history, replacing an earlier run's;
    the flags kept."""
    ranked = int(table["rank"].notna().sum())
    kept = [
        {
            "flag": row.flag,
            "code": str(row.code),
            "name": None if row.name is None else str(row.name),
            "score": None if pd.isna(row.score) else float(row.score),
            "rank": int(row.rank),
            "of": ranked,
        }
        for row in table.itertuples(index=False)
        if row.flag is not None
    ]
    repository.save_flags(store, month=month, level=by, flags=kept, now=now)
    return kept


def history(store: Store, *, by: str | None = None) -> list[dict]:
    """The flags awarded, newest month first: month, level, flag, code, name, score, rank, of."""
    return [
        {
            "month": r.month,
            "level": r.level,
            "flag": r.flag,
            "code": r.code,
            "name": r.name,
            "score": r.score,
            "rank": r.rank,
            "of": r.of,
        }
        for r in repository.flag_history(store, level=by)
    ]
