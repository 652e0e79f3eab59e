"""Downloads: print maps of grids, towns, units, leaders and the county; data exports."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, request, send_file

from gridmap import __version__, dataexport, printmap
from gridmap.errors import InvalidInput, NotFound
from gridmap.problems.exports import office_export
from gridmap.serving import run_heavy
from web.auth import current_user
from web.context import reference, settings
from web.problems import ctx as problems_context

bp = Blueprint("downloads", __name__, url_prefix="/export")

# URL segment -> printmap kind.
_KINDS = {"grids": "grid", "towns": "town", "units": "unit", "leaders": "leader"}


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
    """/export/grids/<code>.png|pdf|svg?dpi=..&paper=A4|A3&landscape=1 (also towns, units, leaders)."""
    if collection not in _KINDS:
        msg = f"没有“{collection}”这类出图对象；可选 grids、towns、units、leaders"
        raise NotFound(msg)
    return _map(_KINDS[collection], code, fmt)


@bp.get("/<collection>/<code>")
def subject_map_form(collection: str, code: str):
    """The same with the format as a query parameter (?format=pdf), for plain HTML forms."""
    if collection not in _KINDS:
        msg = f"没有“{collection}”这类出图对象；可选 grids、towns、units、leaders"
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
