"""Stored plans and check-ins: who may plan and check in, once per stop, no replanning over check-ins."""

from __future__ import annotations

import pytest

from gridmap.auth import add_user
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.routing import county, patrols
from gridmap.routing.options import options_from_settings
from tests.routing import town

DAY = "2026-11-27"


@pytest.fixture
def saved(town_store, town_settings):
    opts = options_from_settings(town_settings, own_grids=True)
    result = county.plan_county_day(town_store, town_settings, day=DAY, options=opts)
    ids = patrols.save_day(town_store, result, user=None, system=True)
    return town_store, result, ids


def users(store, owner: str):
    """The office, the plan's inspector (user name = inspector code), another inspector, a unit."""
    other = next(c for c in ("I01", "I02", "I03") if c != owner)
    return {
        "office": add_user(store, username="office", role="office", password="secret-pass-1"),
        "owner": add_user(store, username=owner, role="inspector", password="secret-pass-1"),
        "other": add_user(store, username=other, role="inspector", password="secret-pass-1"),
        "unit": add_user(store, username="u1", role="unit", unit_code="U1", password="secret-pass-1"),
    }


def test_saved_plans_read_back_per_inspector_and_day(saved):
    store, result, ids = saved
    listed = patrols.list_plans(store, day=DAY)
    assert [p["id"] for p in listed] == sorted(ids)
    assert {p["inspector"]["code"] for p in listed} == {r.inspector.code for r in result.routes}
    for route in result.routes:
        (one,) = [p for p in listed if p["inspector"]["code"] == route.inspector.code]
        plan = patrols.get_plan(store, one["id"])
        assert [s["ref"] for s in plan["stops"][1:]] == [s.id for s in route.stops]
        assert plan["length_m"] == pytest.approx(route.length_m, abs=0.1)
        assert plan["turns"] == route.turns
        assert len(plan["line"]) == len(route.line)
    assert patrols.list_plans(store, day="2026-11-28") == []


def test_check_in_by_the_plans_inspector_once(saved):
    store, _, _ = saved
    mine = patrols.list_plans(store, day=DAY)[0]
    owner = mine["inspector"]["code"]
    people = users(store, owner)
    plan = patrols.get_plan(store, mine["id"])
    assert len(plan["stops"]) >= 3
    stop = plan["stops"][1]
    done = patrols.check_in(
        store, mine["id"], 1, user=people["owner"], lon=stop["lon"] + 0.0001, lat=stop["lat"]
    )
    assert done["checked_in_by"] == owner and done["checked_in_at"].endswith("+08:00")
    assert 5 < done["checkin_distance_m"] < 15  # 0.0001° of longitude at 34°N is about 9 m
    with pytest.raises(Conflict, match="不能重复签到"):
        patrols.check_in(store, mine["id"], 1, user=people["office"])
    with pytest.raises(Forbidden, match="不能代为签到"):
        patrols.check_in(store, mine["id"], 2, user=people["other"])
    with pytest.raises(Forbidden):
        patrols.check_in(store, mine["id"], 2, user=people["unit"])
    with pytest.raises(Unauthorized):
        patrols.check_in(store, mine["id"], 2, user=None)
    with pytest.raises(NotFound, match="没有第 0 站"):
        patrols.check_in(store, mine["id"], 0, user=people["owner"])  # the start is no stop to check in at
    with pytest.raises(InvalidInput, match="lon"):
        patrols.check_in(store, mine["id"], 2, user=people["owner"], lon="东经", lat="34")
    assert patrols.list_plans(store, day=DAY, inspector=owner)[0]["checked_in"] == 1


def test_replanning_keeps_plans_with_check_ins(saved, town_settings):
    store, _result, _ = saved
    first = patrols.list_plans(store, day=DAY)[0]
    people = users(store, first["inspector"]["code"])
    patrols.check_in(store, first["id"], 1, user=people["office"])
    opts = options_from_settings(town_settings)
    again = county.plan_county_day(store, town_settings, day=DAY, options=opts)
    with pytest.raises(Conflict, match=first["inspector"]["code"]):
        patrols.save_day(store, again, user=people["office"])
    assert patrols.get_plan(store, first["id"])["stops"][1]["checked_in_by"] == "office"  # nothing written


def test_who_may_plan():
    office = patrols.User(id=1, username="office", role="office")
    me = patrols.User(id=2, username="I01", role="inspector")
    leader = patrols.User(id=3, username="l1", role="leader", leader_code="L01")
    patrols.may_plan(office, ["I01", "I02"])
    patrols.may_plan(me, ["I01"])
    with pytest.raises(Forbidden, match="I02"):
        patrols.may_plan(me, ["I01", "I02"])
    with pytest.raises(Forbidden):
        patrols.may_plan(leader, ["I01"])
    with pytest.raises(Unauthorized):
        patrols.may_plan(None, ["I01"])


def test_who_may_check_in_is_the_office_or_the_plans_own_inspector():
    plan = {"inspector": {"code": "I01", "name": "冯巡查"}}
    assert patrols.may_check_in(patrols.User(id=1, username="office", role="office"), plan)
    assert patrols.may_check_in(patrols.User(id=2, username="I01", role="inspector"), plan)
    assert not patrols.may_check_in(patrols.User(id=3, username="I02", role="inspector"), plan)
    assert not patrols.may_check_in(patrols.User(id=4, username="l1", role="leader", leader_code="L01"), plan)
    assert not patrols.may_check_in(patrols.User(id=5, username="I01", role="unit", unit_code="U1"), plan)
    assert not patrols.may_check_in(None, plan)


def test_the_inspectors_to_plan_for_with_their_grids(town_store):
    from gridmap.reference import ReferenceCache

    model = ReferenceCache(town_store, tolerance_m=50.0).model()
    office = patrols.User(id=1, username="office", role="office")
    everyone = patrols.plannable_inspectors(model, office)
    assert [(i["code"], i["name"], i["grids"]) for i in everyone] == [
        ("I01", "冯巡查", "西关网格"),
        ("I02", "陈巡查", "东关网格"),
        ("I03", "褚巡查", "西关网格、东关网格"),
    ]
    me = patrols.User(id=2, username="I02", role="inspector")
    assert patrols.plannable_inspectors(model, me) == [everyone[1]]


def test_unknown_plan_and_bad_ids(town_store):
    with pytest.raises(NotFound):
        patrols.get_plan(town_store, 999)
    with pytest.raises(InvalidInput):
        patrols.get_plan(town_store, "abc")


def test_points_keep_their_town_metres():
    # the helper the tests rely on: metres ↔ lon/lat round trip
    lon, lat = town.ll(123.0, 456.0)
    assert town.xy(lon, lat) == pytest.approx((123.0, 456.0), abs=1e-6)
