"""A patrol day's types: stops, inspectors, options, and the plan (each inspector's route) with its texts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from gridmap import clock
from gridmap.errors import InvalidInput

MODES = {"walk": "步行", "bike": "骑行"}


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
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "grid_code": self.grid_code,
            "mandatory": self.mandatory,
            "reason": self.reason,
        }


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
    """How the day is planned: travel mode, working hours, speed, minutes per stop, grids, search time.

    Built from the settings by `gridmap.routing.options.options_from_settings`: the defaults live
    in the settings registry, not here.
    """

    mode: str
    hours: float
    speed_kmh: float
    stop_minutes: float
    own_grids: bool
    point_value_m: float
    max_snap_m: float
    time_limit: float
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
        return {
            "mode": self.mode,
            "mode_label": MODES.get(self.mode, self.mode),
            "hours": self.hours,
            "speed_kmh": self.speed_kmh,
            "stop_minutes": self.stop_minutes,
            "own_grids": self.own_grids,
            "point_value_m": self.point_value_m,
            "budget_m": round(self.budget_m),
            "time_limit": self.time_limit,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class LeftOut:
    """A stop no inspector can reach today (far from every street, cut off, in a grid without
    inspectors, or beyond a working day), with the reason shown on the plan."""

    stop: DayStop
    why: str

    def as_dict(self) -> dict:
        return {**self.stop.as_dict(), "left_out": self.why, "unreachable": True}


# --- the plan --------------------------------------------------------------------------------
@dataclass
class DayRoute:
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
        stops = [
            {
                "seq": 0,
                "kind": "start",
                "ref": None,
                "name": self.inspector.start_name,
                "reason": "出发点",
                "mandatory": True,
                "lon": self.inspector.start[0],
                "lat": self.inspector.start[1],
                "leg_m": 0.0,
            }
        ]
        for k, (s, leg) in enumerate(zip(self.stops, self.legs_m), start=1):
            stops.append(
                {
                    "seq": k,
                    "kind": s.kind,
                    "ref": s.id,
                    "name": s.name,
                    "reason": s.reason,
                    "mandatory": s.mandatory,
                    "lon": s.lon,
                    "lat": s.lat,
                    "leg_m": round(leg, 1),
                }
            )
        if not self.closed and self.inspector.end is not None:
            stops.append(
                {
                    "seq": len(stops),
                    "kind": "end",
                    "ref": None,
                    "name": self.inspector.end_name or "终点",
                    "reason": "终点",
                    "mandatory": True,
                    "lon": self.inspector.end[0],
                    "lat": self.inspector.end[1],
                    "leg_m": round(self.legs_m[-1], 1),
                }
            )
        return {
            "day": day,
            "mode": mode,
            "inspector": {
                "code": self.inspector.code,
                "name": self.inspector.name,
                "grids": list(self.inspector.grids),
            },
            "length_m": round(self.length_m, 1),
            "work_m": round(self.work_m, 1),
            "budget_m": round(self.budget_m, 1),
            "closed": self.closed,
            "return_m": round(self.legs_m[-1], 1)
            if self.closed and len(self.legs_m) > len(self.stops)
            else 0.0,
            "stops": stops,
            "line": [[round(x, 7), round(y, 7)] for x, y in self.line],
            "turns": self.turns,
        }


@dataclass
class DayPlan:
    """Every inspector's route for one day, the optional stops left out, the stops no one can reach
    (each with its reason), and how long planning took."""

    day: str
    options: DayOptions
    routes: list[DayRoute]
    dropped: list[DayStop]
    idle: list[Inspector]
    network: dict
    seconds: float = 0.0
    unreachable: list[LeftOut] = field(default_factory=list)

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
                {
                    "inspector": r.inspector.code,
                    "name": r.inspector.name,
                    "stops": [s.id for s in r.stops],
                    "length": round(r.length_m),
                    "work": round(r.work_m),
                    "budget": round(r.budget_m),
                }
                for r in self.routes
            ],
            "total_length": round(sum(r.length_m for r in self.routes)),
            "visited": len(self.visited),
            "mandatory": sum(1 for s in self.visited if s.mandatory),
            "dropped": [s.as_dict() for s in self.dropped],
            "unreachable": [u.as_dict() for u in self.unreachable],
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
        must = sum(1 for s in visited if s.mandatory)
        cut = sum(1 for u in self.unreachable if u.stop.mandatory)
        musts = (
            f"必去 {must} 站全部安排" if not cut else f"必去 {must} 站，另有 {cut} 个必去点位无法到达，见下"
        )
        lines.append(
            f"共 {len(self.routes)} 名巡查员出勤，访问 {len(visited)} 站（{musts}），"
            f"总路程 {sum(r.length_m for r in self.routes) / 1000:.2f} 公里；规划用时 {self.seconds:.1f} 秒"
        )
        if self.idle:
            lines.append(f"今日无任务的巡查员：{'、'.join(f'{i.code} {i.name}' for i in self.idle)}")
        if self.dropped:
            lines.append(f"未安排的可选点位（{len(self.dropped)} 个）：")
            lines.extend(f"  {s.id} {s.name}（{s.reason}）" for s in self.dropped)
        else:
            lines.append("未安排的可选点位：无")
        if self.unreachable:
            lines.append(f"无法到达、未排入计划的点位（{len(self.unreachable)} 个）：")
            lines.extend(f"  {u.stop.id} {u.stop.name}：{u.why}" for u in self.unreachable)
        return "\n".join(lines)


# --- the day ------------------------------------------------------------------------------------
def parse_day(value: object, *, now: dt.datetime | None = None) -> str:
    """A YYYY-MM-DD day; empty gives today (China time; `now` for tests)."""
    text = str(value or "").strip()
    if not text:
        return clock.today(clock=clock.fixed(now) if now is not None else clock.utcnow).isoformat()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        msg = f"日期应为 YYYY-MM-DD（如 2026-11-27），实际为“{text}”"
        raise InvalidInput(msg) from None
