"""Counts and rates per group (town, grid, unit, department, category, inspector), scored and ranked."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gridmap.errors import InvalidInput
from gridmap.evaluation import flags, scoring
from gridmap.evaluation.indicators import COUNTS, INDICATORS
from gridmap.evaluation.scoring import GROUPINGS, Scheme

__all__ = ["COUNT_KEYS", "RATE_KEYS", "group_table", "records"]

COUNT_KEYS = tuple(c.key for c in COUNTS)
RATE_KEYS = tuple(i.key for i in INDICATORS)
_WEIGHTED = ("criteria_passed", "criteria_assessed")  # weights, not whole cases


def check_grouping(by: object) -> str:
    """The grouping named, or InvalidInput listing the ones there are."""
    text = str(by or "").strip()
    if text not in GROUPINGS:
        choices = "、".join(f"{k}（{v}）" for k, v in GROUPINGS.items())
        msg = f"分组 by 应为 {choices} 之一，实际为“{text[:40]}”"
        raise InvalidInput(msg)
    return text


def group_table(
    facts: pd.DataFrame,
    *,
    by: str,
    scheme: Scheme,
    checklist: Mapping[str, tuple[float, float]] | None = None,
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per group of ``by``: code, name, the counts, the rates (NaN under the minimum sample
    or over nothing), score, grade, rank and flag. Cases without a code for ``by`` (outside every
    grid, no inspector) are left out of that grouping. ``checklist`` maps a group's code to its
    field assessments' (criteria passed, criteria assessed) weights; ``names`` names the codes."""
    by = check_grouping(by)
    keyed = facts[facts[f"{by}_code"].notna()]
    grouped = keyed.groupby(f"{by}_code", sort=True)
    table = grouped[list(COUNT_KEYS)].sum()
    table.insert(0, "name", grouped[f"{by}_name"].last())
    table.insert(0, "code", table.index.astype(str))
    for code, (passed, assessed) in (checklist or {}).items():
        if code in table.index:
            table.loc[code, ["criteria_passed", "criteria_assessed"]] = [passed, assessed]
    if names:
        table["name"] = [names.get(code, name) for code, name in zip(table["code"], table["name"])]
    table["name"] = table["name"].where(table["name"].notna(), table["code"])
    least = max(scheme.min_sample, 1)
    for rate in INDICATORS:
        num, den = table[rate.numerator].astype(float), table[rate.denominator].astype(float)
        sample = den if rate.denominator not in _WEIGHTED else pd.Series(float(least), index=table.index)
        table[rate.key] = (num / den).where((den > 0) & (sample >= least))
    table["score"] = scoring.score(table, by, scheme)
    table["grade"] = [scoring.grade(s, scheme) for s in table["score"]]
    table["rank"] = scoring.rank(table)
    table["flag"] = flags.assign(table, by=by, scheme=scheme)
    return table.sort_values(["rank", "code"], na_position="last").reset_index(drop=True)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def records(table: pd.DataFrame) -> list[dict]:
    """The table as JSON-ready dicts: code, name, the counts, the rates (6 decimals; null for NaN),
    score, grade, rank and flag."""
    out = []
    for row in table.itertuples(index=False):
        values = row._asdict()
        rec: dict = {"code": values["code"], "name": values["name"]}
        for key in COUNT_KEYS:
            number = _plain(values[key])
            rec[key] = round(number, 4) if key in _WEIGHTED and isinstance(number, float) else number
            if key not in _WEIGHTED and isinstance(number, float):
                rec[key] = int(number)
        for key in RATE_KEYS:
            rate = _plain(values[key])
            rec[key] = None if rate is None else round(float(rate), 6)
        score = _plain(values["score"])
        rank = _plain(values["rank"])
        rec["score"] = None if score is None else float(score)
        rec["grade"] = values["grade"] if isinstance(values["grade"], str) else None
        rec["rank"] = None if rank is None else int(rank)
        rec["flag"] = values["flag"] if isinstance(values["flag"], str) else None
        out.append(rec)
    return out
