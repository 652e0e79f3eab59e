"""Pages of the grid levels: one town, county-town grid, village, group or sub-grid, and its JSON twin."""

from __future__ import annotations

from flask import Blueprint, render_template

from gridmap.leveldetail import level_detail
from web.context import reference

bp = Blueprint("levels", __name__)


@bp.get("/levels/<code>")
def level(code: str):
    return render_template("levels/level.html", level=level_detail(reference().model(), code))


@bp.get("/api/levels/<code>")
def level_json(code: str):
    return level_detail(reference().model(), code)
