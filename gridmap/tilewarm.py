"""Tile warm-up: encode the vector tiles of a tiled county's first view before any browser asks."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator

from gridmap import vectortiles
from gridmap.errors import GridmapError
from gridmap.maps import MapOptions
from gridmap.reference import ReferenceCache
from gridmap.responsibility import ResponsibilityModel
from gridmap.spatial import tiles as spatial_tiles
from gridmap.store import Store

log = logging.getLogger(__name__)

#: Map sizes (CSS pixels of the map's container) whose first view is warmed, most common first:
#: the county page on a desktop (beside its side panel) and on a phone, then other screens.
VIEW_SIZES: tuple[tuple[int, int], ...] = (
    (880, 740),
    (390, 790),
    (1280, 740),
    (360, 700),
    (414, 840),
    (1000, 640),
    (1560, 880),
    (1860, 1000),
    (768, 960),
)
FIT_PADDING_PX = 20  # gridmap.maps fits the county's bounds with this padding on every side


def _mercator_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Leaflet's pixel coordinates of a point at zoom ``z`` (256-px tiles, y down)."""
    scale = vectortiles.TILE_PX * (1 << z)
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    s = math.sin(math.radians(lat))
    x = (lon + 180.0) / 360.0 * scale
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def fit_zoom(bounds: tuple[float, float, float, float], size: tuple[int, int], *, max_zoom: int = 19) -> int:
    """The zoom Leaflet's ``fitBounds(bounds, padding)`` picks for a map of ``size`` pixels."""
    minx, miny, maxx, maxy = bounds
    (x0, y0), (x1, y1) = _mercator_px(minx, maxy, 0), _mercator_px(maxx, miny, 0)
    width, height = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    room_x, room_y = size[0] - 2 * FIT_PADDING_PX, size[1] - 2 * FIT_PADDING_PX
    scale = min(room_x / width, room_y / height)
    zoom = math.floor(math.log2(scale) + 1e-9) if scale > 0 else 0
    return max(0, min(max_zoom, zoom))


def first_view(
    bounds: tuple[float, float, float, float], size: tuple[int, int]
) -> Iterator[tuple[int, int, int]]:
    """(z, x, y) of every tile a map of ``size`` shows after fitting ``bounds``, as Leaflet asks for them."""
    z = fit_zoom(bounds, size)
    minx, miny, maxx, maxy = bounds
    (x0, y0), (x1, y1) = _mercator_px(minx, maxy, z), _mercator_px(maxx, miny, z)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    tile = vectortiles.TILE_PX
    last = (1 << z) - 1
    tx0, ty0 = math.floor((cx - size[0] / 2) / tile), math.floor((cy - size[1] / 2) / tile)
    tx1, ty1 = math.ceil((cx + size[0] / 2) / tile) - 1, math.ceil((cy + size[1] / 2) / tile) - 1
    for x in range(max(tx0, 0), min(tx1, last) + 1):
        for y in range(max(ty0, 0), min(ty1, last) + 1):
            yield z, x, y


def warm_first_view(
    model: ResponsibilityModel,
    *,
    version: int,
    crs: str = "wgs84",
    sizes: Iterable[tuple[int, int]] = VIEW_SIZES,
    budget_s: float = 120.0,
    store: Store | None = None,
) -> dict:
    """Encode (into the process's tile cache) every tile of the county's first view at each map size,
    for the layers drawn at that zoom, until ``budget_s`` seconds are spent; returns what was done.

    Called in the server's master before it forks: the workers inherit the cache, so the first browser
    to open a big county gets its tiles from memory instead of waiting for them to be encoded.
    ``store``: the one requests are served from, so that the tiles are made by the same encoder (PostGIS
    ST_AsMVT on PostgreSQL) and kept under the same keys as a request's.
    """

    def make(layer: str, z: int, x: int, y: int) -> None:
        if store is None:
            vectortiles.vector_tile(model, version=version, layer=layer, z=z, x=x, y=y, crs=crs)
        else:
            spatial_tiles.vector_tile(store, model, version=version, layer=layer, z=z, x=x, y=y, crs=crs)

    started = time.perf_counter()
    box = vectortiles.bounds(model)
    done: set[tuple[int, int, int]] = set()
    tiles = 0
    if box is not None:
        for size in sizes:
            for z, x, y in first_view(box, size):
                if (z, x, y) in done:
                    continue
                if time.perf_counter() - started > budget_s:
                    log.warning("tile warm-up stopped after %.0f s (%d tiles)", budget_s, tiles)
                    return {"tiles": tiles, "views": len(done), "seconds": time.perf_counter() - started}
                done.add((z, x, y))
                for spec in vectortiles.LAYERS.values():
                    if z >= spec.min_zoom:
                        make(spec.name, z, x, y)
                        tiles += 1
        # the layers drawn only closer in (roads, points, communities): one tile each at the county's
        # centre, which indexes the whole layer, so that the first zoom-in or click does not wait for it
        lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for spec in vectortiles.LAYERS.values():
            if spec.min_zoom > 0 and time.perf_counter() - started <= budget_s:
                px, py = _mercator_px(lon, lat, spec.min_zoom)
                x, y = int(px // vectortiles.TILE_PX), int(py // vectortiles.TILE_PX)
                make(spec.name, spec.min_zoom, x, y)
                tiles += 1
    seconds = time.perf_counter() - started
    log.info("tile warm-up: %d tiles of %d first-view places in %.1f s", tiles, len(done), seconds)
    return {"tiles": tiles, "views": len(done), "seconds": seconds}


class FirstViewWarmer:
    """Warms the first view of the reference model's county in the server's master, before the fork
    (``serving.on_ready(warmer.warm)``), when the county is big enough to be drawn from tiles.

    ``embed_max_features`` is GRIDMAP_EMBED_MAX_FEATURES (None: never tiled, nothing to warm);
    ``crs`` the tiles' display CRS ("gcj02" on Amap).
    """

    def __init__(
        self, reference: ReferenceCache, *, embed_max_features: int | None, crs: str = "wgs84"
    ) -> None:
        self.reference = reference
        self.embed_max_features = embed_max_features
        self.crs = crs
        self.result: dict | None = None

    def tiled(self, model: ResponsibilityModel) -> bool:
        """Whether the county page of ``model`` draws tiles (as gridmap.maps.MapOptions.tiled)."""
        options = MapOptions(embed_max_features=self.embed_max_features, tile_url="/vt")
        return options.tiled(model)

    def warm(self) -> None:
        try:
            version, model = self.reference.version, self.reference.model()
        except GridmapError:  # no data loaded yet: nothing to draw
            return
        if self.tiled(model):
            self.result = warm_first_view(model, version=version, crs=self.crs, store=self.reference.store)
