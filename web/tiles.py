"""Local basemap tiles, served from the folder named by GRIDMAP_BASEMAP, and the favicon."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

from web.context import settings

bp = Blueprint("tiles", __name__)


@bp.get("/tiles/<int:z>/<int:x>/<int:y>.<ext>")
def tile(z: int, x: int, y: int, ext: str):
    folder = settings().basemap
    if ext not in {"png", "jpg", "jpeg", "webp"} or not Path(folder).is_absolute():
        abort(404)
    return send_from_directory(folder, f"{z}/{x}/{y}.{ext}", max_age=86400)


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(
        Path(current_app.static_folder), "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
