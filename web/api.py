"""JSON API: whois, layers as GeoJSON, grids, units, leaders, search."""

from __future__ import annotations

from flask import Blueprint, Response, request

from gridmap import publish
from web.context import reference

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/whois")
def whois():
    args = request.args
    return reference().whois().lookup(args.get("lon"), args.get("lat"), crs=args.get("crs"))


@bp.get("/layers/<name>.geojson")
def layer(name: str):
    cache = reference()
    text = publish.layer_geojson(cache.model(), name, version=cache.version)
    return Response(text, mimetype="application/geo+json")


@bp.get("/grids")
def grids():
    return {"grids": reference().cached("grid_list", publish.grid_list)}


@bp.get("/grids/<code>")
def grid(code: str):
    return reference().model().grid_detail(code)


@bp.get("/units")
def units():
    return {"units": reference().cached("unit_list", publish.unit_list)}


@bp.get("/units/<code>")
def unit(code: str):
    return reference().model().unit_detail(code)


@bp.get("/leaders")
def leaders():
    return {"leaders": reference().cached("leader_list", publish.leader_list)}


@bp.get("/leaders/<code>")
def leader(code: str):
    return reference().model().leader_detail(code)


@bp.get("/search")
def search():
    results = reference().model().search(request.args.get("q", ""))
    return {"results": publish.shift_hits(results, crs=request.args.get("crs"))}


@bp.get("/status")
def status():
    cache = reference()
    return publish.status(cache.model(), version=cache.version)


@bp.get("/ping")
def ping():
    """Liveness check for monitoring (and the HTTP baseline of `make bench`)."""
    return {"ok": True}
