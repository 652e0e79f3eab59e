"""Local basemap tiles (a tile folder or an MBTiles file named by GRIDMAP_BASEMAP), the street base
that stands in for tiles when there are none, and the favicon."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_from_directory

from gridmap import basemaps, streetbase
from web.context import reference, settings, store

bp = Blueprint("tiles", __name__)

TILE_MAX_AGE_S = 86400


@bp.get("/tiles/<int:z>/<int:x>/<int:y>.<ext>")
def tile(z: int, x: int, y: int, ext: str):
    found = basemaps.local_tile(settings().basemap, z=z, x=x, y=y, ext=ext)
    if found is None:
        abort(404)
    data, media_type = found
    response = Response(data, mimetype=media_type)
    response.cache_control.public = True
    response.cache_control.max_age = TILE_MAX_AGE_S
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/api/streets")
def streets():
    """The street base (lines and name labels) as JSON; revalidated by ETag."""
    text, etag = streetbase.street_base(store(), reference().model())
    response = Response(text, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(
        Path(current_app.static_folder), "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
