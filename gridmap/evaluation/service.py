"""A month's indicators for a grouping, from the store: the one call the CLI, notice and dashboard make."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from gridmap.clock import CHINA, to_db, utcnow
from gridmap.errors import InvalidInput
from gridmap.evaluation import flags, repository
from gridmap.evaluation.facts import case_facts
from gridmap.evaluation.groups import check_grouping, group_table, records
from gridmap.evaluation.scoring import Scheme
from gridmap.store import Store

__all__ = ["Evaluation", "evaluate_month", "month_bounds"]

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_ASSESSED = ("town", "grid", "unit", "inspector")  # groupings field assessments are counted by


def month_bounds(month: object) -> tuple[str, dt.datetime, dt.datetime]:
    """``2026-11`` → ("2026-11", its first moment, the next month's first moment) as naive UTC of
    the Asia/Shanghai month; InvalidInput for anything else."""
    text = str(month or "").strip()
    found = _MONTH.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2099:
        msg = f"月份 month 应写成“年-月”，如 2026-11，实际为“{text[:20]}”"
        raise InvalidInput(msg)
    year, number = int(found.group(1)), int(found.group(2))
    start = dt.datetime(year, number, 1, tzinfo=CHINA)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=CHINA)
    return f"{year:04d}-{number:02d}", to_db(start), to_db(end)


@dataclass
class Evaluation:
    """A month's evaluation of one grouping: the table (one row per group) and its JSON records."""

    month: str
    by: str
    start: dt.datetime  # naive UTC
    end: dt.datetime  # naive UTC, exclusive
    as_of: dt.datetime  # naive UTC: the end, or now for the running month
    table: pd.DataFrame
    scheme: Scheme

    def records(self) -> list[dict]:
        """One JSON-ready object per group (see gridmap.evaluation.groups.records)."""
        return records(self.table)


def checklist_sums(
    store: Store, *, by: str, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[float, float]] | None:
    """Per group code: field assessments' (passed, assessed) criteria, weighted so that their ratio is
    the assessments' weighted pass rate; None when gridmap.assessment is not there."""
    if by not in _ASSESSED:
        return None
    try:
        assessment = importlib.import_module("gridmap.assessment.service")
    except ImportError:
        return None
    rates = getattr(assessment, "pass_rates", None)
    if rates is None:
        return None
    out = {}
    for row in rates(store, start, end, by):
        if row.get("pass_rate") is not None and row.get("code") is not None:
            applicable = float(row.get("applicable") or 0)
            out[str(row["code"])] = (float(row["pass_rate"]) * applicable, applicable)
    return out


def evaluate_month(
    store: Store,
    *,
    month: object,
    by: object,
    scheme: Scheme,
    departments: Mapping[str, tuple[str, str]] | None = None,
    names: Mapping[str, str] | None = None,
    record_flags: bool = False,
    now: dt.datetime | None = None,
) -> Evaluation:
    """The indicators, scores, ranks and flags of a month (Asia/Shanghai) for one grouping.

    The cases reported in the month are counted, with what happened to them by the month's end
    (or by ``now`` in the running month). ``departments`` maps grid codes to their lead
    department's (code, name); ``names`` names group codes (categories, inspectors).
    ``record_flags`` keeps a town or grid ranking's flags in the history.
    """
    grouping = check_grouping(by)
    label, start, end = month_bounds(month)
    moment = to_db(now or utcnow())
    if moment < start:
        msg = f"{label} 还没有开始，不能统计"
        raise InvalidInput(msg)
    as_of = min(end, moment)
    cases, events = repository.load_cases(store, start=start, end=end)
    facts = case_facts(cases, events, as_of=as_of, scheme=scheme, departments=dict(departments or {}))
    checklist = checklist_sums(store, by=grouping, start=start, end=end)
    table = group_table(facts, by=grouping, scheme=scheme, checklist=checklist, names=names)
    if record_flags and grouping in flags.FLAGGED:
        flags.record(store, month=label, by=grouping, table=table, now=moment)
    return Evaluation(label, grouping, start, end, as_of, table, scheme)
