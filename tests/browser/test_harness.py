"""Smoke tests of the browser harness against tests/browser/_hello_app.py."""

from __future__ import annotations

import pytest

from gridmap import assets
from tests.browser.conftest import (
    HELLO_APP,
    LiveServerError,
    assert_clean,
    assert_not_blank,
    external_requests,
)


def _vendor_url(key: str, path: str) -> str:
    return assets.asset_url(key, path, base_url="/static/vendor")


@pytest.mark.browser
def test_hello_page_draws_a_grid_with_leaflet_from_vendor(hello_server, page):
    page.goto(hello_server.url + "/")
    page.wait_for_function("window.gridmapReady === true")
    assert page.evaluate("typeof window.L") == "object"
    assert page.evaluate("L.version") == assets.VENDOR["leaflet"]["version"]
    assert page.locator("path.leaflet-interactive").count() == 1
    assert page.locator(".leaflet-tooltip").inner_text() == "城关一网格"
    page.wait_for_function(  # the default marker image comes from the vendored leaflet too
        "[...document.querySelectorAll('img.leaflet-marker-icon')].every(i => i.complete && i.naturalWidth > 0)"
    )
    requested = {url.removeprefix(hello_server.url) for url in page.gridmap_requests}
    assert _vendor_url("leaflet", "dist/leaflet.js") in requested
    assert _vendor_url("leaflet", "dist/images/marker-icon.png") in requested
    assert_clean(page)
    stats = assert_not_blank(page.screenshot())
    assert stats["ink"] > 0.5  # the polygon fills most of the view


@pytest.mark.browser
def test_folium_map_with_every_vendored_plugin_runs_without_errors(hello_server, page):
    page.goto(hello_server.url + "/folium")
    page.wait_for_selector("path.leaflet-interactive")
    page.wait_for_selector(".marker-cluster")  # leaflet.markercluster
    page.wait_for_selector(".awesome-marker i.fa-rotate-45")  # awesome-markers + rotate css
    page.wait_for_selector("canvas.leaflet-heatmap-layer")  # leaflet.heat (folium's build)
    page.wait_for_selector(".leaflet-control-search")  # leaflet-search
    page.wait_for_selector("svg#legend")  # branca legend drawn with d3
    page.wait_for_selector(".leaflet-control-layers")
    rotation = page.eval_on_selector(".awesome-marker i.fa-rotate-45", "i => getComputedStyle(i).transform")
    assert rotation.startswith("matrix(0.707"), rotation
    fonts = page.evaluate(
        "document.fonts.ready.then(() => [...document.fonts]"
        ".filter(f => f.status === 'loaded').map(f => f.family.replace(/\"/g, '')))"
    )
    assert "Glyphicons Halflings" in fonts, fonts
    assert any(name.startswith("Font Awesome 6") for name in fonts), fonts
    page.locator("path.leaflet-interactive").first.click()
    page.wait_for_selector(".leaflet-popup-content")
    assert "城关一网格" in page.locator(".leaflet-popup-content").inner_text()
    assert any("/static/css/leaflet.awesome.rotate.css?v=" in url for url in page.gridmap_requests)
    assert_clean(page)
    assert_not_blank(page.screenshot())


@pytest.mark.browser
def test_page_fixture_records_errors_and_blocks_outside_requests(page):
    page.set_content(
        "<html><body><img src='https://example.invalid/tile.png'>"
        "<script>console.error('控制台错误');</script>"
        "<script>setTimeout(() => { throw new Error('boom'); }, 0);</script></body></html>"
    )
    page.wait_for_timeout(200)
    assert any("控制台错误" in e for e in page.gridmap_errors), page.gridmap_errors
    assert any(e.startswith("pageerror:") and "boom" in e for e in page.gridmap_errors)
    assert external_requests(page) == ["https://example.invalid/tile.png"]
    assert any("example.invalid" in f for f in page.gridmap_failed)  # blocked, not fetched
    with pytest.raises(AssertionError, match="boom"):
        assert_clean(page)


@pytest.mark.browser
def test_assert_not_blank_rejects_an_empty_page(page):
    page.set_content("<html><body style='background:#fff'></body></html>")
    with pytest.raises(AssertionError, match=r"single colour|blank|white"):
        assert_not_blank(page.screenshot())


def test_live_server_passes_env_and_serves_vendored_files(live_server_factory, vendored_assets):
    server = live_server_factory(HELLO_APP, env={"GRIDMAP_HELLO_GREETING": "你好，网格"})
    assert server.get("/env") == (200, "你好，网格".encode())
    status, body = server.get(_vendor_url("leaflet", "dist/leaflet.js"))
    assert status == 200 and b"Leaflet" in body
    assert server.get("/static/../pyproject.toml")[0] == 404
    server.stop()
    assert server.process.poll() is not None


def test_live_server_reports_why_it_did_not_start(live_server_factory):
    with pytest.raises(LiveServerError, match="no_such_app"):
        live_server_factory("tests.browser._hello_app:no_such_app", timeout=20)
