"""The day's plan: mandatory problems visited, working days kept, grids respected, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from gridmap.errors import InvalidInput
from gridmap.reference import ReferenceCache
from gridmap.routing import county, daily, patrols
from gridmap.routing.day import DayStop, Inspector, parse_day
from gridmap.routing.options import options_from_settings
from gridmap.routing.streets import StreetNetwork
from gridmap.settings import SETTINGS
from tests.routing import town

DAY = "2026-11-27"


def plan(store, settings, **kw):
    options = options_from_settings(
        settings,
        **{
            k: kw.pop(k)
            for k in list(kw)
            if k in ("hours", "mode", "stop_minutes", "own_grids", "time_limit")
        },
    )
    return county.plan_county_day(store, settings, day=DAY, options=options, **kw)


def check(result, stops_by_id=None):
    """Every route within its working day, no stop twice, every mandatory stop somewhere."""
    seen = [s.id for r in result.routes for s in r.stops]
    assert len(seen) == len(set(seen))
    for r in result.routes:
        assert r.work_m <= r.budget_m + 1e-6
        assert r.length_m == pytest.approx(sum(r.legs_m))
    return set(seen)


def test_mandatory_problems_are_visited_and_points_fill_the_day(town_store, town_ctx, town_settings):
    verify = town.add_problem(town_ctx, x=250, y=95, status="rectified")
    overdue = town.add_problem(town_ctx, x=950, y=305, days_ago=20)  # garbage: 24 working hours, long past
    fresh = town.add_problem(town_ctx, x=400, y=505)
    result = plan(town_store, town_settings)
    seen = check(result)
    assert {verify, overdue} <= seen
    assert {p[0] for p in town.POINTS} | {fresh} <= seen  # a whole working day has room for all
    kinds = {s.id: (s.mandatory, s.reason) for r in result.routes for s in r.stops}
    assert kinds[verify] == (True, "已整改，待核查")
    assert kinds[overdue] == (True, "已超期，现场督办")
    assert kinds[fresh][0] is False
    assert result.dropped == []
    assert "未安排的可选点位：无" in result.to_text()


def test_inspectors_are_kept_to_their_grids(town_store, town_settings):
    result = plan(town_store, town_settings, own_grids=True)
    model = ReferenceCache(town_store, tolerance_m=50.0).model()
    grid_of = model.points["grid_code"].to_dict()
    for r in result.routes:
        assert all(grid_of[s.id] in r.inspector.grids for s in r.stops)
    assert check(result) == {p[0] for p in town.POINTS}


def test_one_inspector_of_two_grids_walks_both_in_one_route(town_store, town_settings):
    result = plan(town_store, town_settings, inspectors=["I03"], own_grids=True)
    (route,) = result.routes
    assert {s.id for s in route.stops} == {p[0] for p in town.POINTS}
    assert route.inspector.start_name == "西关网格出发点"
    assert check(result)
    turns = route.turns
    assert turns[0]["action"] == "depart" and turns[0]["text"].startswith("从西关网格出发点出发")
    arrivals = [t for t in turns if t["action"] == "arrive"]
    assert len(arrivals) == len(route.stops) + 1 and arrivals[-1]["text"] == "回到西关网格出发点"
    assert sum(t["distance_m"] for t in turns) == pytest.approx(route.length_m, abs=len(turns))


def test_a_short_day_drops_the_optional_points_and_lists_them(town_store, town_ctx, town_settings):
    must = town.add_problem(town_ctx, x=1000, y=505, status="rectified")
    result = plan(town_store, town_settings, hours=0.6, stop_minutes=10)  # 2.7 km a head; a stop costs 750 m
    seen = check(result)
    assert must in seen
    assert result.dropped, "a 36-minute day cannot take every point"
    assert {s.id for s in result.dropped} | seen == {p[0] for p in town.POINTS} | {must}
    text = result.to_text()
    assert f"未安排的可选点位（{len(result.dropped)} 个）" in text
    assert all(s.id in text for s in result.dropped)


def test_a_day_too_short_for_the_mandatory_stops_says_what_would_serve(town_store, town_ctx, town_settings):
    musts = [
        town.add_problem(town_ctx, x=x, y=y, status="rectified")
        for x, y in ((150, 105), (450, 495), (1050, 105), (850, 495), (300, 305), (1000, 300))
    ]
    with pytest.raises(InvalidInput) as caught:
        plan(town_store, town_settings, hours=0.25, stop_minutes=5, own_grids=False)
    message = caught.value.message
    assert any(m in message for m in musts)
    assert "巡查员" in message and "米" in message  # how many inspectors or how long a day would do


def test_a_mandatory_stop_in_a_grid_without_inspectors_is_left_out_with_the_reason(town_store):
    model = ReferenceCache(town_store, tolerance_m=50.0).model()
    network = StreetNetwork.from_lines(town.street_lines())
    crew = county.county_inspectors(model, network, codes=["I01"])
    orphan = _stop("FX1", 900, 300, grid=town.GRID_B)
    near = _stop("A1", 300, 105)
    result = daily.plan_day(network, crew, [orphan, near], options=town.options(time_limit=0.5), day=DAY)
    assert [s.id for r in result.routes for s in r.stops] == ["A1"]  # the day goes on
    (left,) = result.unreachable
    assert left.stop.id == "FX1" and town.GRID_B in left.why and "负责网格" in left.why
    assert "FX1" in result.to_text() and "另有 1 个必去点位无法到达" in result.to_text()


def _stop(sid, x, y, mandatory=True, grid=town.GRID_A):
    lon, lat = town.ll(x, y)
    return DayStop(
        id=sid,
        kind="problem",
        name=f"问题 {sid}",
        lon=lon,
        lat=lat,
        grid_code=grid,
        mandatory=mandatory,
        prize_m=None,
        reason="已超期，现场督办",
    )


def _crew():
    return [
        Inspector(
            code="I01", name="冯巡查", grids=(town.GRID_A,), start=town.ll(100, 100), start_name="出发点"
        )
    ]


def test_a_stop_on_a_piece_of_the_network_cut_off_from_the_start_is_left_out_with_the_reason():
    import geopandas as gpd
    import pandas as pd

    island = gpd.GeoDataFrame(
        {"name": ["孤岛路"]}, geometry=[town.line((100, 2000), (400, 2000))], crs="EPSG:4326"
    )
    network = StreetNetwork.from_lines(
        gpd.GeoDataFrame(pd.concat([town.street_lines(), island]), crs="EPSG:4326")
    )
    stops = [_stop("近", 300, 105), _stop("孤岛", 250, 2005)]
    result = daily.plan_day(network, _crew(), stops, options=town.options(time_limit=0.5), day=DAY)
    assert [s.id for r in result.routes for s in r.stops] == ["近"]
    (left,) = result.unreachable
    assert left.stop.id == "孤岛" and "不相连" in left.why


def test_a_stop_far_from_every_street_is_left_out_and_the_day_goes_on():
    network = StreetNetwork.from_lines(town.street_lines())
    stops = [_stop("A", 300, 105), _stop("田里", 300, 900), _stop("山上", 600, 4300, mandatory=False)]
    result = daily.plan_day(network, _crew(), stops, options=town.options(max_snap_m=200), day=DAY)
    assert [s.id for r in result.routes for s in r.stops] == ["A"]
    why = {u.stop.id: u.why for u in result.unreachable}
    assert why["田里"].startswith("距最近道路 400 米，超过 GRIDMAP_PATROL_MAX_SNAP_M（200 米）")
    assert why["山上"].startswith("距最近道路 3.8 公里，超过 GRIDMAP_PATROL_MAX_SNAP_M")
    listed = result.as_dict()["unreachable"]
    assert {u["id"] for u in listed} == {"田里", "山上"} and all(u["left_out"] for u in listed)


def test_every_stop_out_of_reach_gives_an_empty_day_not_an_error():
    network = StreetNetwork.from_lines(town.street_lines())
    result = daily.plan_day(network, _crew(), [_stop("田里", 300, 900)], options=town.options(), day=DAY)
    assert result.routes == [] and [i.code for i in result.idle] == ["I01"]
    assert [u.stop.id for u in result.unreachable] == ["田里"]


def test_duplicate_stops_are_refused_by_name():
    network = StreetNetwork.from_lines(town.street_lines())
    with pytest.raises(InvalidInput, match="重复：A"):
        daily.plan_day(
            network, _crew(), [_stop("A", 300, 105), _stop("A", 400, 105)], options=town.options(), day=DAY
        )


def test_one_problem_far_from_every_road_does_not_stop_the_county_day(town_store, town_ctx, town_settings):
    far = town.add_problem(town_ctx, x=600, y=4300, status="rectified")  # 3.8 km north of the last street
    near = town.add_problem(town_ctx, x=250, y=95, status="rectified")
    result = plan(town_store, town_settings)
    seen = check(result)
    assert near in seen and far not in seen
    assert {p[0] for p in town.POINTS} <= seen  # everyone else's day is planned as usual
    (left,) = result.unreachable
    assert left.stop.id == far and left.why.startswith("距最近道路 3.8 公里，超过 GRIDMAP_PATROL_MAX_SNAP_M")
    ids = patrols.save_day(town_store, result, user=None, system=True)
    dropped, unreachable = patrols.latest_left_out(town_store, day=DAY)
    assert dropped == [] and [u["id"] for u in unreachable] == [far]
    shown = [patrols.get_plan(town_store, i)["unreachable"] for i in ids]
    assert any(u and u[0]["left_out"] == left.why for u in shown)  # on the plan of the inspector of its grid


def test_fixed_start_and_end_per_inspector(town_store, town_settings):
    start, end = town.ll(100, 100), town.ll(1100, 500)
    result = plan(town_store, town_settings, inspectors=["I03"], starts={"I03": (start, end)})
    (route,) = result.routes
    assert not route.closed
    rec = route.record(day=DAY, mode="walk")
    assert rec["stops"][0]["kind"] == "start" and rec["stops"][-1]["kind"] == "end"
    line = np.asarray(rec["line"])
    assert np.allclose(line[0], start, atol=1e-6) and np.allclose(line[-1], end, atol=1e-6)


def test_options_from_settings_and_bad_values():
    defaults = {s.name: s.default for s in SETTINGS}
    opts = options_from_settings({**defaults, "GRIDMAP_PATROL_HOURS": 6.0, "GRIDMAP_PATROL_WALK_KMH": 4.5})
    assert opts.budget_m == pytest.approx(27000)
    assert opts.service_m == pytest.approx(750)
    bike = options_from_settings(defaults, mode="bike")
    assert bike.speed_kmh == 12.0 and bike.budget_m == pytest.approx(72000)
    with pytest.raises(InvalidInput, match="walk"):
        options_from_settings(defaults, mode="car")
    with pytest.raises(InvalidInput, match="正数"):
        options_from_settings(defaults, hours=-1)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_day("27/11/2026")


def test_options_come_from_the_settings_not_from_defaults_of_their_own():
    defaults = {s.name: s.default for s in SETTINGS}
    slow = options_from_settings(
        {
            **defaults,
            "GRIDMAP_PATROL_MODE": "bike",
            "GRIDMAP_PATROL_BIKE_KMH": 10.0,
            "GRIDMAP_PATROL_HOURS": 2.0,
            "GRIDMAP_PATROL_STOP_MINUTES": 30.0,
            "GRIDMAP_PATROL_OWN_GRIDS": False,
            "GRIDMAP_PATROL_TIME_LIMIT": 0.5,
        }
    )
    assert (slow.mode, slow.speed_kmh, slow.hours, slow.own_grids, slow.time_limit) == (
        "bike",
        10.0,
        2.0,
        False,
        0.5,
    )
    assert slow.budget_m == pytest.approx(20000) and slow.service_m == pytest.approx(5000)
    missing = dict(defaults)
    del missing["GRIDMAP_PATROL_HOURS"]
    with pytest.raises(KeyError, match="GRIDMAP_PATROL_HOURS"):
        options_from_settings(missing)


def test_custom_problem_categories_name_the_patrol_stops(town_store, town_settings, tmp_path):
    """GRIDMAP_PROBLEM_CATEGORIES names a problem stop by its custom category, on the plan and as stored."""
    from gridmap.problems.service import context_from_settings

    table = tmp_path / "categories.csv"
    table.write_text("code,name,group,deadline_hours\nwell_cover,井盖缺失,公共设施,24\n", encoding="utf-8")
    settings = {**town_settings, "GRIDMAP_PROBLEM_CATEGORIES": str(table)}
    ctx = context_from_settings(town_store, ReferenceCache(town_store, tolerance_m=50.0), settings)
    number = town.add_problem(ctx, x=250, y=95, status="rectified", category="well_cover")
    result = plan(town_store, settings, inspectors=["I03"])
    (stop,) = [s for r in result.routes for s in r.stops if s.id == number]
    assert stop.name == f"问题 {number}（井盖缺失）"
    (plan_id,) = patrols.save_day(town_store, result, user=None, system=True)
    stored = [s for s in patrols.get_plan(town_store, plan_id)["stops"] if s["ref"] == number]
    assert [s["name"] for s in stored] == [f"问题 {number}（井盖缺失）"]
