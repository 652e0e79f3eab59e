"""Patrols through a file's stops (`gridmap route`): validate, build the matrix, solve, and report by stop id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gridmap.errors import InvalidInput
from gridmap.routing.matrix import MatrixProvider, provider_for
from gridmap.routing.stops import Stop
from gridmap.routing.tsp import DEFAULT_TIME_LIMIT
from gridmap.routing.vrp import solve_tours

if TYPE_CHECKING:
    from gridmap.routing.streets import Placement, StreetNetwork


@dataclass(frozen=True)
class PatrolRoute:
    """One inspector's patrol as stop ids; a closed route lists its start once, at the front."""

    inspector: int  # 1-based
    stops: list[str]
    length: float
    closed: bool


@dataclass(frozen=True)
class PatrolPlan:
    """Routes, their total length, and the optional stops left out."""

    routes: list[PatrolRoute]
    dropped: list[str]
    placement: Placement | None = field(default=None, compare=False, repr=False)  # street routing only

    @property
    def total_length(self) -> float:
        return float(sum(r.length for r in self.routes))

    def as_dict(self) -> dict:
        """The JSON shape of `gridmap route`: routes (stops, length), total_length, dropped."""
        return {
            "routes": [
                {"inspector": r.inspector, "stops": r.stops, "length": _num(r.length), "closed": r.closed}
                for r in self.routes
            ],
            "total_length": _num(self.total_length),
            "dropped": self.dropped,
        }


def _num(x: float) -> int | float:
    return round(x) if abs(x - round(x)) < 1e-6 else round(x, 2)


def plan_patrols(
    stops: Sequence[Stop],
    *,
    planar: bool = False,
    vehicles: int = 1,
    max_length: float | None = None,
    start: str | None = None,
    end: str | None = None,
    open_path: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    provider: MatrixProvider | None = None,
    network: StreetNetwork | None = None,
    max_snap_m: float | None = None,
) -> PatrolPlan:
    """Plan the day's patrols through `stops` for `vehicles` inspectors.

    Parameters
    ----------
    stops
        Validated stops (see `read_stops` / `validate_stops`); ids must be unique.
    planar
        Coordinates are planar metres and lengths straight lines (rounded to whole metres, as
        TSPLIB's EUC_2D); otherwise lon/lat routed over the street network.
    vehicles, max_length
        Number of inspectors and the budget of each route (travel plus service), or None.
    start, end
        Id where every route starts (default: the first stop) and, with `open_path`, where it
        ends (default: wherever is shortest).
    open_path
        Routes do not return to the start.
    time_limit, seed
        Upper bound of the search in seconds; the seed makes equal-length choices repeatable.
    provider
        Matrix provider to use instead of the default for `planar` (coordinates → lengths).
    network, max_snap_m
        Street network for lon/lat stops (without one, lon/lat stops are refused with a
        message saying how to import one), and how far (metres) a stop may lie from a street.
    """
    ids = [s.id for s in stops]
    dup = sorted(sid for sid, count in Counter(ids).items() if count > 1)
    if dup:
        msg = f"点位编号重复：{'、'.join(dup)}。每个点位需要唯一的 id"
        raise InvalidInput(msg)
    if len(stops) < 2:
        msg = f"至少需要 2 个点位才能规划巡查路线，实际只有 {len(stops)} 个"
        raise InvalidInput(msg)
    index = {sid: k for k, sid in enumerate(ids)}
    s = _node(index, start, "起点 --start") if start is not None else 0
    e = _node(index, end, "终点 --end") if end is not None else None
    if e is not None and not open_path:
        msg = f"指定了终点 --end {end}，但闭合路线总要回到起点 {ids[s]}：如要在 {end} 结束，请同时加 --open"
        raise InvalidInput(msg)
    if e == s:
        e, open_path = None, False  # an open path back to its own start is a closed tour
    if max_length is not None and not max_length > 0:
        msg = f"路线长度上限 --max-length 应为正数，实际为 {max_length}"
        raise InvalidInput(msg)
    if vehicles < 1:
        msg = f"巡查员人数 --vehicles 应至少为 1，实际为 {vehicles}"
        raise InvalidInput(msg)
    if not time_limit > 0:
        msg = f"时间上限 --time-limit 应为正数（秒），实际为 {time_limit}"
        raise InvalidInput(msg)

    coords = np.array([[st.x, st.y] for st in stops], dtype=np.float64)
    from gridmap.routing.matrix import StreetRouter
    from gridmap.routing.streets import DEFAULT_MAX_SNAP_M

    if provider is None:
        snap = DEFAULT_MAX_SNAP_M if max_snap_m is None else max_snap_m
        provider = provider_for(planar=planar, network=network, ids=ids, max_snap_m=snap)
    matrix = provider(coords)
    result = solve_tours(
        matrix,
        vehicles=vehicles,
        max_length=max_length,
        service=[st.service for st in stops],
        mandatory=[st.mandatory for st in stops],
        prizes=[st.prize for st in stops],
        starts=s,
        ends=e,
        closed=not open_path,
        names=ids,
        coords=coords,
        time_limit=time_limit,
        seed=seed,
    )
    routes = [
        PatrolRoute(
            inspector=t.vehicle + 1, stops=[ids[k] for k in t.stops], length=t.length, closed=t.closed
        )
        for t in result.tours
    ]
    placement = provider.placement if isinstance(provider, StreetRouter) else None
    return PatrolPlan(routes=routes, dropped=[ids[k] for k in result.dropped], placement=placement)


def _node(index: dict[str, int], sid: str, what: str) -> int:
    key = str(sid).strip()
    if key not in index:
        sample = "、".join(list(index)[:5])
        msg = f"{what} 的点位 {sid} 不在点位文件中（文件中的编号如：{sample}…）"
        raise InvalidInput(msg)
    return index[key]
