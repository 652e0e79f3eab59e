"""Stored plans and check-ins: who may plan and check in, once per stop, no replanning over check-ins."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gridmap.auth import add_user
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.routing import county, patrols
from gridmap.routing.options import options_from_settings
from tests.routing import town

DAY = "2026-11-27"
WITHIN_M = 50.0  # GRIDMAP_PATROL_CHECKIN_M's default


def check_in(store, plan_id, seq, **kw):
    return patrols.check_in(store, plan_id, seq, within_m=WITHIN_M, **kw)


def off(stop: dict, *, east: float = 0.0, north: float = 0.0) -> dict:
    """lon/lat `east`, `north` metres from a stop."""
    x, y = town.xy(stop["lon"], stop["lat"])
    lon, lat = town.ll(x + east, y + north)
    return {"lon": lon, "lat": lat}


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
    done = check_in(store, mine["id"], 1, user=people["owner"], lon=stop["lon"] + 0.0001, lat=stop["lat"])
    assert done["checked_in_by"] == owner and done["checked_in_at"].endswith("+08:00")
    assert 5 < done["checkin_distance_m"] < 15  # 0.0001° of longitude at 34°N is about 9 m
    with pytest.raises(Conflict, match="不能重复签到"):
        check_in(store, mine["id"], 1, user=people["office"])
    with pytest.raises(Forbidden, match="不能代为签到"):
        check_in(store, mine["id"], 2, user=people["other"])
    with pytest.raises(Forbidden):
        check_in(store, mine["id"], 2, user=people["unit"])
    with pytest.raises(Unauthorized):
        check_in(store, mine["id"], 2, user=None)
    with pytest.raises(NotFound, match="没有第 0 站"):
        check_in(store, mine["id"], 0, user=people["owner"])  # the start is no stop to check in at
    with pytest.raises(InvalidInput, match="lon"):
        check_in(store, mine["id"], 2, user=people["owner"], lon="东经", lat="34")
    assert patrols.list_plans(store, day=DAY, inspector=owner)[0]["checked_in"] == 1


def test_replanning_keeps_plans_with_check_ins(saved, town_settings):
    store, _result, _ = saved
    first = patrols.list_plans(store, day=DAY)[0]
    people = users(store, first["inspector"]["code"])
    check_in(store, first["id"], 1, user=people["office"])
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


def test_an_inspector_checks_in_only_near_the_stop_and_is_told_how_far(saved):
    store, _, _ = saved
    mine = patrols.list_plans(store, day=DAY)[0]
    people = users(store, mine["inspector"]["code"])
    stops = patrols.get_plan(store, mine["id"])["stops"]
    with pytest.raises(InvalidInput) as caught:
        check_in(store, mine["id"], 1, user=people["owner"], **off(stops[1], east=260))
    assert caught.value.message.startswith("距该点位 260 米，需在 50 米内签到")
    with pytest.raises(InvalidInput, match="需要手机定位"):
        check_in(store, mine["id"], 1, user=people["owner"])  # no position, no check-in
    assert patrols.get_plan(store, mine["id"])["stops"][1]["checked_in_at"] is None  # nothing written
    done = check_in(store, mine["id"], 1, user=people["owner"], **off(stops[1], north=20))
    assert done["checkin_distance_m"] == pytest.approx(20, abs=0.5)
    wider = patrols.check_in(
        store, mine["id"], 2, user=people["owner"], within_m=300.0, **off(stops[2], east=260)
    )
    assert wider["checkin_distance_m"] == pytest.approx(260, abs=1)  # the setting decides
    office = check_in(store, mine["id"], 3, user=people["office"])  # the office records it for them
    assert office["checked_in_by"] == "office" and office["checkin_distance_m"] is None


def test_a_stop_drawn_as_an_area_counts_from_its_edge(saved):
    import geopandas as gpd
    from shapely.geometry import box

    store, _, _ = saved
    mine = patrols.list_plans(store, day=DAY)[0]
    people = users(store, mine["inspector"]["code"])
    stop = next(s for s in patrols.get_plan(store, mine["id"])["stops"] if s["kind"] == "point")
    x, y = town.xy(stop["lon"], stop["lat"])
    square = box(*town.ll(x - 100, y - 100), *town.ll(x + 100, y + 100))  # a market 200 m across
    model = SimpleNamespace(points=gpd.GeoDataFrame(geometry=[square], index=[stop["ref"]], crs="EPSG:4326"))
    assert patrols.stop_area(model, stop) is not None
    assert patrols.stop_area(None, stop) is None
    here = off(stop, east=130)  # 30 m beyond the east edge, 130 m from the point
    # 30 m up to the rounding of a lon/lat box drawn from town metres
    assert patrols.distance_to_stop(stop, **here, area=square) == pytest.approx(30, abs=2)
    assert patrols.distance_to_stop(stop, **off(stop, east=90), area=square) == 0.0  # inside
    with pytest.raises(InvalidInput, match="距该点位 130 米"):
        check_in(store, mine["id"], stop["seq"], user=people["owner"], **here)  # without the area
    done = check_in(store, mine["id"], stop["seq"], user=people["owner"], model=model, **here)
    assert done["checkin_distance_m"] == pytest.approx(30, abs=2)


def test_a_replanned_day_leads_old_links_to_the_current_plan(saved, town_settings):
    store, _, ids = saved
    first = patrols.list_plans(store, day=DAY)[0]
    code = first["inspector"]["code"]
    assert patrols.current_plan_id(store, first["id"]) == first["id"]
    opts = options_from_settings(town_settings, own_grids=True)
    for _ in range(2):  # replanned twice: the oldest link still finds today's plan
        again = county.plan_county_day(store, town_settings, day=DAY, inspectors=[code], options=opts)
        (now,) = patrols.save_day(store, again, user=None, system=True)
    assert now not in ids
    assert patrols.current_plan_id(store, first["id"]) == now
    assert patrols.plan_view(store, first["id"], user=None) == {"moved_to": now}
    view = patrols.plan_view(store, now, user=patrols.User(id=1, username=code, role="inspector"))
    assert view["moved_to"] is None and view["may_check_in"] and view["next_seq"] == 1
    assert view["nav"][1]["geo"].startswith("geo:") and "dev=1" in view["nav"][1]["amap"]
    with pytest.raises(NotFound, match="不存在"):
        patrols.current_plan_id(store, 999)


def test_navigation_links_carry_the_stop():
    stop = {"lon": 106.5161234, "lat": 33.9061234, "name": "县医院 & 门诊"}
    nav = patrols.navigation(stop)
    assert (
        nav["geo"]
        == "geo:33.906123,106.516123?q=33.906123,106.516123(%E5%8E%BF%E5%8C%BB%E9%99%A2%20%26%20%E9%97%A8%E8%AF%8A)"
    )
    assert nav["coords"] == "33.906123, 106.516123"
    assert (
        nav["amap"].startswith("amapuri://route/plan/?") and "dlat=33.906123&dlon=106.516123" in nav["amap"]
    )
