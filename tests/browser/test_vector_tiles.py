"""The county map drawn from vector tiles (above GRIDMAP_EMBED_MAX_FEATURES) in headless chromium.

The demo county with the threshold set low stands in for a big county: the page embeds no
feature, the layers come from /vt/ tiles drawn by the vendored Leaflet.VectorGrid, the first
view stays small, a click in a grid answers whois, a road opens its popup, and hostile names
from tile properties show as text. Set GRIDMAP_SCREENSHOTS=<folder> to keep screenshots.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.tilewarm import first_view
from gridmap.vectortiles import LAYERS as TILE_LAYERS
from tests import factory, pg
from tests.browser.conftest import assert_clean, assert_not_blank

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
EVIL = "王记`小吃${alert(1)}</script><img src=x onerror=alert(1)><i class=gm-pwned>'\"&amp;"
FIRST_VIEW_MAX_BYTES = 2_000_000
EMBED_ONLY_ASSETS = ("jquery", "bootstrap.bundle", "awesome-markers", "glyphicons", "awesome.rotate")
pytestmark = pytest.mark.browser


def _env(folder: Path, url: str, data: Path, *, embed_max: int = 10) -> dict:
    from gridmap.reference import load_directory
    from gridmap.store import Store

    env = {
        "GRIDMAP_INSTANCE_DIR": str(folder),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_BASEMAP": "none",
        "GRIDMAP_EMBED_MAX_FEATURES": str(embed_max),
    }
    store = Store(url)
    load_directory(store, data)
    store.engine.dispose()
    return env


@pytest.fixture(scope="module")
def demo_env(module_database):
    """The demo county, once per module and backend (SQLite and PostgreSQL)."""
    folder, url = module_database
    return _env(folder / "instance", url, DEMO)


@pytest.fixture(scope="module")
def hostile_env(module_database, tmp_path_factory):
    """A county of hostile names in a second database on the module's backend."""
    layers = factory.layers()
    for kind, gdf in layers.items():
        column = "road_name" if kind == "segments" else "name"
        gdf[column] = [f"{kind}{i}{EVIL}" for i in range(len(gdf))]
    folder = tmp_path_factory.mktemp("tiled-hostile")
    backend = "sqlite" if module_database[1].startswith("sqlite") else "postgresql"
    url, database = pg.database_url(backend, folder / "instance", name="hostile")
    yield _env(folder / "instance", url, factory.write_dataset(folder / "data", layers_=layers), embed_max=0)
    pg.drop(database)


def _grid_bounds(server) -> list[float]:
    grids = gpd.read_file(server.url + "/api/layers/grids.geojson")
    return [float(v) for v in grids.total_bounds]


def _shot(page, name: str) -> bytes:
    png = page.screenshot()
    keep = os.environ.get("GRIDMAP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / name).write_bytes(png)
    return png


def _open(page, url: str) -> dict:
    """Open the map, wait for its tiles; return the bytes and requests of that first view."""
    sizes: dict[str, int] = {}

    def on_response(response) -> None:
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # a redirect or an aborted request has no body
            sizes.setdefault(response.url, 0)

    page.on("response", on_response)
    page.goto(url)
    page.wait_for_selector(".leaflet-gmVector-pane svg path")
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", on_response)
    tiles = [u for u in sizes if "/vt/" in u]
    return {"bytes": sum(sizes.values()), "tiles": tiles, "sizes": sizes}


def _quiet_spot(server, code: str) -> tuple[float, float]:
    """A spot inside the grid where whois names no road, point or community."""
    _status, body = server.get("/api/layers/grids.geojson")
    feature = next(f for f in json.loads(body)["features"] if f["id"] == code)
    polygon = shapely.geometry.shape(feature["geometry"])
    minx, miny, maxx, maxy = polygon.bounds
    rng = np.random.default_rng(5)
    for lon, lat in zip(rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)):
        if not polygon.buffer(-0.0004).contains(shapely.Point(lon, lat)):
            continue
        d = json.loads(server.get(f"/api/whois?lon={lon}&lat={lat}")[1])
        if d["grid"]["code"] == code and not (d["segment"] or d["point"] or d["community"]):
            return float(lon), float(lat)
    pytest.fail(f"no quiet spot in {code}")


def _click_at(page, lat: float, lon: float) -> None:
    page.evaluate("([lat, lon]) => window.gridmapMap.setView([lat, lon], 17, {animate: false})", [lat, lon])
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # tiles drawn after their fetch
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_tiled_county_opens_small_and_a_click_in_a_grid_answers_whois(
    live_server_factory, demo_env, vendored_assets, page, viewport
):
    server = live_server_factory(env=demo_env)
    page.set_viewport_size(viewport)
    first = _open(page, server.url + "/")
    html = server.get("/")[1].decode()
    assert "FeatureCollection" not in html  # nothing embedded: the layers are tiles
    assert first["tiles"], "no vector tile was asked for"
    assert any("/vt/grids/" in u for u in first["tiles"])
    assert first["bytes"] < FIRST_VIEW_MAX_BYTES, first["bytes"]
    loaded = " ".join(first["sizes"])
    for embed_only in EMBED_ONLY_ASSETS:  # scripts and styles only the embedded page uses
        assert embed_only not in loaded, embed_only
    # the server warms these tiles before its workers fork (gridmap.tilewarm): the same ones
    size = page.evaluate("() => { const s = window.gridmapMap.getSize(); return [s.x, s.y]; }")
    view = set(first_view(tuple(_grid_bounds(server)), tuple(size)))
    asked, layers = set(), set()
    for url in first["tiles"]:  # every tiled layer's, the problems' too: none of the default view
        layer, z, x, y = url.split("/vt/")[1].split("?")[0].removesuffix(".pbf").split("/")
        asked.add((int(z), int(x), int(y)))
        layers.add(layer)
    assert asked and asked <= view, (sorted(asked - view), size)
    assert {"towns", "grids"} <= layers <= {*TILE_LAYERS, "problems"}, layers
    assert page.locator(".leaflet-control-layers-overlays label").get_by_text("网格", exact=True).count() == 1
    tag = f"{viewport['width']}x{viewport['height']}"
    assert_not_blank(_shot(page, f"tiled-county-{tag}.png"))

    grid = json.loads(server.get("/api/grids/610330100007")[1])
    lon, lat = _quiet_spot(server, grid["code"])
    _click_at(page, lat, lon)
    popup = page.locator(".gm-whois")
    popup.wait_for()
    text = popup.inner_text()
    assert grid["name"] in text
    for leader in grid["leaders"]:
        assert leader["name"] in text
    _shot(page, f"tiled-whois-{tag}.png")
    assert_clean(page)


def test_a_road_from_a_tile_opens_its_popup_not_whois(live_server_factory, demo_env, vendored_assets, page):
    server = live_server_factory(env=demo_env)
    _open(page, server.url + "/")
    segments = gpd.read_file(server.url + "/api/layers/segments.geojson")
    seg = segments.iloc[int(np.argmax(segments.to_crs(3857).geometry.length))]
    mid = seg.geometry.interpolate(0.5, normalized=True)
    whois = []
    page.on("request", lambda r: whois.append(r.url) if "/whois" in r.url else None)
    _click_at(page, mid.y, mid.x)
    popup = page.locator(".leaflet-popup-content .gm-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert seg["road_name"] in text and "包段单位" in text
    assert whois == []  # the road answered the click, not the map
    assert_clean(page)


def test_hostile_names_in_tiles_show_as_text(live_server_factory, hostile_env, vendored_assets, page):
    server = live_server_factory(env=hostile_env)
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    _open(page, server.url + "/")
    segments = gpd.read_file(server.url + "/api/layers/segments.geojson")
    seg = segments.iloc[0]
    mid = seg.geometry.interpolate(0.5, normalized=True)
    _click_at(page, mid.y, mid.x)
    popup = page.locator(".leaflet-popup-content .gm-popup")
    popup.wait_for()
    assert EVIL in popup.inner_text()  # shown as text
    assert page.locator(".gm-pwned").count() == 0
    assert page.locator(".leaflet-popup-content img").count() == 0
    page.mouse.move(5, 5)
    assert_clean(page)
