"""Stored patrol plans per inspector and day, and inspectors' check-ins at their stops."""

from __future__ import annotations

import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import delete, insert, select, update

from gridmap.auth import User
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.routing.daily import DayPlan, parse_day
from gridmap.routing.schema import patrol_plans, patrol_runs, patrol_stops
from gridmap.store import Store

CHINA = ZoneInfo("Asia/Shanghai")
PLANNERS = ("office", "inspector")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _db(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def iso(moment: dt.datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 in China time, with its offset."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(CHINA).isoformat(timespec="seconds")


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


def save_day(store: Store, plan: DayPlan, *, user: User | None, system: bool = False) -> list[int]:
    """Store each inspector's route of the day, replacing earlier plans of the same inspectors and day.

    Refuses (Conflict) to replace a plan where the inspector has already checked in. `system`
    is for the command line, which acts with the database owner's authority.
    """
    if not system:
        may_plan(user, [r.inspector.code for r in plan.routes] or [i.code for i in plan.idle])
    day = parse_day(plan.day)
    codes = [r.inspector.code for r in plan.routes]
    now = _db(_now())
    with store.engine.begin() as conn:
        old = conn.execute(
            select(patrol_plans.c.id, patrol_plans.c.inspector_code)
            .where(patrol_plans.c.day == day, patrol_plans.c.inspector_code.in_(codes or [""]))
        ).all()
        old_ids = [r.id for r in old]
        if old_ids:
            done = conn.execute(
                select(patrol_plans.c.inspector_code).join(patrol_stops, patrol_stops.c.plan_id == patrol_plans.c.id)
                .where(patrol_plans.c.id.in_(old_ids), patrol_stops.c.checked_in_at.is_not(None))
                .distinct()
            ).scalars().all()
            if done:
                msg = (
                    f"巡查员 {'、'.join(sorted(done))} 在 {day} 的计划已有签到，不能重新规划；"
                    "请不选这些巡查员重新规划，或改日期"
                )
                raise Conflict(msg)
            conn.execute(delete(patrol_stops).where(patrol_stops.c.plan_id.in_(old_ids)))
            conn.execute(delete(patrol_plans).where(patrol_plans.c.id.in_(old_ids)))
        run_id = conn.execute(
            insert(patrol_runs).values(
                day=day, created_at=now, created_by=user.username if user else None,
                options=json.dumps(plan.options.as_dict(), ensure_ascii=False),
                dropped=json.dumps([s.as_dict() for s in plan.dropped], ensure_ascii=False),
                network=str(plan.network.get("source", "")),
            )
        ).inserted_primary_key[0]
        ids = []
        for route in plan.routes:
            rec = route.record(day=day, mode=plan.options.mode)
            here = (rec["stops"][0]["lon"], rec["stops"][0]["lat"])
            line = shapely.LineString(rec["line"] if len(rec["line"]) >= 2 else [here, here])
            plan_id = conn.execute(
                insert(patrol_plans).values(
                    run_id=run_id, day=day, inspector_code=route.inspector.code, inspector_name=route.inspector.name,
                    grid_codes=",".join(route.inspector.grids), mode=plan.options.mode, length_m=route.length_m,
                    work_m=route.work_m, budget_m=route.budget_m, closed=route.closed,
                    route=shapely.to_wkb(line, output_dimension=2), turns=json.dumps(rec["turns"], ensure_ascii=False),
                    created_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(patrol_stops),
                [
                    {"plan_id": plan_id, "seq": s["seq"], "kind": s["kind"], "ref": s["ref"], "name": s["name"],
                     "reason": s["reason"], "mandatory": bool(s["mandatory"]), "lon": float(s["lon"]),
                     "lat": float(s["lat"]), "leg_m": float(s["leg_m"])}
                    for s in rec["stops"]
                ],
            )
            ids.append(int(plan_id))
    return ids


def list_plans(store: Store, *, day: object = None, inspector: str | None = None) -> list[dict]:
    """Summaries of the stored plans of a day (default today), optionally of one inspector."""
    when = parse_day(day)
    query = select(patrol_plans).where(patrol_plans.c.day == when).order_by(patrol_plans.c.inspector_code)
    if inspector:
        query = query.where(patrol_plans.c.inspector_code == inspector)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        counts = {}
        if rows:
            for plan_id, seq, checked in conn.execute(
                select(patrol_stops.c.plan_id, patrol_stops.c.seq, patrol_stops.c.checked_in_at)
                .where(patrol_stops.c.plan_id.in_([r.id for r in rows]),
                       patrol_stops.c.kind.in_(["point", "problem"]))
            ):
                total, done = counts.get(plan_id, (0, 0))
                counts[plan_id] = (total + 1, done + (checked is not None))
    return [
        {"id": r.id, "day": r.day, "inspector": {"code": r.inspector_code, "name": r.inspector_name},
         "mode": r.mode, "length_m": round(r.length_m, 1), "work_m": round(r.work_m, 1),
         "budget_m": round(r.budget_m, 1), "stops": counts.get(r.id, (0, 0))[0],
         "checked_in": counts.get(r.id, (0, 0))[1], "created_at": iso(r.created_at)}
        for r in rows
    ]


def latest_dropped(store: Store, *, day: object = None) -> list[dict]:
    """The optional stops the day's latest planning run left out."""
    when = parse_day(day)
    with store.engine.connect() as conn:
        row = conn.execute(
            select(patrol_runs.c.dropped).where(patrol_runs.c.day == when).order_by(patrol_runs.c.id.desc()).limit(1)
        ).first()
    return json.loads(row.dropped) if row else []


def get_plan(store: Store, plan_id: object) -> dict:
    """One stored plan: inspector, day, stops in order with check-ins, the line along the streets, turns."""
    pid = _plan_id(plan_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(patrol_plans).where(patrol_plans.c.id == pid)).first()
        if row is None:
            msg = f"巡查计划 {plan_id} 不存在（可能已被重新规划）"
            raise NotFound(msg)
        stops = conn.execute(
            select(patrol_stops).where(patrol_stops.c.plan_id == pid).order_by(patrol_stops.c.seq)
        ).all()
    line = shapely.from_wkb(row.route)
    return {
        "id": row.id,
        "day": row.day,
        "mode": row.mode,
        "inspector": {"code": row.inspector_code, "name": row.inspector_name,
                      "grids": [g for g in row.grid_codes.split(",") if g]},
        "length_m": round(row.length_m, 1),
        "work_m": round(row.work_m, 1),
        "budget_m": round(row.budget_m, 1),
        "closed": bool(row.closed),
        "created_at": iso(row.created_at),
        "stops": [
            {"seq": s.seq, "kind": s.kind, "ref": s.ref, "name": s.name, "reason": s.reason,
             "mandatory": bool(s.mandatory), "lon": s.lon, "lat": s.lat, "leg_m": s.leg_m,
             "checked_in_at": iso(s.checked_in_at), "checked_in_by": s.checked_in_by,
             "checkin_distance_m": None if s.checkin_distance_m is None else round(s.checkin_distance_m, 1),
             "note": s.note}
            for s in stops
        ],
        "line": [[round(x, 7), round(y, 7)] for x, y in shapely.get_coordinates(line).tolist()],
        "turns": json.loads(row.turns),
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
    lon: object = None,
    lat: object = None,
    note: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """Record that the inspector is at stop `seq` of a plan (time, who, where, how far from the stop).

    Only the plan's inspector (user name = inspector code) or the campaign office may check in;
    a stop is checked in once.
    """
    if user is None:
        msg = "请先登录再签到"
        raise Unauthorized(msg)
    plan = get_plan(store, plan_id)
    if user.role != "office" and not (user.role == "inspector" and user.username == plan["inspector"]["code"]):
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
    if stop is None or stop["kind"] not in ("point", "problem"):
        msg = f"计划 {plan['id']} 没有第 {seq} 站（可签到的站为 1–{sum(1 for s in plan['stops'] if s['kind'] in ('point', 'problem'))}）"
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
    if x is not None:
        from pyproj import Geod

        distance = float(Geod(ellps="WGS84").inv(stop["lon"], stop["lat"], x, y)[2])
    moment = _db(now or _now())
    with store.engine.begin() as conn:
        done = conn.execute(
            update(patrol_stops)
            .where(patrol_stops.c.plan_id == plan["id"], patrol_stops.c.seq == number,
                   patrol_stops.c.checked_in_at.is_(None))
            .values(checked_in_at=moment, checked_in_by=user.username, checkin_lon=x, checkin_lat=y,
                    checkin_distance_m=distance, note=text)
        ).rowcount
    if not done:
        msg = f"第 {number} 站刚刚已被签到，不能重复签到"
        raise Conflict(msg)
    return next(s for s in get_plan(store, plan["id"])["stops"] if s["seq"] == number)
