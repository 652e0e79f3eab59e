"""A tap on the county map on a phone shows the whois chain of grid levels, the shop and the building."""

from __future__ import annotations

import pytest

from tests import factory
from tests.browser.conftest import assert_clean
from tests.test_whois_levels import LINE_Y, M_LAT, OWNER_PHONE, level_layers, level_tables

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x id="gm-injected">小卖部'


def _tap(page, lon: float, lat: float):
    """Centre the map on the spot, click it, and return the whois popup's levels part."""
    page.evaluate("() => window.gridmapMap.closePopup()")
    page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    page.evaluate("([lat, lon]) => window.gridmapMap.setView([lat, lon], 18, {animate: false})", [lat, lon])
    point = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    levels = page.locator(".leaflet-popup .gm-whois .gm-levels")
    levels.wait_for()
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    page.wait_for_timeout(400)  # the popup's pan clear of the controls, for the screenshot
    return levels


def test_a_tap_shows_each_level_with_its_people_the_shop_and_the_household_heads(
    live_server_factory, settings, store, vendored_assets, page, tmp_path
):
    from gridmap.reference import load_directory

    layers = level_layers()
    layers["shops"].loc[0, "name"] = HOSTILE  # shop names are shown as text, never as markup
    load_directory(store, factory.write_dataset(tmp_path / "d", layers_=layers, tables_=level_tables()))
    server = live_server_factory(env={**settings, "GRIDMAP_BASEMAP": "none"})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/")
    page.wait_for_selector(".gm-map .leaflet-container path.leaflet-interactive")

    levels = _tap(page, 106.5675, 33.8535)  # building B1 in group grid 二组 of 红花铺村
    text = levels.inner_text()
    assert "各级网格（由组网格应答）" in text
    for expected in (
        "组网格：红花铺村二组",
        "钱志愿（志愿者）",
        "村网格：红花铺村",
        "李书记（村书记） 13900000021",
    ):
        assert expected in text, (expected, text)
    assert "镇（街道）：凤州镇" in text and "马镇长（镇干部）" in text
    assert "县级领导" in text and "张华（副县长）" in text
    assert "楼栋：红花新村1号楼 · 中心户长 孙大姐、周大哥" in text
    whole = page.locator(".leaflet-popup .gm-whois").inner_text()
    assert "由下列村（组）网格负责" in whole and "属地兜底" not in whole  # a village grid answers
    assert [t.strip() for t in levels.locator("li.gm-level > b").all_inner_texts()] == [
        "组网格：",
        "村网格：",
        "镇（街道）：",
        "县级领导",
    ]
    page.screenshot(path="/tmp/whois-levels-phone.png")

    shop = _tap(page, 106.611, LINE_Y + 2 * M_LAT)  # on 白石村's shop frontage
    text = shop.inner_text()
    assert f"门前五包商户：{HOSTILE}（零售） · 白石村 3 号" in text
    assert "村网格：白石村" in text
    page.screenshot(path="/tmp/whois-levels-shop-phone.png")
    town_spot = _tap(page, 106.65, 33.95)  # in 凤州镇 outside every village grid: the town answers
    assert "各级网格（由镇（街道）应答）" in town_spot.inner_text()
    assert "属地兜底" in page.locator(".leaflet-popup .gm-whois").inner_text()
    assert page.locator("#gm-injected").count() == 0
    assert OWNER_PHONE not in page.content()
    assert_clean(page)
