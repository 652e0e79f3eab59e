"""The county's patrol day: each inspector's route through inspection points and open problems, within a working day."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from gridmap.errors import InvalidInput
from gridmap.routing.streets import Leg, Placement, StreetNetwork
from gridmap.routing.tsp import path_length, solve_tour
from gridmap.routing.vrp import plan as vrp_plan

CHINA = ZoneInfo("Asia/Shanghai")
MODES = {"walk": "步行", "bike": "骑行"}
_EPS = 1e-6


# --- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayStop:
    """A place to visit today: an inspection point or an open problem."""

    id: str  # point code or problem tracking number
    kind: str  # point | problem
    name: str
    lon: float
    lat: float
    grid_code: str | None
    mandatory: bool
    prize_m: float | None  # the detour (metres) an optional stop is worth; None: any detour
    reason: str  # why it is on today's list

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "name": self.name, "lon": round(self.lon, 7),
                "lat": round(self.lat, 7), "grid_code": self.grid_code, "mandatory": self.mandatory,
                "reason": self.reason}


@dataclass(frozen=True)
class Inspector:
    """An inspector, their grids, and where their day starts and ends (None: back at the start)."""

    code: str
    name: str
    grids: tuple[str, ...]
    start: tuple[float, float]  # lon, lat
    start_name: str
    end: tuple[float, float] | None = None
    end_name: str | None = None


@dataclass(frozen=True)
class DayOptions:
    """How the day is planned: travel mode, working hours, speed, minutes per stop, grids, search time."""

    mode: str = "walk"
    hours: float = 6.0
    speed_kmh: float = 4.5
    stop_minutes: float = 10.0
    own_grids: bool = True
    point_value_m: float = 3000.0
    max_snap_m: float = 200.0
    time_limit: float = 5.0
    seed: int = 0

    @property
    def budget_m(self) -> float:
        """A working day as metres: hours × speed."""
        return self.hours * self.speed_kmh * 1000.0

    @property
    def service_m(self) -> float:
        """Minutes at one stop as metres at the travel speed."""
        return self.stop_minutes / 60.0 * self.speed_kmh * 1000.0

    def as_dict(self) -> dict:
        return {"mode": self.mode, "mode_label": MODES.get(self.mode, self.mode), "hours": self.hours,
                "speed_kmh": self.speed_kmh, "stop_minutes": self.stop_minutes, "own_grids": self.own_grids,
                "point_value_m": self.point_value_m, "budget_m": round(self.budget_m),
                "time_limit": self.time_limit, "seed": self.seed}


def options_from_settings(settings: Mapping[str, Any], **overrides: Any) -> DayOptions:
    """DayOptions from the settings registry; keyword overrides (None = keep the setting) win."""
    over = {k: v for k, v in overrides.items() if v is not None}
    mode = str(over.pop("mode", settings.get("GRIDMAP_PATROL_MODE", "walk"))).strip().lower()
    if mode not in MODES:
        msg = f"巡查方式应为 walk（步行）或 bike（骑行），实际为“{mode}”"
        raise InvalidInput(msg)
    speed = settings.get("GRIDMAP_PATROL_BIKE_KMH", 12.0) if mode == "bike" else settings.get("GRIDMAP_PATROL_WALK_KMH", 4.5)
    values = {
        "mode": mode,
        "hours": float(settings.get("GRIDMAP_PATROL_HOURS", 6.0)),
        "speed_kmh": float(speed),
        "stop_minutes": float(settings.get("GRIDMAP_PATROL_STOP_MINUTES", 10.0)),
        "own_grids": bool(settings.get("GRIDMAP_PATROL_OWN_GRIDS", True)),
        "point_value_m": float(settings.get("GRIDMAP_PATROL_POINT_VALUE_M", 3000.0)),
        "max_snap_m": float(settings.get("GRIDMAP_PATROL_MAX_SNAP_M", 200.0)),
        "time_limit": float(settings.get("GRIDMAP_PATROL_TIME_LIMIT", 5.0)),
    }
    values.update(over)
    for name, label in (("hours", "工作时长 hours"), ("speed_kmh", "速度 speed_kmh"), ("time_limit", "时间上限 time_limit")):
        if not (isinstance(values[name], (int, float)) and math.isfinite(values[name]) and values[name] > 0):
            msg = f"{label} 应为正数，实际为 {values[name]}"
            raise InvalidInput(msg)
    if not (math.isfinite(values["stop_minutes"]) and values["stop_minutes"] >= 0):
        msg = f"每站停留分钟数应不小于 0，实际为 {values['stop_minutes']}"
        raise InvalidInput(msg)
    return DayOptions(**values)


# --- outputs --------------------------------------------------------------------------------
@dataclass
class InspectorRoute:
    """One inspector's day: stops in order, the line along the streets, lengths and the turn list."""

    inspector: Inspector
    stops: list[DayStop]
    legs_m: list[float]  # start → first stop, …, last stop → end (or back to the start)
    length_m: float
    work_m: float  # length plus time at the stops, as metres: what the budget limits
    budget_m: float
    closed: bool
    line: list[tuple[float, float]]  # lon/lat along the streets
    turns: list[dict]
    line_local: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 2)))

    def record(self, *, day: str, mode: str) -> dict:
        """The plan as stored and exported: inspector, stops with seq (0 = start), line, turns."""
        stops = [{"seq": 0, "kind": "start", "ref": None, "name": self.inspector.start_name, "reason": "出发点",
                  "mandatory": True, "lon": self.inspector.start[0], "lat": self.inspector.start[1], "leg_m": 0.0}]
        for k, (s, leg) in enumerate(zip(self.stops, self.legs_m), start=1):
            stops.append({"seq": k, "kind": s.kind, "ref": s.id, "name": s.name, "reason": s.reason,
                          "mandatory": s.mandatory, "lon": s.lon, "lat": s.lat, "leg_m": round(leg, 1)})
        if not self.closed and self.inspector.end is not None:
            stops.append({"seq": len(stops), "kind": "end", "ref": None, "name": self.inspector.end_name or "终点",
                          "reason": "终点", "mandatory": True, "lon": self.inspector.end[0],
                          "lat": self.inspector.end[1], "leg_m": round(self.legs_m[-1], 1)})
        return {
            "day": day,
            "mode": mode,
            "inspector": {"code": self.inspector.code, "name": self.inspector.name, "grids": list(self.inspector.grids)},
            "length_m": round(self.length_m, 1),
            "work_m": round(self.work_m, 1),
            "budget_m": round(self.budget_m, 1),
            "closed": self.closed,
            "return_m": round(self.legs_m[-1], 1) if self.closed and len(self.legs_m) > len(self.stops) else 0.0,
            "stops": stops,
            "line": [[round(x, 7), round(y, 7)] for x, y in self.line],
            "turns": self.turns,
        }


@dataclass
class DayPlan:
    """Every inspector's route for one day, the optional stops left out, and how long planning took."""

    day: str
    options: DayOptions
    routes: list[InspectorRoute]
    dropped: list[DayStop]
    idle: list[Inspector]
    network: dict
    seconds: float = 0.0

    @property
    def visited(self) -> list[DayStop]:
        return [s for r in self.routes for s in r.stops]

    def as_dict(self) -> dict:
        return {
            "day": self.day,
            "options": self.options.as_dict(),
            "network": self.network,
            "seconds": round(self.seconds, 2),
            "routes": [
                {"inspector": r.inspector.code, "name": r.inspector.name, "stops": [s.id for s in r.stops],
                 "length": round(r.length_m), "work": round(r.work_m), "budget": round(r.budget_m)}
                for r in self.routes
            ],
            "total_length": round(sum(r.length_m for r in self.routes)),
            "visited": len(self.visited),
            "mandatory": sum(1 for s in self.visited if s.mandatory),
            "dropped": [s.as_dict() for s in self.dropped],
            "idle": [i.code for i in self.idle],
        }

    def to_text(self) -> str:
        """A plain Chinese summary: one line per inspector, then the dropped stops."""
        o = self.options
        lines = [
            f"{self.day} 巡查计划（{MODES.get(o.mode, o.mode)} {o.speed_kmh:g} 公里/小时，每人 {o.hours:g} 小时"
            f"≈{o.budget_m / 1000:.1f} 公里，每站 {o.stop_minutes:g} 分钟"
            f"{'，只去本人网格' if o.own_grids else ''}；路网：{self.network.get('source', '')}）",
        ]
        for r in self.routes:
            hours = r.work_m / (o.speed_kmh * 1000)
            must = sum(1 for s in r.stops if s.mandatory)
            lines.append(
                f"  {r.inspector.code} {r.inspector.name}：{len(r.stops)} 站（必去 {must}），"
                f"路程 {r.length_m / 1000:.2f} 公里，用时约 {hours:.1f} 小时（上限 {o.hours:g} 小时）"
            )
        visited = self.visited
        lines.append(
            f"共 {len(self.routes)} 名巡查员出勤，访问 {len(visited)} 站（必去 {sum(1 for s in visited if s.mandatory)} 站全部安排），"
            f"总路程 {sum(r.length_m for r in self.routes) / 1000:.2f} 公里；规划用时 {self.seconds:.1f} 秒"
        )
        if self.idle:
            lines.append(f"今日无任务的巡查员：{'、'.join(f'{i.code} {i.name}' for i in self.idle)}")
        if self.dropped:
            lines.append(f"未安排的可选点位（{len(self.dropped)} 个）：")
            lines.extend(f"  {s.id} {s.name}（{s.reason}）" for s in self.dropped)
        else:
            lines.append("未安排的可选点位：无")
        return "\n".join(lines)


# --- the plan -------------------------------------------------------------------------------
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

    Raises
    ------
    InvalidInput
        Duplicate stop ids, stops far from every street or on a piece of the network the
        inspectors cannot reach, a grid without inspectors, or a working day too short for the
        mandatory stops: the message names the stops and says what would serve.
    """
    began = time.perf_counter()
    _validate(inspectors, stops, options)
    # nodes: the distinct starts and ends, then the stops
    places: dict[tuple[float, float], int] = {}
    labels: list[str] = []
    lonlat: list[tuple[float, float]] = []
    for i in inspectors:
        for where, name in ((i.start, i.start_name), (i.end, i.end_name)):
            if where is not None and where not in places:
                places[where] = len(lonlat)
                lonlat.append(where)
                labels.append(f"{name or '出发点'}（{i.code} {i.name}）")
    first_stop = len(lonlat)
    lonlat.extend((s.lon, s.lat) for s in stops)
    labels.extend(f"{s.id} {s.name}" for s in stops)
    placement = network.place(np.asarray(lonlat), ids=labels, max_snap_m=options.max_snap_m)
    matrix = placement.matrix()
    # time at a stop, plus the walk from the street to the stop and back
    service = np.zeros(len(lonlat))
    service[first_stop:] = options.service_m + 2.0 * placement.snap_m[first_stop:]
    start_of = {i.code: places[i.start] for i in inspectors}
    end_of = {i.code: (places[i.end] if i.end is not None else None) for i in inspectors}
    stop_node = {s.id: first_stop + k for k, s in enumerate(stops)}
    groups = _groups(inspectors, stops, options)
    remaining = {i.code: options.budget_m for i in inspectors}
    left = Counter(code for _, codes, _ in groups for code in codes)
    # a route split over g grids and merged back may pay the way end → start g − 1 times
    reserve = {
        i.code: (left[i.code] - 1) * float(matrix[end_of[i.code], start_of[i.code]]) if end_of[i.code] is not None else 0.0
        for i in inspectors
    }
    by_code = {i.code: i for i in inspectors}
    parts: dict[str, list[list[int]]] = defaultdict(list)
    dropped: list[DayStop] = []
    for label, codes, members in groups:
        per_group = max(0.1, options.time_limit * len(members) / len(stops))
        if not codes:
            dropped.extend(members)  # optional stops of a grid without inspectors (checked in _validate)
            continue
        shares = {c: max(0.0, remaining[c] - reserve[c]) / left[c] for c in codes}
        try:
            routes, lost = _solve_group(matrix, service, codes, members, shares, start_of, end_of, stop_node,
                                        options, per_group, labels)
        except InvalidInput:
            fuller = {c: max(0.0, remaining[c] - reserve[c]) for c in codes}  # all that is left
            try:
                routes, lost = _solve_group(matrix, service, codes, members, fuller, start_of, end_of, stop_node,
                                            options, per_group, labels)
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
        out_routes.append(_route(by_code[i.code], nodes, matrix, service, placement, stops, first_stop, options))
    plan = DayPlan(
        day=day, options=options, routes=out_routes,
        dropped=sorted(dropped, key=lambda s: s.id),
        idle=[i for i in inspectors if not parts.get(i.code)],
        network=network.summary(),
    )
    _verify(plan, stops)
    plan.seconds = time.perf_counter() - began
    return plan


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
    if options.own_grids:
        served = {g for i in inspectors for g in i.grids}
        orphans = [s for s in stops if s.mandatory and s.grid_code not in served]
        if orphans:
            grids = sorted({s.grid_code or "（不在任何网格）" for s in orphans})
            names = "、".join(f"{s.id} {s.name}" for s in orphans[:20])
            more = f" 等 {len(orphans)} 个" if len(orphans) > 20 else ""
            msg = (
                f"必去点位 {names}{more} 所在的网格 {'、'.join(grids)} 没有安排巡查员。"
                "请在“巡查员”工作表的“负责网格”中为这些网格指定巡查员、在计划中选上负责这些网格的巡查员，"
                "或不限网格（--any-grid）规划"
            )
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


def _solve_group(matrix, service, codes, members, budgets, start_of, end_of, stop_node, options, limit, labels):
    """One vehicle-routing problem: these inspectors, these stops; returns routes as full-matrix nodes."""
    depots = list(dict.fromkeys([start_of[c] for c in codes] + [end_of[c] for c in codes if end_of[c] is not None]))
    nodes = depots + [stop_node[s.id] for s in members]
    local = {node: k for k, node in enumerate(nodes)}
    sub = matrix[np.ix_(nodes, nodes)]
    must = [True] * len(depots) + [s.mandatory for s in members]
    prizes = [None] * len(depots) + [None if s.mandatory else s.prize_m for s in members]
    result = vrp_plan(
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
    routes = [(codes[r.vehicle], [nodes[k] for k in r.stops], r.work) for r in result.routes if len(r.stops) > 1]
    routes = [(c, ns, w) for c, ns, w in routes if any(n not in depots for n in ns)]
    lost = [members[k - len(depots)] for k in result.dropped]
    return routes, lost


def _merge(matrix, service, parts: list[list[int]], start: int, end: int | None, options) -> list[int]:
    """One route from an inspector's routes in several grids: re-ordered, or joined if that is shorter."""
    fixed_end = end is not None and end != start
    inner = [n for p in parts for n in (p[1:-1] if fixed_end else p[1:])]
    if len(parts) == 1:
        return parts[0]
    joined = [start, *inner] + ([end] if fixed_end else [])
    closed = end is None or end == start
    nodes = [start, *inner] + ([end] if fixed_end else [])
    sub = matrix[np.ix_(nodes, nodes)]
    order = solve_tour(sub, start=0, end=len(nodes) - 1 if fixed_end else None, closed=closed,
                       time_limit=min(1.0, options.time_limit / 4), seed=options.seed)
    tour = [nodes[k] for k in order]
    if path_length(matrix, tour, closed=closed) < path_length(matrix, joined, closed=closed) - _EPS:
        return tour
    return joined


def _route(inspector, nodes, matrix, service, placement: Placement, stops, first_stop, options) -> InspectorRoute:
    closed = inspector.end is None
    walk = nodes + ([nodes[0]] if closed else [])
    legs = [placement.leg(a, b) for a, b in zip(walk[:-1], walk[1:])]
    legs_m = [float(matrix[a, b]) for a, b in zip(walk[:-1], walk[1:])]
    length = float(sum(legs_m))
    inner = nodes[1:-1] if not closed else nodes[1:]
    work = length + float(service[inner].sum())
    day_stops = [stops[n - first_stop] for n in inner]
    local = _join([leg.coords for leg in legs])
    line = placement.network.to_lonlat(local) if len(local) else np.zeros((0, 2))
    names = [inspector.start_name, *[f"第 {k} 站 {s.name}" for k, s in enumerate(day_stops, start=1)]]
    names.append(inspector.start_name if closed else (inspector.end_name or "终点"))
    return InspectorRoute(
        inspector=inspector, stops=day_stops, legs_m=legs_m, length_m=length, work_m=work,
        budget_m=options.budget_m, closed=closed, line=[(float(x), float(y)) for x, y in line],
        turns=turn_list(legs, names, closed=closed), line_local=local,
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


# --- the turn list ----------------------------------------------------------------------------
_COMPASS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


def _heading(coords: np.ndarray, *, at_end: bool) -> float | None:
    c = coords[::-1] if at_end else coords
    for k in range(1, len(c)):
        d = c[k] - c[0]
        if float(np.hypot(*d)) > 0.5:
            if at_end:
                d = -d
            return math.degrees(math.atan2(d[0], d[1])) % 360.0  # clockwise from north
    return None


def _turn(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "继续"
    delta = (after - before + 540.0) % 360.0 - 180.0
    if abs(delta) < 30:
        return "直行"
    if abs(delta) > 150:
        return "掉头"
    return "右转" if delta > 0 else "左转"


def turn_list(legs: Sequence[Leg], names: Sequence[str], *, closed: bool) -> list[dict]:
    """Directions leg by leg: depart along a street, turn onto the next, arrive at each stop.

    `names` are the places in order: the start, each stop, then the end (the start again when closed).
    """
    out: list[dict] = []
    for k, leg in enumerate(legs):
        runs: list[dict] = []
        for piece in leg.pieces:
            h0, h1 = _heading(piece.coords, at_end=False), _heading(piece.coords, at_end=True)
            if runs and runs[-1]["street"] == piece.name:
                runs[-1]["distance"] += piece.length
                runs[-1]["out"] = h1 if h1 is not None else runs[-1]["out"]
            else:
                runs.append({"street": piece.name, "distance": piece.length, "in": h0, "out": h1})
        for n, run in enumerate(runs):
            d = round(run["distance"])
            if n == 0:
                way = f"向{_COMPASS[int(((run['in'] or 0) + 22.5) // 45) % 8]}" if run["in"] is not None else ""
                text = f"{'从' + names[k] + '出发，' if k == 0 else '出发，'}沿{run['street']}{way}走 {d} 米"
                action = "depart"
            else:
                turn = _turn(runs[n - 1]["out"], run["in"])
                text = f"{turn}进入{run['street']}，走 {d} 米" if turn != "直行" else f"直行进入{run['street']}，走 {d} 米"
                action = "turn"
            out.append({"action": action, "text": text, "street": run["street"], "distance_m": d, "stop": None})
        last = k == len(legs) - 1
        target = names[k + 1]
        if not runs:
            text = f"{target}与上一站在同一处" if not (last and closed) else f"回到{target}"
        else:
            text = f"回到{target}" if last and closed else f"到达{target}"
        out.append({"action": "arrive", "text": text, "street": None, "distance_m": 0,
                    "stop": 0 if last and closed else k + 1})
    for n, item in enumerate(out, start=1):
        item["step"] = n
    return out


# --- the county's day --------------------------------------------------------------------------
def today() -> str:
    """Today's date in China (YYYY-MM-DD)."""
    return dt.datetime.now(CHINA).date().isoformat()


def parse_day(value: object) -> str:
    """A YYYY-MM-DD day; empty gives today (China time)."""
    text = str(value or "").strip()
    if not text:
        return today()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        msg = f"日期应为 YYYY-MM-DD（如 2026-11-27），实际为“{text}”"
        raise InvalidInput(msg) from None


def county_inspectors(
    model,
    network: StreetNetwork,
    *,
    codes: Sequence[str] | None = None,
    starts: Mapping[str, tuple[tuple[float, float], tuple[float, float] | None]] | None = None,
    start_at: tuple[float, float] | None = None,
) -> list[Inspector]:
    """The inspectors of the 巡查员 sheet (or those of `codes`), each starting on the street nearest
    the centre of their first grid, unless `start_at` (everyone) or `starts` (per code) says otherwise."""
    table = model.inspectors
    if codes:
        wanted = [str(c).strip() for c in codes if str(c).strip()]
        unknown = [c for c in wanted if c not in table.index]
        if unknown:
            sample = "、".join(list(table.index[:5]))
            msg = f"巡查员 {'、'.join(unknown)} 不在“巡查员”工作表中（编号如：{sample}…）"
            raise InvalidInput(msg)
        table = table.loc[list(dict.fromkeys(wanted))]
    grids = model.grids
    anchors: dict[str, tuple[float, float]] = {}
    everywhere = None
    if len(grids):
        centres = grids.geometry.representative_point()
        whole = shapely.union_all(grids.geometry.values).representative_point()
        spots = np.vstack([np.column_stack([centres.x, centres.y]), [[whole.x, whole.y]]])
        on_street = network.nearest_on_street(spots)
        anchors = {code: (float(x), float(y)) for code, (x, y) in zip(grids.index, on_street[:-1])}
        everywhere = (float(on_street[-1][0]), float(on_street[-1][1]))
    out = []
    for code, row in table.iterrows():
        own = tuple(g for g in row["grid_list"] if g in grids.index)
        name = str(row["name"])
        end = None
        if starts and code in starts:
            start, end = starts[code]
            start_name = "出发点"
        elif start_at is not None:
            start, start_name = start_at, "出发点"
        elif own:
            start, start_name = anchors[own[0]], f"{grids.loc[own[0], 'name']}出发点"
        elif everywhere is not None:
            start, start_name = everywhere, "县城出发点"
        else:
            msg = "没有网格数据，无法确定巡查员的出发点：请先导入网格，或给出统一的出发点"
            raise InvalidInput(msg)
        out.append(Inspector(code=str(code), name=name, grids=own, start=tuple(start), start_name=start_name,
                             end=tuple(end) if end is not None else None, end_name="终点" if end is not None else None))
    return out


def county_stops(
    store,
    model,
    *,
    now: dt.datetime | None = None,
    points: bool = True,
    problems: bool = True,
    point_value_m: float = 3000.0,
    grid_codes: Sequence[str] | None = None,
) -> list[DayStop]:
    """Today's stops: inspection points (optional, worth `point_value_m` of detour) and open problems.

    Problems waiting to be verified (已整改) and overdue ones are mandatory; other open problems are
    optional and worth any detour. A problem outside every grid goes to the nearest grid.
    """
    out: list[DayStop] = []
    wanted = set(grid_codes) if grid_codes else None
    if points:
        pts = model.points
        where = pts.geometry.representative_point()
        for code, geom, row in zip(pts.index, where, pts.itertuples()):
            grid = row.grid_code if isinstance(row.grid_code, str) else None
            if wanted is not None and grid not in wanted:
                continue
            out.append(DayStop(id=str(code), kind="point", name=str(row.name), lon=float(geom.x), lat=float(geom.y),
                               grid_code=grid, mandatory=False, prize_m=point_value_m,
                               reason=f"考察点位（{row.category}）"))
    if problems:
        out.extend(_open_problems(store, model, now=now, wanted=wanted))
    return out


def _open_problems(store, model, *, now, wanted) -> list[DayStop]:
    from sqlalchemy import select

    from gridmap.problems.schema import problems as table
    from gridmap.problems.states import PENDING_STATUSES, is_overdue

    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.tracking_no, table.c.category, table.c.lon, table.c.lat, table.c.status,
                   table.c.deadline, table.c.grid_code)
            .where(table.c.status.in_([*PENDING_STATUSES, "rectified"]))
            .order_by(table.c.id)
        ).all()
    if not rows:
        return []
    import geopandas as gpd

    names = _category_names()
    grids = model.grids.to_crs(model.local_crs) if len(model.grids) else None
    out = []
    for r in rows:
        grid = r.grid_code
        if not grid and grids is not None:  # outside every grid: the nearest grid's inspectors go
            spot = gpd.GeoSeries([shapely.Point(r.lon, r.lat)], crs="EPSG:4326").to_crs(model.local_crs).iloc[0]
            grid = str(grids.index[int(np.argmin(grids.distance(spot).to_numpy()))])
        if wanted is not None and grid not in wanted:
            continue
        overdue = is_overdue(r.status, r.deadline, moment)
        if r.status == "rectified":
            mandatory, reason = True, "已整改，待核查"
        elif overdue:
            mandatory, reason = True, "已超期，现场督办"
        else:
            mandatory, reason = False, "待处置问题"
        label = names.get(r.category, r.category)
        out.append(DayStop(id=r.tracking_no, kind="problem", name=f"问题 {r.tracking_no}（{label}）",
                           lon=float(r.lon), lat=float(r.lat), grid_code=grid, mandatory=mandatory, prize_m=None,
                           reason=reason))
    return out


def _category_names() -> dict[str, str]:
    try:
        from gridmap.problems.categories import load_categories

        return {c.code: c.name for c in load_categories(None)}
    except Exception:  # noqa: BLE001 - names are a nicety; codes serve as well
        return {}


def plan_county_day(
    store,
    settings: Mapping[str, Any],
    *,
    day: object = None,
    inspectors: Sequence[str] | None = None,
    options: DayOptions | None = None,
    points: bool = True,
    problems: bool = True,
    starts: Mapping[str, tuple[tuple[float, float], tuple[float, float] | None]] | None = None,
    start_at: tuple[float, float] | None = None,
    now: dt.datetime | None = None,
    model=None,
) -> DayPlan:
    """The day's plan for the county in the store: its inspectors, points and open problems, on its streets.

    With `inspectors` (codes), only those inspectors are planned, over the stops of their grids
    (all stops when not kept to grids).
    """
    from gridmap.reference import ReferenceCache
    from gridmap.routing.sources import load_network

    began = time.perf_counter()
    when = parse_day(day)
    opts = options or options_from_settings(settings)
    if model is None:
        model = ReferenceCache(store).model()
    network = load_network(store)
    crew = county_inspectors(model, network, codes=inspectors, starts=starts, start_at=start_at)
    scope = sorted({g for i in crew for g in i.grids}) if inspectors and opts.own_grids else None
    stops = county_stops(store, model, now=now, points=points, problems=problems,
                         point_value_m=opts.point_value_m, grid_codes=scope)
    result = plan_day(network, crew, stops, options=opts, day=when)
    result.seconds = time.perf_counter() - began
    return result


__all__ = [
    "DayOptions", "DayPlan", "DayStop", "Inspector", "InspectorRoute", "county_inspectors", "county_stops",
    "options_from_settings", "parse_day", "plan_county_day", "plan_day", "turn_list",
]
