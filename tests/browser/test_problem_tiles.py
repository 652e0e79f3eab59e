"""Problems drawn from vector tiles (/vt/problems/...) on a phone, in headless chromium.

The demo county with GRIDMAP_EMBED_MAX_FEATURES set low stands in for a big one: the problems come
as tiled points coloured by status instead of the JSON layer; a tap on one opens the same popup as
the JSON layer's (a hostile description shown as text, no reporter's phone); the filter box asks the
server for other tiles. Screenshots: /tmp/problem-tiles-*.png.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
import shapely

from tests.browser.conftest import assert_clean, assert_not_blank

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
PHONE = {"width": 390, "height": 844}
EVIL = "井盖<img src=x onerror=alert(1)><i class=gm-pwned>'\"&amp;"
PHONE_NO = "13912345678"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tiled_env(module_database):
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    store = Store(url)
    load_directory(store, DEMO)
    store.engine.dispose()
    return {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_BASEMAP": "none",
        "GRIDMAP_EMBED_MAX_FEATURES": "10",
    }


def _post(server, path: str, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        assert response.status == 201, data
        return data
    finally:
        conn.close()


def test_problem_tiles_on_a_phone(live_server_factory, tiled_env, vendored_assets, page):
    server = live_server_factory(env=tiled_env)
    grids = json.loads(server.get("/api/layers/grids.geojson")[1])["features"]
    spot = shapely.geometry.shape(grids[0]["geometry"]).representative_point()
    lon, lat = float(spot.x), float(spot.y)
    evil = _post(
        server,
        "/api/problems",
        {"lon": lon, "lat": lat, "category": "garbage", "description": EVIL, "reporter_phone": PHONE_NO},
    )
    _post(
        server,
        "/api/problems",
        {"lon": lon + 0.002, "lat": lat, "category": "garbage", "description": "垃圾"},
    )

    page.set_viewport_size(PHONE)
    page.goto(server.url + "/")
    html = server.get("/")[1].decode()
    assert "/vt/problems/{z}/{x}/{y}.pbf" in html and "L.heatLayer" not in html
    page.evaluate("([lat, lon]) => window.gridmapMap.setView([lat, lon], 16, {animate: false})", [lat, lon])
    page.wait_for_selector(".leaflet-gmProblems-pane svg path")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-gmProblems-pane svg path").count() >= 2
    tiles = [r for r in page.gridmap_requests if "/vt/problems/" in r]
    assert tiles, page.gridmap_requests
    # each tile once: the filter box's first call used to redraw the whole layer (every tile twice)
    assert len(tiles) == len(set(tiles)), tiles
    assert_not_blank(page.screenshot(path="/tmp/problem-tiles-phone.png"))

    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".leaflet-popup-content .gm-problem-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert evil["tracking_no"] in text and EVIL in text  # the hostile description as text
    assert PHONE_NO not in page.content()
    assert page.locator(".gm-pwned").count() == 0
    page.screenshot(path="/tmp/problem-tiles-popup.png")
    page.locator(".leaflet-popup-close-button").click()

    # the filter box: "逾期" (none is overdue yet) asks the server for other tiles, which hold nothing
    page.evaluate(
        "() => { const s = document.querySelector('.gm-problem-filter [name=status]');"
        " s.value = 'overdue'; s.dispatchEvent(new Event('change', {bubbles: true})); }"
    )
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert any("status=overdue" in r for r in page.gridmap_requests)
    assert page.locator(".leaflet-gmProblems-pane svg path").count() == 0
    assert_clean(page)


def test_a_tiled_inspection_point_opens_its_popup(live_server_factory, tiled_env, vendored_assets, page):
    """A click on a point of the tiled reference layer opens its popup (a circle of radius 10 or less
    was taken by Leaflet for a marker and the click failed in its handler)."""
    server = live_server_factory(env=tiled_env)
    points = json.loads(server.get("/api/layers/points.geojson")[1])["features"]
    spot = shapely.geometry.shape(points[0]["geometry"])
    page.set_viewport_size(PHONE)
    page.goto(server.url + "/")
    page.wait_for_selector(".leaflet-gmVector-pane svg path")
    page.evaluate(
        "([lat, lon]) => window.gridmapMap.setView([lat, lon], 17, {animate: false})", [spot.y, spot.x]
    )
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [spot.y, spot.x],
    )
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".leaflet-popup-content .gm-popup")
    popup.wait_for()
    assert points[0]["properties"]["name"] in popup.inner_text()
    page.screenshot(path="/tmp/problem-tiles-point.png")
    assert_clean(page)
