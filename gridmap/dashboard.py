"""The command-centre dashboard (指挥中心大屏): counts, trends, rankings, overdue cases, map and check-ins."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from gridmap import clock
from gridmap.auth import ROLES as ROLE_LABELS
from gridmap.auth import User
from gridmap.basemaps import BASEMAPS
from gridmap.errors import Forbidden, Unauthorized
from gridmap.evaluation.indicators import indicator
from gridmap.evaluation.scoring import Scheme, load_scheme
from gridmap.evaluation.service import evaluate_month
from gridmap.parsing import parse_number
from gridmap.problems import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.states import (
    OPEN_STATUSES,
    PENDING_STATUSES,
    STATUS_COLORS,
    STATUS_LABELS,
    is_overdue,
)
from gridmap.routing import repository as patrol_repository
from gridmap.routing.patrols import CHECKABLE

# Who may open the wall: the office and the county leaders, and the inspectors who work from the
# centre. A unit (an outside department) sees its own tasks, not the county's figures.
ROLES = ("office", "leader", "inspector")
TREND_DAYS = 30  # the trend lines cover the last 30 days, today included
OVERDUE_ROWS = 50  # the overdue list shows the longest-overdue cases first, at most this many
MAP_ROWS = 5000  # open problems on the map, newest first
MIN_REFRESH_S, MAX_REFRESH_S = 1.0, 3600.0


def may_see(user: User | None) -> None:
    """Raise unless ``user`` may see the dashboard (ROLES)."""
    if user is None:
        msg = "请先登录后再打开指挥中心大屏"
        raise Unauthorized(msg)
    if user.role not in ROLES:
        labels = "、".join(ROLE_LABELS[r] for r in ROLES)
        msg = f"指挥中心大屏仅供{labels}查看（当前用户：{user.username}，{user.role_label}）"
        raise Forbidden(msg)


def refresh_seconds(value: object, *, default: float) -> float:
    """The refresh interval: the ``refresh`` query parameter (seconds, 1–3600) or the setting."""
    return parse_number(
        value,
        name="refresh",
        label="刷新间隔（秒）",
        default=default,
        minimum=MIN_REFRESH_S,
        maximum=MAX_REFRESH_S,
    )


def tiles(basemap: str, *, local_url: str) -> dict[str, str] | None:
    """Raster tiles under the dashboard map: OpenStreetMap, the local tiles gridmap serves at
    ``local_url``, or None (grid outlines only) for none and for the basemaps drawn in other
    coordinates or needing a key (amap, tianditu)."""
    if basemap == "osm":
        return {"url": BASEMAPS["osm"][0], "attribution": BASEMAPS["osm"][1]}
    if basemap and basemap not in ("none", "amap", "tianditu"):
        return {"url": local_url, "attribution": ""}
    return None


# --- the figures ---------------------------------------------------------------------------------
def _day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else clock.china(moment).date()


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight China time of ``day`` as naive UTC."""
    return clock.to_db(dt.datetime.combine(day, dt.time(), tzinfo=clock.CHINA))


def status_counts(rows: Iterable[Any]) -> dict[str, int]:
    """How many of ``rows`` are in each status (every status named, zeros included)."""
    found = Counter(r.status for r in rows)
    return {code: found.get(code, 0) for code in STATUS_LABELS}


def trend(rows: Iterable[Any], *, today: dt.date, days: int = TREND_DAYS) -> dict[str, list]:
    """Reports and closures per China day over the last ``days`` days, today included."""
    dates = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    reported: Counter[dt.date | None] = Counter()
    closed: Counter[dt.date | None] = Counter()
    for r in rows:
        reported[_day(r.created_at)] += 1
        if r.status == "closed":
            closed[_day(r.closed_at)] += 1
    return {
        "dates": [d.isoformat() for d in dates],
        "reported": [reported.get(d, 0) for d in dates],
        "closed": [closed.get(d, 0) for d in dates],
    }


def _group(record: dict[str, Any]) -> dict[str, Any]:
    """One town's or grid's row of the ranking tables, from a `gridmap evaluate` record."""
    keys = {
        "reported": "reports",
        "due": "due_closure",
        "on_time": "closed_on_time",
        "overdue": "overdue_pending",
    }
    out = {"code": record["code"], "name": record["name"]}
    out.update({mine: record.get(theirs) or 0 for mine, theirs in keys.items()})
    out["closed"] = record.get("closed") or 0
    out["closure_rate"], out["on_time_rate"] = record.get("closure_rate"), record.get("on_time_closure_rate")
    out.update({k: record.get(k) for k in ("score", "grade", "rank", "flag")})
    return out


def ranking(
    ctx: ProblemContext, *, by: str, names: dict[str, str], month: str, scheme: Scheme, now: dt.datetime
) -> list[dict]:
    """The month's towns or grids (``by``) as `gridmap evaluate` scores and ranks them with the
    county's scheme, then those without a case this month (unranked)."""
    records = evaluate_month(ctx.store, month=month, by=by, scheme=scheme, now=now).records()
    out = [_group(r) for r in records]
    seen = {g["code"] for g in out}
    quiet = [_group({"code": code, "name": name}) for code, name in names.items() if code not in seen]
    return out + quiet


def definitions(scheme: Scheme) -> dict[str, str]:
    """What the ranking figures mean, shown under the tables (from gridmap.evaluation.indicators)."""
    grey = "、最后一名挂灰旗" if scheme.grey_flag else ""
    return {
        "closure_rate": f"结案率＝{indicator('closure_rate').definition}",
        "on_time_rate": f"按期结案率＝{indicator('on_time_closure_rate').definition}",
        "order": f"排名按县考核评分方案的综合得分，第一名得流动红旗{grey}；"
        f"本月上报少于 {scheme.min_sample} 件的比率不显示、不排名",
    }


def _overdue_text(hours: float) -> str:
    days, rest = divmod(int(hours), 24)
    return f"{days}天{rest}小时" if days else f"{max(rest, 1)}小时"


def overdue_list(ctx: ProblemContext, rows: Iterable[Any], *, now: dt.datetime) -> list[dict]:
    """The open cases past their deadline, longest overdue first (at most OVERDUE_ROWS)."""
    now = clock.to_db(now)
    late = sorted(
        (r for r in rows if is_overdue(r.status, r.deadline, now)), key=lambda r: (r.deadline, r.id)
    )
    out = []
    for r in late[:OVERDUE_ROWS]:
        hours = (now - r.deadline).total_seconds() / 3600
        out.append(
            {
                "tracking_no": r.tracking_no,
                "category": ctx.categories.name(r.category),
                "place": r.grid_name or r.town_name or "网格外",
                "unit": r.unit_name or "未派遣",
                "status": STATUS_LABELS.get(r.status, r.status),
                "deadline": clock.human(r.deadline),
                "overdue_hours": round(hours, 1),
                "overdue_text": _overdue_text(hours),
            }
        )
    return out


def map_points(ctx: ProblemContext, rows: Iterable[Any], *, now: dt.datetime) -> list[dict]:
    """The open problems for the map (newest first, at most MAP_ROWS), in WGS 84."""
    now = clock.to_db(now)
    open_rows = sorted((r for r in rows if r.status in OPEN_STATUSES), key=lambda r: -r.id)[:MAP_ROWS]
    return [
        {
            "tracking_no": r.tracking_no,
            "lon": round(r.lon, 6),
            "lat": round(r.lat, 6),
            "status": r.status,
            "label": STATUS_LABELS.get(r.status, r.status),
            "color": STATUS_COLORS.get(r.status, "#777"),
            "category": ctx.categories.name(r.category),
            "overdue": is_overdue(r.status, r.deadline, now),
            "urgent": r.urgency == "urgent",
        }
        for r in open_rows
    ]


def check_ins(ctx: ProblemContext, *, day: dt.date) -> dict[str, list[dict]]:
    """Today's patrols: each inspector's stops and check-ins, and where each check-in happened."""
    plans = patrol_repository.day_plans(ctx.store, day=day.isoformat(), inspector=None, kinds=CHECKABLE)
    inspectors = []
    points = []
    for plan, total, done in plans:
        inspectors.append(
            {"code": plan.inspector_code, "name": plan.inspector_name, "stops": total, "checked_in": done}
        )
        if not done:
            continue
        found = patrol_repository.plan_with_stops(ctx.store, plan.id)
        for stop in found[1] if found else []:
            if stop.checked_in_at is None or stop.kind not in CHECKABLE:
                continue
            points.append(
                {
                    "inspector": plan.inspector_name,
                    "stop": stop.name,
                    "at": f"{clock.china(stop.checked_in_at):%H:%M}",
                    "lon": round(stop.checkin_lon if stop.checkin_lon is not None else stop.lon, 6),
                    "lat": round(stop.checkin_lat if stop.checkin_lat is not None else stop.lat, 6),
                }
            )
    points.sort(key=lambda p: p["at"])
    return {"inspectors": inspectors, "points": points}


def _counts(rows: list[Any], *, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    reported = [r for r in rows if day_from <= (_day(r.created_at) or day_from) <= day_to]
    closed = [
        r for r in rows if r.status == "closed" and day_from <= (_day(r.closed_at) or dt.date.min) <= day_to
    ]
    return {"reported": len(reported), "closed": len(closed), "by_status": status_counts(reported)}


def figures(ctx: ProblemContext, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-ready values (the page and /api/dashboard)."""
    now = clock.from_db(now or clock.utcnow())
    today = clock.china(now).date()
    month_first = today.replace(day=1)
    window_first = today - dt.timedelta(days=TREND_DAYS - 1)
    since = _start_of(min(month_first, window_first))
    rows = repository.dashboard_rows(ctx.store, since=since, open_statuses=OPEN_STATUSES)
    open_rows = [r for r in rows if r.status in OPEN_STATUSES]
    model = ctx.reference.model()
    month_start = _start_of(month_first)
    month_rows = [r for r in rows if r.created_at >= clock.to_db(month_start)]
    categories = Counter(ctx.categories.name(r.category) for r in month_rows)
    month, scheme = f"{today:%Y-%m}", load_scheme(ctx.settings.scoring_file or None)
    return {
        "generated_at": clock.iso(now),
        "today": today.isoformat(),
        "month": month,
        "statuses": [
            {"code": c, "label": STATUS_LABELS[c], "color": STATUS_COLORS[c]} for c in STATUS_LABELS
        ],
        "counts": {
            "today": _counts(rows, day_from=today, day_to=today),
            "month": _counts(rows, day_from=month_first, day_to=today),
            "open": {
                "total": len(open_rows),
                "pending": sum(r.status in PENDING_STATUSES for r in open_rows),
                "overdue": sum(is_overdue(r.status, r.deadline, clock.to_db(now)) for r in open_rows),
                "urgent": sum(r.urgency == "urgent" for r in open_rows),
                "parked": sum(r.status == "parked" for r in open_rows),
                "by_status": status_counts(open_rows),
            },
        },
        "trend": trend(rows, today=today),
        "categories": [{"name": n, "count": c} for n, c in categories.most_common(10)],
        "ranking": {
            "towns": ranking(ctx, by="town", names=_names(model.towns), month=month, scheme=scheme, now=now),
            "grids": ranking(ctx, by="grid", names=_names(model.grids), month=month, scheme=scheme, now=now),
            "definitions": definitions(scheme),
        },
        "overdue": overdue_list(ctx, rows, now=now),
        "map": map_points(ctx, rows, now=now),
        "checkins": check_ins(ctx, day=today),
    }


def _names(layer: Any) -> dict[str, str]:
    return {str(code): str(name) for code, name in layer["name"].items()}


def bounds(ctx: ProblemContext) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the county's grids (its towns without grids), for the map."""
    model = ctx.reference.model()
    layer = model.grids if len(model.grids) else model.towns
    if not len(layer):
        return None
    west, south, east, north = (float(v) for v in layer.total_bounds)
    return [[south, west], [north, east]]


def page(
    ctx: ProblemContext,
    *,
    user: User | None,
    refresh: object,
    default_refresh: float,
    basemap: str,
    local_tiles: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """What the dashboard page needs: who may see it, the refresh interval, tiles, bounds and the
    first figures (the page then fetches /api/dashboard every ``refresh`` seconds)."""
    may_see(user)
    return {
        "refresh_s": refresh_seconds(refresh, default=default_refresh),
        "tiles": tiles(basemap, local_url=local_tiles),
        "bounds": bounds(ctx),
        "figures": figures(ctx, now=now),
    }


def api(ctx: ProblemContext, *, user: User | None, now: dt.datetime | None = None) -> dict[str, Any]:
    """/api/dashboard: the figures, for a user who may see them."""
    may_see(user)
    return figures(ctx, now=now)
