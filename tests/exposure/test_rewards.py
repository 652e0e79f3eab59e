"""Rewards for valid citizen reports: points derived from the problems and their events, the monthly
list by phone, payout marks, the public lookup by tracking number and the XLSX export."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import openpyxl
import pytest

from gridmap.errors import Forbidden, InvalidInput, NotFound
from gridmap.exposure import rewards
from gridmap.problems.merge import merge
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD

NOV = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Beijing
# 2026-11-30 23:30 in Beijing is 15:30 UTC: still November there
LAST_EVENING = dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC)
DEC = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(make_user):
    return {"office": make_user("boss", "office"), "unit": make_user("u2", "unit", unit_code="U2")}


def _report(ctx, *, phone="13800000000", at=NOV, name="张三", spot=NEAR_HOSPITAL, user=None, source=None):
    made = report_problem(
        ctx,
        lon=spot[0],
        lat=spot[1],
        category="garbage",
        description="垃圾",
        reporter_phone=phone,
        reporter_name=name,
        user=user,
        source=source,
        now=at,
    )
    return made.record["tracking_no"]


def test_phone_numbers_are_one_key_however_written():
    assert rewards.normalise_phone("+86 138-0000-0000") == "13800000000"
    assert rewards.normalise_phone("0086 13800000000") == "13800000000"
    assert rewards.normalise_phone("１３８ ００００ ００００") == "13800000000"
    assert rewards.normalise_phone("0917-4700001") == "09174700001"
    assert rewards.normalise_phone("  ") is None and rewards.normalise_phone(None) is None


def test_months_are_read_in_the_usual_ways():
    assert rewards.parse_month("2026-11") == "2026-11"
    assert rewards.parse_month("2026年3月") == "2026-03"
    assert rewards.parse_month("", now=LAST_EVENING) == "2026-11"
    with pytest.raises(InvalidInput, match="2026-11"):
        rewards.parse_month("2026-13")


def test_only_filed_citizen_reports_with_a_phone_count_once_in_the_month_of_filing(ctx, people):
    office = people["office"]
    dispatched = _report(ctx, phone="138 0000 0000")
    accepted = _report(ctx, phone="+8613800000000", name=None)
    waiting = _report(ctx)  # never filed: no points
    refused = _report(ctx)
    duplicate = _report(ctx)
    no_phone = _report(ctx, phone=None)
    late = _report(ctx, phone="13900000000")  # reported in November, filed in December
    accepted_then_refused = _report(ctx)
    inspector = _report(ctx, user=people["unit"])  # staff report as citizens … but only the office picks
    by_inspector = _report(ctx, user=office, source="inspector")
    at = NOV + dt.timedelta(hours=1)
    act(ctx, dispatched, user=office, action="dispatch", unit_code="U2", now=at)
    act(ctx, accepted, user=office, action="accept", now=at)
    act(ctx, refused, user=office, action="reject", note="不属实", now=at)
    merge(ctx, duplicate, user=office, into=dispatched, now=at)
    act(ctx, no_phone, user=office, action="accept", now=at)
    act(ctx, late, user=office, action="accept", now=DEC)
    act(ctx, accepted_then_refused, user=office, action="accept", now=at)
    act(ctx, accepted_then_refused, user=office, action="reject", note="重复", now=at)
    act(ctx, inspector, user=office, action="accept", now=LAST_EVENING)
    act(ctx, by_inspector, user=office, action="accept", now=at)

    nov = rewards.monthly(ctx, user=office, month="2026-11", now=DEC)
    assert nov["points_per_report"] == 10
    assert [(p["phone"], p["count"], p["points"]) for p in nov["people"]] == [("13800000000", 3, 30)]
    person = nov["people"][0]
    assert {r["tracking_no"] for r in person["reports"]} == {dispatched, accepted, inspector}
    assert person["name"] == "张三" and person["state"] == "待发放" and person["unpaid_points"] == 30
    dec = rewards.monthly(ctx, user=office, month="2026年12月", now=DEC)
    assert [(p["phone"], p["points"]) for p in dec["people"]] == [("13900000000", 10)]
    assert waiting not in str(nov) + str(dec)


def test_the_office_marks_a_month_paid_and_later_points_keep_the_paid_value(ctx, people):
    office = people["office"]
    first = _report(ctx)
    second = _report(ctx, phone="13700000000")
    for no in (first, second):
        act(ctx, no, user=office, action="accept", now=NOV)
    done = rewards.pay(ctx, user=office, month="2026-11", phone="137-0000-0000", now=DEC)
    assert done == {"month": "2026-11", "phone": "13700000000", "marked": 1, "points": 10}
    assert rewards.pay(ctx, user=office, month="2026-11", phone="13700000000", now=DEC)["marked"] == 0
    richer = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, reward_points=25))
    listing = rewards.monthly(richer, user=office, month="2026-11", now=DEC)
    by_phone = {p["phone"]: p for p in listing["people"]}
    assert by_phone["13700000000"]["points"] == 10 and by_phone["13700000000"]["state"] == "已发放"
    assert by_phone["13800000000"]["points"] == 25 and by_phone["13800000000"]["unpaid_points"] == 25
    assert listing["unpaid_points"] == 25
    assert rewards.pay(richer, user=office, month="2026-11", now=DEC)["marked"] == 1
    assert rewards.monthly(richer, user=office, month="2026-11", now=DEC)["unpaid_points"] == 0
    with pytest.raises(InvalidInput, match="没有电话为 13600000000"):
        rewards.pay(ctx, user=office, month="2026-11", phone="13600000000", now=DEC)


def test_only_the_office_sees_the_list_or_pays(ctx, people):
    for user in (None, people["unit"]):
        with pytest.raises(Forbidden):
            rewards.monthly(ctx, user=user, month="2026-11")
        with pytest.raises(Forbidden):
            rewards.pay(ctx, user=user, month="2026-11")


def test_a_citizen_sees_the_points_of_one_report_by_its_number_never_the_phone(ctx, people):
    office = people["office"]
    no = _report(ctx)
    found = rewards.report_points(ctx, no.lower())
    assert found["valid"] is False and found["points"] == 0 and "立案" in found["message"]
    act(ctx, no, user=office, action="dispatch", unit_code="U2", now=NOV)
    found = rewards.report_points(ctx, no)
    assert found["valid"] and found["points"] == 10 and found["paid"] is False and found["month"] == "2026-11"
    assert "13800000000" not in str(found) and "张三" not in str(found)
    rewards.pay(ctx, user=office, month="2026-11", now=DEC)
    assert "已于" in rewards.report_points(ctx, no)["message"]
    refused = _report(ctx)
    act(ctx, refused, user=office, action="reject", note="不属实", now=NOV)
    assert "不予立案" in rewards.report_points(ctx, refused)["message"]
    silent = _report(ctx, phone=None, spot=ON_BINJIANG_ROAD)
    assert "没有留联系电话" in rewards.report_points(ctx, silent)["message"]
    with pytest.raises(NotFound):
        rewards.report_points(ctx, "FX20260101-9999")


def test_the_export_lists_people_and_their_reports(ctx, people):
    office = people["office"]
    no = _report(ctx, name="=HYPERLINK(1)")
    act(ctx, no, user=office, action="accept", now=NOV)
    book = openpyxl.load_workbook(
        io.BytesIO(rewards.to_xlsx(rewards.monthly(ctx, user=office, month="2026-11", now=DEC)))
    )
    summary, detail = book.worksheets
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0][:4] == ("联系电话", "上报人", "有效举报数", "积分")
    assert rows[1][:4] == ("13800000000", "'=HYPERLINK(1)", 1, 10)
    assert list(detail.iter_rows(values_only=True))[1][:2] == ("13800000000", no)


def test_a_report_counts_in_the_month_it_was_first_filed_only(ctx, people):
    office = people["office"]
    october = dt.datetime(2026, 10, 30, 2, 0, tzinfo=dt.UTC)
    no = _report(ctx, at=october)
    act(ctx, no, user=office, action="accept", now=october)
    act(ctx, no, user=office, action="dispatch", unit_code="U2", now=NOV)  # filed already: no second count
    assert [p["count"] for p in rewards.monthly(ctx, user=office, month="2026-10", now=DEC)["people"]] == [1]
    assert rewards.monthly(ctx, user=office, month="2026-11", now=DEC)["people"] == []
    assert rewards.report_points(ctx, no)["month"] == "2026-10"
