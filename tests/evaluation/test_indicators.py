"""Indicator arithmetic on hand-made cases with known answers: every indicator, every grouping,
parked cases, reworks, extensions, cases spanning months and the minimum sample."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from gridmap.evaluation.facts import CASE_COLUMNS, EVENT_COLUMNS, case_facts
from gridmap.evaluation.groups import group_table, records
from gridmap.evaluation.indicators import COUNTS, INDICATORS
from gridmap.evaluation.scoring import load_scheme

T = dt.datetime(2026, 11, 2, 1, 0)  # naive UTC: 2 November 09:00 in Beijing
AS_OF = dt.datetime(2026, 11, 30, 16, 0)  # the end of November in Beijing


def h(hours: float) -> dt.datetime:
    return T + dt.timedelta(hours=hours)


SCHEME = dataclasses.replace(load_scheme(), min_sample=1)
G1 = {"town_code": "T1", "town_name": "城关镇", "grid_code": "G1", "grid_name": "一网格", "unit_code": "U1"}
G2 = {"town_code": "T1", "town_name": "城关镇", "grid_code": "G2", "grid_name": "二网格", "unit_code": "U2"}


def _case(pid, events, *, at=0.0, source="citizen", deadline=48.0, where=G1, **extra):
    row = dict.fromkeys(CASE_COLUMNS)
    row.update(where)
    row.update(
        id=pid,
        created_at=h(at),
        source=source,
        status="dispatched",
        category="garbage",
        unit_name=f"单位{where['unit_code']}",
        deadline=h(deadline),
    )
    for key, value in extra.items():
        row[key] = h(value) if key in ("verify_deadline", "satisfaction_at", "closed_at") else value
    evs = [(pid, h(at), "report", None, "reported", None)]
    for when, action, source_status, to, *new_deadline in events:
        evs.append((pid, h(when), action, source_status, to, h(new_deadline[0]) if new_deadline else None))
    return row, evs


# fmt: off
CASES = [
    # 1: the model case, everything on time; the reporter satisfied
    _case(1, [(1, "accept", "reported", "accepted"), (2, "dispatch", "accepted", "dispatched"),
              (10, "rectify", "dispatched", "rectified"), (12, "verify", "rectified", "verified"),
              (13, "close", "verified", "closed")], satisfaction="satisfied", satisfaction_at=20),
    # 2: an inspector's case, everything late, one rework; the reporter unsatisfied
    _case(2, [(30, "accept", "reported", "accepted"), (60, "dispatch", "accepted", "dispatched"),
              (100, "rectify", "dispatched", "rectified"), (101, "rework", "rectified", "dispatched"),
              (110, "rectify", "dispatched", "rectified"), (140, "verify", "rectified", "verified"),
              (141, "close", "verified", "closed")],
          source="inspector", reported_by="insp", deadline=72, satisfaction="unsatisfied", satisfaction_at=150),
    # 3: verified on time, returned and re-dispatched, extended, fixed on time, never checked
    _case(3, [(0.5, "send_verify", "reported", "verifying"), (3, "confirm", "verifying", "accepted"),
              (4, "dispatch", "accepted", "dispatched"), (5, "return", "dispatched", "returned"),
              (6, "dispatch", "returned", "dispatched"), (20, "extend", "dispatched", "dispatched", 200),
              (150, "rectify", "dispatched", "rectified")],
          deadline=200, verifier="insp2", verify_deadline=4.5),
    # 4: refuted late: a report, never filed
    _case(4, [(0.5, "send_verify", "reported", "verifying"), (6, "refute", "verifying", "rejected")],
          verifier="insp", verify_deadline=4.5, status="rejected"),
    # 5: filed, then voided
    _case(5, [(1, "accept", "reported", "accepted"), (2, "reject", "accepted", "rejected")], status="rejected"),
    # 6: parked: out of every "due" denominator
    _case(6, [(1, "accept", "reported", "accepted"), (2, "dispatch", "accepted", "dispatched"),
              (3, "park", "dispatched", "parked")], source="inspector", reported_by="insp", status="parked"),
    # 7: dispatched and forgotten: overdue
    _case(7, [(1, "accept", "reported", "accepted"), (2, "dispatch", "accepted", "dispatched")],
          source="inspector", reported_by="insp2"),
    # 8: spans months: reported on 29 November, due before the month's end, fixed in December
    _case(8, [(661, "accept", "reported", "accepted"), (662, "dispatch", "accepted", "dispatched"),
              (700, "rectify", "dispatched", "rectified")], at=660, deadline=686),
    # 9: another grid, unit and category; verified on time by insp, closed on time
    _case(9, [(0.5, "send_verify", "reported", "verifying"), (2, "confirm", "verifying", "accepted"),
              (3, "dispatch", "accepted", "dispatched"), (5, "rectify", "dispatched", "rectified"),
              (6, "verify", "rectified", "verified"), (7, "close", "verified", "closed")],
          where=G2, category="other", verifier="insp", verify_deadline=4.5,
          satisfaction="satisfied", satisfaction_at=30),
]
# fmt: on


def frames(cases=CASES):
    rows = pd.DataFrame([c[0] for c in cases], columns=list(CASE_COLUMNS))
    events = pd.DataFrame([e for c in cases for e in c[1]], columns=list(EVENT_COLUMNS))
    for column in ("created_at", "verify_deadline", "deadline", "closed_at", "satisfaction_at"):
        rows[column] = pd.to_datetime(rows[column])
    events["at"] = pd.to_datetime(events["at"])
    events["deadline"] = pd.to_datetime(events["deadline"])
    return rows, events


DEPARTMENTS = {"G1": ("D1", "城管局"), "G2": ("D2", "住建局")}


def table(by, *, scheme=SCHEME, cases=CASES, checklist=None, as_of=AS_OF):
    rows, events = frames(cases)
    facts = case_facts(rows, events, as_of=as_of, scheme=scheme, departments=DEPARTMENTS)
    return {r["code"]: r for r in records(group_table(facts, by=by, scheme=scheme, checklist=checklist))}


G1_COUNTS = {
    "reports": 8,
    "citizen_reports": 5,
    "filed": 7,
    "citizen_filed": 4,
    "filed_valid": 6,
    "filed_on_time": 6,
    "verifications_due": 2,
    "verified_on_time": 1,
    "checks_due": 3,
    "checked_on_time": 1,
    "due_dispatch": 5,
    "dispatched": 5,
    "dispatched_on_time": 4,
    "dispatched_accurately": 4,
    "due_handling": 5,
    "handled": 3,
    "handled_on_time": 2,
    "due_closure": 5,
    "closed": 2,
    "closed_on_time": 1,
    "reworks": 1,
    "reworked": 1,
    "extensions": 1,
    "extended": 1,
    "overdue_pending": 2,
    "parked": 1,
    "followups": 2,
    "satisfied": 1,
    "criteria_passed": 0,
    "criteria_assessed": 0,
}
G1_RATES = {
    "valid_report_rate": 7 / 8,
    "on_time_verification_rate": 1 / 2,
    "on_time_check_rate": 1 / 3,
    "on_time_filing_rate": 6 / 7,
    "accurate_filing_rate": 6 / 7,
    "on_time_dispatch_rate": 4 / 5,
    "accurate_dispatch_rate": 4 / 5,
    "handling_rate": 3 / 5,
    "on_time_handling_rate": 2 / 5,
    "closure_rate": 2 / 5,
    "on_time_closure_rate": 1 / 5,
    "rework_rate": 1 / 5,
    "extension_rate": 1 / 5,
    "overdue_pending_rate": 2 / 5,
    "citizen_share": 4 / 7,
    "checklist_pass_rate": None,
    "satisfaction": 1 / 2,
}


def test_every_count_and_rate_of_a_grid_is_the_hand_computed_one():
    g1 = table("grid")["G1"]
    assert {k: g1[k] for k in G1_COUNTS} == G1_COUNTS
    assert set(G1_COUNTS) == {c.key for c in COUNTS}
    assert set(G1_RATES) == {i.key for i in INDICATORS}
    for key, expected in G1_RATES.items():
        assert g1[key] == (None if expected is None else pytest.approx(expected, abs=1e-6)), key
    assert g1["name"] == "一网格"


def test_the_other_grid_and_the_town_sum_their_cases():
    grids = table("grid")
    g2 = grids["G2"]
    assert (g2["reports"], g2["filed"], g2["closed"], g2["closed_on_time"], g2["verified_on_time"]) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert g2["on_time_closure_rate"] == 1.0 and g2["satisfaction"] == 1.0 and g2["citizen_share"] == 1.0
    town = table("town")
    assert list(town) == ["T1"] and town["T1"]["name"] == "城关镇"
    for key in G1_COUNTS:
        assert town["T1"][key] == G1_COUNTS[key] + g2[key], key
    assert town["T1"]["closure_rate"] == pytest.approx(3 / 6)
    assert town["T1"]["on_time_verification_rate"] == pytest.approx(2 / 3)


def test_unit_department_and_category_group_by_the_problem_row_and_the_grids_lead_department():
    units = table("unit")
    assert set(units) == {"U1", "U2"} and units["U1"]["name"] == "单位U1"
    assert {k: units["U1"][k] for k in G1_COUNTS} == G1_COUNTS
    departments = table("department")
    assert departments["D1"]["name"] == "城管局" and departments["D2"]["name"] == "住建局"
    assert departments["D1"]["reports"] == 8 and departments["D2"]["reports"] == 1
    categories = table("category")
    assert categories["garbage"]["reports"] == 8 and categories["other"]["closed"] == 1


def test_inspector_is_the_reporting_inspector_or_the_verifier():
    inspectors = table("inspector")
    assert set(inspectors) == {"insp", "insp2"}  # citizen cases nobody verified are in no group
    insp = inspectors["insp"]  # cases 2 (reported), 4 and 9 (verified), 6 (reported, parked)
    assert (insp["reports"], insp["filed"], insp["verifications_due"], insp["verified_on_time"]) == (
        4,
        3,
        2,
        1,
    )
    assert (insp["due_handling"], insp["handled"], insp["closed"], insp["parked"]) == (2, 2, 2, 1)
    assert insp["on_time_closure_rate"] == pytest.approx(1 / 2)
    insp2 = inspectors["insp2"]  # cases 3 (verified) and 7 (reported)
    assert (insp2["reports"], insp2["due_handling"], insp2["handled"], insp2["overdue_pending"]) == (
        2,
        2,
        1,
        1,
    )
    assert insp2["closure_rate"] == 0.0


def test_parked_cases_stay_in_the_denominators_when_the_scheme_says_so():
    keep = dataclasses.replace(SCHEME, exclude_parked=False)
    g1 = table("grid", scheme=keep)["G1"]
    # case 6 (parked, deadline passed, never fixed) is now due for dispatch and handling and overdue
    assert (g1["due_dispatch"], g1["due_handling"], g1["overdue_pending"]) == (6, 6, 3)
    assert g1["closure_rate"] == pytest.approx(2 / 6)


def test_a_case_spanning_months_counts_in_its_report_month_as_of_each_moment():
    # at the end of November case 8 is overdue; seen later its December fix counts (late)
    later = table("grid", as_of=h(800))["G1"]
    assert later["overdue_pending"] == 1 and later["handled"] == 4 and later["handled_on_time"] == 2
    # before case 8's deadline has passed it is not yet due for handling
    early = table("grid", as_of=h(685))["G1"]
    assert early["due_handling"] == 4 and early["overdue_pending"] == 1


def test_the_minimum_sample_hides_rates_and_leaves_small_groups_unranked():
    strict = dataclasses.replace(SCHEME, min_sample=5)
    grids = table("grid", scheme=strict)
    g1, g2 = grids["G1"], grids["G2"]
    assert g1["closure_rate"] == pytest.approx(2 / 5)  # 5 due: enough
    assert g1["on_time_verification_rate"] is None and g1["satisfaction"] is None  # 2 due: too few
    assert g1["rank"] == 1 and g1["flag"] == "red" and g1["score"] is not None
    assert g2["reports"] == 1 and g2["closure_rate"] is None
    assert (g2["score"], g2["grade"], g2["rank"], g2["flag"]) == (None, None, None, None)


def test_a_checklist_pass_rate_comes_from_the_field_assessments_of_the_group():
    grids = table("grid", checklist={"G1": (3.0, 4.0)})
    assert grids["G1"]["checklist_pass_rate"] == pytest.approx(0.75)
    assert grids["G2"]["checklist_pass_rate"] is None


def test_an_empty_month_has_no_groups():
    assert table("grid", cases=[]) == {}


def test_the_indicators_are_named_after_evaluation_md_and_listed_in_the_readme():
    assert [i.key for i in INDICATORS] == [
        "valid_report_rate", "on_time_verification_rate", "on_time_check_rate", "on_time_filing_rate",
        "accurate_filing_rate", "on_time_dispatch_rate", "accurate_dispatch_rate", "handling_rate",
        "on_time_handling_rate", "closure_rate", "on_time_closure_rate", "rework_rate", "extension_rate",
        "overdue_pending_rate", "citizen_share", "checklist_pass_rate", "satisfaction",
    ]  # fmt: skip
    counts = {c.key for c in COUNTS}
    assert all(i.numerator in counts and i.denominator in counts for i in INDICATORS)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for item in INDICATORS:
        assert f"| `{item.key}` | {item.zh} | {item.en} | {item.definition} |" in readme, item.key
    for count in COUNTS:
        assert f"`{count.key}` {count.zh}" in readme, count.key
