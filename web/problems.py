"""Problem reports over HTTP: the JSON API, the report page, problem pages, lists and exports."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from gridmap import assets, clock
from gridmap.errors import GridmapError, InvalidInput
from gridmap.maps import BASEMAPS
from gridmap.problems import duplicates, lists, maplayer, records, reportform, service, workflow
from gridmap.problems import tiles as problem_tiles
from gridmap.problems.context import ProblemContext, context_from_settings
from web.auth import current_user, login_required
from web.context import reference, settings, store

bp = Blueprint("problems", __name__)

PHOTO_FIELDS = ("photos", "photo", "media")


def ctx() -> ProblemContext:
    """The app's problem context, made on first use."""
    found = current_app.extensions.get("gridmap.problems")
    if found is None:
        found = context_from_settings(store(), reference(), settings())
        found.photo_base = url_for("problems.photo", photo_id=0).rsplit("/", 1)[0]
        current_app.extensions["gridmap.problems"] = found
    return found


def now() -> dt.datetime:
    """Now; tests may set app.extensions["gridmap.clock"] to a function returning an aware time."""
    injected = current_app.extensions.get("gridmap.clock")
    return injected() if injected else clock.utcnow()


def _payload() -> tuple[dict, list[tuple[str, bytes]]]:
    """Fields and photos of a JSON body or a form (multipart for photos)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            msg = '请求体应为 JSON 对象，例如 {"lon": 106.52, "lat": 33.91, "category": "garbage", "description": "…"}'
            raise InvalidInput(msg)
        return data, []
    photos = [
        (f.filename or "照片", f.read())
        for name in PHOTO_FIELDS
        for f in request.files.getlist(name)
        if f and (f.filename or f.content_length)
    ]
    return request.form.to_dict(), photos


def _act(ref: str) -> dict:
    """Take the action the request's form or JSON names on problem ``ref``."""
    data, photos = _payload()
    return workflow.act(
        ctx(),
        ref,
        user=current_user(),
        action=data.get("action"),
        note=data.get("note"),
        deadline=data.get("deadline"),
        hours=data.get("hours"),
        unit_code=data.get("unit"),
        inspector=data.get("inspector"),
        until=data.get("until"),
        urgency=data.get("urgency"),
        photos=photos,
        now=now(),
    )


# --- JSON API ------------------------------------------------------------------------------
@bp.get("/api/categories")
def categories():
    return {"categories": [c.as_dict() for c in ctx().categories]}


@bp.post("/api/problems")
def create():
    data, photos = _payload()
    user = current_user()
    result = service.report_problem(
        ctx(),
        lon=data.get("lon"),
        lat=data.get("lat"),
        category=data.get("category"),
        description=data.get("description"),
        source=data.get("source"),
        urgency=data.get("urgency"),
        reporter_name=data.get("reporter_name"),
        reporter_phone=data.get("reporter_phone"),
        crs=data.get("crs"),
        photos=photos,
        idempotency_key=request.headers.get("Idempotency-Key"),
        user=user,
        client=request.remote_addr or "-",
        now=now(),
    )
    body = result.record if (user and user.role == "office") else records.public_view(result.record)
    if result.reporter_key:  # the reporter's own link to follow the case and answer the follow-up
        body = {
            **body,
            "followup_url": url_for("followup.track_page", ref=body["tracking_no"], key=result.reporter_key),
        }
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    response.status_code = 200 if result.replayed else 201
    response.headers["Location"] = url_for("problems.show_api", ref=body["tracking_no"])
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/api/problems")
@login_required()
def list_api():
    user = current_user()
    scope = request.args.get("scope") or lists.default_scope(user)
    filters = lists.parse_filter(request.args, categories=ctx().categories)
    rows = lists.list_problems(ctx(), user=user, scope=scope, filters=filters, now=now())
    return {"scope": scope, "count": len(rows), "problems": rows}


@bp.get("/api/problems/nearby")
def nearby():
    args = request.args
    found = duplicates.find_duplicates(
        ctx(), lon=args.get("lon"), lat=args.get("lat"), category=args.get("category")
    )
    return {"radius_m": ctx().duplicate_radius_m, "problems": found}


@bp.get("/api/problems/map.json")
def map_data():
    args = request.args
    # "grid" present but empty (a leader without grids): no problems, not all of them
    grids = [g for g in args["grid"].split(",") if g] if "grid" in args else None
    found = lists.map_problems(ctx(), grid_codes=grids, unit_code=args.get("unit") or None, now=now())
    crs = args.get("crs") or "wgs84"
    page_base = url_for("pages.index").rstrip("/")
    return {"features": maplayer.features(found, page_base=page_base, crs=crs)}


@bp.get("/api/problems/<ref>")
def show_api(ref: str):
    return records.show(ctx(), ref, viewer=current_user(), now=now())


@bp.post("/api/problems/<ref>/actions")
@login_required()
def act_api(ref: str):
    return _act(ref)


@bp.post("/api/problems/<ref>/support")
def support_api(ref: str):
    data, _ = _payload()
    return workflow.support(ctx(), ref, note=data.get("note"), client=request.remote_addr or "-", now=now())


@bp.get("/problems/photos/<int:photo_id>.jpg")
def photo(photo_id: int):
    return _photo(photo_id, thumb=False)


@bp.get("/problems/photos/<int:photo_id>/thumb.jpg")
def thumb(photo_id: int):
    return _photo(photo_id, thumb=True)


def _photo(photo_id: int, *, thumb: bool) -> Response:
    data = records.photo_file(ctx(), photo_id, thumb=thumb)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- map overlay (called from web/pages.py's hook) --------------------------------------------
def map_overlay(*, grid: str | None = None, unit: str | None = None):
    """A build_map ``extra`` callback that adds the problem layer for this page's scope."""
    params = {}
    if grid is not None:
        params["grid"] = grid
    if unit is not None:
        params["unit"] = unit
    basemap = settings().basemap
    if basemap == "amap":
        params["crs"] = "gcj02"
    url = url_for("problems.map_data")
    tiles = url_for("vtiles.problems", z=0, x=0, y=0).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    if params:
        url += "?" + urlencode(params)
        tiles += "?" + urlencode(params)
    cats = ctx().categories
    embed_max = settings().embed_max_features

    def extra(m):  # run when the map is built (then cached per data version)
        tiled = problem_tiles.use_tiles(ctx(), reference().model(), embed_max_features=embed_max)
        maplayer.add_problem_layer(m, data_url=url, categories=cats, tile_url=tiles if tiled else None)

    return extra


# --- pages ----------------------------------------------------------------------------------
@bp.get("/report")
def report_page():
    return _report_page()


@bp.get("/report/lookup")
def lookup_page():
    """The report page's tracking-number box: to the problem's page, or back with a plain message."""
    typed = request.args.get("no", "")
    try:
        found = records.lookup(ctx(), typed)
    except GridmapError as error:
        return _report_page(lookup_error=error.message, lookup_typed=typed), error.status
    return redirect(url_for("problems.show_page", ref=found))


def _report_page(**extra):
    base = url_for("static", filename="vendor").rstrip("/")
    js, css = assets.links("leaflet", base_url=base)
    basemap = settings().basemap
    tiles = None
    if basemap == "osm":
        tiles = BASEMAPS["osm"][0]
    elif basemap not in ("none", "amap", "tianditu") and basemap:
        tiles = url_for("pages.index").rstrip("/") + "/tiles/{z}/{x}/{y}.png"
    form = reportform.report_form(ctx(), lon=request.args.get("lon"), lat=request.args.get("lat"))
    return render_template(
        "problems/report.html",
        leaflet_js=js,
        leaflet_css=css,
        tiles=tiles,
        form=form,
        categories=form.categories,
        sources=workflow.SOURCES,
        user=current_user(),
        max_photos=form.max_photos,
        max_mb=form.max_mb,
        bounds=form.bounds,
        start=form.start,
        **extra,
    )


@bp.get("/problems/<ref>")
def show_page(ref: str):
    return _problem_page(ref)


def _tile_url() -> tuple[str | None, str]:
    """Raster tiles under the problem page's small map (picked as on the report page) and their credit."""
    basemap = settings().basemap
    if basemap == "osm":
        return BASEMAPS["osm"][0], BASEMAPS["osm"][1]
    if basemap and basemap not in ("none", "amap", "tianditu"):
        return url_for("pages.index").rstrip("/") + "/tiles/{z}/{x}/{y}.png", ""
    return None, ""


def _problem_page(ref: str, *, error: str | None = None):
    user = current_user()
    page = workflow.problem_page(ctx(), ref, user=user, now=now())
    js, css = assets.links("leaflet", base_url=url_for("static", filename="vendor").rstrip("/"))
    tiles, credit = _tile_url()
    rec = page.record
    spot = {
        "lon": rec["lon"],
        "lat": rec["lat"],
        "around": page.around,
        "tiles": tiles,
        "attribution": credit,
        "label": f"{rec['category_name']}（{rec['tracking_no']}）",
    }
    return render_template(
        "problems/problem.html",
        p=rec,
        actions=page.actions,
        user=user,
        action_labels=workflow.ACTION_LABELS,
        units=page.units,
        suggested_unit=page.suggested_unit,
        inspectors=page.inspectors,
        note_required=workflow.NOTE_REQUIRED,
        leaflet_js=js,
        leaflet_css=css,
        spot=spot,
        error=error,
    )


@bp.post("/problems/<ref>/act")
@login_required()
def act_page(ref: str):
    try:
        rec = _act(ref)
    except GridmapError as error:
        return _problem_page(ref, error=error.message), error.status
    return redirect(url_for("problems.show_page", ref=rec["tracking_no"]))


def _list_page(scope: str, title: str):
    user = current_user()
    c = ctx()
    filters = lists.parse_filter(request.args, categories=c.categories)
    rows = lists.list_problems(c, user=user, scope=scope, filters=filters, now=now())
    fmt = request.args.get("format")
    stamp = clock.china(now()).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        return _download(lists.to_csv(rows, user=user), f"{scope}-{stamp}.csv", "text/csv; charset=utf-8")
    if fmt == "xlsx":
        return _download(
            lists.to_xlsx(rows, user=user, title=title),
            f"{scope}-{stamp}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    if fmt not in (None, "", "html"):
        msg = f"导出格式 format 应为 csv 或 xlsx，实际为“{fmt}”"
        raise InvalidInput(msg)
    params = filters.as_params()
    return render_template(
        "problems/list.html",
        title=title,
        scope=scope,
        rows=rows,
        user=user,
        filters=request.args,
        statuses=workflow.STATUS_LABELS,
        sources=workflow.SOURCES,
        categories=c.categories,
        export_csv=f"?{urlencode({**params, 'format': 'csv'})}",
        export_xlsx=f"?{urlencode({**params, 'format': 'xlsx'})}",
    )


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@bp.get("/tasks")
@login_required(roles=("unit", "office", "inspector"))
def tasks_page():
    scope = lists.task_scope(current_user())
    return _list_page(scope, lists.SCOPES[scope])


@bp.get("/my-grids")
@login_required(roles=("leader", "office"))
def grids_page():
    return _list_page("grids" if current_user().role == "leader" else "all", "我的网格问题")


@bp.get("/chase")
@login_required(roles=("office", "leader"))
def chase_page():
    return _list_page("chase", "督办清单（逾期未整改）")


@bp.get("/problems")
@login_required()
def all_page():
    return _list_page("all", "问题清单")
