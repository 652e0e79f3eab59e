"""Stored patrol plans per inspector and day: who may plan and check in, saving plans, check-ins at stops.

A stored plan is one inspector's route of a day (a `DayRoute` as saved); a planning run saves
the routes of a `DayPlan`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import quote

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap import clock
from gridmap.auth import User
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.routing import repository
from gridmap.routing.day import DayPlan, parse_day
from gridmap.store import Store

STAFF = ("office", "inspector", "leader")  # roles that see the patrol plans
PLANNERS = ("office", "inspector")  # roles that plan and check in (each inspector only their own)
CHECKABLE = ("point", "problem")  # kinds of stop an inspector checks in at (not the start or end)
BUDGET_SHORT = "今日路程预算不足，未安排（可选点位）"  # why an optional stop was dropped


def may_plan(user: User | None, inspector_codes: list[str]) -> None:
    """The campaign office plans anyone's day; an inspector (user name = inspector code) only their own."""
    if user is None:
        msg = "请先登录：只有创建办和巡查员可以制订巡查计划"
        raise Unauthorized(msg)
    if user.role == "office":
        return
    if user.role != "inspector":
        msg = f"{user.role_label}不能制订巡查计划（只有创建办和巡查员可以）"
        raise Forbidden(msg)
    others = [c for c in inspector_codes if c != user.username]
    if others or not inspector_codes:
        msg = (
            f"巡查员只能为自己制订巡查计划（账号 {user.username} 对应巡查员编号 {user.username}），"
            f"不能为 {'、'.join(others) or '全体巡查员'} 制订"
        )
        raise Forbidden(msg)


def may_check_in(user: User | None, plan: dict) -> bool:
    """Whether `user` may check in at the stops of a stored plan: the office, or the plan's own inspector."""
    if user is None:
        return False
    return user.role == "office" or (user.role == "inspector" and user.username == plan["inspector"]["code"])


def plannable_inspectors(model, user: User | None) -> list[dict]:
    """The inspectors `user` may choose when planning (code, name, names of their grids): all of the
    巡查员 sheet for the office and leaders, only themselves for an inspector."""
    grids = model.grids
    inspectors = [
        {
            "code": str(code),
            "name": str(row["name"]),
            "grids": "、".join(str(grids.loc[g, "name"]) for g in row["grid_list"] if g in grids.index),
        }
        for code, row in model.inspectors.iterrows()
    ]
    if user is not None and user.role == "inspector":
        inspectors = [i for i in inspectors if i["code"] == user.username]
    return inspectors


def save_day(store: Store, plan: DayPlan, *, user: User | None, system: bool = False) -> list[int]:
    """Store each inspector's route of the day, replacing earlier plans of the same inspectors and day.

    Refuses (Conflict) to replace a plan where the inspector has already checked in. `system`
    is for the command line, which acts with the database owner's authority.
    """
    if not system:
        may_plan(user, [r.inspector.code for r in plan.routes] or [i.code for i in plan.idle])
    day = parse_day(plan.day)
    now = clock.to_db(None)
    run = {
        "created_at": now,
        "created_by": user.username if user else None,
        "options": json.dumps(plan.options.as_dict(), ensure_ascii=False),
        "dropped": json.dumps(
            [{**s.as_dict(), "left_out": BUDGET_SHORT, "unreachable": False} for s in plan.dropped]
            + [u.as_dict() for u in plan.unreachable],
            ensure_ascii=False,
        ),
        "network": str(plan.network.get("source", "")),
    }
    rows = []
    for route in plan.routes:
        rec = route.record(day=day, mode=plan.options.mode)
        here = (rec["stops"][0]["lon"], rec["stops"][0]["lat"])
        line = shapely.LineString(rec["line"] if len(rec["line"]) >= 2 else [here, here])
        row = {
            "inspector_code": route.inspector.code,
            "inspector_name": route.inspector.name,
            "grid_codes": ",".join(route.inspector.grids),
            "mode": plan.options.mode,
            "length_m": route.length_m,
            "work_m": route.work_m,
            "budget_m": route.budget_m,
            "closed": route.closed,
            "route": shapely.to_wkb(line, output_dimension=2),
            "turns": json.dumps(rec["turns"], ensure_ascii=False),
            "created_at": now,
        }
        stops = [
            {
                "seq": s["seq"],
                "kind": s["kind"],
                "ref": s["ref"],
                "name": s["name"],
                "reason": s["reason"],
                "mandatory": bool(s["mandatory"]),
                "lon": float(s["lon"]),
                "lat": float(s["lat"]),
                "leg_m": float(s["leg_m"]),
            }
            for s in rec["stops"]
        ]
        rows.append((row, stops))
    codes = [r.inspector.code for r in plan.routes]
    return repository.replace_day_plans(store, day=day, codes=codes, run=run, plans=rows)


def list_plans(store: Store, *, day: object = None, inspector: str | None = None) -> list[dict]:
    """Summaries of the stored plans of a day (default today), optionally of one inspector."""
    rows = repository.day_plans(store, day=parse_day(day), inspector=inspector, kinds=CHECKABLE)
    return [
        {
            "id": r.id,
            "day": r.day,
            "inspector": {"code": r.inspector_code, "name": r.inspector_name},
            "mode": r.mode,
            "length_m": round(r.length_m, 1),
            "work_m": round(r.work_m, 1),
            "budget_m": round(r.budget_m, 1),
            "stops": total,
            "checked_in": done,
            "created_at": clock.iso(r.created_at),
        }
        for r, total, done in rows
    ]


def latest_left_out(store: Store, *, day: object = None) -> tuple[list[dict], list[dict]]:
    """The stops the day's latest planning run left out: (optional stops the budgets had no room
    for, stops no inspector could reach), each with its reason in ``left_out``."""
    stored = repository.latest_dropped(store, day=parse_day(day))
    return _left_out(stored, unreachable=False), _left_out(stored, unreachable=True)


def latest_dropped(store: Store, *, day: object = None) -> list[dict]:
    """The optional stops the day's latest planning run left out (the budgets had no room)."""
    return latest_left_out(store, day=day)[0]


def _left_out(stored: list[dict], *, unreachable: bool) -> list[dict]:
    """Stored left-out stops of one sort (runs saved before reasons were kept count as budget)."""
    return [
        {"left_out": BUDGET_SHORT, **s} for s in stored if bool(s.get("unreachable", False)) == unreachable
    ]


def day_overview(store: Store, model, *, day: object, user: User | None) -> dict:
    """What the patrol page of a day shows: the stored plans, the stops the latest run left out
    (optional ones without room, and those no one can reach, with reasons), the inspectors `user`
    may plan for, and the street import in force (None: the segments layer)."""
    dropped, unreachable = latest_left_out(store, day=day)
    return {
        "plans": list_plans(store, day=day),
        "dropped": dropped,
        "unreachable": unreachable,
        "inspectors": plannable_inspectors(model, user),
        "network": repository.current_import(store),
    }


def current_plan_id(store: Store, plan_id: object) -> int:
    """The id a plan link should show: the plan itself, or, when a later planning run replaced it,
    the current plan of the same inspector and day.

    Raises
    ------
    NotFound
        No such plan ever, or a replaced plan whose inspector has no plan that day any more.
    """
    pid = _plan_id(plan_id)
    if repository.plan_with_stops(store, pid) is not None:
        return pid
    moved = repository.replaced_plan(store, pid)
    if moved is None:
        msg = f"巡查计划 {plan_id} 不存在：请从“巡查路线”页面打开当天的计划"
        raise NotFound(msg)
    day, code = moved
    now = repository.plan_id_of(store, day=day, inspector=code)
    if now is None:
        msg = f"巡查计划 {plan_id} 已被重新规划，而巡查员 {code} 在 {day} 已没有计划：请到“巡查路线”页面查看当天的计划"
        raise NotFound(msg)
    return now


def plan_view(store: Store, plan_id: object, *, user: User | None) -> dict:
    """What a plan's page shows: ``moved_to`` (the current plan's id when this one was replaced:
    show that instead), else the plan, whether `user` may check in, the next stop to go to, and
    the navigation links of each stop."""
    now = current_plan_id(store, plan_id)
    if now != _plan_id(plan_id):
        return {"moved_to": now}
    plan = get_plan(store, now)
    todo = [s for s in plan["stops"] if s["kind"] in CHECKABLE and not s["checked_in_at"]]
    return {
        "moved_to": None,
        "plan": plan,
        "may_check_in": may_check_in(user, plan),
        "next_seq": todo[0]["seq"] if todo else None,
        "nav": {s["seq"]: navigation(s) for s in plan["stops"]},
    }


def navigation(stop: dict) -> dict:
    """Ways to get a phone's map app to a stop: a geo: URI (Android's map apps), a link into the Amap
    app (it shifts WGS 84 itself) and the plain coordinates to copy. No link leaves for a web site."""
    lon, lat = float(stop["lon"]), float(stop["lat"])
    name = quote(str(stop["name"]))
    return {
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({name})",
        # the Amap app's own scheme: dev=1 says the coordinates are WGS 84, t=2 is walking
        "amap": f"amapuri://route/plan/?sourceApplication=gridmap&dlat={lat:.6f}&dlon={lon:.6f}&dname={name}&dev=1&t=2",
        "coords": f"{lat:.6f}, {lon:.6f}",
    }


def get_plan(store: Store, plan_id: object) -> dict:
    """One stored plan: inspector, day, stops in order with check-ins, the line along the streets, turns."""
    pid = _plan_id(plan_id)
    found = repository.plan_with_stops(store, pid)
    if found is None:
        msg = f"巡查计划 {plan_id} 不存在（可能已被重新规划）"
        raise NotFound(msg)
    row, stops = found
    line = shapely.from_wkb(row.route)
    grids = [g for g in row.grid_codes.split(",") if g]
    options, stored = repository.run_of_plan(store, row.run_id)
    mine = [
        s
        for s in _left_out(stored, unreachable=True)
        if not options.get("own_grids") or not grids or s.get("grid_code") in (*grids, None)
    ]
    return {
        "id": row.id,
        "day": row.day,
        "mode": row.mode,
        "inspector": {
            "code": row.inspector_code,
            "name": row.inspector_name,
            "grids": grids,
        },
        "length_m": round(row.length_m, 1),
        "work_m": round(row.work_m, 1),
        "budget_m": round(row.budget_m, 1),
        "closed": bool(row.closed),
        "created_at": clock.iso(row.created_at),
        "stops": [
            {
                "seq": s.seq,
                "kind": s.kind,
                "ref": s.ref,
                "name": s.name,
                "reason": s.reason,
                "mandatory": bool(s.mandatory),
                "lon": s.lon,
                "lat": s.lat,
                "leg_m": s.leg_m,
                "checked_in_at": clock.iso(s.checked_in_at),
                "checked_in_by": s.checked_in_by,
                "checkin_distance_m": None
                if s.checkin_distance_m is None
                else round(s.checkin_distance_m, 1),
                "note": s.note,
            }
            for s in stops
        ],
        "line": [[round(x, 7), round(y, 7)] for x, y in shapely.get_coordinates(line).tolist()],
        "turns": json.loads(row.turns),
        "unreachable": mine,
    }


def _plan_id(value: object) -> int:
    text = str(value or "").strip()
    if not text.isdigit():
        msg = f"巡查计划编号应为正整数，实际为“{text}”"
        raise InvalidInput(msg)
    return int(text)


def _coordinate(value: object, name: str, low: float, high: float) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        msg = f"签到位置 {name} 应为 {low:g}–{high:g} 之间的数，实际为“{value}”"
        raise InvalidInput(msg)
    return number


def check_in(
    store: Store,
    plan_id: object,
    seq: object,
    *,
    user: User | None,
    within_m: float,
    lon: object = None,
    lat: object = None,
    note: object = None,
    model: Any = None,
    now: dt.datetime | None = None,
) -> dict:
    """Record that the inspector is at stop `seq` of a plan (time, who, where, how far from the stop).

    Only the plan's inspector (user name = inspector code) or the campaign office may check in;
    a stop is checked in once. The inspector checks in with the phone's position, within
    `within_m` metres (GRIDMAP_PATROL_CHECKIN_M) of the stop, measured from the edge of the
    stop's area when it has one (an inspection point drawn as a polygon in `model`); see
    `require_near`. The office may record a check-in for them, with or without a position.
    """
    if user is None:
        msg = "请先登录再签到"
        raise Unauthorized(msg)
    plan = get_plan(store, plan_id)
    if not may_check_in(user, plan):
        msg = (
            f"这是巡查员 {plan['inspector']['code']} {plan['inspector']['name']} 的计划，"
            f"{user.role_label} {user.username} 不能代为签到"
        )
        raise Forbidden(msg)
    try:
        number = int(str(seq).strip())
    except ValueError:
        number = -1
    stop = next((s for s in plan["stops"] if s["seq"] == number), None)
    if stop is None or stop["kind"] not in CHECKABLE:
        checkable = sum(1 for s in plan["stops"] if s["kind"] in CHECKABLE)
        msg = f"计划 {plan['id']} 没有第 {seq} 站（可签到的站为 1–{checkable}）"
        raise NotFound(msg)
    if stop["checked_in_at"]:
        msg = f"第 {number} 站“{stop['name']}”已于 {stop['checked_in_at']} 签到，不能重复签到"
        raise Conflict(msg)
    x = _coordinate(lon, "lon（经度）", -180, 180)
    y = _coordinate(lat, "lat（纬度）", -90, 90)
    if (x is None) != (y is None):
        msg = "签到位置需要同时提供经度 lon 和纬度 lat（或都不提供）"
        raise InvalidInput(msg)
    text = None if note is None else str(note).strip() or None
    if text and len(text) > 500:
        msg = "签到备注不超过 500 个字"
        raise InvalidInput(msg)
    distance = None
    if x is not None and y is not None:
        distance = distance_to_stop(stop, lon=x, lat=y, area=stop_area(model, stop))
    require_near(user, stop, distance_m=distance, within_m=within_m)
    done = repository.record_check_in(
        store,
        plan["id"],
        number,
        at=clock.to_db(now),
        by=user.username,
        lon=x,
        lat=y,
        distance_m=distance,
        note=text,
    )
    if not done:
        msg = f"第 {number} 站刚刚已被签到，不能重复签到"
        raise Conflict(msg)
    return next(s for s in get_plan(store, plan["id"])["stops"] if s["seq"] == number)


def stop_area(model: Any, stop: dict) -> BaseGeometry | None:
    """The area of a stop in lon/lat, when it has one: an inspection point drawn as a polygon."""
    if model is None or stop["kind"] != "point" or not stop.get("ref"):
        return None
    points = model.points
    if stop["ref"] not in points.index:
        return None
    geom = points.geometry.loc[stop["ref"]]
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    return geom


def distance_to_stop(stop: dict, *, lon: float, lat: float, area: BaseGeometry | None = None) -> float:
    """Metres from (lon, lat) to a stop: to the edge of its area (0 inside) when it has one, else to its
    point, on the ellipsoid."""
    here = shapely.Point(lon, lat)
    if area is not None:
        if area.covers(here):
            return 0.0
        from pyproj import Transformer

        # an azimuthal equidistant projection centred on the position keeps distances from it true
        local = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m", always_xy=True
        )
        metres = shapely.transform(area, lambda xy: np.column_stack(local.transform(xy[:, 0], xy[:, 1])))
        return float(metres.distance(shapely.Point(0.0, 0.0)))
    from pyproj import Geod

    return float(Geod(ellps="WGS84").inv(stop["lon"], stop["lat"], lon, lat)[2])


def require_near(user: User, stop: dict, *, distance_m: float | None, within_m: float) -> None:
    """An inspector checks in with a position within `within_m` metres of the stop; the office may
    record a check-in for them from anywhere.

    Raises
    ------
    InvalidInput
        An inspector without a position, or farther than `within_m`: the message gives the distance.
    """
    if user.role == "office":
        return
    where = f"第 {stop['seq']} 站“{stop['name']}”"
    if distance_m is None:
        msg = (
            f"签到需要手机定位：没有收到您的位置。请在浏览器（或手机系统设置）中允许本网站使用位置信息，"
            f"走到{where}附近后再点“签到”"
        )
        raise InvalidInput(msg)
    if distance_m > within_m:
        msg = (
            f"距该点位 {distance_m:,.0f} 米，需在 {within_m:,.0f} 米内签到（{where}）。"
            "请走近后再签到；定位不准时可稍等几秒再试"
        )
        raise InvalidInput(msg)
