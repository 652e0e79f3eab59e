"""The workflow as a library: transitions, notes, deadlines, overdue, events with actors."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act, support
from tests.problems.conftest import ON_BINJIANG_ROAD, OUTSIDE_GRIDS

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
    }


def _report(ctx, spot=ON_BINJIANG_ROAD, category="garbage"):
    return report_problem(ctx, lon=spot[0], lat=spot[1], category=category, description="d",
                          now=T0).record


def test_reject_needs_a_reason_and_is_final(ctx, people):
    no = _report(ctx)["tracking_no"]
    with pytest.raises(InvalidInput, match="不予立案的理由"):
        act(ctx, no, user=people["office"], action="reject", now=T0)
    rec = act(ctx, no, user=people["office"], action="reject", note="重复上报", now=T0)
    assert rec["status"] == "rejected" and rec["closed_at"]
    with pytest.raises(Conflict):
        act(ctx, no, user=people["office"], action="accept", now=T0)
    with pytest.raises(Conflict):
        support(ctx, no, now=T0)


def test_extend_by_deadline_and_overdue_flag(ctx, people):
    rec = _report(ctx, category="manhole")  # 4 hours
    no = rec["tracking_no"]
    later = T0 + dt.timedelta(hours=5)
    act(ctx, no, user=people["office"], action="accept", now=T0)
    from gridmap.problems.records import find_row, record

    assert record(ctx, find_row(ctx, no), now=later)["overdue"] is True
    with pytest.raises(InvalidInput, match="晚于原期限"):
        act(ctx, no, user=people["office"], action="extend", deadline="2026-11-27T08:00:00+08:00",
            note="x", now=later)
    rec = act(ctx, no, user=people["office"], action="extend", deadline="2026-11-28", note="等井盖",
              now=later)
    assert rec["deadline"] == "2026-11-28T00:00:00+08:00" and rec["overdue"] is False
    event = rec["history"][-1]
    assert (event["action"], event["actor"], event["note"]) == ("extend", "office", "等井盖")
    assert event["deadline"] == rec["deadline"]


def test_unknown_action_missing_user_and_wrong_unit(ctx, people, make_user):
    no = _report(ctx)["tracking_no"]
    with pytest.raises(InvalidInput, match="操作 action"):
        act(ctx, no, user=people["office"], action="explode", now=T0)
    with pytest.raises(Unauthorized):
        act(ctx, no, user=None, action="accept", now=T0)
    act(ctx, no, user=people["office"], action="dispatch", now=T0)
    other = make_user("u2", "unit", unit_code="U2")
    with pytest.raises(Forbidden, match="本单位"):
        act(ctx, no, user=other, action="rectify", now=T0)
    # its own unit may act
    rec = act(ctx, no, user=people["unit"], action="rectify", note="已处理", now=T0)
    assert rec["status"] == "rectified"


def test_out_of_grid_problem_needs_a_unit_to_dispatch(ctx, people):
    rec = _report(ctx, spot=OUTSIDE_GRIDS)
    assert rec["unit"] is None
    with pytest.raises(InvalidInput, match="指定责任单位"):
        act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", now=T0)
    with pytest.raises(InvalidInput, match="不存在"):
        act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", unit_code="U99", now=T0)
    done = act(ctx, rec["tracking_no"], user=people["office"], action="dispatch", unit_code="U3", now=T0)
    assert done["unit"] == {"code": "U3", "name": "县供电分公司"} and done["status"] == "dispatched"
