"""Where the street network comes from: an OpenStreetMap import kept in the store, else the segments layer."""

from __future__ import annotations

import bz2
import gzip
import re
import shutil
import tempfile
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridmap import clock
from gridmap.errors import InvalidInput, NotFound
from gridmap.routing import repository
from gridmap.routing.streets import StreetNetwork
from gridmap.store import Store

# OSM highway=* values an inspector on foot or by bicycle cannot use, or that are not roads yet.
EXCLUDED_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "construction",
        "proposed",
        "abandoned",
        "disused",
        "razed",
        "raceway",
        "bus_guideway",
        "busway",
        "platform",
        "corridor",
        "elevator",
        "escape",
        "rest_area",
        "services",
    }
)
_TAG = re.compile(r'"([^"]+)"=>"([^"]*)"')
_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz")


def _tags(text: object) -> dict[str, str]:
    return dict(_TAG.findall(text)) if isinstance(text, str) else {}


def _walkable(tags: dict[str, str]) -> bool:
    if tags.get("foot") in ("no", "private") and tags.get("bicycle") in (None, "no", "private"):
        return False
    return not (
        tags.get("access") in ("no", "private")
        and tags.get("foot") not in ("yes", "designated", "permissive")
    )


def read_osm(path: str | Path) -> gpd.GeoDataFrame:
    """The walkable highway=* ways of an OpenStreetMap file (.osm, .osm.pbf, .osm.bz2, .osm.gz).

    Returns a GeoDataFrame (EPSG:4326) with columns name, kind (the highway value), osm_id.
    """
    import pyogrio

    source = Path(path)
    if not source.is_file():
        msg = f"找不到路网文件 {source}"
        raise InvalidInput(msg)
    lower = source.name.lower()
    if not lower.endswith(_SUFFIXES):
        msg = (
            f"路网文件 {source.name} 的类型无法识别：请提供 OpenStreetMap 文件"
            "（.osm、.osm.pbf，或压缩的 .osm.bz2、.osm.gz）"
        )
        raise InvalidInput(msg)
    with tempfile.TemporaryDirectory() as folder:
        readable = source
        if lower.endswith((".bz2", ".gz")):
            readable = Path(folder) / "streets.osm"
            opener = bz2.open if lower.endswith(".bz2") else gzip.open
            try:
                with opener(source) as packed, readable.open("wb") as plain:
                    shutil.copyfileobj(packed, plain)
            except (OSError, EOFError) as error:
                msg = f"路网文件 {source.name} 无法解压：{error}。请确认文件完整"
                raise InvalidInput(msg) from error
        elif lower.endswith(".pbf") and not lower.endswith(".osm.pbf"):
            readable = Path(folder) / "streets.osm.pbf"  # GDAL's OSM driver goes by the suffix
            shutil.copyfile(source, readable)
        try:
            frame = pyogrio.read_dataframe(
                readable, layer="lines", columns=["osm_id", "name", "highway", "other_tags"]
            )
        except Exception as error:
            msg = (
                f"路网文件 {source.name} 不是可读的 OpenStreetMap 数据（{error}）。"
                "请从 OpenStreetMap 导出 .osm 或 .osm.pbf 文件后重试"
            )
            raise InvalidInput(msg) from error
    frame = frame[frame["highway"].notna() & ~frame["highway"].isin(EXCLUDED_HIGHWAYS)]
    if len(frame):
        frame = frame[[_walkable(_tags(t)) for t in frame["other_tags"]]]
    if not len(frame):
        msg = f"路网文件 {source.name} 中没有可步行或骑行的道路（highway=* 的线）"
        raise InvalidInput(msg)
    out = gpd.GeoDataFrame(
        {
            "name": frame["name"].astype(object).where(frame["name"].notna(), None).to_numpy(),
            "kind": frame["highway"].astype(str).to_numpy(),
            "osm_id": frame["osm_id"].astype(str).to_numpy(),
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs or "EPSG:4326",
    )
    return out.to_crs("EPSG:4326")


def import_streets(store: Store, path: str | Path) -> dict:
    """Read an OSM file and make its streets the network of every later plan, in one transaction.

    Returns the network summary (junctions, edges, km, pieces not connected to each other).
    """
    lines = read_osm(path)
    network = StreetNetwork.from_lines(lines, name_column="name", source=Path(path).name)
    summary = network.summary()
    rows = [
        {"name": n, "kind": k, "osm_id": o, "geom": g}
        for n, k, o, g in zip(
            lines["name"],
            lines["kind"],
            lines["osm_id"],
            shapely.to_wkb(lines.geometry.to_numpy(), output_dimension=2),
        )
    ]
    repository.replace_streets(
        store,
        source=Path(path).name,
        rows=rows,
        km=summary["km"],
        components=summary["components"],
        at=clock.to_db(None),
    )
    summary["ways"] = len(rows)
    return summary


def clear_streets(store: Store) -> None:
    """Forget the imported streets: plans use the segments layer again."""
    repository.clear_streets(store, at=clock.to_db(None))


def current_import(store: Store) -> dict | None:
    """The street import in force (source, time, counts), or None when the segments layer is used."""
    return repository.current_import(store)


_cache: dict[tuple, StreetNetwork] = {}
_lock = threading.Lock()


def load_network(store: Store) -> StreetNetwork:
    """The network of the store: the imported streets if any, else the segments layer (cached per version).

    Raises
    ------
    NotFound
        When the store has neither imported streets nor road segments.
    """
    imported = current_import(store)
    key = (store.url, "osm", imported["id"]) if imported else (store.url, "segments", store.data_version())
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is not None:
            return found
        if imported:
            rows = repository.street_lines(store, imported["id"])
            lines = gpd.GeoDataFrame(
                {"name": [name for name, _ in rows]},
                geometry=shapely.from_wkb(np.array([geom for _, geom in rows], dtype=object)),
                crs="EPSG:4326",
            )
            network = StreetNetwork.from_lines(
                lines, name_column="name", source=f"导入路网 {imported['source']}"
            )
        else:
            rows = repository.segment_lines(store)
            if not rows:
                msg = (
                    "路网尚未导入：数据库中既没有导入的路网，也没有责任路段图层，无法沿街道计算距离。"
                    "请先 `gridmap load` 导入含 segments 图层的数据，或 `gridmap import-streets 文件.osm.pbf` "
                    "导入 OpenStreetMap 路网；平面坐标（米）请用 --planar 按直线距离规划。"
                )
                raise NotFound(msg)
            lines = gpd.GeoDataFrame(
                {"name": [name for name, _ in rows]},
                geometry=shapely.from_wkb(np.array([geom for _, geom in rows], dtype=object)),
                crs="EPSG:4326",
            )
            network = StreetNetwork.from_lines(lines, name_column="name", source="责任路段图层")
        for old in [k for k in _cache if k[0] == store.url]:
            del _cache[old]
        _cache[key] = network
        return network
