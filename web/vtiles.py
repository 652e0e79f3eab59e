"""Vector tiles (Mapbox Vector Tile) of the responsibility layers, and their JSON index /api/vt.json."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from gridmap import vectortiles
from web.context import reference

bp = Blueprint("vtiles", __name__)

# A tile asked for with this data version (?v=) never changes: browsers keep it a day.
VERSIONED_MAX_AGE_S = 86400


@bp.get("/vt/<layer>/<int:z>/<int:x>/<int:y>.pbf")
def tile(layer: str, z: int, x: int, y: int):
    cache = reference()
    version = cache.version
    crs = request.args.get("crs", "wgs84")
    found = vectortiles.vector_tile(cache.model(), version=version, layer=layer, z=z, x=x, y=y, crs=crs)
    gzipped = bool(found.data) and "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(found.gzipped if gzipped else found.data, mimetype=vectortiles.MEDIA_TYPE)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"vt-{version}-{crs}-{'gz' if gzipped else 'id'}")
    response.cache_control.public = True
    if request.args.get("v") == str(version):
        response.cache_control.max_age = VERSIONED_MAX_AGE_S
    else:
        response.cache_control.no_cache = True  # revalidate by ETag (the data version)
    return response.make_conditional(request)


@bp.get("/api/vt.json")
def index():
    version = reference().version

    def tile_url(layer: str) -> str:
        base = url_for("vtiles.tile", layer=layer, z=0, x=0, y=0)
        return base.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf") + f"?v={version}"

    return {"data_version": version, **vectortiles.layer_index(tile_url=tile_url)}
