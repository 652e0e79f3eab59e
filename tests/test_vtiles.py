"""Tests for web/vtiles.py: the vector tile routes, their headers and errors, and the map's switch."""

from __future__ import annotations

import gzip
import math

import mapbox_vector_tile
import pytest

from web import create_app


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture
def grid_tile(app):
    from web.context import reference

    with app.app_context():
        model = reference().model()
        version = reference().version
    spot = model.grids.geometry.iloc[0].representative_point()
    x, y = _tile_of(spot.x, spot.y, 15)
    return f"/vt/grids/15/{x}/{y}.pbf", model.grids.index[0], version


def test_a_tile_is_an_mvt_with_the_data_version_as_etag(client, grid_tile):
    path, code, version = grid_tile
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.data)
    assert code in {f["properties"]["code"] for f in decoded["grids"]["features"]}
    etag = response.headers["ETag"]
    assert str(version) in etag
    assert response.headers["Cache-Control"] == "public, no-cache"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_a_tile_of_this_version_is_kept_a_day_and_sent_gzipped(client, grid_tile):
    path, code, version = grid_tile
    response = client.get(f"{path}?v={version}", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert "Accept-Encoding" in response.headers["Vary"]
    decoded = mapbox_vector_tile.decode(gzip.decompress(response.data))
    assert code in {f["properties"]["code"] for f in decoded["grids"]["features"]}
    stale = client.get(f"{path}?v={version + 1}")
    assert "no-cache" in stale.headers["Cache-Control"]


def test_an_empty_tile_is_a_200_with_no_body(client):
    response = client.get("/vt/grids/15/0/0.pbf", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.data == b""
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/vt/roads/10/1/1.pbf", 404, "没有名为“roads”的矢量瓦片图层"),
        ("/vt/grids/23/1/1.pbf", 400, "缩放级别 23 超出范围"),
        ("/vt/grids/2/9/1.pbf", 400, "瓦片编号 2/9/1 超出范围"),
        ("/vt/grids/2/1/1.pbf?crs=bd09", 400, "坐标系“bd09”不受支持"),
    ],
)
def test_bad_tiles_answer_in_chinese(client, path, status, words):
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


def test_the_json_twin_lists_the_layers_and_their_url_templates(client):
    response = client.get("/api/vt.json")
    assert response.status_code == 200
    body = response.get_json()
    names = [layer["name"] for layer in body["layers"]]
    assert {"grids", "segments", "points", "communities"} <= set(names)
    grids = next(layer for layer in body["layers"] if layer["name"] == "grids")
    assert grids["url"] == f"/vt/grids/{{z}}/{{x}}/{{y}}.pbf?v={body['data_version']}"
    assert body["media_type"] == "application/vnd.mapbox-vector-tile"


def test_below_the_threshold_the_county_page_embeds_its_layers(client):
    html = client.get("/").get_data(as_text=True)
    assert "S1" in html and "FeatureCollection" in html  # segments in the page
    assert "Leaflet.VectorGrid" not in html


def test_above_the_threshold_the_county_page_draws_from_tiles(settings, loaded_store):
    app = create_app({**settings, "GRIDMAP_EMBED_MAX_FEATURES": 3})
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert "leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js" in html
    assert "unpkg.com" not in html  # vendored, never a CDN
    assert "/vt/{layer}/{z}/{x}/{y}.pbf?v=" in html
    assert "FeatureCollection" not in html  # no feature embedded
    assert "滨江路" not in html.split("<aside", 1)[-1].split("</aside>", 1)[-1]  # no road name in the map
    assert "fitBounds" in html
    grid = client.get("/grids/610330100001").get_data(as_text=True)
    assert '"focus_grids":["610330100001"]' in grid
    unit = client.get("/units/U1").get_data(as_text=True)
    assert '"unit":"U1"' in unit


def test_the_default_threshold_embeds_the_demo_county_and_tiles_a_thousand_grids():
    from pathlib import Path

    from gridmap.io.read import read_dataset
    from gridmap.maps import MapOptions
    from gridmap.responsibility import build_model
    from gridmap.settingslist import SETTINGS

    default = next(s.default for s in SETTINGS if s.name == "GRIDMAP_EMBED_MAX_FEATURES")
    opts = MapOptions(embed_max_features=default, tile_url="/vt/{layer}/{z}/{x}/{y}.pbf")
    demo = build_model(read_dataset(Path(__file__).resolve().parent.parent / "geodata" / "demo"))
    assert not opts.tiled(demo)  # 12 grids, 237 roads, 139 points, 112 communities: embedded as before
    # a county of 1,000 grids has about 5 features a grid (roads, points, communities)
    assert default < 1000 * 5
