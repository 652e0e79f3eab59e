"""Basemaps: tile servers, local tiles (a folder or an MBTiles file), and our own named streets."""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import folium
import numpy as np
import shapely
from folium.elements import JSCSSMixin
from jinja2 import Template

from gridmap import safe
from gridmap.assets import static_asset_url
from gridmap.io import mbtiles
from gridmap.settings import BASEMAP_MBTILES

BASEMAPS = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", None),
    "amap": (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "© 高德地图",
        "1234",
    ),
    "tianditu": (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={token}",
        "© 天地图",
        "01234567",
    ),
}
TIANDITU_LABELS = (
    "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={token}"
)
STREETS_SCRIPT = "js/streets.js"  # under web/static: draws street_base() on a Leaflet map

# Street base geometry: ~1 m simplification, coordinates to 1e-6 degree (~0.1 m).
_SIMPLIFY_DEG = 1e-5
_DIGITS = 6
_LABEL_MIN_M = 40.0  # shorter named pieces get no label
LABEL_MIN_SPACING_M = 100.0  # the finest level of label spots along a street
_LABEL_MAX_LEVEL = 6  # at most 2**6 spots per street piece
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON = 111_320.0


class BasemapOptions(Protocol):
    """What add_basemap reads from a map's options (gridmap.maps.MapOptions has it)."""

    @property
    def basemap(self) -> str: ...
    @property
    def tianditu_token(self) -> str: ...
    @property
    def api_base(self) -> str: ...
    @property
    def page_base(self) -> str: ...


def is_mbtiles(basemap: str) -> bool:
    """True when the basemap setting names a local MBTiles file."""
    return basemap.lower().endswith(".mbtiles")


def is_local(basemap: str) -> bool:
    """True when the basemap is served by gridmap itself (/tiles/…): a tile folder or an MBTiles file."""
    return bool(basemap) and basemap not in BASEMAPS and basemap != "none"


def basemap_sources(basemap: str) -> list[str]:
    """Content-Security-Policy sources (img-src) of a basemap's tile servers.

    ``{s}`` subdomains become a ``*.`` wildcard: ``https://*.tianditu.gov.cn``. A local tile
    folder or MBTiles file is served by us (``'self'``) and ``none`` has no tiles: both give ``[]``.
    """
    if basemap not in BASEMAPS:
        return []
    urls = [BASEMAPS[basemap][0]] + ([TIANDITU_LABELS] if basemap == "tianditu" else [])
    sources = []
    for url in urls:
        parts = urlsplit(url)
        labels = parts.netloc.split(".")
        if "{" in labels[0]:
            labels[0] = "*"
        source = f"{parts.scheme}://{'.'.join(labels)}"
        if source not in sources:
            sources.append(source)
    return sources


def local_tile(basemap: str, *, z: int, x: int, y: int, ext: str) -> tuple[bytes, str] | None:
    """(bytes, media type) of one tile of a local basemap (tile folder or MBTiles), or None."""
    if is_mbtiles(basemap):
        data = mbtiles.read_tile(basemap, z=z, x=x, y=y)
        return None if data is None else (data, mbtiles.media_type(data))
    folder = Path(basemap)
    if ext not in {"png", "jpg", "jpeg", "webp"} or not folder.is_absolute():
        return None
    path = folder / str(z) / str(x) / f"{y}.{ext}"
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data, mbtiles.media_type(data)


def _native_zoom(basemap: str) -> dict[str, int]:
    """Leaflet zoom limits of an MBTiles file (tiles are scaled up beyond its deepest level)."""
    if not is_mbtiles(basemap):
        return {}
    try:
        info = mbtiles.inspect(basemap)
    except Exception:
        return {}
    return {"max_native_zoom": info.max_zoom, "min_native_zoom": info.min_zoom}


def add_basemap(m: folium.Map, opts: BasemapOptions) -> None:
    """Add the background that `opts.basemap` names: tiles, or for "none" our own named streets."""
    if opts.basemap == "none":
        m.add_child(StreetBase(opts))
        return
    if opts.basemap in BASEMAPS:
        url, attribution, subdomains = BASEMAPS[opts.basemap]
        url = url.replace("{token}", opts.tianditu_token)
        folium.TileLayer(
            url,
            attr=attribution,
            name="底图",
            max_zoom=19,
            **({"subdomains": subdomains} if subdomains else {}),  # type: ignore[arg-type]
        ).add_to(m)
        if opts.basemap == "tianditu":
            folium.TileLayer(
                TIANDITU_LABELS.replace("{token}", opts.tianditu_token),
                attr=attribution,
                name="注记",
                overlay=True,
                subdomains="01234567",
                max_zoom=19,
            ).add_to(m)
        return
    folium.TileLayer(
        opts.page_base + "/tiles/{z}/{x}/{y}.png",
        attr="本地瓦片",
        name="底图",
        max_zoom=19,
        **_native_zoom(opts.basemap),  # type: ignore[arg-type]
    ).add_to(m)


class StreetBase(JSCSSMixin):
    """The county's own streets and their names under our layers (the offline basemap).

    The page loads ``web/static/js/streets.js`` and fetches ``{api_base}/streets``
    (``street_base``), so the map page itself stays as small as before.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (window.gridmapStreets) window.gridmapStreets({{ this._parent.get_name() }}, {{ this.data_url|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, opts: BasemapOptions) -> None:
        super().__init__()
        self._name = "StreetBase"
        self.default_js = [
            ("gm_streets", static_asset_url(STREETS_SCRIPT, static_url=opts.page_base + "/static"))
        ]
        self.data_url = opts.api_base + "/streets"


# --- the street base: lines and name labels ---------------------------------------------------
def _flat(geom: Any) -> list[list[float]]:
    """Every line of a (multi)line geometry as a flat [lon, lat, lon, lat, …] list."""
    out = []
    for part in shapely.get_parts(geom):
        coords = np.round(shapely.get_coordinates(part), _DIGITS)
        if len(coords) >= 2:
            out.append([float(v) for v in coords.ravel()])
    return out


def _label_spots(geoms: list[Any]) -> list[list[float]]:
    """Label spots [lat, lon, angle, spacing m, last] of one street, in levels.

    Level k puts 2**k spots evenly along each merged piece, ``spacing`` metres apart (level 0:
    the middle, spacing = the piece's length), down to LABEL_MIN_SPACING_M; ``last`` (1/0)
    marks the finest level. A map shows the finest level whose spacing still fits the name on
    screen. The angle is the street's there (degrees clockwise from east, never upside down).
    """
    merged = shapely.line_merge(shapely.union_all(geoms))
    spots: list[list[float]] = []
    for part in shapely.get_parts(merged):
        if part.geom_type != "LineString" or part.is_empty:
            continue
        coords = shapely.get_coordinates(part)
        lat0 = float(np.mean(coords[:, 1]))
        kx = _M_PER_DEG_LON * math.cos(math.radians(lat0))
        metric = shapely.LineString(np.column_stack([coords[:, 0] * kx, coords[:, 1] * _M_PER_DEG_LAT]))
        length = metric.length
        if length < _LABEL_MIN_M:
            continue
        level = 0
        while level <= _LABEL_MAX_LEVEL and (level == 0 or length / 2**level >= LABEL_MIN_SPACING_M):
            count = 2**level
            for i in range(count):
                at = length * (i + 0.5) / count
                a = metric.interpolate(max(0.0, at - 10.0))
                b = metric.interpolate(min(length, at + 10.0))
                mid = metric.interpolate(at)
                # screen y grows downwards: a street rising to the east turns the text anticlockwise
                angle = -math.degrees(math.atan2(b.y - a.y, b.x - a.x))
                if angle > 90:
                    angle -= 180
                elif angle <= -90:
                    angle += 180
                last = not (level < _LABEL_MAX_LEVEL and length / 2 ** (level + 1) >= LABEL_MIN_SPACING_M)
                at_lat, at_lon = round(mid.y / _M_PER_DEG_LAT, _DIGITS), round(mid.x / kx, _DIGITS)
                spots.append([at_lat, at_lon, round(angle), round(length / count), int(last)])
            level += 1
    return spots


def street_features(lines: list[tuple[Any, Any]], *, osm_count: int = 0) -> dict:
    """The street base from (name, line geometry) pairs: {"lines": flat lon/lat lists, "labels":
    [{"t": name, "s": label spots (see _label_spots)}]}.

    The first ``osm_count`` pairs are imported OSM streets: a name found among them is labelled
    from those lines only (the fuller drawing), so one street is not labelled twice.
    """
    flat: list[list[float]] = []
    osm_names: dict[str, list[Any]] = {}
    other_names: dict[str, list[Any]] = {}
    for index, (name, geom) in enumerate(lines):
        if geom is None or geom.is_empty:
            continue
        flat.extend(_flat(shapely.simplify(geom, _SIMPLIFY_DEG, preserve_topology=False)))
        text = safe.text(name).strip()
        if text:
            (osm_names if index < osm_count else other_names).setdefault(text, []).append(geom)
    by_name = {**other_names, **osm_names}
    labels = [{"t": name, "s": spots} for name in sorted(by_name) if (spots := _label_spots(by_name[name]))]
    return {"lines": flat, "labels": labels}


# --- offline tiles in the instance folder ------------------------------------------------------
def import_mbtiles(source: str | Path, *, instance_dir: str | Path) -> mbtiles.MBTilesInfo:
    """Check an MBTiles file and copy it into the instance folder (``BASEMAP_MBTILES``), atomically.

    Raises InvalidInput (in Chinese, with what to do) for a file that is not raster MBTiles; the
    tiles in force stay as they were.
    """
    mbtiles.inspect(source)
    folder = Path(instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / BASEMAP_MBTILES
    partial = folder / f".{BASEMAP_MBTILES}.{os.getpid()}.part"
    try:
        shutil.copyfile(source, partial)
        info = mbtiles.inspect(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return replace(info, path=target)
