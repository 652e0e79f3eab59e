"""Tests for gridmap.vectortiles: MVT tiles decoded with mapbox_vector_tile itself."""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from gridmap import maps, vectortiles
from gridmap.errors import InvalidInput, NotFound
from gridmap.io.read import read_dataset
from gridmap.responsibility import build_model
from tests import factory

EVIL = "路</script><img src=x onerror=alert(1)>'\"&"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    layers = factory.layers()
    layers["segments"]["road_name"] = [f"{EVIL}{i}" for i in range(len(layers["segments"]))]
    # a grid with a wiggly edge of 400 vertices, to see simplification at low zoom
    x0, y0, x1, y1 = layers["grids"].geometry.iloc[0].bounds
    t = np.linspace(0, 1, 400)
    south = [(x0 + (x1 - x0) * s, y0 + 0.00002 * math.sin(s * 300)) for s in t]
    wiggly = Polygon([*south, (x1, y1), (x0, y1)])
    layers["grids"].loc[layers["grids"].index[0], "geometry"] = wiggly
    folder = factory.write_dataset(tmp_path_factory.mktemp("vt") / "data", layers_=layers)
    return build_model(read_dataset(folder))


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def _tile(model, layer: str, lon: float, lat: float, z: int, *, version: int = 1) -> tuple[dict, tuple]:
    x, y = _tile_of(lon, lat, z)
    found = vectortiles.vector_tile(model, version=version, layer=layer, z=z, x=x, y=y)
    return _decode(found.data), (z, x, y)


def test_every_grid_is_in_the_tile_that_holds_it_with_its_code_name_and_colour(model):
    for i, (code, row) in enumerate(model.grids.iterrows()):
        spot = row.geometry.representative_point()
        decoded, _ = _tile(model, "grids", spot.x, spot.y, 15)
        features = {f["properties"]["code"]: f for f in decoded["grids"]["features"]}
        assert code in features
        props = features[code]["properties"]
        assert props["name"] == row["name"]
        assert props["color"] == maps.GRID_COLORS[i % len(maps.GRID_COLORS)]


def test_a_tile_far_away_is_empty_and_costs_nothing(model):
    found = vectortiles.vector_tile(model, version=1, layer="grids", z=15, x=0, y=0)
    assert found.data == b""
    assert _decode(found.data) == {}


def test_geometry_is_clipped_to_the_tile_with_a_buffer(model):
    grid = model.grids.geometry.iloc[1]
    decoded, _ = _tile(model, "grids", grid.centroid.x, grid.centroid.y, 18)  # the grid spans many tiles
    extent = vectortiles.EXTENT
    pad = vectortiles.BUFFER_PX * extent / vectortiles.TILE_PX
    for feature in decoded["grids"]["features"]:
        xs, ys = np.array(shapely.geometry.shape(feature["geometry"]).exterior.coords).T
        assert xs.min() >= -pad - 1 and xs.max() <= extent + pad + 1
        assert ys.min() >= -pad - 1 and ys.max() <= extent + pad + 1


def test_low_zoom_simplifies_and_high_zoom_keeps_the_detail(model):
    code = model.grids.index[0]
    x0, y0, x1, _y1 = model.grids.geometry.iloc[0].bounds
    spot = Point((x0 + x1) / 2, y0 + 0.00001)  # on the wiggly southern edge

    def vertices(z: int) -> int:
        decoded, _ = _tile(model, "grids", spot.x, spot.y, z)
        feature = next(f for f in decoded["grids"]["features"] if f["properties"]["code"] == code)
        return len(shapely.geometry.shape(feature["geometry"]).exterior.coords)

    assert vertices(13) < 12  # the wiggles (2 m) are under a pixel here
    assert vertices(18) > 40


def test_features_too_small_to_see_are_left_out_and_layers_start_at_their_zoom(model):
    spot = model.grids.geometry.iloc[0].representative_point()
    decoded, _ = _tile(model, "grids", spot.x, spot.y, 6)  # a grid is a fraction of a pixel
    assert decoded == {}
    x, y = _tile_of(spot.x, spot.y, 10)
    assert vectortiles.vector_tile(model, version=1, layer="points", z=10, x=x, y=y).data == b""
    decoded, _ = _tile(model, "points", spot.x, spot.y, 14)
    assert decoded["points"]["features"]


def test_point_properties_carry_the_popup_at_every_zoom_they_are_drawn(model):
    # a point has no size: it used to count as "too small to label" and lost its name and category
    for code, row in model.points.iterrows():
        for z in (14, 17):
            decoded, _ = _tile(model, "points", row.geometry.x, row.geometry.y, z)
            props = {f["properties"]["code"]: f["properties"] for f in decoded["points"]["features"]}[code]
            assert props["name"] == row["name"] and props["category"] == row["category"], (code, z)
            assert props.get("address") == (None if row["address"] is None else str(row["address"]))


def test_segment_properties_carry_the_popup_and_are_plain_text(model):
    seg = model.segments.iloc[0]
    mid = seg.geometry.interpolate(0.5, normalized=True)
    decoded, _ = _tile(model, "segments", mid.x, mid.y, 16)
    props = next(
        f["properties"] for f in decoded["segments"]["features"] if f["properties"]["code"] == seg.name
    )
    assert props["road_name"] == seg["road_name"]  # the hostile text as it is: the page escapes it
    assert EVIL in props["road_name"]
    unit = model.unit_record(seg["unit_code"])
    assert props["unit_name"] == unit["name"]
    assert props["unit_code"] == seg["unit_code"]
    assert props["color"] == maps.unit_color(seg["unit_code"])
    assert props["grid_name"] == model.grids.loc[seg["grid_code"], "name"]
    assert props["length_m"] == round(seg["length_m"])


def test_gcj02_tiles_are_shifted(model):
    spot = model.grids.geometry.iloc[0].representative_point()
    x, y = _tile_of(spot.x, spot.y, 17)
    plain = vectortiles.vector_tile(model, version=1, layer="grids", z=17, x=x, y=y)
    shifted = vectortiles.vector_tile(model, version=1, layer="grids", z=17, x=x, y=y, crs="gcj02")
    assert plain.data != shifted.data


def test_tiles_are_cached_per_data_version():
    cache = vectortiles.TileCache(max_tiles=2)
    grids = gpd.GeoDataFrame(
        {"name": ["甲"]}, geometry=[box(106.5, 33.9, 106.51, 33.91)], index=["G1"], crs=4326
    )

    class Model:
        pass

    m = Model()
    for name in ("towns", "rivers", "segments", "points", "communities"):
        setattr(m, name, grids.iloc[:0])
    m.grids = grids
    x, y = _tile_of(106.505, 33.905, 14)
    first = cache.tile(m, version=1, layer="grids", z=14, x=x, y=y)
    assert cache.tile(m, version=1, layer="grids", z=14, x=x, y=y) is first
    assert (cache.hits, cache.misses) == (1, 1)
    m.grids = gpd.GeoDataFrame(
        {"name": ["乙"]}, geometry=[Point(106.505, 33.905).buffer(0.003)], index=["G2"], crs=4326
    )
    second = cache.tile(m, version=2, layer="grids", z=14, x=x, y=y)
    assert _decode(second.data)["grids"]["features"][0]["properties"]["code"] == "G2"
    assert cache.misses == 2
    small = vectortiles.TileCache(max_bytes=1)  # over its byte budget it keeps only the newest tile
    small.tile(m, version=2, layer="grids", z=14, x=x, y=y)
    small.tile(m, version=2, layer="grids", z=15, x=2 * x, y=2 * y)
    small.tile(m, version=2, layer="grids", z=14, x=x, y=y)
    assert (small.hits, small.misses) == (0, 3)


@pytest.mark.parametrize(
    ("layer", "z", "x", "y", "crs", "error", "words"),
    [
        ("roads", 10, 0, 0, "wgs84", NotFound, "没有名为"),
        ("grids", 25, 0, 0, "wgs84", InvalidInput, "缩放级别"),
        ("grids", 3, 8, 0, "wgs84", InvalidInput, "瓦片编号"),
        ("grids", 3, 0, 0, "bd09", InvalidInput, "坐标系"),
    ],
)
def test_bad_requests_say_what_is_wrong(model, layer, z, x, y, crs, error, words):
    with pytest.raises(error, match=words):
        vectortiles.vector_tile(model, version=1, layer=layer, z=z, x=x, y=y, crs=crs)


def test_county_bounds_come_from_the_grids(model):
    assert vectortiles.bounds(model) == tuple(float(v) for v in model.grids.total_bounds)


def test_two_models_at_the_same_data_version_get_their_own_tiles():
    """Two stores in one process may both be at version 1: each model's tiles are its own."""
    cache = vectortiles.TileCache()

    class Model:
        pass

    def model_with(code: str) -> Model:
        grids = gpd.GeoDataFrame(
            {"name": [code]}, geometry=[box(106.5, 33.9, 106.51, 33.91)], index=[code], crs=4326
        )
        m = Model()
        for name in ("towns", "rivers", "segments", "points", "communities"):
            setattr(m, name, grids.iloc[:0])
        m.grids = grids
        return m

    x, y = _tile_of(106.505, 33.905, 14)
    for code in ("A1", "B2", "C3"):  # a new model each time, possibly at a freed model's address
        found = cache.tile(model_with(code), version=1, layer="grids", z=14, x=x, y=y)
        assert _decode(found.data)["grids"]["features"][0]["properties"]["code"] == code
