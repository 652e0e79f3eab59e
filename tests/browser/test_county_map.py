"""The county map in headless chromium, served by gunicorn over the demo county."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from tests.browser.conftest import assert_clean, assert_not_blank, external_requests, start_live_server

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_env(module_database):
    """The demo county loaded once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    env = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_BASEMAP": "none",
    }
    store = Store(url)
    load_directory(store, DEMO)
    store.engine.dispose()
    return env


@pytest.fixture(scope="module")
def server(demo_env, vendored_assets, tmp_path_factory):
    """One server per module and backend: the tests only read."""
    live = start_live_server(env=demo_env, log_dir=tmp_path_factory.mktemp("county-server"))
    yield live
    live.stop()


def _quiet_spot(server, grid: dict) -> tuple[float, float]:
    """A spot inside the grid where whois names no road, point or community (a clean click)."""
    _status, body = server.get("/api/layers/grids.geojson")
    feature = next(f for f in json.loads(body)["features"] if f["id"] == grid["code"])
    polygon = shapely.geometry.shape(feature["geometry"])
    minx, miny, maxx, maxy = polygon.bounds
    rng = np.random.default_rng(11)
    for lon, lat in zip(rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)):
        if not polygon.buffer(-0.0004).contains(shapely.Point(lon, lat)):
            continue
        _status, body = server.get(f"/api/whois?lon={lon}&lat={lat}")
        d = json.loads(body)
        if d["grid"]["code"] == grid["code"] and not (d["segment"] or d["point"] or d["community"]):
            return float(lon), float(lat)
    pytest.fail(f"no quiet spot in {grid['name']}")


def test_county_map_renders_offline_without_errors(server, page):
    page.goto(server.url + "/")
    page.wait_for_selector(".leaflet-container")
    page.wait_for_selector("path.leaflet-interactive")
    page.wait_for_load_state("networkidle")
    assert page.locator("path.leaflet-interactive").count() > 12 + 200  # grids, roads, communities…
    assert page.locator(".gm-legend").is_visible()
    assert page.locator(".leaflet-control-layers").is_visible()
    assert external_requests(page) == []
    assert all(u.startswith(server.url) for u in page.gridmap_requests)
    assert_clean(page)
    stats = assert_not_blank(page.screenshot())
    assert stats


def test_click_in_a_grid_shows_its_leaders(server, page):
    _status, body = server.get("/api/grids/610330100007")
    grid = json.loads(body)
    lon, lat = _quiet_spot(server, grid)
    page.goto(server.url + "/")
    page.wait_for_selector("path.leaflet-interactive")
    page.evaluate("([lat, lon]) => window.gridmapMap.setView([lat, lon], 17, {animate: false})", [lat, lon])
    point = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = page.locator(".gm-whois")
    popup.wait_for()
    text = popup.inner_text()
    assert grid["name"] in text
    for leader in grid["leaders"]:
        assert leader["name"] in text and leader["phone"] in text
    assert grid["grid_head"]["name"] in text
    assert_clean(page)


def test_search_box_finds_a_unit(server, page):
    page.goto(server.url + "/")
    page.wait_for_selector("#gm-search-input")
    _status, body = server.get("/api/units")
    unit = json.loads(body)["units"][5]
    page.fill("#gm-search-input", unit["name"])
    hit = page.locator(".gm-hit", has_text=unit["name"]).first
    hit.wait_for()
    hit.click()
    page.wait_for_url(f"**/units/{unit['code']}")
    assert unit["name"] in page.locator("h1").inner_text()
    page.wait_for_selector("path.leaflet-interactive")
    assert_clean(page)


def test_search_hits_of_one_road_say_where_they_are_and_open_who_answers(server, page):
    _status, body = server.get("/api/layers/segments.geojson")
    names = [f["properties"]["road_name"] for f in json.loads(body)["features"]]
    road = max(set(names), key=names.count)  # the road with the most sections
    page.goto(server.url + "/")
    page.wait_for_selector("#gm-search-input")
    page.fill("#gm-search-input", road)
    page.locator(".gm-hit .gm-hit-where").first.wait_for()
    sections = page.locator(".gm-hit", has_text="路段").all_inner_texts()
    assert len(sections) >= 2 and len(set(sections)) == len(sections), sections  # told apart
    assert all("包段" in text and "·" in text for text in sections), sections
    calls = []
    page.on("request", lambda r: calls.append(r.url) if "/whois" in r.url else None)
    page.locator(".gm-hit", has_text="路段").first.click()
    popup = page.locator(".leaflet-popup-content", has=page.locator(".gm-hit-popup"))
    popup.wait_for()
    text = popup.inner_text()
    assert f"路段：{road}" in text and sections[0].split("\n")[-1].split(" · ")[0] in text
    assert "此处由谁负责" in text  # and who answers for the spot
    assert len(calls) == 1, calls  # the click on the hit did not also reach the map
    assert page.locator(".gm-hit").count() == 0  # the list closes
    assert_clean(page)


def test_grid_page_lists_leaders_and_units(server, page):
    page.goto(server.url + "/grids/610330100001")
    page.wait_for_selector("path.leaflet-interactive")
    _status, body = server.get("/api/grids/610330100001")
    grid = json.loads(body)
    text = page.inner_text("body")
    for leader in grid["leaders"]:
        assert leader["name"] in text
    for unit in grid["units"]:
        assert unit["name"] in text
    assert_clean(page)
    assert_not_blank(page.screenshot(full_page=True))
