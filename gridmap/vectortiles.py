"""Mapbox Vector Tiles of the responsibility layers, encoded in Python and cached per data version."""

from __future__ import annotations

import colorsys
import gzip
import hashlib
import itertools
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridmap import safe
from gridmap.crs import convert_geoseries
from gridmap.errors import InvalidInput, NotFound
from gridmap.responsibility import ResponsibilityModel

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096  # tile units per tile side (the MVT default)
BUFFER_PX = 8  # geometry kept beyond the tile's edge, in 256-px tile pixels (no seams at the edges)
TILE_PX = 256
LABEL_PX = 24.0  # features smaller than this on screen carry no text but their code
SLIM_KEYS = frozenset({"code", "color", "grid_code", "unit_code", "level", "parent_code"})
MAX_ZOOM = 20
ORIGIN = 20037508.342789244  # half the Web Mercator world, metres
CRS_NAMES = ("wgs84", "gcj02")

# Grid colours, in the order of the grids (gridmap.maps uses the same ones on the embedded map).
GRID_COLORS = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#9a6324",
    "#469990",
    "#808000",
    "#000075",
    "#e6a800",
)


def unit_color(code: str) -> str:
    """A stable, distinct-enough colour for a unit code (its road sections on the map)."""
    h = int(hashlib.sha1(code.encode("utf-8")).hexdigest()[:8], 16)
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, 0.42, 0.75)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


@dataclass(frozen=True)
class LayerSpec:
    """A tiled layer: its Chinese label, the first zoom it is drawn at, and the smallest feature kept.

    ``min_px``: below this size on screen (the larger side of its box, in 256-px tile pixels) a feature
    is left out of the tile: at a province's zoom a grid a pixel wide draws nothing a person can see.
    Below LABEL_PX a feature keeps only its code and colour (no name to hover over at that size).
    """

    name: str
    label: str
    min_zoom: int
    min_px: float


LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec("towns", "镇（街道）", 0, 2.0),
        LayerSpec("rivers", "河流", 0, 2.0),
        LayerSpec("grids", "网格", 0, 3.0),
        LayerSpec("communities", "小区", 14, 2.0),
        LayerSpec("segments", "责任路段（按单位着色）", 14, 2.0),
        LayerSpec("points", "实地考察点位", 14, 0.0),
        LayerSpec("subgrids", "村、组网格及子网格", 0, 3.0),
        LayerSpec("frontages", "门前五包范围", 15, 1.0),
        LayerSpec("buildings", "楼栋", 16, 1.0),
        LayerSpec("shops", "商户", 15, 0.0),
    )
}

_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


def _mercator(geoms: np.ndarray) -> np.ndarray:
    def project(coords: np.ndarray) -> np.ndarray:
        lat = np.clip(coords[:, 1], -85.05112878, 85.05112878)
        x, y = _TO_MERCATOR.transform(coords[:, 0], lat)
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def _text(value: Any) -> str | None:
    return None if safe.is_missing(value) else str(value)


def _texts(values: Any) -> list[str | None]:
    return [_text(v) for v in values]


def _lookup(table: pd.DataFrame, column: str, codes: pd.Series) -> list[str | None]:
    """``table[column]`` of each code (None for a missing or unknown code), in one vectorised step."""
    keys = codes.astype(object).where(codes.notna(), None)
    found = table[column][~table.index.duplicated()].reindex(pd.Index(keys.to_numpy(dtype=object)))
    return _texts(found.to_numpy(dtype=object))


def _unit_columns(model: ResponsibilityModel, codes: pd.Series) -> dict[str, list]:
    units = model.units
    return {
        "unit_code": _texts(codes),
        "unit_name": _lookup(units, "name", codes),
        "unit_contact": _lookup(units, "contact", codes),
        "unit_phone": _lookup(units, "phone", codes),
    }


def _grid_names(model: ResponsibilityModel, codes: pd.Series) -> list[str | None]:
    return _lookup(model.grids, "name", codes)


def _properties(model: ResponsibilityModel, name: str, frame: gpd.GeoDataFrame) -> dict[str, list]:
    """Per-feature properties: what the tooltips and popups of the tiled map show (plain text)."""
    codes = [str(c) for c in frame.index]
    props: dict[str, list] = {"code": codes}

    def col(column: str) -> list:
        if column not in frame.columns:
            return [None] * len(frame)
        return [_text(v) for v in frame[column]]

    if name in ("towns", "rivers", "communities", "grids"):
        props["name"] = col("name")
    if name == "grids":
        props["color"] = [GRID_COLORS[i % len(GRID_COLORS)] for i in range(len(frame))]
    if name == "communities":
        props.update(grid_code=col("grid_code"), unit_code=col("unit_code"))
    if name == "segments":
        props.update(
            road_name=col("road_name"),
            from_name=col("from_name"),
            to_name=col("to_name"),
            length_m=[None if safe.is_missing(v) else round(float(v)) for v in frame["length_m"]],
            grid_code=col("grid_code"),
            grid_name=_grid_names(model, frame["grid_code"]),
            color=[unit_color(str(u)) if not safe.is_missing(u) else None for u in frame["unit_code"]],
        )
        props.update(_unit_columns(model, frame["unit_code"]))
    if name == "subgrids":  # the level switch and drill-down filter on level and parent
        props.update(
            name=col("name"), level=col("level"), parent_code=col("parent_code"), town_code=col("town_code")
        )
    if name == "shops":  # public fields only: the owner's contact is for the office
        props.update(name=col("name"), category=col("category"), address=col("address"))
    if name == "buildings":
        props.update(name=col("name"), community_code=col("community_code"))
    if name == "frontages":
        props.update(
            shop_code=col("shop_code"),
            name=_lookup(model.shops, "name", frame["shop_code"])
            if "shop_code" in frame.columns
            else [None] * len(frame),
        )
    if name == "points":
        props.update(
            name=col("name"),
            category=col("category"),
            address=col("address"),
            grid_code=col("grid_code"),
            grid_name=_grid_names(model, frame["grid_code"]),
        )
        props.update(_unit_columns(model, frame["unit_code"]))
    return props


@dataclass
class _Prepared:
    """One layer in Web Mercator: geometries, their box sizes, an STRtree, and per-feature properties."""

    geoms: np.ndarray
    size_m: np.ndarray
    tree: shapely.STRtree
    props: dict[str, list]


def _prepare(model: ResponsibilityModel, name: str, *, crs: str) -> _Prepared:
    frame: gpd.GeoDataFrame = getattr(model, name)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    geometry = frame.geometry
    if crs == "gcj02":
        geometry = convert_geoseries(geometry, source="wgs84", target="gcj02")
    geoms = _mercator(np.asarray(geometry.values, dtype=object))
    bounds = shapely.bounds(geoms)
    size_m = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    # a point has no size but is always drawn as a dot with its popup: never "too small to label"
    size_m[np.isin(shapely.get_type_id(geoms), (0, 4))] = np.inf
    return _Prepared(
        geoms=geoms, size_m=size_m, tree=shapely.STRtree(geoms), props=_properties(model, name, frame)
    )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of an XYZ tile in Web Mercator metres (y counts down from the north)."""
    size = 2 * ORIGIN / (1 << z)
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def _check(layer: str, z: int, x: int, y: int, crs: str) -> LayerSpec:
    spec = LAYERS.get(layer)
    if spec is None:
        msg = f"没有名为“{layer}”的矢量瓦片图层：可用的图层有 {'、'.join(LAYERS)}"
        raise NotFound(msg)
    check_tile(z, x, y, crs)
    return spec


def check_tile(z: int, x: int, y: int, crs: str) -> None:
    """InvalidInput for a zoom, tile number or coordinate system a tile cannot have."""
    if not 0 <= z <= MAX_ZOOM:
        msg = f"缩放级别 {z} 超出范围：矢量瓦片的缩放级别应在 0 到 {MAX_ZOOM} 之间"
        raise InvalidInput(msg)
    if not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
        msg = f"瓦片编号 {z}/{x}/{y} 超出范围：第 {z} 级的 x、y 应在 0 到 {(1 << z) - 1} 之间"
        raise InvalidInput(msg)
    if crs not in CRS_NAMES:
        msg = f"坐标系“{crs}”不受支持：crs 应为 wgs84 或 gcj02"
        raise InvalidInput(msg)


def _candidates(prepared: _Prepared, spec: LayerSpec, *, z: int, x: int, y: int) -> np.ndarray:
    """Indices of the features a tile draws: in its buffered box, big enough to see, in layer order."""
    if z < spec.min_zoom:
        return np.empty(0, dtype=np.intp)
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pixel = (maxx - minx) / TILE_PX
    pad = BUFFER_PX * pixel
    idx = np.sort(
        prepared.tree.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad), "intersects")
    )
    if spec.min_px > 0:
        idx = idx[prepared.size_m[idx] >= spec.min_px * pixel]
    return idx


@dataclass(frozen=True)
class TileSelection:
    """What a tile of a layer holds before its geometry is clipped and encoded (by another encoder,
    e.g. PostGIS ST_AsMVT): each feature's code, id and properties, as encode_tile gives them."""

    codes: list[str]
    ids: list[int]
    properties: list[dict]
    simplify_m: float  # the simplification tolerance in Web Mercator metres (half a pixel)


# Encodes one layer's tile from its selection: (spec, selection, z, x, y) -> MVT bytes
Encoder = Callable[[LayerSpec, TileSelection, int, int, int], bytes]


def select_features(prepared: _Prepared, spec: LayerSpec, *, z: int, x: int, y: int) -> TileSelection:
    """The features of a tile with encode_tile's rules (box, smallest size, slim properties when small)."""
    idx = _candidates(prepared, spec, z=z, x=x, y=y)
    minx, _miny, maxx, _maxy = tile_bounds(z, x, y)
    pixel = (maxx - minx) / TILE_PX
    labelled = prepared.size_m[idx] >= LABEL_PX * pixel
    names = list(prepared.props)
    slim = [n for n in names if n in SLIM_KEYS]
    columns = prepared.props
    props = [
        {n: columns[n][i] for n in (names if full else slim) if columns[n][i] is not None}
        for i, full in zip(idx, labelled)
    ]
    codes = [str(columns["code"][i]) for i in idx]
    return TileSelection(codes=codes, ids=[int(i) + 1 for i in idx], properties=props, simplify_m=pixel * 0.5)


def encode_tile(prepared: _Prepared, spec: LayerSpec, *, z: int, x: int, y: int) -> bytes:
    """One layer's tile: features in the buffered tile box, big enough to see, clipped, simplified
    to about a pixel and snapped to the tile's grid. An empty tile is ``b""`` (a valid empty MVT)."""
    idx = _candidates(prepared, spec, z=z, x=x, y=y)
    if len(idx) == 0:
        return b""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    size = maxx - minx
    pixel = size / TILE_PX
    pad = BUFFER_PX * pixel
    geoms = prepared.geoms[idx]
    geoms = shapely.simplify(geoms, pixel * 0.5, preserve_topology=True)
    geoms = shapely.clip_by_rect(geoms, minx - pad, miny - pad, maxx + pad, maxy + pad)
    scale = EXTENT / size

    def to_tile(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - minx) * scale, (maxy - coords[:, 1]) * scale])

    geoms = shapely.set_precision(shapely.transform(geoms, to_tile), 1.0)
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    if not keep.any():
        return b""
    geoms, idx = geoms[keep], idx[keep]
    # MVT: exterior rings have a positive area in tile coordinates (y down), holes negative
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    geoms[polygonal] = shapely.orient_polygons(geoms[polygonal], exterior_cw=False)
    labelled = prepared.size_m[idx] >= LABEL_PX * pixel
    features = []
    names = list(prepared.props)
    slim = [n for n in names if n in SLIM_KEYS]
    columns = {n: prepared.props[n] for n in names}
    for geom, i, full in zip(geoms, idx, labelled):
        props = {n: columns[n][i] for n in (names if full else slim) if columns[n][i] is not None}
        features.append({"geometry": geom, "properties": props, "id": int(i) + 1})
    return mapbox_vector_tile.encode(
        [{"name": spec.name, "features": features}],
        default_options={"y_coord_down": True, "extents": EXTENT, "check_winding_order": False},
    )


def encode_points(
    name: str, lonlat: np.ndarray, properties: list[dict], ids: list[int], *, z: int, x: int, y: int
) -> bytes:
    """A tile of one point layer (``lonlat``: an (n, 2) array in degrees): the points in the buffered
    tile box, in tile units; ``properties[i]`` and ``ids[i]`` go with point i. Empty: ``b""``."""
    if len(ids) == 0:
        return b""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = BUFFER_PX * (maxx - minx) / TILE_PX
    lat = np.clip(lonlat[:, 1], -85.05112878, 85.05112878)
    mx, my = _TO_MERCATOR.transform(lonlat[:, 0], lat)
    inside = np.flatnonzero((mx >= minx - pad) & (mx <= maxx + pad) & (my >= miny - pad) & (my <= maxy + pad))
    if len(inside) == 0:
        return b""
    scale = EXTENT / (maxx - minx)
    tx, ty = np.rint((mx[inside] - minx) * scale), np.rint((maxy - my[inside]) * scale)
    features = [
        {"geometry": shapely.Point(float(a), float(b)), "properties": properties[i], "id": int(ids[i])}
        for a, b, i in zip(tx, ty, inside)
    ]
    return mapbox_vector_tile.encode(
        [{"name": name, "features": features}],
        default_options={"y_coord_down": True, "extents": EXTENT, "check_winding_order": False},
    )


def lonlat_bounds(z: int, x: int, y: int, *, pad_px: float = BUFFER_PX) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of an XYZ tile widened by ``pad_px`` 256-px pixels."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = pad_px * (maxx - minx) / TILE_PX
    lon, lat = _TO_MERCATOR.transform(
        [minx - pad, maxx + pad], [max(miny - pad, -ORIGIN), min(maxy + pad, ORIGIN)], direction="INVERSE"
    )
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


@dataclass(frozen=True)
class Tile:
    """An encoded tile and its gzip form (compressed once, when it is made)."""

    data: bytes
    gzipped: bytes


_EMPTY = Tile(b"", gzip.compress(b"", mtime=0))


class TileCache:
    """Prepared layers per (model, data version, crs) and an LRU of encoded tiles keyed by
    (model, version, crs, layer, z, x, y). Thread-safe; one per process. The model is told apart by a
    token, not only by the data version: two stores in one process may both be at version 1."""

    def __init__(self, *, max_tiles: int = 20000, max_bytes: int = 64 << 20) -> None:
        self.max_tiles = max_tiles
        self.max_bytes = max_bytes  # raw + gzip of every kept tile
        self._bytes = 0
        self._lock = threading.Lock()
        self._tiles: OrderedDict[tuple, Tile] = OrderedDict()
        self._prepared: dict[tuple, _Prepared] = {}
        self._models: dict[int, tuple[weakref.ref, int]] = {}  # id(model) -> (the model, its token)
        self._tokens = itertools.count(1)
        self.hits = 0
        self.misses = 0

    def _token(self, model: ResponsibilityModel) -> int:
        """A number for this model object, never reused for another one (ids are, once freed)."""
        with self._lock:
            entry = self._models.get(id(model))
            if entry is not None and entry[0]() is model:
                return entry[1]
            for k in [k for k, (ref, _t) in self._models.items() if ref() is None]:
                del self._models[k]
            token = next(self._tokens)
            self._models[id(model)] = (weakref.ref(model), token)
            return token

    def _layer(self, model: ResponsibilityModel, name: str, *, version: tuple, crs: str) -> _Prepared:
        key = (version, crs, name)
        found = self._prepared.get(key)
        if found is None:
            found = _prepare(model, name, crs=crs)
            with self._lock:
                stale = [k for k in self._prepared if k[0] != version]
                for k in stale:  # a new data version (or model): the old layers go
                    del self._prepared[k]
                self._prepared[key] = found
        return found

    def tile(
        self,
        model: ResponsibilityModel,
        *,
        version: int,
        layer: str,
        z: int,
        x: int,
        y: int,
        crs: str = "wgs84",
        encoder: tuple[str, Encoder] | None = None,
    ) -> Tile:
        """The encoded tile, from the cache when this version's tile was made before. ``encoder``:
        (its name, the function) to encode the selected features in place of encode_tile."""
        spec = _check(layer, z, x, y, crs)
        if z < spec.min_zoom:
            return _EMPTY
        version_of = (self._token(model), version)

        def make() -> bytes:
            prepared = self._layer(model, layer, version=version_of, crs=crs)
            if encoder is None:
                return encode_tile(prepared, spec, z=z, x=x, y=y)
            chosen = select_features(prepared, spec, z=z, x=x, y=y)
            return encoder[1](spec, chosen, z, x, y) if chosen.ids else b""

        name = "python" if encoder is None else encoder[0]
        return self.remember((version_of, crs, layer, name, z, x, y), make)

    def remember(self, key: tuple, make: Callable[[], bytes]) -> Tile:
        """The tile kept under ``key`` (which must name its data version), else ``make()`` encoded
        now, gzipped once and kept in the LRU."""
        with self._lock:
            data = self._tiles.get(key)
            if data is not None:
                self._tiles.move_to_end(key)
                self.hits += 1
                return data
        raw = make()
        data = Tile(raw, gzip.compress(raw, compresslevel=6, mtime=0)) if raw else _EMPTY
        with self._lock:
            self.misses += 1
            if key not in self._tiles:
                self._tiles[key] = data
                self._bytes += len(data.data) + len(data.gzipped)
            while len(self._tiles) > self.max_tiles or (
                self._bytes > self.max_bytes and len(self._tiles) > 1
            ):
                _key, old = self._tiles.popitem(last=False)
                self._bytes -= len(old.data) + len(old.gzipped)
        return data


_CACHE = TileCache()


def cached_tile(key: tuple, make: Callable[[], bytes]) -> Tile:
    """A tile of another module's layer (problems, PostGIS) in the process's tile LRU: ``key`` names the
    layer, its data version and the tile; ``make()`` encodes it when it is not kept."""
    return _CACHE.remember(key, make)


def vector_tile(
    model: ResponsibilityModel,
    *,
    version: int,
    layer: str,
    z: int,
    x: int,
    y: int,
    crs: str = "wgs84",
    encoder: tuple[str, Encoder] | None = None,
) -> Tile:
    """An MVT tile of one layer of the model (``crs`` gcj02: shifted for Amap), cached per data version;
    ``encoder`` (name, function) encodes the selected features instead of this module (PostGIS).

    Raises NotFound for an unknown layer and InvalidInput for a zoom or tile number out of range.
    """
    return _CACHE.tile(model, version=version, layer=layer, z=z, x=x, y=y, crs=crs, encoder=encoder)


def layer_index(*, tile_url: Callable[[str], str]) -> dict:
    """The tiled layers and their URL templates (``tile_url(layer)``), for /api/vt.json."""
    return {
        "format": "mvt",
        "media_type": MEDIA_TYPE,
        "extent": EXTENT,
        "max_zoom": MAX_ZOOM,
        "layers": [
            {"name": s.name, "label": s.label, "min_zoom": s.min_zoom, "url": tile_url(s.name)}
            for s in LAYERS.values()
        ],
    }


def bounds(model: ResponsibilityModel) -> tuple[float, float, float, float] | None:
    """(minx, miny, maxx, maxy) in lon/lat of the county's grids (or towns): the map's first view."""
    for frame in (model.grids, model.towns):
        if len(frame):
            minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
            if all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
                return minx, miny, maxx, maxy
    return None
