"""One patrol through every stop: near-optimal closed tours and open paths (fast-tsp + a seeded polish)."""

from __future__ import annotations

import itertools
import time

import fast_tsp
import numpy as np
from numpy.typing import NDArray

DEFAULT_TIME_LIMIT = 2.0
_UINT16_ROOM = 65000  # fast-tsp takes whole distances up to 65535; keep room for the dummy node
_POLISH_MAX_NODES = 300  # the O(n²)-per-move polish runs up to this size (always when needed for a repair)
_TIE_SPREAD = 1000  # tie-break weights are drawn from 0 … _TIE_SPREAD - 1


def solve_tour(
    matrix: NDArray[np.floating] | NDArray[np.integer],
    *,
    start: int = 0,
    end: int | None = None,
    closed: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
) -> list[int]:
    """Order in which to visit every node of `matrix`, beginning at `start`.

    Parameters
    ----------
    matrix
        n × n non-negative, finite lengths. An asymmetric matrix is searched in its symmetric
        mean and the direction of a closed tour is then chosen on the real lengths.
    start
        Index of the first node of the order.
    end
        With ``closed=False``: index of the last node, or None to end wherever is shortest.
    closed
        True for a tour that returns to `start` (the order lists `start` once, at the front);
        False for an open path.
    time_limit
        Upper bound in seconds. The search stops earlier on small problems (about 0.1 s plus
        2 ms per node), where more time no longer pays.
    seed
        Chooses among tours of equal length (a seeded tie-break), so that the same input and
        seed give the same order whenever the search reaches the same optimum.

    Returns
    -------
    list[int]
        A permutation of ``range(n)`` starting with `start` (and ending with `end` if given).
    """
    began = time.perf_counter()
    dist = _check_matrix(matrix)
    n = len(dist)
    if not 0 <= start < n:
        msg = f"start={start} is not a node of a {n}-node matrix"
        raise ValueError(msg)
    if end is not None:
        if closed:
            msg = "end is only meaningful for an open path (closed=False)"
            raise ValueError(msg)
        if not 0 <= end < n or end == start:
            msg = f"end={end} must be a node of the matrix other than start={start}"
            raise ValueError(msg)
    if n <= 7:
        return _brute_force(dist, start=start, end=end, closed=closed)

    sym = (dist + dist.T) / 2.0
    anchors = [] if closed else [start] if end is None else [start, end]
    exact = _exact_weights(sym, anchors)
    budget = min(time_limit, 0.1 + 0.002 * n)
    cycle: list[int] | NDArray[np.int64] = _search(
        exact, budget=max(0.02, budget - (time.perf_counter() - began)), dummy=bool(anchors)
    )
    m = len(exact)
    if m <= _POLISH_MAX_NODES or not _anchored(cycle, n, anchors):
        weights = _tie_broken(exact, seed)
        cycle = _polish(weights, np.asarray(cycle, dtype=np.int64), max_moves=4 * m)
        if not _anchored(cycle, n, anchors):
            msg = "internal error: the open path could not be anchored at its start and end"
            raise RuntimeError(msg)
    return _orient(dist, [int(v) for v in cycle], n=n, start=start, end=end, closed=closed)


def path_length(
    matrix: NDArray[np.floating] | NDArray[np.integer], order: list[int], *, closed: bool
) -> float:
    """Length of visiting `order` in turn on `matrix`, back to the first node when `closed`."""
    if len(order) < 2:
        return 0.0
    idx = np.asarray(order, dtype=np.int64)
    nxt = np.roll(idx, -1) if closed else idx[1:]
    cur = idx if closed else idx[:-1]
    return float(np.asarray(matrix)[cur, nxt].sum())


def _check_matrix(matrix: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
    dist = np.asarray(matrix, dtype=np.float64)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1] or dist.shape[0] == 0:
        msg = f"the matrix must be square and non-empty, got shape {dist.shape}"
        raise ValueError(msg)
    if not np.isfinite(dist).all() or (dist < 0).any():
        msg = "the matrix must hold finite, non-negative lengths"
        raise ValueError(msg)
    return dist


def _brute_force(dist: NDArray[np.float64], *, start: int, end: int | None, closed: bool) -> list[int]:
    """Exact answer for a handful of nodes, by trying every order (first best in lexicographic order)."""
    n = len(dist)
    middle = [v for v in range(n) if v != start and v != end]
    best: tuple[float, list[int]] | None = None
    for perm in itertools.permutations(middle):
        order = [start, *perm] + ([end] if end is not None else [])
        length = path_length(dist, order, closed=closed)
        if best is None or length < best[0] - 1e-9:
            best = (length, order)
    return best[1] if best else [start]


def _exact_weights(sym: NDArray[np.float64], anchors: list[int]) -> NDArray[np.int64]:
    """Whole-number weights for the search, with a dummy node that turns an open path into a tour.

    The dummy is 0 away from the anchors (start, and end if fixed) and M = longest edge + 1 from
    every other node; an optimal tour then has the dummy between the anchors (or next to the
    start), since moving it there changes the path by at most one longest edge.
    """
    if np.allclose(sym, np.round(sym)) and sym.max() <= 4e15:
        base = np.round(sym).astype(np.int64)
    else:
        base = np.round(sym * (1e9 / max(sym.max(), 1e-12))).astype(np.int64)
    if not anchors:
        return base
    n = len(base)
    big = int(base.max()) + 1
    out = np.zeros((n + 1, n + 1), dtype=np.int64)
    out[:n, :n] = base
    out[n, :n] = big
    out[:n, n] = big
    for a in anchors:
        out[n, a] = out[a, n] = 0
    return out


def _search(exact: NDArray[np.int64], *, budget: float, dummy: bool) -> list[int]:
    """fast-tsp on the weights scaled into its 16-bit range (exact for 20 nodes or fewer)."""
    top = int(exact.max())
    if top <= _UINT16_ROOM:
        scaled = exact
    else:
        scaled = np.round(exact * (_UINT16_ROOM / top)).astype(np.int64)
        if dummy:  # keep the dummy's far edges strictly longer than any real edge after rounding
            scaled[exact == top] = _UINT16_ROOM + 1
    return list(fast_tsp.find_tour(np.ascontiguousarray(scaled, dtype=np.int64), duration_seconds=budget))


def _anchored(cycle: list[int] | NDArray[np.int64], n: int, anchors: list[int]) -> bool:
    """True when the dummy (node n) sits next to every anchor (always true for a closed tour)."""
    if not anchors:
        return True
    cyc = [int(v) for v in cycle]
    i = cyc.index(n)
    neighbours = {cyc[i - 1], cyc[(i + 1) % len(cyc)]}
    return all(a in neighbours for a in anchors)


def _tie_broken(exact: NDArray[np.int64], seed: int) -> NDArray[np.int64]:
    """Weights ordered first by length, then by a seeded symmetric tie-break that no tour can exceed."""
    m = len(exact)
    rng = np.random.default_rng(seed)
    ties = np.triu(rng.integers(0, _TIE_SPREAD, size=(m, m), dtype=np.int64), 1)
    ties = ties + ties.T
    scale = m * _TIE_SPREAD + 1
    if int(exact.max()) > np.iinfo(np.int64).max // (2 * scale):
        exact = exact // (int(exact.max()) // (np.iinfo(np.int64).max // (2 * scale)) + 1)
    return exact * scale + ties


def _two_opt(w: NDArray[np.int64], t: NDArray[np.int64]) -> NDArray[np.int64] | None:
    """Best improving 2-opt move (reverse t[i+1..j]), or None."""
    m = len(t)
    a, b = t, np.roll(t, -1)
    ab = w[a, b]
    delta = w[a[:, None], a[None, :]] + w[b[:, None], b[None, :]] - ab[:, None] - ab[None, :]
    valid = np.triu(np.ones((m, m), dtype=bool), 2)
    valid[0, m - 1] = False
    delta = np.where(valid, delta, 0)
    i, j = divmod(int(np.argmin(delta)), m)
    if delta[i, j] >= 0:
        return None
    out = t.copy()
    out[i + 1 : j + 1] = t[i + 1 : j + 1][::-1]
    return out


def _or_opt(w: NDArray[np.int64], t: NDArray[np.int64]) -> NDArray[np.int64] | None:
    """Best improving move of a run of 1–3 nodes elsewhere (either way round), or None."""
    m = len(t)
    idx = np.arange(m)
    u, v = t, np.roll(t, -1)
    uv = w[u, v]
    best: tuple[int, tuple[int, int, int, bool]] | None = None
    for length in (1, 2, 3):
        if length > m - 3:
            break
        first, last = t, t[(idx + length - 1) % m]
        before, after = t[(idx - 1) % m], t[(idx + length) % m]
        removal = w[before, first] + w[last, after] - w[before, after]
        offset = (idx[None, :] - idx[:, None]) % m
        blocked = (offset >= m - 1) | (offset <= length - 1)
        for reverse in (False, True):
            head, tail = (last, first) if reverse else (first, last)
            insert = w[u[None, :], head[:, None]] + w[tail[:, None], v[None, :]] - uv[None, :]
            delta = np.where(blocked, 0, insert - removal[:, None])
            i, j = divmod(int(np.argmin(delta)), m)
            if delta[i, j] < 0 and (best is None or delta[i, j] < best[0]):
                best = (int(delta[i, j]), (length, i, j, reverse))
    if best is None:
        return None
    length, i, j, reverse = best[1]
    positions = [(i + k) % m for k in range(length)]
    run = [int(t[p]) for p in positions]
    if reverse:
        run.reverse()
    taken = set(positions)
    rest = [int(t[p]) for p in range(m) if p not in taken]
    at = rest.index(int(t[j])) + 1
    return np.asarray(rest[:at] + run + rest[at:], dtype=np.int64)


def _polish(w: NDArray[np.int64], t: NDArray[np.int64], *, max_moves: int) -> NDArray[np.int64]:
    """Deterministic best-improvement 2-opt and Or-opt on tie-broken weights, to a local optimum."""
    if len(t) < 5:
        return t
    for _ in range(max_moves):
        better = _two_opt(w, t)
        if better is None:
            better = _or_opt(w, t)
        if better is None:
            break
        t = better
    return t


def _orient(
    dist: NDArray[np.float64], cycle: list[int], *, n: int, start: int, end: int | None, closed: bool
) -> list[int]:
    """Turn the solver's cycle into the order asked for: from `start`, the right way round."""
    if closed:
        i = cycle.index(start)
        forward = cycle[i:] + cycle[:i]
        backward = [forward[0], *reversed(forward[1:])]
        lf, lb = path_length(dist, forward, closed=True), path_length(dist, backward, closed=True)
        if lb < lf or (lb == lf and backward[1] < forward[1]):
            return backward
        return forward
    i = cycle.index(n)
    path = cycle[i + 1 :] + cycle[:i]
    if path[0] != start:
        path.reverse()
    if path[0] != start or (end is not None and path[-1] != end):
        msg = "internal error: the open path does not run from start to end"
        raise RuntimeError(msg)
    return path
