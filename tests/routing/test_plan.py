"""gridmap.routing.plan on its own: request checks, stop ids in and out, lengths against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gridmap.errors import InvalidInput
from gridmap.routing.plan import PatrolPlan, PatrolRoute, plan_patrols
from gridmap.routing.stops import Stop

SQUARE = [Stop("A", 0, 0), Stop("B", 100, 0), Stop("C", 100, 100), Stop("D", 0, 100)]


def _brute_force(stops: list[Stop], *, start: int, end: int | None, closed: bool) -> float:
    xy = np.array([[s.x, s.y] for s in stops])
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))  # EUC_2D
    middle = [k for k in range(len(stops)) if k not in (start, end)]
    best = math.inf
    for order in itertools.permutations(middle):
        path = [start, *order, *([end] if end is not None else [])]
        length = sum(d[a, b] for a, b in itertools.pairwise(path)) + (d[path[-1], path[0]] if closed else 0)
        best = min(best, length)
    return best


def _length(stops: list[Stop], route: PatrolRoute) -> float:
    by_id = {s.id: s for s in stops}
    path = [by_id[i] for i in route.stops] + ([by_id[route.stops[0]]] if route.closed else [])
    return sum(round(math.hypot(a.x - b.x, a.y - b.y)) for a, b in itertools.pairwise(path))


def test_closed_square_tour_is_its_perimeter():
    result = plan_patrols(SQUARE, planar=True, time_limit=0.3)
    [route] = result.routes
    assert route.inspector == 1 and route.closed and route.stops[0] == "A"
    assert sorted(route.stops) == ["A", "B", "C", "D"]  # the start once, at the front
    assert route.length == 400 and result.total_length == 400
    assert result.dropped == [] and result.placement is None
    assert result.as_dict() == {
        "routes": [{"inspector": 1, "stops": route.stops, "length": 400, "closed": True}],
        "total_length": 400,
        "dropped": [],
    }


@pytest.mark.parametrize("seed", [3, 8])
def test_tours_and_paths_match_brute_force(seed):
    xy = np.random.default_rng(seed).random((7, 2)) * 1000
    stops = [Stop(f"P{k}", float(x), float(y)) for k, (x, y) in enumerate(xy)]
    closed = plan_patrols(stops, planar=True, start="P2", time_limit=0.5)
    [route] = closed.routes
    assert route.stops[0] == "P2" and sorted(route.stops) == sorted(s.id for s in stops)
    assert route.length == _length(stops, route) == _brute_force(stops, start=2, end=None, closed=True)
    fixed = plan_patrols(stops, planar=True, start="P0", end="P5", open_path=True, time_limit=0.5)
    [path] = fixed.routes
    assert (path.stops[0], path.stops[-1], path.closed) == ("P0", "P5", False)
    assert path.length == _length(stops, path) == _brute_force(stops, start=0, end=5, closed=False)


def test_open_path_back_to_its_start_is_a_closed_tour():
    [route] = plan_patrols(SQUARE, planar=True, start="C", end="C", open_path=True, time_limit=0.3).routes
    assert route.closed and route.stops[0] == "C" and route.length == 400


def test_free_open_path_ends_wherever_is_shortest():
    line = [Stop(str(x), x, 0) for x in (0, 300, 100, 200)]
    [route] = plan_patrols(line, planar=True, open_path=True, time_limit=0.3).routes
    assert route.stops == ["0", "100", "200", "300"] and route.length == 300 and not route.closed


def test_two_inspectors_share_the_stops_within_the_budget():
    # two clusters 1 km either side of the start; one route through both is > 4 km
    stops = (
        [Stop("S", 0, 0)]
        + [Stop(f"W{k}", -1000, 10 * k) for k in range(3)]
        + [Stop(f"E{k}", 1000, 10 * k) for k in range(3)]
    )
    result = plan_patrols(stops, planar=True, vehicles=2, max_length=2200, time_limit=0.5)
    assert [r.inspector for r in result.routes] == [1, 2]
    assert all(r.stops[0] == "S" and r.length <= 2200 for r in result.routes)
    assert sorted(s for r in result.routes for s in r.stops[1:]) == sorted(s.id for s in stops[1:])
    assert {frozenset(s[0] for s in r.stops[1:]) for r in result.routes} == {frozenset("W"), frozenset("E")}
    assert result.total_length == pytest.approx(sum(_length(stops, r) for r in result.routes))


def test_optional_stop_not_worth_its_detour_is_dropped_by_id():
    stops = [*SQUARE, Stop("far", 5000, 0, mandatory=False, prize=100.0)]
    result = plan_patrols(stops, planar=True, time_limit=0.3)
    assert result.dropped == ["far"] and result.total_length == 400


def test_a_custom_provider_gives_the_lengths():
    seen = []

    def provider(coords):
        seen.append(coords.copy())
        m = np.full((len(coords), len(coords)), 50.0)
        np.fill_diagonal(m, 0.0)
        return m

    result = plan_patrols(SQUARE, planar=True, provider=provider, time_limit=0.3)
    assert result.total_length == 200  # four legs of 50
    assert seen[0].tolist() == [[0, 0], [100, 0], [100, 100], [0, 100]]


def test_lonlat_without_a_street_network_says_what_to_do():
    with pytest.raises(InvalidInput, match=r"路网尚未导入.*--planar"):
        plan_patrols([Stop("A", 106.5, 33.9), Stop("B", 106.51, 33.9)], time_limit=0.3)


@pytest.mark.parametrize(
    ("stops", "options", "words"),
    [
        ([*SQUARE, Stop("B", 5, 5)], {}, "点位编号重复：B"),
        (SQUARE[:1], {}, "至少需要 2 个点位.*只有 1 个"),
        (SQUARE, {"start": "Z"}, "起点 --start 的点位 Z 不在点位文件中（文件中的编号如：A、B、C、D…）"),
        (SQUARE, {"end": "C"}, "指定了终点 --end C.*回到起点 A.*--open"),
        (SQUARE, {"end": "Z", "open_path": True}, "终点 --end 的点位 Z"),
        (SQUARE, {"max_length": 0}, "--max-length 应为正数，实际为 0"),
        (SQUARE, {"vehicles": 0}, "--vehicles 应至少为 1"),
        (SQUARE, {"time_limit": 0}, "--time-limit 应为正数"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(stops, options, words):
    with pytest.raises(InvalidInput, match=words):
        plan_patrols(stops, planar=True, **options)


def test_start_ids_are_trimmed():
    [route] = plan_patrols(SQUARE, planar=True, start=" B ", time_limit=0.3).routes
    assert route.stops[0] == "B"


def test_as_dict_rounds_fractions_and_keeps_whole_numbers():
    plan = PatrolPlan(
        routes=[PatrolRoute(1, ["A", "B"], 100.0000001, True), PatrolRoute(2, ["A", "C"], 12.345, True)],
        dropped=["D"],
    )
    data = plan.as_dict()
    assert [r["length"] for r in data["routes"]] == [100, 12.35]
    assert isinstance(data["routes"][0]["length"], int)
    assert data["total_length"] == 112.35 and data["dropped"] == ["D"]
