"""HTML pages: the county map, grid, unit and leader pages, and their lists."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from gridmap import maps, publish
from gridmap.assets import localize
from web.context import reference, settings

bp = Blueprint("pages", __name__)


def _map_parts(key: tuple, build) -> dict[str, str]:
    """Render a map once per data version; later requests reuse the HTML."""
    model = reference().model()
    cache = model.__dict__.setdefault("_page_cache", {})
    if key not in cache:
        m = build(model, _options())
        localize(m, base_url=url_for("static", filename="vendor").rstrip("/"))
        cache[key] = maps.map_parts(m)
    return cache[key]


def _options() -> maps.MapOptions:
    cfg = settings()
    tiles = url_for("vtiles.tile", layer="LAYER", z=0, x=0, y=0).replace("LAYER/0/0/0", "{layer}/{z}/{x}/{y}")
    tiles += f"?v={reference().version}" + ("&crs=gcj02" if cfg.basemap == "amap" else "")
    return maps.MapOptions(
        basemap=cfg.basemap,
        tianditu_token=cfg.tianditu_token,
        api_base=url_for("api.whois").rsplit("/", 1)[0],
        page_base=url_for("pages.index").rstrip("/"),
        embed_max_features=cfg.embed_max_features,
        tile_url=tiles,
    )


@bp.get("/")
def index():
    model = reference().model()
    parts = _map_parts(("county",), lambda mo, op: maps.build_map(mo, op, extra=_problem_overlay()))
    return render_template(
        "index.html",
        map=parts,
        grids=reference().cached("grid_list", publish.grid_list),
        status=publish.status(model, version=reference().version),
    )


@bp.get("/grids")
def grid_list():
    return render_template("grids.html", grids=reference().cached("grid_list", publish.grid_list))


@bp.get("/grids/<code>")
def grid(code: str):
    detail = reference().model().grid_detail(code)  # NotFound for unknown codes
    parts = _map_parts(
        ("grid", code),
        lambda mo, op: maps.build_map(mo, op, grid_codes=[code], extra=_problem_overlay(grid=code)),
    )
    return render_template("grid.html", grid=detail, map=parts)


@bp.get("/units")
def unit_list():
    return render_template("units.html", units=reference().cached("unit_list", publish.unit_list))


@bp.get("/units/<code>")
def unit(code: str):
    detail = reference().model().unit_detail(code)
    parts = _map_parts(
        ("unit", code),
        lambda mo, op: maps.build_map(mo, op, unit_code=code, extra=_problem_overlay(unit=code)),
    )
    return render_template("unit.html", unit=detail, map=parts)


@bp.get("/leaders")
def leader_list():
    return render_template("leaders.html", leaders=reference().cached("leader_list", publish.leader_list))


@bp.get("/leaders/<code>")
def leader(code: str):
    detail = reference().model().leader_detail(code)
    codes = [g["code"] for g in detail["grids"]]
    parts = _map_parts(
        ("leader", code),
        lambda mo, op: maps.build_map(mo, op, grid_codes=codes, extra=_problem_overlay(grid=",".join(codes))),
    )
    return render_template("leader.html", leader=detail, map=parts)


# --- hook: the problem overlay (issue 3, owned by web/problems.py) ---------------------
def _problem_overlay(**scope):
    from web.problems import map_overlay

    return map_overlay(**scope)
