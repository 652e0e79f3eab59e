"""The county's patrol day from the store: its inspectors and their starts, today's stops, and the plan."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from gridmap import clock
from gridmap.errors import InvalidInput
from gridmap.problems import repository as problems_repository
from gridmap.problems.categories import load_categories
from gridmap.problems.states import PENDING_STATUSES, is_overdue
from gridmap.routing.daily import plan_day
from gridmap.routing.day import DayOptions, DayPlan, DayStop, Inspector, parse_day
from gridmap.routing.options import options_from_settings
from gridmap.routing.sources import load_network
from gridmap.routing.streets import StreetNetwork


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
        out.append(
            Inspector(
                code=str(code),
                name=name,
                grids=own,
                start=(start[0], start[1]),
                start_name=start_name,
                end=(end[0], end[1]) if end is not None else None,
                end_name="终点" if end is not None else None,
            )
        )
    return out


def county_stops(
    store,
    model,
    *,
    now: dt.datetime | None = None,
    points: bool = True,
    problems: bool = True,
    point_value_m: float,
    grid_codes: Sequence[str] | None = None,
    category_names: Mapping[str, str] | None = None,
) -> list[DayStop]:
    """Today's stops: inspection points (optional, worth `point_value_m` of detour) and open problems.

    Problems waiting to be verified (已整改) and overdue ones are mandatory; other open problems are
    optional and worth any detour. A problem outside every grid goes to the nearest grid. Problems
    are named by their category's name in `category_names` (code → name), else by its code.
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
            out.append(
                DayStop(
                    id=str(code),
                    kind="point",
                    name=str(row.name),
                    lon=float(geom.x),
                    lat=float(geom.y),
                    grid_code=grid,
                    mandatory=False,
                    prize_m=point_value_m,
                    reason=f"考察点位（{row.category}）",
                )
            )
    if problems:
        out.extend(_open_problems(store, model, now=now, wanted=wanted, category_names=category_names or {}))
    return out


def _open_problems(store, model, *, now, wanted, category_names: Mapping[str, str]) -> list[DayStop]:
    import geopandas as gpd

    moment = clock.to_db(now)
    rows = problems_repository.select_problems(
        store,
        problems_repository.Criteria(among=(("status", (*PENDING_STATUSES, "rectified")),)),
        order=("id",),
    )
    if not rows:
        return []
    grids = model.grids.to_crs(model.local_crs) if len(model.grids) else None
    out = []
    for r in rows:
        grid = r.grid_code
        if not grid and grids is not None:  # outside every grid: the nearest grid's inspectors go
            spot = (
                gpd.GeoSeries([shapely.Point(r.lon, r.lat)], crs="EPSG:4326").to_crs(model.local_crs).iloc[0]
            )
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
        label = category_names.get(r.category, r.category)
        out.append(
            DayStop(
                id=r.tracking_no,
                kind="problem",
                name=f"问题 {r.tracking_no}（{label}）",
                lon=float(r.lon),
                lat=float(r.lat),
                grid_code=grid,
                mandatory=mandatory,
                prize_m=None,
                reason=reason,
            )
        )
    return out


def categories_in_force(settings: Mapping[str, Any]) -> dict[str, str]:
    """Problem category code → name of the categories in force (GRIDMAP_PROBLEM_CATEGORIES, else built in)."""
    return {c.code: c.name for c in load_categories(settings["GRIDMAP_PROBLEM_CATEGORIES"] or None)}


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
    from gridmap.responsibility import build_model

    began = time.perf_counter()
    when = parse_day(day)
    opts = options or options_from_settings(settings)
    if model is None:
        model = build_model(store.read_dataset())
    network = load_network(store)
    crew = county_inspectors(model, network, codes=inspectors, starts=starts, start_at=start_at)
    scope = sorted({g for i in crew for g in i.grids}) if inspectors and opts.own_grids else None
    stops = county_stops(
        store,
        model,
        now=now,
        points=points,
        problems=problems,
        point_value_m=opts.point_value_m,
        grid_codes=scope,
        category_names=categories_in_force(settings) if problems else None,
    )
    result = plan_day(network, crew, stops, options=opts, day=when)
    result.seconds = time.perf_counter() - began
    return result
