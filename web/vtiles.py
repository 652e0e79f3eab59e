"""Vector tiles (Mapbox Vector Tile) of the responsibility layers, and their JSON index /api/vt.json."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from gridmap import vectortiles
from gridmap.problems import tiles as problem_tiles
from gridmap.spatial import tiles as spatial_tiles
from web.context import reference, store
from web.problems import ctx, now

bp = Blueprint("vtiles", __name__)

# A tile asked for with this data version (?v=) never changes: browsers keep it a day.
VERSIONED_MAX_AGE_S = 86400


@bp.get("/vt/<layer>/<int:z>/<int:x>/<int:y>.pbf")
def tile(layer: str, z: int, x: int, y: int):
    cache = reference()
    version = cache.version
    crs = request.args.get("crs", "wgs84")
    found = spatial_tiles.vector_tile(
        store(), cache.model(), version=version, layer=layer, z=z, x=x, y=y, crs=crs
    )
    return _send(found, etag=f"vt-{version}-{crs}", keep=request.args.get("v") == str(version))


@bp.get("/vt/problems/<int:z>/<int:x>/<int:y>.pbf")
def problems(z: int, x: int, y: int):
    """The public problems of the map's JSON layer as a tile; revalidated by the problems' version."""
    scope = problem_tiles.parse_scope(request.args, ctx=ctx())
    crs = request.args.get("crs", "wgs84")
    page_base = url_for("pages.index").rstrip("/")
    version, found = problem_tiles.problem_tile(
        ctx(), z=z, x=x, y=y, scope=scope, crs=crs, now=now(), page_base=page_base
    )
    return _send(found, etag=f"vt-{version}-{crs}", keep=False)


def _send(found: vectortiles.Tile, *, etag: str, keep: bool) -> Response:
    """A tile, gzipped when the client takes it; kept a day when ``keep`` (its URL names its version),
    else revalidated by ``etag`` (the data version)."""
    gzipped = bool(found.data) and "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(found.gzipped if gzipped else found.data, mimetype=vectortiles.MEDIA_TYPE)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{etag}-{'gz' if gzipped else 'id'}")
    response.cache_control.public = True
    if keep:
        response.cache_control.max_age = VERSIONED_MAX_AGE_S
    else:
        response.cache_control.no_cache = True
    response.make_conditional(request)  # 304 when the client holds this version
    return response


@bp.get("/api/vt.json")
def index():
    version = reference().version

    def tile_url(layer: str) -> str:
        base = url_for("vtiles.tile", layer=layer, z=0, x=0, y=0)
        return base.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf") + f"?v={version}"

    return {"data_version": version, **vectortiles.layer_index(tile_url=tile_url)}
