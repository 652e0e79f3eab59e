"""Single tours: valid permutations, open paths with a fixed end, exactness on small cases, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gridmap.routing.matrix import planar_matrix
from gridmap.routing.tsp import path_length, solve_tour


def points(n: int, seed: int, scale: float = 1000.0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 2)) * scale


def brute_force(m: np.ndarray, *, start: int, end: int | None, closed: bool) -> float:
    middle = [v for v in range(len(m)) if v not in (start, end)]
    tail = [end] if end is not None else []
    return min(path_length(m, [start, *p, *tail], closed=closed) for p in itertools.permutations(middle))


def is_permutation(order: list[int], n: int) -> bool:
    return sorted(order) == list(range(n))


@pytest.mark.parametrize("n", [2, 3, 5, 12, 40, 150])
def test_closed_tour_is_a_permutation_from_the_start(n):
    m = planar_matrix(points(n, n))
    start = n // 2
    order = solve_tour(m, start=start, time_limit=0.5)
    assert is_permutation(order, n)
    assert order[0] == start


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_cases_are_optimal(seed):
    m = planar_matrix(points(8, seed), rounded=False)  # 8 nodes: past the built-in brute force
    closed = solve_tour(m, start=0, time_limit=0.5)
    assert path_length(m, closed, closed=True) == pytest.approx(
        brute_force(m, start=0, end=None, closed=True)
    )
    free = solve_tour(m, start=2, closed=False, time_limit=0.5)
    assert free[0] == 2
    assert path_length(m, free, closed=False) == pytest.approx(
        brute_force(m, start=2, end=None, closed=False)
    )
    fixed = solve_tour(m, start=2, end=6, closed=False, time_limit=0.5)
    assert fixed[0] == 2 and fixed[-1] == 6
    assert path_length(m, fixed, closed=False) == pytest.approx(brute_force(m, start=2, end=6, closed=False))


def test_open_path_with_fixed_end_on_a_larger_set():
    m = planar_matrix(points(120, 9))
    order = solve_tour(m, start=5, end=77, closed=False, time_limit=0.5)
    assert is_permutation(order, 120)
    assert order[0] == 5 and order[-1] == 77
    # the path is never longer than the closed tour through the same stops
    assert path_length(m, order, closed=False) <= path_length(
        m, solve_tour(m, start=5, time_limit=0.5), closed=True
    )


def test_open_path_on_a_line_goes_end_to_end():
    xy = np.array([[x, 0.0] for x in (0, 30, 10, 50, 20, 40, 60, 70, 80, 90)])
    m = planar_matrix(xy)
    order = solve_tour(m, start=0, closed=False, time_limit=0.3)
    assert [xy[k, 0] for k in order] == sorted(xy[:, 0])
    assert path_length(m, order, closed=False) == 90


def test_same_seed_same_tour_even_with_many_equal_optima():
    # a 6 × 7 lattice has very many optimal tours of length 4200
    lattice = np.array([(i, j) for i in range(6) for j in range(7)], dtype=float) * 100
    m = planar_matrix(lattice)
    runs = {tuple(solve_tour(m, seed=11, time_limit=0.3)) for _ in range(3)}
    assert len(runs) == 1
    assert path_length(m, list(runs.pop()), closed=True) == 4200
    paths = {tuple(solve_tour(m, start=3, end=40, closed=False, seed=11, time_limit=0.3)) for _ in range(3)}
    assert len(paths) == 1


def test_lengths_beyond_the_16_bit_range_and_fractions():
    xy = points(60, 4, scale=1.0)
    unit = planar_matrix(xy, rounded=False)
    huge = unit * 1e7  # lengths up to ~1.4e7 do not fit fast-tsp's 0–65535 directly
    a = solve_tour(unit, time_limit=0.3)
    b = solve_tour(huge, time_limit=0.3)
    assert is_permutation(b, 60)
    assert path_length(huge, b, closed=True) <= path_length(unit, a, closed=True) * 1e7 * 1.005


def test_asymmetric_matrix_takes_the_shorter_direction():
    m = planar_matrix(points(30, 5))
    order = solve_tour(m, time_limit=0.3)
    skew = m.copy()
    for a, b in zip(order, order[1:] + order[:1]):
        skew[a, b] += 50  # going round this way costs more
    best = solve_tour(skew, time_limit=0.3)
    assert is_permutation(best, 30) and best[0] == 0
    reverse = [best[0], *reversed(best[1:])]
    assert path_length(skew, best, closed=True) <= path_length(skew, reverse, closed=True)
    # on a circle, going clockwise costs 500 more per leg: the tour is walked counter-clockwise
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    rng = np.random.default_rng(2)
    shuffled = rng.permutation(24)
    xy = np.c_[np.cos(angles), np.sin(angles)][shuffled] * 1000
    theta = angles[shuffled]
    one_way = planar_matrix(xy)
    ahead = (theta[None, :] - theta[:, None]) % (2 * np.pi)
    one_way[ahead > np.pi] += 500  # a clockwise leg; counter-clockwise legs cost their length
    walked = solve_tour(one_way, time_limit=0.3)
    steps = [(theta[b] - theta[a]) % (2 * np.pi) for a, b in zip(walked, walked[1:] + walked[:1])]
    assert all(0 < step < np.pi for step in steps)


def test_bad_arguments():
    m = planar_matrix(points(5, 1))
    with pytest.raises(ValueError):
        solve_tour(m, start=9)
    with pytest.raises(ValueError):
        solve_tour(m, end=2)  # an end needs an open path
    with pytest.raises(ValueError):
        solve_tour(m, start=1, end=1, closed=False)
    bad = m.copy()
    bad[0, 1] = np.inf
    with pytest.raises(ValueError):
        solve_tour(bad)
