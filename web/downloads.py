"""Downloads: print maps of grids, towns, units, leaders and the county; data exports."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file, url_for

from gridmap import __version__, dataexport, printmap
from gridmap.errors import GridmapError, InvalidInput, NotFound
from gridmap.printmap import jobs as jobs_module
from gridmap.printmap.atlas import ATLAS_FORMATS
from gridmap.problems.exports import office_export
from gridmap.serving import run_heavy
from web.auth import current_user, login_required
from web.context import reference, settings, store
from web.problems import ctx as problems_context

bp = Blueprint("downloads", __name__, url_prefix="/export")

# URL segment -> printmap kind.
_KINDS = {"grids": "grid", "subgrids": "subgrid", "towns": "town", "units": "unit", "leaders": "leader"}


def _send(data: bytes, mimetype: str, filename: str, ascii_filename: str):
    response = send_file(io.BytesIO(data), mimetype=mimetype, max_age=0)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_filename}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _pages() -> printmap.PrintCache:
    """The app's cache of rendered print maps, under the instance folder."""
    found = current_app.extensions.get("gridmap.print_cache")
    if found is None:
        found = current_app.extensions["gridmap.print_cache"] = printmap.PrintCache(
            Path(settings().instance_dir) / "print-cache",
            max_bytes=int(settings().print_cache_mb * 1_000_000),
        )
    return found


def _map(kind: str, code: str | None, fmt: str):
    args = request.args
    # Visitors who are not logged in get at most GRIDMAP_PRINT_ANON_MAX_DPI (and that by default).
    max_dpi = None if current_user() is not None else settings().print_anon_max_dpi
    default_dpi = "300" if max_dpi is None else str(min(300, max_dpi))
    rendered = printmap.export_map(
        reference(),
        kind=kind,
        code=code,
        fmt=fmt,
        paper=args.get("paper", "A4"),
        landscape=args.get("landscape", "0"),
        dpi=args.get("dpi") or default_dpi,
        max_dpi=max_dpi,
        pages=_pages(),
    )
    return _send(rendered.data, rendered.mimetype, rendered.filename, rendered.ascii_filename)


@bp.get("/<collection>/<code>.<fmt>")
def subject_map(collection: str, code: str, fmt: str):
    """/export/grids/<code>.png|pdf|svg?dpi=..&paper=A4|A3&landscape=1 (also subgrids — village,
    group and sub-grids, also reachable under grids/ — towns, units, leaders)."""
    if collection not in _KINDS:
        msg = f"没有“{collection}”这类出图对象；可选 grids、subgrids、towns、units、leaders"
        raise NotFound(msg)
    return _map(_KINDS[collection], code, fmt)


@bp.get("/<collection>/<code>")
def subject_map_form(collection: str, code: str):
    """The same with the format as a query parameter (?format=pdf), for plain HTML forms."""
    if collection not in _KINDS:
        msg = f"没有“{collection}”这类出图对象；可选 grids、subgrids、towns、units、leaders"
        raise NotFound(msg)
    return _map(_KINDS[collection], code, request.args.get("format", "pdf"))


@bp.get("/county.<fmt>")
def county_map(fmt: str):
    return _map("county", None, fmt)


@bp.get("/county")
def county_map_form():
    return _map("county", None, request.args.get("format", "pdf"))


@bp.get("/data.<fmt>")
def data(fmt: str):
    """/export/data.gpkg|xlsx (one file), /export/data.geojson|kml|shp (ZIP, a file per layer)."""
    if fmt.lower() in ("zip", "shp.zip"):
        msg = "请指明导出格式，如 /export/data.shp、/export/data.geojson 或 /export/data.kml"
        raise InvalidInput(msg)
    fmt = dataexport.check_format(fmt)
    cache = reference()
    user = current_user()
    if user is not None and user.role == "office":  # the internal export: personal data and problems
        c = problems_context()
        exported = run_heavy("数据导出", office_export, cache.model(), c.store, c.categories, fmt=fmt)
        return _send(exported.data, exported.mimetype, exported.filename, exported.ascii_filename)

    def make() -> tuple[dict, bytes]:  # in a heavy-work slot, kept per data version and format
        exported = run_heavy("数据导出", dataexport.export_data, cache.model(), fmt=fmt)
        return {
            "mimetype": exported.mimetype,
            "filename": exported.filename,
            "ascii_filename": exported.ascii_filename,
        }, exported.data

    meta, data = printmap.cached(
        _pages(), {"kind": "data", "version": cache.version, "fmt": fmt, "renderer": __version__}, make
    )
    return _send(data, meta["mimetype"], meta["filename"], meta["ascii_filename"])


# --- the county atlas, made in the background -------------------------------------------------
ATLAS_ROLES = ("office", "leader")


@bp.get("/atlas")
@login_required(ATLAS_ROLES)
def atlas_page():
    jobs = jobs_module.recent_jobs(store())
    return render_template("downloads/atlas.html", job=None, jobs=jobs, error=None)


@bp.post("/atlas")
@login_required(ATLAS_ROLES)
def atlas_start():
    form = request.form
    try:
        job = jobs_module.start_atlas(
            store(),
            settings(),
            fmt=form.get("format", "pdf"),
            paper=form.get("paper", "A4"),
            landscape=form.get("landscape") == "1",
            dpi=form.get("dpi", "300"),
            requested_by=current_user().username,  # login_required: never None here
        )
    except GridmapError as error:
        jobs = jobs_module.recent_jobs(store())
        return render_template("downloads/atlas.html", job=None, jobs=jobs, error=error.message), error.status
    return redirect(url_for("downloads.atlas_job", job_id=job.id), code=303)


@bp.get("/atlas/<job_id>")
@login_required(ATLAS_ROLES)
def atlas_job(job_id: str):
    job = jobs_module.job_status(store(), job_id)
    if request.args.get("format") == "json":
        return jsonify(job.as_dict())
    return render_template("downloads/atlas.html", job=job, jobs=[], error=None)


@bp.get("/atlas/<job_id>/download")
@login_required(ATLAS_ROLES)
def atlas_download(job_id: str):
    data, job = jobs_module.job_file(store(), settings(), job_id)
    return _send(data, ATLAS_FORMATS[job.fmt], job.filename, job.ascii_filename)
