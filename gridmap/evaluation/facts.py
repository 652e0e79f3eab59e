"""One row per case with what the indicators count, from problem rows and their events (vectorised)."""

from __future__ import annotations

import datetime as dt

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


class _Per:
    """Per-case first/last times and counts of the events that match a mask."""

    def __init__(self, ev: pd.DataFrame, index: pd.Index) -> None:
        self.ev = ev
        self.index = index

    def first(self, mask: pd.Series) -> pd.Series:
        return self.ev.loc[mask, "at"].groupby(self.ev.loc[mask, "problem_id"]).min().reindex(self.index)

    def last(self, mask: pd.Series) -> pd.Series:
        return self.ev.loc[mask, "at"].groupby(self.ev.loc[mask, "problem_id"]).max().reindex(self.index)

    def count(self, mask: pd.Series) -> pd.Series:
        return self.ev.loc[mask, "problem_id"].value_counts().reindex(self.index, fill_value=0)


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
    ev = events[events["at"] <= as_of]
    per = _Per(ev, idx)
    action = ev["action"]
    hours = pd.Timedelta(hours=1)
    out = pd.DataFrame(index=idx)

    out["reports"] = 1
    citizen = c["source"].eq("citizen")
    out["citizen_reports"] = citizen.astype(int)

    filed_at = per.first(action.isin(FILING))
    filed = filed_at.notna()
    voided = filed & per.count(action.eq("reject") & ev["from_status"].eq("accepted")).gt(0)
    valid = filed & ~voided
    parked_events = per.count(ev["to_status"].eq("parked"))
    ever_parked = events.loc[events["to_status"].eq("parked"), "problem_id"].value_counts()
    ever_parked = ever_parked.reindex(idx, fill_value=0)  # an imported parked case may have no event
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
    wrong = per.count(action.eq("return") | (action.eq("dispatch") & ev["from_status"].eq("returned"))).gt(0)
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
        action.eq("approve") & ev["deadline"].notna() & ev["to_status"].ne("parked")
    )
    extensions = per.count(extend)
    out["extensions"] = extensions.where(due_handling, 0)
    out["extended"] = (due_handling & extensions.gt(0)).astype(int)
    out["parked"] = parked.astype(int)

    # check (核查): the first pass or rework after the last fix
    checks = ev[action.isin(CHECKS)]
    after = checks["at"] >= handled_at.reindex(checks["problem_id"]).to_numpy()
    check_at = checks.loc[after, "at"].groupby(checks.loc[after, "problem_id"]).min().reindex(idx)
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
