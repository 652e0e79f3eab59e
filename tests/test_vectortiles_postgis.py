"""Reference tiles made by PostGIS ST_AsMVT (gridmap.spatial.tiles) against the Python encoder, on the demo.

On [postgresql] both encoders run on the same model and tiles: the same layer, feature ids and
properties, and geometries within a pixel or two (Hausdorff distance in tile units, after decoding).
On [sqlite] the Python encoder answers.
"""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape

from gridmap import vectortiles
from gridmap.reference import load_directory
from gridmap.responsibility import build_model
from gridmap.spatial import tiles

DEMO = Path(__file__).resolve().parent.parent / "geodata" / "demo"
PIXEL = vectortiles.EXTENT / vectortiles.TILE_PX  # tile units in one 256-px pixel
MAX_PIXELS = 2.0


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture(scope="module")
def demo(module_database):
    from gridmap.store import Store

    _folder, url = module_database
    store = Store(url)
    load_directory(store, DEMO)
    model = build_model(store.read_dataset())
    yield store, model
    store.engine.dispose()


def _tiles(model) -> list[tuple[str, int, int, int]]:
    """A handful of demo tiles: each layer at its first zoom and deeper, at the county's centre and a grid's."""
    minx, miny, maxx, maxy = vectortiles.bounds(model)
    spots = [((minx + maxx) / 2, (miny + maxy) / 2)]
    spot = model.grids.geometry.iloc[3].representative_point()
    spots.append((spot.x, spot.y))
    out = []
    for layer, zooms in {
        "towns": (9, 12),
        "grids": (10, 13, 15),
        "rivers": (12,),
        "segments": (14, 16),
        "points": (15,),
        "communities": (15, 17),
        "subgrids": (11, 14),
        "buildings": (17,),
        "shops": (16,),
    }.items():
        for z in zooms:
            for lon, lat in spots:
                out.append((layer, z, *_tile_of(lon, lat, z)))
    return out


def _decode(data: bytes, layer: str) -> dict[int, dict]:
    found = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}).get(layer, {})
    return {f["id"]: f for f in found.get("features", [])}


def test_postgis_tiles_match_the_python_encoder(demo):
    store, model = demo
    backend = "postgresql" if store.url.startswith("postgresql") else "sqlite"
    compared = features = differ = 0
    worst = 0.0
    for layer, z, x, y in _tiles(model):
        python = vectortiles.vector_tile(model, version=1, layer=layer, z=z, x=x, y=y).data
        made = tiles.vector_tile(store, model, version=1, layer=layer, z=z, x=x, y=y)
        if backend == "sqlite":
            assert made.data == python, (layer, z, x, y)  # the Python encoder
            continue
        differ += made.data != python  # encoded by PostGIS, not by this process
        ours, theirs = _decode(python, layer), _decode(made.data, layer)
        assert set(theirs) == set(ours), (layer, z, x, y)
        for fid, feature in ours.items():
            other = theirs[fid]
            assert other["properties"] == feature["properties"], (layer, z, fid)
            a, b = shape(feature["geometry"]), shape(other["geometry"])
            assert a.geom_type.replace("Multi", "") == b.geom_type.replace("Multi", "")
            distance = shapely.hausdorff_distance(a, b)
            worst = max(worst, distance / PIXEL)
            assert distance <= MAX_PIXELS * PIXEL, (layer, z, x, y, fid, distance / PIXEL)
            features += 1
        compared += 1
    if backend == "postgresql":
        assert compared >= 20 and features >= 100 and differ >= 10, (compared, features, differ)
        print(f"{compared} tiles, {features} features, worst Hausdorff {worst:.2f} px")


def test_gcj02_tiles_stay_with_the_python_encoder(demo):
    store, model = demo
    spot = model.grids.geometry.iloc[0].representative_point()
    x, y = _tile_of(spot.x, spot.y, 14)
    made = tiles.vector_tile(store, model, version=1, layer="grids", z=14, x=x, y=y, crs="gcj02")
    python = vectortiles.vector_tile(model, version=1, layer="grids", z=14, x=x, y=y, crs="gcj02")
    assert made.data == python.data and made.data
