"""Patrols for many inspectors under route budgets: prize-collecting vehicle routing (PyVRP), checked and explained."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

from gridmap.errors import InvalidInput
from gridmap.routing.tsp import DEFAULT_TIME_LIMIT, path_length, solve_tour

_STALL = 1000  # PyVRP stops after this many iterations without improvement (deterministic) …
_SEARCH_SHARE = 0.75  # … or after this share of the time limit; the rest re-orders each route
_EPS = 1e-6


@dataclass(frozen=True)
class Tour:
    """One vehicle's tour from the solver: node indices in visiting order, from the start to the end if fixed."""

    vehicle: int
    stops: list[int]
    length: float
    work: float  # length plus service at the visited stops: what the budget limits
    closed: bool


@dataclass(frozen=True)
class TourSet:
    """The solver's answer: the tours of the vehicles that have stops, and the optional nodes left out."""

    tours: list[Tour]
    dropped: list[int] = field(default_factory=list)

    @property
    def total_length(self) -> float:
        return float(sum(t.length for t in self.tours))


@dataclass(frozen=True)
class _Vehicle:
    start: int
    end: int | None  # a node, or None: end wherever the last stop is
    closed: bool  # end == start
    budget: float | None


def solve_tours(
    matrix: NDArray[np.floating] | NDArray[np.integer],
    *,
    vehicles: int = 1,
    max_length: float | Sequence[float | None] | None = None,
    service: Sequence[float] | None = None,
    mandatory: Sequence[bool] | None = None,
    prizes: Sequence[float | None] | None = None,
    starts: int | Sequence[int] = 0,
    ends: int | Sequence[int | None] | None = None,
    closed: bool = True,
    names: Sequence[str] | None = None,
    coords: NDArray[np.floating] | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
) -> TourSet:
    """Tours for `vehicles` inspectors that visit every mandatory stop within each budget.

    Parameters
    ----------
    matrix
        n × n lengths (metres) between nodes; np.inf where a node cannot be reached.
    vehicles
        Number of inspectors.
    max_length
        Budget of one route (travel plus service), the same for all or one per inspector;
        None for no limit.
    service
        Extra length charged per visited node (time on site × walking speed); 0 by default.
    mandatory
        Per node: True (default) must be visited; False may be dropped when budgets are short.
    prizes
        Per optional node: the detour in metres it is worth; None (default) is worth any detour,
        so it is dropped only when no budget can take it. The least valuable go first.
    starts, ends
        Start node of each inspector (one for all, or one each), and end node (None: back to
        the start when `closed`, else wherever the last stop is).
    closed
        Whether routes without an explicit end return to their start.
    names
        Node labels for messages (the stop ids); indices by default.
    coords
        n × 2 coordinates of the nodes, if known: they help the search compare routes by direction.
    time_limit, seed
        Search time in seconds (upper bound) and the random seed.

    Returns
    -------
    TourSet
        Non-empty tours in inspector order, and the optional nodes left out. Every tour is
        checked here against its budget.

    Raises
    ------
    InvalidInput
        When a stop cannot be reached from any start, or the mandatory stops do not fit: the
        message names the stops and says how many inspectors or how long a budget would serve.
    """
    began = time.perf_counter()
    dist = _check(matrix)
    n = len(dist)
    label = [str(x) for x in names] if names is not None else [str(i) for i in range(n)]
    fleet = _fleet(n, vehicles=vehicles, max_length=max_length, starts=starts, ends=ends, closed=closed)
    depots = {v.start for v in fleet} | {v.end for v in fleet if v.end is not None}
    svc = np.zeros(n) if service is None else np.asarray(service, dtype=np.float64)
    must = np.ones(n, dtype=bool) if mandatory is None else np.asarray(mandatory, dtype=bool)
    worth = [None] * n if prizes is None else list(prizes)
    if len(svc) != n or len(must) != n or len(worth) != n or (svc < 0).any() or not np.isfinite(svc).all():
        msg = "service, mandatory and prizes need one entry per node (service finite and ≥ 0)"
        raise ValueError(msg)
    clients = [i for i in range(n) if i not in depots]
    worth = [None if must[i] else worth[i] for i in range(n)]
    _check_reachable(dist, fleet, clients, label)
    _check_start_to_end(dist, fleet, label)
    required = [i for i in clients if must[i]]
    _check_each_fits(dist, svc, fleet, required, label)

    remaining = lambda: time_limit - (time.perf_counter() - began)  # noqa: E731
    whole = _one_tour(dist, svc, fleet, clients, worth, remaining(), seed)
    if whole is not None:
        return TourSet(tours=[whole], dropped=[])

    xy = np.zeros((n, 2)) if coords is None else np.asarray(coords, dtype=np.float64)
    routes, dropped = _solve(dist, svc, must, worth, fleet, clients, remaining() * _SEARCH_SHARE, seed, xy)
    share = max(0.02, remaining()) / max(1, len(routes))
    routes = [_reorder(dist, svc, r, fleet[r.vehicle], share, seed) for r in routes]
    _verify(dist, svc, fleet, routes, clients)
    missing = [i for i in dropped if must[i]]
    if missing:
        _explain(dist, svc, fleet, required, missing, label, time_limit=time_limit, seed=seed)
    return TourSet(tours=routes, dropped=sorted(dropped))


def _check(matrix: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
    dist = np.asarray(matrix, dtype=np.float64)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1] or dist.shape[0] < 1:
        msg = f"the matrix must be square and non-empty, got shape {dist.shape}"
        raise ValueError(msg)
    if np.isnan(dist).any() or (dist < 0).any():
        msg = "the matrix must hold non-negative lengths (np.inf where unreachable)"
        raise ValueError(msg)
    return dist


def _per_vehicle(value, k: int, what: str) -> list:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != k:
            msg = f"{what}: expected one value or {k} values (one per inspector), got {len(value)}"
            raise ValueError(msg)
        return list(value)
    return [value] * k


def _fleet(n: int, *, vehicles: int, max_length, starts, ends, closed: bool) -> list[_Vehicle]:
    if vehicles < 1:
        msg = f"巡查员人数应至少为 1，实际为 {vehicles}"
        raise InvalidInput(msg)
    budgets = _per_vehicle(max_length, vehicles, "max_length")
    start_of = _per_vehicle(starts, vehicles, "starts")
    end_of = _per_vehicle(ends, vehicles, "ends")
    fleet = []
    for b, s, e in zip(budgets, start_of, end_of):
        if b is not None and not (math.isfinite(b) and b > 0):
            msg = f"路线长度上限应为正数，实际为 {b}"
            raise InvalidInput(msg)
        for node in (s, e):
            if node is not None and not 0 <= int(node) < n:
                msg = f"start/end node {node} is not in the {n}-node matrix"
                raise ValueError(msg)
        s = int(s)
        if e is None:
            fleet.append(_Vehicle(start=s, end=s if closed else None, closed=closed, budget=b))
        else:
            fleet.append(_Vehicle(start=s, end=int(e), closed=int(e) == s, budget=b))
    return fleet


def _names(label: Sequence[str], nodes: Sequence[int], limit: int = 20) -> str:
    shown = "、".join(label[i] for i in nodes[:limit])
    return shown + (f" 等 {len(nodes)} 个" if len(nodes) > limit else "")


def _home(dist: NDArray[np.float64], v: _Vehicle, i: int) -> float:
    """Length of the shortest route of vehicle v that serves node i alone (without service)."""
    back = 0.0 if v.end is None else dist[i, v.end]
    return float(dist[v.start, i] + back)


def _check_reachable(dist: NDArray[np.float64], fleet: list[_Vehicle], clients: list[int], label) -> None:
    cut = [i for i in clients if not any(math.isfinite(_home(dist, v, i)) for v in fleet)]
    if cut:
        starts = sorted({v.start for v in fleet})
        msg = (
            f"点位 {_names(label, cut)} 与起点 {_names(label, starts)} 不连通（在路网中不相连的部分，"
            "无法从起点到达或无法返回）。请检查路网，或把这些点位交给从它们所在片区出发的巡查员。"
        )
        raise InvalidInput(msg)


def _check_start_to_end(dist, fleet: list[_Vehicle], label) -> None:
    """An inspector whose fixed end is out of budget from the start can serve nothing."""
    for v in fleet:
        if v.end is not None and v.budget is not None and dist[v.start, v.end] > v.budget + _EPS:
            msg = (
                f"从起点 {label[v.start]} 直接到终点 {label[v.end]} 就要 {_fmt(dist[v.start, v.end])} 米，"
                f"超过了路线长度上限 {_fmt(v.budget)} 米：请把上限放宽到至少这么长，或换一个终点"
            )
            raise InvalidInput(msg)


def _check_each_fits(dist, svc, fleet: list[_Vehicle], required: list[int], label) -> None:
    """A mandatory stop that no inspector can serve alone within budget makes any plan impossible."""
    if all(v.budget is None for v in fleet):
        return
    too_far: list[tuple[int, float]] = []
    for i in required:
        alone = [_home(dist, v, i) + svc[i] for v in fleet]
        if not any(v.budget is None or a <= v.budget + _EPS for v, a in zip(fleet, alone)):
            too_far.append((i, min(alone)))
    if too_far:
        top = max(v.budget for v in fleet if v.budget is not None)
        need = max(a for _, a in too_far)
        trip = "往返" if all(v.end is not None for v in fleet) else "前往"
        extra = "（含现场折算长度）" if any(svc[i] > 0 for i, _ in too_far) else ""
        each = "、".join(f"{label[i]}（需 {_fmt(a)} 米）" for i, a in too_far[:20])
        more = f" 等 {len(too_far)} 个" if len(too_far) > 20 else ""
        msg = (
            f"必去点位 {each}{more} 单独{trip}一趟{extra}就超过了路线长度上限 {_fmt(top)} 米，"
            f"增加巡查员也无济于事。请把路线长度上限放宽到至少 {_fmt(need)} 米，"
            "或把这些点位改为可选（mandatory=0）、交给从更近处出发的巡查员。"
        )
        raise InvalidInput(msg)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 or abs(x) >= 100 else f"{x:,.1f}"


def _one_tour(
    dist, svc, fleet: list[_Vehicle], clients: list[int], worth, limit: float, seed: int
) -> Tour | None:
    """When every inspector starts and ends alike, one tour through all stops that fits a budget is the best plan."""
    v = fleet[0]
    if any((u.start, u.end) != (v.start, v.end) for u in fleet):
        return None
    if any(worth[i] is not None for i in clients):
        return None  # some optional stops are worth only so much: that is prize collecting
    reach = [math.inf if u.budget is None else u.budget for u in fleet]
    widest = max(range(len(fleet)), key=reach.__getitem__)
    budget = fleet[widest].budget
    if budget is not None:
        bound = _mst_length(dist, [v.start, *clients]) + float(svc[clients].sum())
        if bound > budget + _EPS:
            return None
        limit = limit * 0.4
    route = _tour(dist, svc, fleet[widest], clients, vehicle=widest, limit=limit, seed=seed)
    if budget is not None and route.work > budget + _EPS:
        return None
    return route


def _tour(dist, svc, v: _Vehicle, clients: list[int], *, vehicle: int, limit: float, seed: int) -> Tour:
    nodes = [v.start, *clients] + ([v.end] if v.end is not None and v.end != v.start else [])
    if len(nodes) == 1:
        return Tour(vehicle=vehicle, stops=nodes, length=0.0, work=0.0, closed=v.closed)
    sub = dist[np.ix_(nodes, nodes)]
    end = len(nodes) - 1 if v.end is not None and v.end != v.start else None
    order = solve_tour(sub, start=0, end=end, closed=v.closed, time_limit=max(limit, 0.02), seed=seed)
    stops = [nodes[k] for k in order]
    return _measured(dist, svc, vehicle, stops, v.closed)


def _measured(dist, svc, vehicle: int, stops: list[int], closed: bool) -> Tour:
    length = path_length(dist, stops, closed=closed)
    work = length + float(svc[stops[1:]].sum()) if len(stops) > 1 else length
    return Tour(vehicle=vehicle, stops=stops, length=length, work=work, closed=closed)


def _scale(dist: NDArray[np.float64]) -> float:
    """Factor that turns lengths into the whole numbers PyVRP works in (1 when they are whole)."""
    finite = dist[np.isfinite(dist)]
    top = float(finite.max()) if finite.size else 1.0
    if np.allclose(finite, np.round(finite)):
        return 1.0
    factor = 1.0
    while factor < 1000 and top * factor * 10 <= 1e8:
        factor *= 10
    return factor


def _solve(dist, svc, must, worth, fleet: list[_Vehicle], clients: list[int], limit: float, seed: int, xy):
    """PyVRP over all clients made optional; mandatory ones carry a prize larger than everything else."""
    n = len(dist)
    f = _scale(dist)
    finite = np.where(np.isfinite(dist), dist, np.nan)
    top = float(np.nanmax(finite)) if clients else 0.0
    unreachable = math.ceil(top * f) * (n + 1) + 1
    d_int = np.where(np.isfinite(dist), np.ceil(dist * f - 1e-9), unreachable).astype(np.int64)
    free_end = any(v.end is None for v in fleet)
    size = n + 1 if free_end else n
    matrix = np.zeros((size, size), dtype=np.int64)
    matrix[:n, :n] = d_int  # the free-end dummy (node n) is 0 away from everywhere
    s_int = np.ceil(svc * f - 1e-9).astype(np.int64)

    detour = 2 * math.ceil(top * f) + int(s_int.max(initial=0)) + 1
    prize_opt = {
        i: detour if worth[i] is None else max(0, round(float(worth[i]) * f)) for i in clients if not must[i]
    }
    prize_must = sum(prize_opt.values()) + (n + len(fleet) + 1) * detour + 1

    depot_nodes = sorted({v.start for v in fleet} | {v.end for v in fleet if v.end is not None})
    if free_end:
        depot_nodes.append(n)
    depot_of = {node: k for k, node in enumerate(depot_nodes)}
    groups: dict[tuple[int, int, int], list[int]] = {}
    for k, v in enumerate(fleet):
        cap = np.iinfo(np.int64).max if v.budget is None else math.floor(v.budget * f + 1e-9)
        key = (depot_of[v.start], depot_of[n if v.end is None else v.end], cap)
        groups.setdefault(key, []).append(k)
    types = [
        VehicleType(len(ks), start_depot=s, end_depot=e, shift_duration=cap)
        for (s, e, cap), ks in groups.items()
    ]
    owners = list(groups.values())

    places = [Location(float(x), float(y)) for x, y in xy] + ([Location(0.0, 0.0)] if free_end else [])
    data = ProblemData(
        places,
        [
            Client(
                location=i,
                service_duration=int(s_int[i]),
                required=False,
                prize=prize_must if must[i] else prize_opt[i],
            )
            for i in clients
        ],
        [Depot(location=node) for node in depot_nodes],
        types,
        [matrix],  # type: ignore[list-item]  # pyvrp's stub spells the matrix np.ndarray[int] (a shape)
        [matrix],  # type: ignore[list-item]  # (same)
    )
    stop = MultipleCriteria([NoImprovement(_STALL), MaxRuntime(max(limit, 0.05))])
    with warnings.catch_warnings():
        # raised when budgets are too tight for every stop: we report that ourselves, by name
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = solve(data, stop, seed=seed, collect_stats=False, display=False)
    used = dict.fromkeys(range(len(types)), 0)
    routes = []
    served: set[int] = set()
    for r in result.best.routes():
        t = r.vehicle_type()
        vehicle = owners[t][used[t]]
        used[t] += 1
        v = fleet[vehicle]
        visits = [clients[a.idx] for a in r.schedule() if a.is_client()]
        served.update(visits)
        stops = [v.start, *visits] + ([v.end] if v.end is not None and v.end != v.start else [])
        routes.append(_measured(dist, svc, vehicle, stops, v.closed))
    routes.sort(key=lambda r: r.vehicle)
    dropped = [i for i in clients if i not in served]
    return routes, dropped


def _reorder(dist, svc, route: Tour, v: _Vehicle, limit: float, seed: int) -> Tour:
    """Re-sequence one route's stops with the single-tour solver; keep whichever is shorter."""
    fixed_end = v.end is not None and v.end != v.start
    inner = route.stops[1:-1] if fixed_end else route.stops[1:]
    if len(inner) < 3:
        return route
    better = _tour(dist, svc, v, inner, vehicle=route.vehicle, limit=limit, seed=seed)
    return better if better.length < route.length - _EPS else route


def _verify(dist, svc, fleet: list[_Vehicle], routes: list[Tour], clients: list[int]) -> None:
    """Never hand out a plan that breaks a budget or visits a stop twice: check it here, not in the solver."""
    seen: set[int] = set()
    for r in routes:
        v = fleet[r.vehicle]
        inner = r.stops[1:-1] if v.end is not None and v.end != v.start else r.stops[1:]
        ok = r.stops[0] == v.start and (v.end is None or v.end == v.start or r.stops[-1] == v.end)
        ok = ok and not (set(inner) & seen) and set(inner) <= set(clients) and len(set(inner)) == len(inner)
        again = _measured(dist, svc, r.vehicle, r.stops, v.closed)
        ok = ok and math.isfinite(again.work) and abs(again.work - r.work) <= _EPS * max(1.0, r.work)
        ok = ok and (v.budget is None or again.work <= v.budget + _EPS)
        if not ok:
            msg = f"internal error: route of inspector {r.vehicle + 1} fails its check: {r}"
            raise RuntimeError(msg)
        seen.update(inner)


def _mst_length(dist: NDArray[np.float64], nodes: list[int]) -> float:
    """Length of a minimum spanning tree over `nodes` (Prim, symmetric mean of the lengths)."""
    if len(nodes) < 2:
        return 0.0
    sub = dist[np.ix_(nodes, nodes)]
    sub = np.minimum(sub, sub.T)
    inside = np.zeros(len(nodes), dtype=bool)
    inside[0] = True
    best = sub[0].copy()
    total = 0.0
    for _ in range(len(nodes) - 1):
        k = int(np.argmin(np.where(inside, np.inf, best)))
        total += float(best[k])
        inside[k] = True
        best = np.minimum(best, sub[k])
    return total


def _explain(dist, svc, fleet: list[_Vehicle], required, missing, label, *, time_limit: float, seed: int):
    """Raise InvalidInput naming the mandatory stops left over, and how many inspectors or what budget would serve."""
    k = len(fleet)
    budgets = [v.budget for v in fleet if v.budget is not None]
    if not budgets:
        msg = f"internal error: stops {missing} were dropped although no route has a budget"
        raise RuntimeError(msg)
    top = max(budgets)
    # Lower bound: all routes together span the mandatory stops and the starts (starts joined
    # at no cost), so they are at least as long as a minimum spanning tree of them.
    starts = sorted({v.start for v in fleet})
    joined = dist.copy()
    for a in starts:
        for b in starts:
            joined[a, b] = 0.0
    bound = _mst_length(joined, starts + [i for i in required if i not in starts]) + float(
        svc[required].sum()
    )
    k_low = max(k + 1, math.ceil(bound / top - _EPS))
    quick = max(0.2, time_limit / 4)
    more = _fewest_vehicles(dist, svc, fleet, required, k_low, quick, seed, time.perf_counter() + time_limit)
    longer = _shortest_budget(
        dist, svc, fleet, required, max(top, bound / k), quick, seed, time.perf_counter() + time_limit
    )
    ways = []
    if more is not None:
        ways.append(f"增加到 {more} 名巡查员（每条路线上限仍为 {_fmt(top)} 米）")
    if longer is not None:
        ways.append(f"仍用 {k} 名巡查员，把每条路线上限放宽到约 {_fmt(longer)} 米")
    proven = bound > sum(budgets) + _EPS and len(budgets) == k
    why = (
        f"这些必去点位连同起点最少也要走 {_fmt(bound)} 米，超过 {k} 条路线上限之和 {_fmt(sum(budgets))} 米"
        if proven
        else f"在 {_fmt(time_limit)} 秒内未能把它们排进 {k} 条路线"
    )
    msg = f"必去点位 {_names(label, missing)} 无法安排：{why}。" + (
        "可行的办法：" + "；或者".join(ways) + "。" if ways else "请增加巡查员或放宽路线长度上限。"
    )
    raise InvalidInput(msg)


def _fits(dist, svc, fleet: list[_Vehicle], required: list[int], limit: float, seed: int) -> bool:
    """Whether a quick search places every required stop within the budgets."""
    n = len(dist)
    must = np.zeros(n, dtype=bool)
    must[required] = True
    _routes, dropped = _solve(
        dist, svc, must, [None] * n, fleet, list(required), limit, seed, np.zeros((n, 2))
    )
    return not any(must[i] for i in dropped)


def _fewest_vehicles(
    dist, svc, fleet, required, k_from: int, limit: float, seed: int, deadline: float
) -> int | None:
    """Fewest inspectors from k_from on (adding copies of the longest-budget one) that a quick search fits."""
    model = max(fleet, key=lambda v: v.budget if v.budget is not None else math.inf)

    def fits(k: int) -> bool:
        return _fits(dist, svc, fleet + [model] * (k - len(fleet)), required, limit, seed)

    lo, hi, k = k_from - 1, None, k_from
    for _ in range(4):
        if fits(k):
            hi = k
            break
        if time.perf_counter() > deadline:
            return None
        lo, k = k, max(k + 1, math.ceil(k * 1.5))
    if hi is None:
        return None
    while hi - lo > 1 and time.perf_counter() < deadline:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _shortest_budget(
    dist, svc, fleet, required, low: float, limit: float, seed: int, deadline: float
) -> float | None:
    """A route budget, for the same inspectors, that fits: grow from `low`, then narrow down a little."""

    def with_budget(b: float) -> list[_Vehicle]:
        return [_Vehicle(v.start, v.end, v.closed, b) for v in fleet]

    lo, hi = low, None
    b = low * 1.1
    for _ in range(6):
        if _fits(dist, svc, with_budget(b), required, limit, seed):
            hi = b
            break
        if time.perf_counter() > deadline:
            return None
        lo, b = b, b * 1.5
    if hi is None:
        return None
    for _ in range(3):
        if time.perf_counter() > deadline:
            break
        mid = (lo + hi) / 2
        if _fits(dist, svc, with_budget(mid), required, limit, seed):
            hi = mid
        else:
            lo = mid
    step = 10 ** max(0, int(math.log10(max(hi, 1))) - 2)
    return math.ceil(hi / step) * step
