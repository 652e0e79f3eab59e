"""One row per case with what the indicators count, from problem rows and their events (vectorised)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gridmap.evaluation.indicators import COUNTS
from gridmap.evaluation.scoring import Scheme

__all__ = ["CASE_COLUMNS", "EVENT_COLUMNS", "case_facts"]

CASE_COLUMNS = (
    "id",
    "created_at",
    "source",
    "status",
    "category",
    "town_code",
    "town_name",
    "grid_code",
    "grid_name",
    "unit_code",
    "unit_name",
    "reported_by",
    "verifier",
    "verify_deadline",
    "deadline",
    "closed_at",
    "satisfaction",
    "satisfaction_at",
)
EVENT_COLUMNS = ("problem_id", "at", "action", "from_status", "to_status", "deadline")
FILING = ("accept", "confirm", "dispatch")  # the first of these files a case (立案)
CHECKS = ("verify", "rework")  # a check (核查) passes or sends the case back


class _Words:
    """A column of words as integer codes, compared once factorised (far quicker than strings)."""

    def __init__(self, column: pd.Series) -> None:
        self.codes, uniques = pd.factorize(column.to_numpy(dtype=object))
        self.lookup = {str(word): n for n, word in enumerate(uniques)}

    def eq(self, word: str) -> np.ndarray:
        return self.codes == self.lookup.get(word, -2)

    def isin(self, words: tuple[str, ...]) -> np.ndarray:
        return np.isin(self.codes, [self.lookup.get(w, -2) for w in words])


def _and(mask: np.ndarray, column: np.ndarray, word: str) -> np.ndarray:
    """``mask`` where ``column`` also holds ``word`` (compared only where the mask holds)."""
    out = mask.copy()
    out[mask] = column[mask] == word
    return out


class _Per:
    """Per-case first/last times and counts of the events that match a mask (events sorted by case)."""

    def __init__(self, ev: pd.DataFrame, index: pd.Index) -> None:
        self.index = index
        self.pos = index.get_indexer(ev["problem_id"])
        self.at = ev["at"].to_numpy(dtype="datetime64[ns]").view("int64")

    def _reduce(self, mask: np.ndarray, ufunc: np.ufunc) -> pd.Series:
        pos, at = self.pos[mask], self.at[mask]
        out = np.full(len(self.index), np.iinfo("int64").min, dtype="int64")  # NaT
        if len(pos):
            starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
            out[pos[starts]] = ufunc.reduceat(at, starts)
        return pd.Series(out.view("datetime64[ns]"), index=self.index)

    def first(self, mask: np.ndarray) -> pd.Series:
        return self._reduce(mask, np.minimum)

    def last(self, mask: np.ndarray) -> pd.Series:
        return self._reduce(mask, np.maximum)

    def count(self, mask: np.ndarray) -> pd.Series:
        found = np.bincount(self.pos[mask], minlength=len(self.index))
        return pd.Series(found, index=self.index)


def case_facts(
    cases: pd.DataFrame,
    events: pd.DataFrame,
    *,
    as_of: dt.datetime,
    scheme: Scheme,
    departments: dict[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """What each case (a row of ``cases``) counts towards, as of ``as_of`` (naive UTC): the count
    columns of gridmap.evaluation.indicators.COUNTS (0/1, or a number for reworks and extensions)
    and the grouping keys (``<grouping>_code`` and ``<grouping>_name``). ``departments`` maps a
    grid code to its lead department's (code, name). Times are naive UTC; events after ``as_of``
    are not seen."""
    c = cases.set_index("id", drop=False)
    idx = c.index
    events = events[events["problem_id"].isin(idx)]
    if not events["problem_id"].is_monotonic_increasing:
        events = events.sort_values("problem_id", kind="stable")
    seen = (events["at"] <= as_of).to_numpy(dtype=bool)
    ev = events[seen]
    per = _Per(ev, idx)
    action = _Words(ev["action"])
    from_status = ev["from_status"].to_numpy(dtype=object)
    to_parked = events["to_status"].to_numpy(dtype=object) == "parked"
    hours = pd.Timedelta(hours=1)
    out = pd.DataFrame(index=idx)

    out["reports"] = 1
    citizen = c["source"].eq("citizen")
    out["citizen_reports"] = citizen.astype(int)

    filed_at = per.first(action.isin(FILING))
    filed = filed_at.notna()
    voided = filed & per.count(_and(action.eq("reject"), from_status, "accepted")).gt(0)
    valid = filed & ~voided
    parked_events = per.count(to_parked[seen])
    ever_parked = _Per(events, idx).count(to_parked)  # an imported parked case may have no event
    parked = parked_events.gt(0) | (c["status"].eq("parked") & ever_parked.eq(0))
    leave = parked if scheme.exclude_parked else pd.Series(False, index=idx)

    out["filed"] = filed.astype(int)
    out["citizen_filed"] = (filed & citizen).astype(int)
    out["filed_valid"] = valid.astype(int)
    out["filed_on_time"] = (filed & (filed_at - c["created_at"] <= scheme.filing_hours * hours)).astype(int)

    # verification (核实): the deadline set when an inspector was sent, the first answer
    verify_by = pd.to_datetime(c["verify_deadline"])
    answered = per.first(action.isin(("confirm", "refute")))
    due_verify = verify_by.notna() & (answered.notna() | (verify_by < as_of))
    out["verifications_due"] = due_verify.astype(int)
    out["verified_on_time"] = (due_verify & answered.notna() & (answered <= verify_by)).astype(int)

    # dispatch (派遣)
    dispatched_at = per.first(action.eq("dispatch"))
    due_dispatch = (
        valid & ~leave & (dispatched_at.notna() | (filed_at + scheme.dispatch_hours * hours < as_of))
    )
    wrong = per.count(action.eq("return") | _and(action.eq("dispatch"), from_status, "returned")).gt(0)
    out["due_dispatch"] = due_dispatch.astype(int)
    out["dispatched"] = (due_dispatch & dispatched_at.notna()).astype(int)
    on_time = dispatched_at - filed_at <= scheme.dispatch_hours * hours
    out["dispatched_on_time"] = (due_dispatch & dispatched_at.notna() & on_time).astype(int)
    out["dispatched_accurately"] = (due_dispatch & ~wrong).astype(int)

    # handling (处置): the last fix reported by the end of the period, against the deadline in force
    handled_at = per.last(action.eq("rectify")).fillna(per.first(action.eq("close")))
    deadline = pd.to_datetime(c["deadline"])
    overdue = valid & ~leave & handled_at.isna() & (deadline < as_of)
    due_handling = valid & ~leave & (handled_at.notna() | (deadline < as_of))
    handled = due_handling & handled_at.notna()
    out["due_handling"] = due_handling.astype(int)
    out["handled"] = handled.astype(int)
    out["handled_on_time"] = (handled & (handled_at <= deadline)).astype(int)
    out["overdue_pending"] = overdue.astype(int)
    out["due_closure"] = due_handling.astype(int)
    closed_at = per.first(action.eq("close"))
    out["closed"] = (due_handling & closed_at.notna()).astype(int)
    out["closed_on_time"] = (due_handling & closed_at.notna() & (closed_at <= deadline)).astype(int)
    reworks = per.count(action.eq("rework"))
    out["reworks"] = reworks.where(due_handling, 0)
    out["reworked"] = (due_handling & reworks.gt(0)).astype(int)
    extend = action.eq("extend") | (
        action.eq("approve") & ev["deadline"].notna().to_numpy() & ~to_parked[seen]
    )
    extensions = per.count(extend)
    out["extensions"] = extensions.where(due_handling, 0)
    out["extended"] = (due_handling & extensions.gt(0)).astype(int)
    out["parked"] = parked.astype(int)

    # check (核查): the first pass or rework after the last fix
    fixed = handled_at.to_numpy(dtype="datetime64[ns]")[np.maximum(per.pos, 0)]
    check_at = per.first(action.isin(CHECKS) & (ev["at"].to_numpy(dtype="datetime64[ns]") >= fixed))
    due_check = handled & (check_at.notna() | (handled_at + scheme.check_hours * hours < as_of))
    out["checks_due"] = due_check.astype(int)
    out["checked_on_time"] = (
        due_check & check_at.notna() & (check_at - handled_at <= scheme.check_hours * hours)
    ).astype(int)

    # follow-up (回访)
    followed = c["satisfaction"].notna() & (pd.to_datetime(c["satisfaction_at"]) <= as_of)
    out["followups"] = followed.astype(int)
    out["satisfied"] = (followed & c["satisfaction"].eq("satisfied")).astype(int)
    out["criteria_passed"] = 0.0  # field assessments come per group (gridmap.evaluation.service)
    out["criteria_assessed"] = 0.0

    for level in ("town", "grid", "unit"):
        out[f"{level}_code"] = c[f"{level}_code"]
        out[f"{level}_name"] = c[f"{level}_name"]
    out["category_code"] = c["category"]
    out["category_name"] = c["category"]
    lead = departments or {}
    out["department_code"] = c["grid_code"].map({g: v[0] for g, v in lead.items()})
    out["department_name"] = c["grid_code"].map({g: v[1] for g, v in lead.items()})
    inspector = c["reported_by"].where(c["source"].eq("inspector"), c["verifier"])
    out["inspector_code"] = inspector
    out["inspector_name"] = inspector
    missing = [k.key for k in COUNTS if k.key not in out]
    assert not missing, missing
    return out
