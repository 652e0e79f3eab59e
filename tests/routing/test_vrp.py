"""Many inspectors: budgets kept, optional stops dropped by value, infeasible budgets explained by name."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gridmap.errors import InvalidInput
from gridmap.routing.matrix import planar_matrix
from gridmap.routing.tsp import path_length
from gridmap.routing.vrp import solve_tours


def ring(count: int, radius: float) -> np.ndarray:
    """A start at the origin (node 0) and `count` stops evenly on a circle around it."""
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.vstack([[0.0, 0.0], np.c_[np.cos(angles), np.sin(angles)] * radius])


def served(result) -> list[int]:
    inner = []
    for r in result.tours:
        inner += r.stops[1:]
    return sorted(inner)


def test_routes_respect_the_budget_and_cover_every_stop():
    xy = np.random.default_rng(4).random((41, 2)) * 2000
    xy[0] = (1000, 1000)
    m = planar_matrix(xy)
    result = solve_tours(m, vehicles=4, max_length=5000, time_limit=1.0, seed=1)
    assert result.dropped == []
    assert served(result) == list(range(1, 41))
    assert len(result.tours) >= 2  # one tour through all 40 is far longer than 5 km
    for r in result.tours:
        assert r.stops[0] == 0
        assert r.length == path_length(m, r.stops, closed=True)
        assert r.work <= 5000
    assert result.total_length == pytest.approx(sum(r.length for r in result.tours))


def test_one_inspector_without_budget_gets_one_optimal_tour():
    xy = ring(10, 500)
    m = planar_matrix(xy, rounded=False)
    result = solve_tours(m, vehicles=3, time_limit=0.5)
    assert len(result.tours) == 1
    assert served(result) == list(range(1, 11))
    # Optimal: out to the ring, round it through 9 neighbour chords, back. No tour is shorter,
    # since it needs two legs to the centre and 9 legs between ring stops, each at least a chord.
    optimum = 2 * 500 + 9 * 2 * 500 * np.sin(np.pi / 10)
    [tour] = result.tours
    assert tour.length == pytest.approx(path_length(m, tour.stops, closed=True))
    assert tour.length == pytest.approx(optimum, rel=1e-9)
    assert result.total_length == pytest.approx(optimum, rel=1e-9)


def test_one_inspector_tour_matches_brute_force_on_a_tiny_instance():
    import itertools

    xy = np.random.default_rng(12).random((8, 2)) * 1000
    m = planar_matrix(xy, rounded=False)
    best = min(path_length(m, [0, *p], closed=True) for p in itertools.permutations(range(1, 8)))
    [tour] = solve_tours(m, time_limit=0.5).tours
    assert tour.length == pytest.approx(best)


def test_service_counts_towards_the_budget():
    xy = ring(6, 100)
    m = planar_matrix(xy)
    service = [0] + [300] * 6
    result = solve_tours(m, vehicles=6, max_length=1000, service=service, time_limit=0.5)
    for r in result.tours:
        assert r.work == r.length + 300 * (len(r.stops) - 1)
        assert r.work <= 1000
    assert served(result) == list(range(1, 7))
    assert len(result.tours) >= 3  # 6 × 300 m of service cannot fit in fewer 1 km routes


def test_optional_stops_are_dropped_least_valuable_first():
    # start at 0; two mandatory stops near it; two optional ones far out on either side
    xy = np.array([[0, 0], [10, 0], [0, 10], [500, 0], [-500, 0]], dtype=float)
    m = planar_matrix(xy)
    mandatory = [True, True, True, False, False]
    # a budget of 1100 m fits one far stop and not both
    cheap_first = solve_tours(
        m, max_length=1100, mandatory=mandatory, prizes=[None, None, None, 5000, 9000], time_limit=0.5
    )
    assert cheap_first.dropped == [3]
    assert served(cheap_first) == [1, 2, 4]
    other_way = solve_tours(
        m, max_length=1100, mandatory=mandatory, prizes=[None, None, None, 9000, 5000], time_limit=0.5
    )
    assert other_way.dropped == [4]
    roomy = solve_tours(m, max_length=5000, mandatory=mandatory, time_limit=0.5)
    assert roomy.dropped == []


def test_optional_stop_worth_less_than_its_detour_is_left_out():
    xy = np.array([[0, 0], [10, 0], [0, 10], [500, 0]], dtype=float)
    m = planar_matrix(xy)
    result = solve_tours(
        m, mandatory=[True, True, True, False], prizes=[None, None, None, 50], time_limit=0.5
    )
    assert result.dropped == [3]


def test_open_routes_with_a_fixed_end_and_per_inspector_budgets():
    xy = np.random.default_rng(8).random((25, 2)) * 1000
    m = planar_matrix(xy)
    result = solve_tours(
        m, vehicles=2, max_length=[2500, 3000], starts=0, ends=24, closed=False, time_limit=1.0
    )
    for r in result.tours:
        assert r.stops[0] == 0 and r.stops[-1] == 24
        assert r.work <= [2500, 3000][r.vehicle]
        assert r.length == path_length(m, r.stops, closed=False)
    inner = sorted(k for r in result.tours for k in r.stops[1:-1])
    assert inner == list(range(1, 24))


def test_a_stop_too_far_for_any_budget_is_named_with_the_budget_needed():
    xy = np.array([[0, 0], [100, 0], [0, 100], [3000, 0]], dtype=float)
    names = ["起点", "P1", "P2", "远点"]
    with pytest.raises(InvalidInput) as caught:
        solve_tours(planar_matrix(xy), vehicles=5, max_length=2000, names=names, time_limit=0.5)
    message = str(caught.value)
    assert "远点" in message and "P1" not in message
    assert "6,000 米" in message  # out and back
    assert "增加巡查员也无济于事" in message


def test_too_small_a_budget_names_the_stops_and_what_would_serve():
    xy = ring(12, 1000)  # each stop alone is 2 km out and back; all twelve need far more than 3 km
    m = planar_matrix(xy)
    names = ["站"] + [f"S{k}" for k in range(1, 13)]
    with pytest.raises(InvalidInput) as caught:
        solve_tours(m, vehicles=1, max_length=3000, names=names, time_limit=1.0, seed=2)
    message = str(caught.value)
    named = re.findall(r"S\d+", message.split("无法安排")[0])
    assert named and set(named) <= set(names)
    more = re.search(r"增加到 (\d+) 名巡查员", message)
    longer = re.search(r"放宽到约 ([\d,]+) 米", message)
    assert more and longer, message
    # what the message proposes really serves
    enough = solve_tours(m, vehicles=int(more.group(1)), max_length=3000, time_limit=1.0, seed=2)
    assert served(enough) == list(range(1, 13))
    assert all(r.work <= 3000 for r in enough.tours)
    wider = float(longer.group(1).replace(",", ""))
    assert served(solve_tours(m, vehicles=1, max_length=wider, time_limit=1.0, seed=2)) == list(range(1, 13))


def test_unreachable_stops_are_named():
    m = planar_matrix(np.random.default_rng(3).random((6, 2)) * 100)
    m[:, 4] = m[4, :] = np.inf  # stop 4 is on a piece of the network of its own
    m[4, 4] = 0
    with pytest.raises(InvalidInput, match="不连通") as caught:
        solve_tours(m, names=["A", "B", "C", "D", "孤岛", "F"], time_limit=0.5)
    assert "孤岛" in str(caught.value)


def test_same_seed_same_plan():
    xy = np.random.default_rng(6).random((30, 2)) * 1500
    m = planar_matrix(xy)
    first = solve_tours(m, vehicles=3, max_length=3500, time_limit=1.0, seed=4)
    second = solve_tours(m, vehicles=3, max_length=3500, time_limit=1.0, seed=4)
    assert [r.stops for r in first.tours] == [r.stops for r in second.tours]


def test_open_routes_end_wherever_is_shortest():
    xy = ring(8, 1000)
    m = planar_matrix(xy)
    # out to the ring and along it: a closed route would need the way back too
    result = solve_tours(m, vehicles=2, max_length=4500, closed=False, time_limit=1.0, seed=3)
    assert served(result) == list(range(1, 9))
    for r in result.tours:
        assert r.stops[0] == 0 and not r.closed
        assert r.length == path_length(m, r.stops, closed=False) <= 4500
