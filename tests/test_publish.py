"""gridmap.publish on its own: public columns only, rounding, GeoJSON text, lists and counts."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon

from gridmap import publish
from gridmap.crs import gcj02_from_wgs84
from gridmap.errors import NotFound
from tests import factory

# Grid A with more decimals than published: 106.51234567891 → 106.5123457
FINE = Polygon([(106.51234567891, 33.90500000049), (106.52, 33.905), (106.52, 33.915), (106.51, 33.915)])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    layers = factory.layers()
    layers["grids"] = layers["grids"].set_geometry([FINE, layers["grids"].geometry.iloc[1]], crs="EPSG:4326")
    layers["points"]["address"] = [None, "新建路 8 号"]
    folder = factory.write_dataset(tmp_path_factory.mktemp("publish"), layers_=layers)
    return build_model(read_dataset(folder))


@pytest.mark.parametrize("name", list(publish.PUBLIC_COLUMNS))
def test_public_layers_have_exactly_the_public_columns(model, name):
    layer = publish.public_layer(model, name)
    assert [c for c in layer.columns if c != "geometry"] == list(publish.PUBLIC_COLUMNS[name])
    assert layer.crs.to_epsg() == 4326
    assert list(layer.index) == list(model.layer(name).index)


def test_grids_carry_leaders_as_text_and_area_in_square_metres(model):
    grids = publish.public_layer(model, "grids")
    assert grids.loc["610330100001", "leaders"] == "王建国（县委书记）、李明（县长）"
    assert grids.loc["610330100002", "leaders"] == "张华（副县长）"
    metric = gpd.GeoSeries(model.grids.geometry.values, crs="EPSG:4326").to_crs(model.local_crs).area
    assert grids["area_m2"].tolist() == pytest.approx(metric.tolist(), abs=0.05)
    assert (grids["area_m2"] * 10).round(6).tolist() == (grids["area_m2"] * 10).round().tolist()  # 0.1 m²
    assert 1.0e6 < grids["area_m2"].iloc[1] < 1.05e6  # 0.01° × 0.01° at 34°N: about 925 m × 1110 m
    assert "leader_codes" not in grids.columns and "leaders" not in model.grids.columns  # model untouched


def test_towns_carry_liaison_leaders_and_segments_lengths(model):
    towns = publish.public_layer(model, "towns")
    assert towns["liaison_leaders"].tolist() == ["王建国（县委书记）", "张华（副县长）"]
    segments = publish.public_layer(model, "segments")
    s1 = gpd.GeoSeries([model.segments.geometry.loc["S1"]], crs="EPSG:4326").to_crs(model.local_crs).length[0]
    assert segments.loc["S1", "length_m"] == round(s1, 1)
    assert segments["grid_code"].tolist() == ["610330100001", "610330100002", "610330100002"]


def test_coordinates_are_rounded_to_a_centimetre(model):
    grids = publish.public_layer(model, "grids")
    coords = shapely.get_coordinates(grids.geometry.values)
    assert (106.5123457, 33.905) in [tuple(map(float, c)) for c in coords.round(10)]
    assert (abs(coords * 1e7 - (coords * 1e7).round()) < 1e-6).all()
    assert shapely.get_coordinates(model.grids.geometry.values).max() > 106.5123456  # not rounded in place


def test_layer_geojson_is_json_with_ids_nulls_and_chinese_text(model):
    text = publish.layer_geojson(model, "points")
    assert "城关农贸市场" in text  # not \\u escaped
    data = json.loads(text)
    assert data["type"] == "FeatureCollection"
    assert [f["id"] for f in data["features"]] == ["P1", "P2"]
    first = data["features"][0]
    assert first["properties"]["address"] is None  # a missing value is null, never NaN
    assert (
        first["properties"]["unit_name"] == "县住建局" and first["properties"]["grid_code"] == "610330100001"
    )
    assert first["geometry"] == {"type": "Point", "coordinates": [106.515, 33.912]}
    assert "NaN" not in text
    assert publish.layer_geojson(model, "points") is text  # cached per model
    with pytest.raises(NotFound, match="没有名为“villages”的图层"):
        publish.layer_geojson(model, "villages")


def test_grid_list_counts_what_lies_in_each_grid(model):
    assert publish.grid_list(model) == [
        {
            "code": "610330100001",
            "name": "滨江网格",
            "town": "双石铺镇",
            "grid_head": "周网格长",
            "lead_department": "县住建局",
            "leaders": ["王建国", "李明"],
            "segments": 1,
            "points": 1,
            "communities": 1,
        },
        {
            "code": "610330100002",
            "name": "新建路网格",
            "town": "双石铺镇",
            "grid_head": "吴网格长",
            "lead_department": "县城管执法局",
            "leaders": ["张华"],
            "segments": 2,
            "points": 1,
            "communities": 0,
        },
    ]


def test_unit_and_leader_lists(model):
    units = {u["code"]: u for u in publish.unit_list(model)}
    assert units["U1"]["grids"] == ["610330100001"] and units["U1"]["segments"] == 1
    assert units["U3"] == {
        "code": "U3",
        "name": "县供电分公司",
        "kind": "国有企业",
        "contact": "孙经理",
        "phone": "0917-4733333",
        "grids": ["610330100002"],
        "segments": 1,
    }
    leaders = {x["code"]: x for x in publish.leader_list(model)}
    assert (leaders["L01"]["grids"], leaders["L01"]["towns"]) == (["610330100001"], ["610330100"])
    assert (leaders["L02"]["grids"], leaders["L02"]["towns"]) == (["610330100001"], [])
    assert leaders["L03"]["towns"] == ["610330101"]


def test_status_counts(model):
    assert publish.status(model, version=7) == {
        "data_version": 7,
        "counts": {
            "towns": 2,
            "grids": 2,
            "segments": 3,
            "points": 2,
            "communities": 1,
            "rivers": 1,
            "categories": 2,
            "leaders": 3,
            "units": 3,
            "household_heads": 1,
            "inspectors": 1,
        },
    }


def test_shift_hits_moves_positions_only_for_gcj02():
    hits = [{"kind": "grid", "lon": 106.515, "lat": 33.91}, {"kind": "unit", "code": "U1"}]
    assert publish.shift_hits([dict(h) for h in hits], crs=None) == hits
    assert publish.shift_hits([dict(h) for h in hits], crs="wgs84") == hits
    shifted = publish.shift_hits([dict(h) for h in hits], crs="gcj02")
    lon, lat = gcj02_from_wgs84(106.515, 33.91)
    assert (shifted[0]["lon"], shifted[0]["lat"]) == (round(float(lon), 7), round(float(lat), 7))
    assert shifted[0]["lon"] != 106.515  # GCJ-02 moves points in China by hundreds of metres
    assert shifted[1] == hits[1]
