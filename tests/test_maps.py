"""gridmap.maps on its own: what goes into each layer, focus and bounds, datum shift, legend.

Escaping of hostile names is tested in tests/test_safe.py; this file checks the content.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely

from gridmap import maps
from gridmap.crs import gcj02_from_wgs84
from tests import factory


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    layers = factory.layers()
    layers["points"]["address"] = [None, "新建路 8 号"]
    layers["points"]["category"] = ["农贸市场", "没有图标的类别"]
    return build_model(read_dataset(factory.write_dataset(tmp_path_factory.mktemp("maps"), layers_=layers)))


def _layers(m) -> dict[str, object]:
    """FeatureGroups of a folium map by their Chinese name."""
    return {v.layer_name: v for v in m._children.values() if type(v).__name__ == "FeatureGroup"}


def _features(group) -> list[dict]:
    data = [c.data for c in group._children.values() if hasattr(c, "data")]
    return data[0]["features"] if data else []


def _markers(group) -> list[dict]:
    for child in group._children.values():
        if type(child).__name__ == "JsonMarkers":
            return json.loads(child.items_json)
        found = _markers(child)
        if found:
            return found
    return []


def _fit_bounds(m) -> list:
    [fit] = [v for v in m._children.values() if type(v).__name__ == "FitBounds"]
    return fit.bounds


@pytest.mark.parametrize(
    ("basemap", "sources"),
    [
        ("osm", ["https://tile.openstreetmap.org"]),
        ("amap", ["https://*.is.autonavi.com"]),
        ("tianditu", ["https://*.tianditu.gov.cn"]),  # tiles and labels: one source
        ("none", []),
        ("local", []),
    ],
)
def test_basemap_sources_for_the_csp(basemap, sources):
    assert maps.basemap_sources(basemap) == sources


def test_display_crs_is_gcj02_only_on_amap():
    assert maps.MapOptions(basemap="amap").display_crs == "gcj02"
    assert {maps.MapOptions(basemap=b).display_crs for b in ("osm", "tianditu", "none", "local")} == {"wgs84"}


def test_unit_colours_are_stable_and_distinct():
    colours = [maps.unit_color(u) for u in ("U1", "U2", "U3")]
    assert colours == [maps.unit_color(u) for u in ("U1", "U2", "U3")]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)
    assert len(set(colours)) == 3


def test_county_map_has_every_layer_and_fits_the_grids(model):
    m = maps.build_map(model, maps.MapOptions())
    groups = _layers(m)
    assert set(groups) == {
        "镇（街道）",
        "河流",
        "网格",
        "网格名称",
        "责任路段（按单位着色）",
        "小区",
        "实地考察点位",
    }
    assert [f["id"] for f in _features(groups["网格"])] == ["610330100001", "610330100002"]
    assert [f["properties"]["label"] for f in _features(groups["网格"])] == ["滨江网格", "新建路网格"]
    segments = _features(groups["责任路段（按单位着色）"])
    assert [f["id"] for f in segments] == ["S1", "S2", "S3"]
    assert [f["properties"]["style"]["color"] for f in segments] == [
        maps.unit_color(u) for u in ("U1", "U2", "U3")
    ]
    assert all("popup" in f["properties"] for f in segments)  # roads answer with their own popup
    assert all(
        "popup" not in f["properties"] for f in _features(groups["网格"])
    )  # grids fall through to whois
    points = _markers(groups["实地考察点位"])
    assert [(p["fa"], p["color"], p["tip"]) for p in points] == [
        ("store", "orange", "城关农贸市场"),
        ("map-marker", "gray", "县医院"),
    ]
    assert points[0]["at"] == [33.912, 106.515]  # [lat, lng]
    labels = _markers(groups["网格名称"])
    assert [x["text"] for x in labels] == ["滨江网格", "新建路网格"]
    assert _fit_bounds(m) == [[33.905, 106.51], [33.915, 106.53]]
    assert not any(type(v).__name__ == "TileLayer" for v in m._children.values())  # basemap "none"


def test_legend_lists_the_categories_present(model):
    m = maps.build_map(model, maps.MapOptions())
    [legend] = [v for v in m._children.values() if type(v).__name__ == "_Legend"]
    assert "农贸市场" in legend.html and "没有图标的类别" in legend.html and "<details open>" in legend.html
    assert "fa-map-marker" in legend.html  # the default icon for an unknown category


def test_grid_view_keeps_its_grid_items_and_fades_the_others(model):
    m = maps.build_map(model, maps.MapOptions(), grid_codes=["610330100002"])
    groups = _layers(m)
    assert [f["id"] for f in _features(groups["责任路段（按单位着色）"])] == ["S2", "S3"]
    assert _features(groups["小区"]) == []
    assert [p["tip"] for p in _markers(groups["实地考察点位"])] == ["县医院"]
    weights = {f["id"]: f["properties"]["style"]["weight"] for f in _features(groups["网格"])}
    assert weights == {"610330100001": 1, "610330100002": 3}
    assert _fit_bounds(m) == [[33.905, 106.52], [33.915, 106.53]]


def test_unit_view_keeps_the_units_items_and_fits_them(model):
    m = maps.build_map(model, maps.MapOptions(), unit_code="U1")
    groups = _layers(m)
    assert [f["id"] for f in _features(groups["责任路段（按单位着色）"])] == ["S1"]
    assert [p["tip"] for p in _markers(groups["实地考察点位"])] == ["城关农贸市场"]
    assert [f["id"] for f in _features(groups["小区"])] == ["C1"]
    (south, west), (north, east) = _fit_bounds(m)
    assert (west, east) == pytest.approx((106.511, 106.519)) and (south, north) == pytest.approx(
        (33.910, 33.912)
    )


def test_amap_draws_everything_in_gcj02(model):
    m = maps.build_map(model, maps.MapOptions(basemap="amap"))
    tiles = [v for v in m._children.values() if type(v).__name__ == "TileLayer"]
    assert len(tiles) == 1 and "autonavi.com" in tiles[0].tiles
    groups = _layers(m)
    drawn = shapely.get_coordinates(shapely.geometry.shape(_features(groups["网格"])[0]["geometry"]))
    truth = shapely.get_coordinates(model.grids.geometry.iloc[0])
    expected = np.column_stack(gcj02_from_wgs84(truth[:, 0], truth[:, 1]))
    assert drawn == pytest.approx(expected, abs=2e-7)
    assert not np.allclose(drawn, truth, atol=1e-4)  # the shift is hundreds of metres
    lon, lat = gcj02_from_wgs84(106.515, 33.912)
    assert _markers(groups["实地考察点位"])[0]["at"] == pytest.approx([lat, lon], abs=1e-7)


def test_tianditu_adds_a_label_layer_with_the_token(model):
    m = maps.build_map(model, maps.MapOptions(basemap="tianditu", tianditu_token="abc123"))
    tiles = [v for v in m._children.values() if type(v).__name__ == "TileLayer"]
    assert len(tiles) == 2 and all("tk=abc123" in t.tiles for t in tiles)
    assert "LAYER=cva" in tiles[1].tiles


def test_extra_layers_come_before_the_layer_control(model):
    import folium

    m = maps.build_map(model, maps.MapOptions(), extra=lambda fm: folium.FeatureGroup(name="问题").add_to(fm))
    kinds = [getattr(v, "layer_name", type(v).__name__) for v in m._children.values()]
    assert kinds.index("问题") < kinds.index("LayerControl")


def test_map_parts_keep_inline_script_out_of_head_and_body(model):
    parts = maps.map_parts(maps.build_map(model, maps.MapOptions(api_base="/gm/api")))
    inline = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>", re.I)
    assert not inline.search(parts["head"]) and not inline.search(parts["body"])
    assert "</script" not in parts["script"].lower()
    assert '"/gm/api"' in parts["script"] and "L.map(" in parts["script"]
    assert "滨江网格" in parts["script"]
