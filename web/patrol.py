"""Patrol pages and API: plan the day, view a route, download GPX/KML/PDF, check in at stops."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from gridmap import maps
from gridmap.assets import localize
from gridmap.errors import GridmapError, InvalidInput
from gridmap.parsing import parse_bool, parse_date, parse_number
from gridmap.routing import patrols
from gridmap.routing.day import parse_day
from gridmap.routing.options import options_from_settings
from gridmap.routing.patrols import PLANNERS, STAFF
from web.auth import current_user, login_required
from web.context import reference, settings, store

bp = Blueprint("patrol", __name__)

# The solvers (PyVRP, scipy's graphs) load on the first patrol plan, not with the app.


def _flag(value: object, name: str, label: str) -> bool | None:
    return parse_bool(value, name=name, label=label, default=None)


def _number(value: object, name: str, label: str, *, maximum: float, above_zero: bool = True) -> float | None:
    return parse_number(
        value, name=name, label=label, default=None, minimum=0, maximum=maximum, above_minimum=above_zero
    )


def _day(value: object) -> str:
    """The plan's day as YYYY-MM-DD (blank: today), its year within bounds."""
    day = parse_date(value, name="day", label="日期", default=None)
    return parse_day(day.isoformat() if day else None)


def _plan_from(data, codes: list[str]) -> list[int]:
    """Plan and store the day for these inspectors (all when empty and the user is the office)."""
    from gridmap.routing import county  # the solvers

    user = current_user()
    patrols.may_plan(user, codes)  # before any work: 401/403
    own = _flag(data.get("own_grids"), "own_grids", "只去本人负责的网格")
    options = options_from_settings(
        settings(),
        mode=(data.get("mode") or None),
        hours=_number(data.get("hours"), "hours", "工作时长（小时）", maximum=24),
        stop_minutes=_number(
            data.get("stop_minutes"), "stop_minutes", "每站分钟数", maximum=240, above_zero=False
        ),
        own_grids=own if own is not None else (False if data.get("form") == "1" else None),
    )
    plan = county.plan_county_day(
        store(),
        settings(),
        day=_day(data.get("day")),
        inspectors=codes or None,
        options=options,
        model=reference().model(),
    )
    return patrols.save_day(store(), plan, user=user)


def _codes(values: list[str]) -> list[str]:
    return [c.strip() for v in values for c in str(v).replace("，", ",").split(",") if c.strip()]


# --- pages -----------------------------------------------------------------------------------
@bp.get("/patrol")
@login_required(roles=STAFF)
def index():
    user = current_user()
    return _index_page(user, _day(request.args.get("day")), may_plan=user.role in PLANNERS)


def _index_page(user, day: str, **extra):
    """The patrol page of a day: its plans, the stops left out, and the inspectors to plan for."""
    overview = patrols.day_overview(store(), reference().model(), day=day, user=user)
    defaults = options_from_settings(settings())
    return render_template("patrol.html", day=day, user=user, defaults=defaults, **overview, **extra)


@bp.post("/patrol/plan")
@login_required(roles=PLANNERS)
def plan_page():
    form = request.form
    codes = _codes(form.getlist("inspector"))
    day = _day(form.get("day"))
    try:
        ids = _plan_from(form, codes)
    except GridmapError as error:
        if error.status in (401, 403):
            raise
        page = _index_page(current_user(), day, may_plan=True, error=str(error), selected=codes)
        return page, error.status
    if len(ids) == 1:
        return redirect(url_for("patrol.show", plan_id=ids[0]))
    return redirect(url_for("patrol.index", day=day))


def _map_html(plan: dict) -> dict:
    from gridmap.routing import patrolmap

    cfg = settings()
    opts = maps.MapOptions(basemap=cfg.basemap, tianditu_token=cfg.tianditu_token)
    report = url_for("problems.report_page") if "problems.report_page" in current_app.view_functions else None
    m = patrolmap.plan_map(plan, opts, report_url=report)
    localize(m, base_url=url_for("static", filename="vendor").rstrip("/"))
    return maps.map_parts(m)


@bp.get("/patrol/<int:plan_id>")
@login_required(roles=STAFF)
def show(plan_id: int):
    view = patrols.plan_view(store(), plan_id, user=current_user())
    if view["moved_to"] is not None:  # replanned: the link leads to the current plan
        return redirect(url_for("patrol.show", plan_id=view["moved_to"], moved=plan_id))
    views = current_app.view_functions
    return render_template(
        "patrol_plan.html",
        **view,
        map=_map_html(view["plan"]),
        report_url=url_for("problems.report_page") if "problems.report_page" in views else None,
        problem_pages="problems.show_page" in views,
        error=request.args.get("error"),
        error_seq=request.args.get("seq", type=int),
        moved=request.args.get("moved", type=int),
    )


@bp.get("/patrol/<int:plan_id>.<fmt>")
@login_required(roles=STAFF)
def download(plan_id: int, fmt: str):
    from gridmap.routing import routefiles, sources

    plan = patrols.get_plan(store(), plan_id)
    if fmt == "gpx":
        data, mimetype = routefiles.to_gpx(plan), "application/gpx+xml"
    elif fmt == "kml":
        data, mimetype = routefiles.to_kml(plan), "application/vnd.google-earth.kml+xml"
    elif fmt == "pdf":
        network = sources.load_network(store())
        data, mimetype = (
            routefiles.route_sheet(plan, streets=network.geoms, crs=network.crs),
            "application/pdf",
        )
    else:
        msg = f"下载格式应为 gpx、kml 或 pdf，实际为“{fmt}”"
        raise InvalidInput(msg)
    from urllib.parse import quote

    response = Response(data, mimetype=mimetype)
    name = routefiles.filename(plan, fmt)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=patrol-{plan_id}.{fmt}; filename*=UTF-8''{quote(name)}"
    )
    return response


@bp.post("/patrol/<int:plan_id>/stops/<int:seq>/checkin")
@login_required(roles=PLANNERS)
def check_in_page(plan_id: int, seq: int):
    form = request.form
    try:
        patrols.check_in(
            store(),
            plan_id,
            seq,
            user=current_user(),
            within_m=settings().patrol_checkin_m,
            lon=form.get("lon"),
            lat=form.get("lat"),
            note=form.get("note"),
            model=reference().model(),
        )
    except GridmapError as error:
        if error.status in (401, 403, 404):
            raise
        back = url_for("patrol.show", plan_id=plan_id, error=error.message, seq=seq)
        return redirect(back + f"#stop-{seq}")
    return redirect(url_for("patrol.show", plan_id=plan_id) + f"#stop-{seq}")


# --- JSON API ----------------------------------------------------------------------------------
@bp.get("/api/patrols")
@login_required(roles=STAFF)
def list_api():
    day = _day(request.args.get("day"))
    dropped, unreachable = patrols.latest_left_out(store(), day=day)
    return {
        "day": day,
        "plans": patrols.list_plans(store(), day=day, inspector=request.args.get("inspector")),
        "dropped": dropped,
        "unreachable": unreachable,
    }


@bp.post("/api/patrols")
@login_required(roles=PLANNERS)
def plan_api():
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(data, dict):
        msg = '请求体应为 JSON 对象，例如 {"day": "2026-11-27", "inspectors": ["I01"], "mode": "walk"}'
        raise InvalidInput(msg)
    raw = data.get("inspectors") or []
    codes = _codes(raw if isinstance(raw, list) else [raw])
    ids = _plan_from(data, codes)
    day = _day(data.get("day"))
    dropped, unreachable = patrols.latest_left_out(store(), day=day)
    response = current_app.json.response(
        {
            "day": day,
            "plans": [patrols.get_plan(store(), i) for i in ids],
            "dropped": dropped,
            "unreachable": unreachable,
        }
    )
    response.status_code = 201
    return response


@bp.get("/api/patrols/<int:plan_id>")
@login_required(roles=STAFF)
def show_api(plan_id: int):
    current = patrols.current_plan_id(store(), plan_id)
    if current != plan_id:  # replanned: the current plan of the same inspector and day
        return redirect(url_for("patrol.show_api", plan_id=current))
    return patrols.get_plan(store(), current)


@bp.post("/api/patrols/<int:plan_id>/stops/<int:seq>/checkin")
@login_required(roles=PLANNERS)
def check_in_api(plan_id: int, seq: int):
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    data = data if isinstance(data, dict) else {}
    return patrols.check_in(
        store(),
        plan_id,
        seq,
        user=current_user(),
        within_m=settings().patrol_checkin_m,
        lon=data.get("lon"),
        lat=data.get("lat"),
        note=data.get("note"),
        model=reference().model(),
    )
