"""gridmap.problems.duplicates on its own: same category, open, within the radius, nearest first."""

from __future__ import annotations

import datetime as dt

import pytest
from pyproj import Geod

from gridmap.auth import User
from gridmap.errors import InvalidInput
from gridmap.problems.duplicates import find_duplicates
from tests.problems.conftest import ON_BINJIANG_ROAD
from tests.problems.contexts import make_context

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
OFFICE = User(id=1, username="office", role="office")
GEOD = Geod(ellps="WGS84")
LON, LAT = ON_BINJIANG_ROAD


def _moved(east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(LON, LAT, 90, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


@pytest.fixture(scope="module")
def world(module_database):
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act

    ctx = make_context(*module_database)

    def report(spot, category="garbage", **kw):
        return report_problem(
            ctx, lon=spot[0], lat=spot[1], category=category, description="垃圾", now=T0, **kw
        ).record["tracking_no"]

    numbers = {
        "east30": report(_moved(east_m=30)),
        "here": report(_moved()),
        "north45": report(_moved(north_m=45)),
        "east80": report(_moved(east_m=80)),
        "stall": report(_moved(), category="stall"),
        "rejected": report(_moved(east_m=5)),
        "reporter": report(
            _moved(east_m=10), user=OFFICE, source="media", reporter_name="张三", reporter_phone="13900000000"
        ),
    }
    act(ctx, numbers["rejected"], user=OFFICE, action="reject", note="不是问题", now=T0)
    return ctx, numbers


def _found(world, **kw):
    ctx, numbers = world
    names = {v: k for k, v in numbers.items()}
    return [
        (names[r["tracking_no"]], r["distance_m"])
        for r in find_duplicates(ctx, lon=kw.pop("lon", LON), lat=kw.pop("lat", LAT), **kw)
    ]


def test_open_problems_of_the_category_within_the_default_radius_nearest_first(world):
    found = _found(world, category="garbage")
    assert [name for name, _ in found] == ["here", "reporter", "east30", "north45"]
    distances = dict(found)
    assert distances["here"] == 0.0
    assert distances["reporter"] == pytest.approx(10, abs=0.1)
    assert distances["east30"] == pytest.approx(30, abs=0.1)  # metres in the local Gauss-Krüger zone
    assert distances["north45"] == pytest.approx(45, abs=0.1)


def test_radius_limit_and_category_name(world):
    assert [n for n, _ in _found(world, category="垃圾暴露", radius_m=100, limit=10)] == [
        "here",
        "reporter",
        "east30",
        "north45",
        "east80",
    ]
    assert [n for n, _ in _found(world, category="garbage", radius_m=20)] == ["here", "reporter"]
    assert [n for n, _ in _found(world, category="garbage", limit=1)] == ["here"]
    assert [n for n, _ in _found(world, category="stall")] == ["stall"]
    assert _found(world, category="manhole") == []


def test_the_radius_is_measured_from_the_asked_spot(world):
    lon, lat = _moved(east_m=80)
    found = _found(world, lon=lon, lat=lat, category="garbage", radius_m=55)
    assert [n for n, _ in found] == ["east80", "east30"]  # "reporter", 70 m away, is not
    assert dict(found)["east30"] == pytest.approx(50, abs=0.1)


def test_the_ctx_radius_is_the_default(world):
    ctx, _ = world
    try:
        ctx.duplicate_radius_m = 12.0
        assert [n for n, _ in _found(world, category="garbage")] == ["here", "reporter"]
    finally:
        ctx.duplicate_radius_m = 50.0


def test_records_are_public(world):
    ctx, numbers = world
    records = find_duplicates(ctx, lon=LON, lat=LAT, category="garbage")
    mine = next(r for r in records if r["tracking_no"] == numbers["reporter"])
    assert "reporter" not in mine and mine["category"] == "garbage" and mine["status"] == "reported"


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"lon": "abc", "lat": LAT, "category": "garbage"}, InvalidInput),
        ({"lon": LON, "lat": 95, "category": "garbage"}, InvalidInput),
        ({"lon": LON, "lat": LAT, "category": "no-such"}, InvalidInput),
    ],
)
def test_bad_input_is_refused(world, kw, error):
    ctx, _ = world
    with pytest.raises(error):
        find_duplicates(ctx, **kw)
