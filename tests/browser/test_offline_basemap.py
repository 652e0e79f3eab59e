"""Offline basemaps in headless chromium: imported MBTiles tiles drawn from our own server, and
with the default settings (no tiles) the county's streets with their names."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank, external_requests

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "geodata" / "demo"
pytestmark = pytest.mark.browser

# The demo county, padded by ~10 km so every tile of a desktop or phone view exists.
WEST, SOUTH, EAST, NORTH = 106.40, 33.80, 106.64, 34.02
ZOOMS = (12, 13, 14)


def _tile_range(zoom: int) -> tuple[range, range]:
    import math

    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 2**zoom
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    x0, y0 = xy(WEST, NORTH)
    x1, y1 = xy(EAST, SOUTH)
    return range(x0, x1 + 1), range(y0, y1 + 1)


def _tile_png(z: int, x: int, y: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), (236, 226, 200) if (x + y) % 2 else (214, 228, 205))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 255, 255], outline=(150, 150, 150))
    draw.text((10, 10), f"{z}/{x}/{y}", fill=(90, 90, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_county_mbtiles(path: Path) -> int:
    """An MBTiles file (TMS rows) of generated tiles over the demo county; returns the tile count."""
    rows = []
    for z in ZOOMS:
        xs, ys = _tile_range(z)
        rows += [(z, x, (1 << z) - 1 - y, _tile_png(z, x, y)) for x in xs for y in ys]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"
        )
        conn.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [("name", "演示县离线底图"), ("format", "png"), ("bounds", f"{WEST},{SOUTH},{EAST},{NORTH}")],
        )
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    conn.close()
    return len(rows)


@pytest.fixture(scope="module")
def demo_env(module_database):
    """The demo county loaded once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    env = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
    }
    store = Store(url)
    load_directory(store, DEMO)
    store.engine.dispose()
    return env


def test_imported_mbtiles_are_served_and_drawn_with_nothing_leaving_127(
    demo_env, vendored_assets, live_server_factory, page, tmp_path
):
    source = tmp_path / "county.mbtiles"
    count = make_county_mbtiles(source)
    imported = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "basemap", "import", str(source)],
        cwd=ROOT,
        env={**os.environ, **demo_env, "GRIDMAP_BASEMAP": "mbtiles"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert f"{count} 张 PNG 瓦片" in imported.stdout
    server = live_server_factory(env={**demo_env, "GRIDMAP_BASEMAP": "mbtiles"})

    page.goto(server.url + "/")
    page.wait_for_selector("path.leaflet-interactive")
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded').length >= 4",
        timeout=15000,
    )
    page.wait_for_load_state("networkidle")
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded'))
                 .map(img => [img.src, img.naturalWidth, img.complete])"""
    )
    assert len(drawn) >= 4
    assert all(src.startswith(server.url + "/tiles/") and width == 256 and done for src, width, done in drawn)
    tile_requests = [u for u in page.gridmap_requests if "/tiles/" in u]
    assert len(tile_requests) >= len(drawn)
    assert external_requests(page) == []
    assert all(u.startswith(server.url) for u in page.gridmap_requests)
    assert "/api/streets" not in " ".join(page.gridmap_requests)  # tiles configured: no street base
    assert_clean(page)
    png = page.screenshot(path="/tmp/offline-mbtiles-county.png")
    assert_not_blank(png)


def _label_spot(server) -> dict:
    _status, body = server.get("/api/streets")
    streets = json.loads(body)["labels"]
    assert streets, "the demo county has named streets"
    longest = max(streets, key=lambda street: max(spot[3] for spot in street["s"]))
    middle = max(longest["s"], key=lambda spot: spot[3])  # level 0: the middle of the street
    return {"t": longest["t"], "at": middle[:2]}


@pytest.fixture
def default_server(demo_env, vendored_assets, live_server_factory):
    return live_server_factory(env={**demo_env, "GRIDMAP_BASEMAP": "none"})


def _assert_named_street_shown(page, name: str) -> None:
    label = page.locator(".gm-street-label", has_text=name).first
    label.wait_for(state="visible", timeout=10000)
    box = label.bounding_box()
    assert box and box["width"] > 20 and box["height"] > 8


# a function, not an expression: Playwright evaluates a plain expression again on every poll, with
# eval, which the page's CSP (no 'unsafe-eval') refuses; a function is evaluated once, then called
STREETS_DRAWN = "() => document.querySelectorAll('.leaflet-gm-streets-pane path').length >= 2"


def test_county_map_shows_named_streets_offline_by_default(default_server, page):
    spot = _label_spot(default_server)
    page.goto(default_server.url + "/")
    page.wait_for_selector("path.leaflet-interactive")
    page.wait_for_function(STREETS_DRAWN, timeout=15000)
    page.screenshot(path="/tmp/offline-streets-county.png")
    page.evaluate("(at) => window.gridmapMap.setView(at, 17, {animate: false})", spot["at"])
    _assert_named_street_shown(page, spot["t"])
    page.wait_for_load_state("networkidle")
    page.screenshot(path="/tmp/offline-streets-county-z17.png")
    assert page.locator(".leaflet-tile-pane img").count() == 0  # no tiles: the streets are the base
    assert external_requests(page) == []
    assert_clean(page)


def test_report_page_shows_named_streets_offline_on_a_phone(default_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    spot = _label_spot(default_server)
    page.goto(default_server.url + "/report")
    page.wait_for_selector("#gm-report-map.leaflet-container")
    page.wait_for_function(STREETS_DRAWN, timeout=15000)
    page.evaluate("(at) => window.gridmapReportMap.setView(at, 17, {animate: false})", spot["at"])
    _assert_named_street_shown(page, spot["t"])
    page.wait_for_load_state("networkidle")
    page.screenshot(path="/tmp/offline-streets-report.png")
    assert external_requests(page) == []
    assert_clean(page)
