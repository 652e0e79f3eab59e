"""Field assessment (实地测评) over HTTP: rounds, a round's coverage map, a point's checklist on a phone, results."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from gridmap import assets
from gridmap.assessment import service
from gridmap.errors import GridmapError, InvalidInput
from gridmap.maps import BASEMAPS
from web.auth import current_user, login_required
from web.context import settings
from web.problems import ctx, now

bp = Blueprint("assessment", __name__)

FILLERS = service.FILLERS
MANAGERS = service.MANAGERS


def _map_assets() -> dict:
    """Leaflet's files and the tile URL the other maps use (None: the offline street layer)."""
    base = url_for("static", filename="vendor").rstrip("/")
    js, css = assets.links("leaflet", base_url=base)
    basemap = settings().basemap
    tiles = None
    if basemap == "osm":
        tiles = BASEMAPS["osm"][0]
    elif basemap not in ("none", "amap", "tianditu") and basemap:
        tiles = url_for("pages.index").rstrip("/") + "/tiles/{z}/{x}/{y}.png"
    return {"leaflet_js": js, "leaflet_css": css, "tiles": tiles}


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        msg = '请求体应为 JSON 对象，例如 {"name": "2026年11月第2次测评", "starts_on": "2026-11-16", "ends_on": "2026-11-30"}'
        raise InvalidInput(msg)
    return data


# --- rounds ----------------------------------------------------------------------------------
def _rounds_page(*, error: str | None = None, form: dict | None = None, status: int = 200):
    page = render_template(
        "assessment/rounds.html",
        rounds=service.rounds(ctx(), user=current_user()),
        may_manage=getattr(current_user(), "role", None) in MANAGERS,
        error=error,
        form=form or {},
    )
    return page, status


@bp.get("/assessment")
@login_required(FILLERS)
def rounds_page():
    return _rounds_page()


@bp.post("/assessment/rounds")
@login_required(MANAGERS)
def create_round_page():
    form = request.form
    try:
        made = service.create_round(
            ctx(),
            user=current_user(),
            name=form.get("name"),
            starts_on=form.get("starts_on"),
            ends_on=form.get("ends_on"),
            now=now(),
        )
    except GridmapError as error:
        if error.status in (401, 403):
            raise
        return _rounds_page(error=error.message, form=form.to_dict(), status=error.status)
    return redirect(url_for("assessment.coverage_page", round_id=made["id"]))


@bp.get("/api/assessment/rounds")
@login_required(FILLERS)
def rounds_api():
    return {"rounds": service.rounds(ctx(), user=current_user())}


@bp.post("/api/assessment/rounds")
@login_required(MANAGERS)
def create_round_api():
    data = _json_body()
    made = service.create_round(
        ctx(),
        user=current_user(),
        name=data.get("name"),
        starts_on=data.get("starts_on"),
        ends_on=data.get("ends_on"),
        now=now(),
    )
    return made, 201


# --- coverage --------------------------------------------------------------------------------
@bp.get("/assessment/rounds/<round_id>")
@login_required(FILLERS)
def coverage_page(round_id: str):
    view = service.coverage(ctx(), round_id, user=current_user())
    return render_template("assessment/coverage.html", view=view, **_map_assets())


@bp.get("/api/assessment/rounds/<round_id>/coverage")
@login_required(FILLERS)
def coverage_api(round_id: str):
    return service.coverage(ctx(), round_id, user=current_user())


# --- a point's checklist ---------------------------------------------------------------------
def _form_page(round_id: str, code: str, *, error: str | None = None, status: int = 200):
    view = service.assessment_form(ctx(), round_id, code, user=current_user())
    return render_template("assessment/form.html", view=view, error=error), status


@bp.get("/assessment/rounds/<round_id>/points/<code>")
@login_required(FILLERS)
def form_page(round_id: str, code: str):
    return _form_page(round_id, code)


def _submit(round_id: str, code: str) -> dict:
    """The form's answers (result[<key>]) and photos (photo[<key>], several allowed) or JSON without photos."""
    if request.is_json:
        data = _json_body()
        results = data.get("results")
        if not isinstance(results, dict):
            msg = '请在 results 中给出每条测评标准的结果，例如 {"results": {"农贸市场-1": "pass"}}'
            raise InvalidInput(msg)
        photos: dict[str, list[tuple[str, bytes]]] = {}
        note = data.get("note")
    else:
        form = request.form
        results = {k[7:-1]: v for k, v in form.items() if k.startswith("result[") and k.endswith("]")}
        photos = {}
        for name in request.files:
            if name.startswith("photo[") and name.endswith("]"):
                files = [
                    (f.filename or "照片", f.read()) for f in request.files.getlist(name) if f and f.filename
                ]
                if files:
                    photos[name[6:-1]] = files
        note = form.get("note")
    return service.submit(
        ctx(), round_id, code, user=current_user(), results=results, photos=photos, note=note, now=now()
    )


@bp.post("/assessment/rounds/<round_id>/points/<code>")
@login_required(FILLERS)
def submit_page(round_id: str, code: str):
    try:
        done = _submit(round_id, code)
    except GridmapError as error:
        if error.status in (401, 403, 404):
            raise
        return _form_page(round_id, code, error=error.message, status=error.status)
    return redirect(url_for("assessment.result_page", assessment_id=done["id"]))


@bp.post("/api/assessment/rounds/<round_id>/points/<code>")
@login_required(FILLERS)
def submit_api(round_id: str, code: str):
    return _submit(round_id, code), 201


@bp.get("/api/assessment/rounds/<round_id>/points/<code>")
@login_required(FILLERS)
def form_api(round_id: str, code: str):
    return service.assessment_form(ctx(), round_id, code, user=current_user())


# --- results ---------------------------------------------------------------------------------
@bp.get("/assessment/<assessment_id>")
@login_required(FILLERS)
def result_page(assessment_id: str):
    view = service.assessment(ctx(), assessment_id, user=current_user())
    return render_template("assessment/result.html", view=view)


@bp.get("/api/assessment/<assessment_id>")
@login_required(FILLERS)
def result_api(assessment_id: str):
    return service.assessment(ctx(), assessment_id, user=current_user())
