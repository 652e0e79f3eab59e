"""The patrol day solved: split the stops among inspectors, order each route along the streets, check it."""

from __future__ import annotations

import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from gridmap.errors import InvalidInput
from gridmap.routing.day import MODES, DayOptions, DayPlan, DayRoute, DayStop, Inspector, LeftOut
from gridmap.routing.streets import Placement, StreetNetwork
from gridmap.routing.tsp import path_length, solve_tour
from gridmap.routing.turns import turn_list
from gridmap.routing.vrp import solve_tours

_EPS = 1e-6


def plan_day(
    network: StreetNetwork,
    inspectors: Sequence[Inspector],
    stops: Sequence[DayStop],
    *,
    options: DayOptions,
    day: str,
) -> DayPlan:
    """Split the day's stops among inspectors and order each one's route along the streets.

    Every mandatory stop is visited; no route exceeds a working day (travel plus minutes at the
    stops); optional stops that do not fit are dropped, least valuable first. With
    `options.own_grids`, each stop goes to an inspector of its grid.

    A stop no one can reach never stops the day: one far from every street, on a piece of the
    network cut off from the inspectors' starts, or a mandatory one in a grid without inspectors
    is left out of the routes and listed in `DayPlan.unreachable` with its reason.

    Raises
    ------
    InvalidInput
        Duplicate stop ids, no inspectors or no stops, an inspector's start far from every
        street, or a working day too short for the mandatory stops together: the message names
        the stops and says what would serve.
    """
    began = time.perf_counter()
    _validate(inspectors, stops, options)
    left_out: list[LeftOut] = []
    placed = _near_streets(network, inspectors, stops, options, left_out)
    if not placed:
        return _nothing_to_do(network, inspectors, options, day, left_out, began)
    # nodes: the distinct starts and ends, then the stops
    places: dict[tuple[float, float], int] = {}
    labels: list[str] = []
    lonlat: list[tuple[float, float]] = []
    for i in inspectors:
        for spot, name in ((i.start, i.start_name), (i.end, i.end_name)):
            if spot is not None and spot not in places:
                places[spot] = len(lonlat)
                lonlat.append(spot)
                labels.append(f"{name or '出发点'}（{i.code} {i.name}）")
    first_stop = len(lonlat)
    lonlat.extend((s.lon, s.lat) for s in placed)
    labels.extend(f"{s.id} {s.name}" for s in placed)
    placement = network.place(np.asarray(lonlat), ids=labels, max_snap_m=options.max_snap_m)
    matrix = placement.matrix()
    # time at a stop, plus the walk from the street to the stop and back
    service = np.zeros(len(lonlat))
    service[first_stop:] = options.service_m + 2.0 * placement.snap_m[first_stop:]
    start_of = {i.code: places[i.start] for i in inspectors}
    end_of = {i.code: (places[i.end] if i.end is not None else None) for i in inspectors}
    stop_node = {s.id: first_stop + k for k, s in enumerate(placed)}
    kept = _reachable(inspectors, placed, options, matrix, start_of, end_of, stop_node, left_out)
    if not kept:
        return _nothing_to_do(network, inspectors, options, day, left_out, began)
    groups = _groups(inspectors, kept, options)
    remaining = {i.code: options.budget_m for i in inspectors}
    left = Counter(code for _, codes, _ in groups for code in codes)
    # a route split over g grids and merged back may pay the way end → start g − 1 times
    reserve = {
        i.code: (left[i.code] - 1) * float(matrix[end_of[i.code], start_of[i.code]])
        if end_of[i.code] is not None
        else 0.0
        for i in inspectors
    }
    by_code = {i.code: i for i in inspectors}
    parts: dict[str, list[list[int]]] = defaultdict(list)
    dropped: list[DayStop] = []
    for label, codes, members in groups:
        per_group = max(0.1, options.time_limit * len(members) / len(kept))
        if not codes:
            dropped.extend(
                members
            )  # optional stops of a grid without inspectors (mandatory ones are left out in _near_streets)
            continue
        shares = {c: max(0.0, remaining[c] - reserve[c]) / left[c] for c in codes}
        try:
            routes, lost = _solve_group(
                matrix,
                service,
                codes,
                members,
                shares,
                start_of,
                end_of,
                stop_node,
                options,
                per_group,
                labels,
            )
        except InvalidInput:
            fuller = {c: max(0.0, remaining[c] - reserve[c]) for c in codes}  # all that is left
            try:
                routes, lost = _solve_group(
                    matrix,
                    service,
                    codes,
                    members,
                    fuller,
                    start_of,
                    end_of,
                    stop_node,
                    options,
                    per_group,
                    labels,
                )
            except InvalidInput as error:
                where = f"{label}：" if label else ""
                hint = _budget_hint(options) if "上限" in error.message else ""
                raise InvalidInput(f"{where}{error.message}{hint}") from None
        for code, nodes, work in routes:
            parts[code].append(nodes)
            remaining[code] -= work
        for code in codes:
            left[code] -= 1
            if left[code] == 0:
                reserve[code] = 0.0
        dropped.extend(lost)
    out_routes = []
    for i in inspectors:
        if not parts.get(i.code):
            continue
        nodes = _merge(matrix, service, parts[i.code], start_of[i.code], end_of[i.code], options)
        out_routes.append(
            _route(by_code[i.code], nodes, matrix, service, placement, placed, first_stop, options)
        )
    plan = DayPlan(
        day=day,
        options=options,
        routes=out_routes,
        dropped=sorted(dropped, key=lambda s: s.id),
        idle=[i for i in inspectors if not parts.get(i.code)],
        network=network.summary(),
        unreachable=sorted(left_out, key=lambda u: u.stop.id),
    )
    _verify(plan, kept)
    plan.seconds = time.perf_counter() - began
    return plan


def _metres(value: float) -> str:
    """A distance as people say it: 380 米, 3.8 公里."""
    return f"{value / 1000:.1f} 公里" if value >= 1000 else f"{value:,.0f} 米"


def _near_streets(network, inspectors, stops, options: DayOptions, left_out: list[LeftOut]) -> list[DayStop]:
    """The stops within reach of a street and, with own_grids, not a mandatory stop of a grid without
    inspectors; the others go to `left_out` with their reason."""
    served = {g for i in inspectors for g in i.grids}
    far = network.street_distance([(s.lon, s.lat) for s in stops])
    out = []
    for stop, metres in zip(stops, far.tolist()):
        if metres > options.max_snap_m:
            shown = _metres(metres) if np.isfinite(metres) else "无穷远（路网中没有道路）"
            why = (
                f"距最近道路 {shown}，超过 GRIDMAP_PATROL_MAX_SNAP_M（{options.max_snap_m:,.0f} 米），"
                "无法沿路网到达：请核对该处经纬度（是否写反，或用了高德/百度坐标而未转换），"
                "或导入覆盖该处的路网（gridmap import-streets）"
            )
            left_out.append(LeftOut(stop=stop, why=why))
        elif options.own_grids and stop.mandatory and stop.grid_code not in served:
            why = (
                f"所在网格 {stop.grid_code or '（不在任何网格）'} 没有安排巡查员：请在“巡查员”工作表的"
                "“负责网格”中为该网格指定巡查员、在计划中选上负责该网格的巡查员，或不限网格（--any-grid）规划"
            )
            left_out.append(LeftOut(stop=stop, why=why))
        else:
            out.append(stop)
    return out


def _reachable(
    inspectors, stops, options: DayOptions, matrix, start_of, end_of, stop_node, left_out
) -> list[DayStop]:
    """The stops some inspector who may take them can reach along the streets and come back from;
    the others go to `left_out` with their reason. (A working day too short for a mandatory stop
    is a matter of the options, said by the solver with what would serve.)"""
    out = []
    for stop in stops:
        node = stop_node[stop.id]
        crew = [i for i in inspectors if not options.own_grids or stop.grid_code in i.grids]
        homes = [
            float(matrix[start_of[i.code], node])
            + float(matrix[node, end_of[i.code] if end_of[i.code] is not None else start_of[i.code]])
            for i in crew
        ]
        if homes and not np.isfinite(min(homes)):  # (no crew: an optional stop of a grid without inspectors)
            why = (
                "所在道路与巡查员的出发点在路网中不相连（孤立的路段），无法沿路网到达：请检查路网是否缺了连接的道路，"
                "或交给从该片区出发的巡查员"
            )
            left_out.append(LeftOut(stop=stop, why=why))
        else:
            out.append(stop)
    return out


def _nothing_to_do(network, inspectors, options, day, left_out, began) -> DayPlan:
    """The plan of a day whose every stop is out of reach: no routes, the stops listed with reasons."""
    return DayPlan(
        day=day,
        options=options,
        routes=[],
        dropped=[],
        idle=list(inspectors),
        network=network.summary(),
        seconds=time.perf_counter() - began,
        unreachable=sorted(left_out, key=lambda u: u.stop.id),
    )


def _budget_hint(options: DayOptions) -> str:
    """The budgets of the messages above, in the terms of a working day."""
    mode = MODES.get(options.mode, options.mode)
    return (
        f"（这里的路线长度上限 {options.budget_m:,.0f} 米即每人 {options.hours:g} 小时、"
        f"每小时{mode} {options.speed_kmh:g} 公里，每站停留 {options.stop_minutes:g} 分钟按同样速度折算为路程。"
        "可延长每人巡查时长（--hours）、减少每站停留分钟数、增加巡查员，"
        f"{'或不限网格（--any-grid）' if options.own_grids else '或改为骑行（--mode bike）'}）"
    )


def _validate(inspectors: Sequence[Inspector], stops: Sequence[DayStop], options: DayOptions) -> None:
    dup = sorted(sid for sid, n in Counter(s.id for s in stops).items() if n > 1)
    if dup:
        msg = f"点位编号重复：{'、'.join(dup)}。每个点位需要唯一的编号"
        raise InvalidInput(msg)
    dup = sorted(code for code, n in Counter(i.code for i in inspectors).items() if n > 1)
    if dup:
        msg = f"巡查员编号重复：{'、'.join(dup)}"
        raise InvalidInput(msg)
    if not inspectors:
        msg = "没有巡查员可以安排：请在责任表的“巡查员”工作表中登记巡查员，或选择至少一名巡查员"
        raise InvalidInput(msg)
    if not stops:
        msg = "今天没有要去的点位：没有考察点位，也没有待核查或超期的问题"
        raise InvalidInput(msg)


def _groups(inspectors, stops, options) -> list[tuple[str, list[str], list[DayStop]]]:
    """(label, inspector codes, stops) per sub-problem: one per grid with own_grids, else one."""
    if not options.own_grids:
        return [("", [i.code for i in inspectors], list(stops))]
    by_grid: dict[str | None, list[DayStop]] = defaultdict(list)
    for s in stops:
        by_grid[s.grid_code].append(s)
    out = []
    for grid in sorted(by_grid, key=lambda g: (g is None, g or "")):
        codes = [i.code for i in inspectors if grid in i.grids]
        out.append((f"网格 {grid}" if grid else "网格外", codes, by_grid[grid]))
    return out


def _solve_group(
    matrix, service, codes, members, budgets, start_of, end_of, stop_node, options, limit, labels
):
    """One vehicle-routing problem: these inspectors, these stops; returns routes as full-matrix nodes."""
    depots = list(
        dict.fromkeys([start_of[c] for c in codes] + [end_of[c] for c in codes if end_of[c] is not None])
    )
    nodes = depots + [stop_node[s.id] for s in members]
    local = {node: k for k, node in enumerate(nodes)}
    sub = matrix[np.ix_(nodes, nodes)]
    must = [True] * len(depots) + [s.mandatory for s in members]
    prizes = [None] * len(depots) + [None if s.mandatory else s.prize_m for s in members]
    result = solve_tours(
        sub,
        vehicles=len(codes),
        max_length=[budgets[c] for c in codes],
        service=service[nodes],
        mandatory=must,
        prizes=prizes,
        starts=[local[start_of[c]] for c in codes],
        ends=[local[end_of[c]] if end_of[c] is not None else None for c in codes],
        closed=True,
        names=[labels[n] for n in nodes],
        time_limit=limit,
        seed=options.seed,
    )
    routes = [
        (codes[t.vehicle], [nodes[k] for k in t.stops], t.work) for t in result.tours if len(t.stops) > 1
    ]
    routes = [(c, ns, w) for c, ns, w in routes if any(n not in depots for n in ns)]
    lost = [members[k - len(depots)] for k in result.dropped]
    return routes, lost


def _merge(matrix, service, parts: list[list[int]], start: int, end: int | None, options) -> list[int]:
    """One route from an inspector's routes in several grids: re-ordered, or joined if that is shorter."""
    tail = [] if end is None or end == start else [end]
    fixed_end = bool(tail)
    inner = [n for p in parts for n in (p[1:-1] if fixed_end else p[1:])]
    if len(parts) == 1:
        return parts[0]
    joined = [start, *inner, *tail]
    closed = end is None or end == start
    nodes = [start, *inner, *tail]
    sub = matrix[np.ix_(nodes, nodes)]
    order = solve_tour(
        sub,
        start=0,
        end=len(nodes) - 1 if fixed_end else None,
        closed=closed,
        time_limit=min(1.0, options.time_limit / 4),
        seed=options.seed,
    )
    tour = [nodes[k] for k in order]
    if path_length(matrix, tour, closed=closed) < path_length(matrix, joined, closed=closed) - _EPS:
        return tour
    return joined


def _route(inspector, nodes, matrix, service, placement: Placement, stops, first_stop, options) -> DayRoute:
    closed = inspector.end is None
    walk = nodes + ([nodes[0]] if closed else [])
    legs = [placement.leg(a, b) for a, b in itertools.pairwise(walk)]
    legs_m = [float(matrix[a, b]) for a, b in itertools.pairwise(walk)]
    length = float(sum(legs_m))
    inner = nodes[1:-1] if not closed else nodes[1:]
    work = length + float(service[inner].sum())
    day_stops = [stops[n - first_stop] for n in inner]
    local = _join([leg.coords for leg in legs])
    line = placement.network.to_lonlat(local) if len(local) else np.zeros((0, 2))
    names = [inspector.start_name, *[f"第 {k} 站 {s.name}" for k, s in enumerate(day_stops, start=1)]]
    names.append(inspector.start_name if closed else (inspector.end_name or "终点"))
    return DayRoute(
        inspector=inspector,
        stops=day_stops,
        legs_m=legs_m,
        length_m=length,
        work_m=work,
        budget_m=options.budget_m,
        closed=closed,
        line=[(float(x), float(y)) for x, y in line],
        turns=turn_list(legs, names, closed=closed),
        line_local=local,
    )


def _join(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros((0, 2))
    line = np.vstack(parts)
    dup = np.r_[False, (line[1:] == line[:-1]).all(axis=1)]
    return line[~dup]


def _verify(plan: DayPlan, stops: Sequence[DayStop]) -> None:
    """Never hand out a plan that misses a mandatory stop, visits one twice or breaks a working day."""
    seen = Counter(s.id for s in plan.visited)
    twice = [sid for sid, n in seen.items() if n > 1]
    missing = [s.id for s in stops if s.mandatory and s.id not in seen]
    over = [r.inspector.code for r in plan.routes if r.work_m > r.budget_m + _EPS * max(1.0, r.budget_m)]
    if twice or missing or over:
        msg = f"internal error: plan check failed (twice {twice}, missing {missing}, over budget {over})"
        raise RuntimeError(msg)
