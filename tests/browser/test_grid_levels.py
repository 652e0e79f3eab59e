"""The county map's level switch and drill-down (全县 › 镇 › 村 › 组) on a desktop and a phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import factory
from tests.browser.conftest import assert_clean, assert_not_blank
from tests.test_whois_levels import OWNER_PHONE, TOWN_B, V1, V2, level_layers, level_tables

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x id="gm-injected">白石村'
SHOTS = "/tmp/gm-grid-levels"
DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"


@pytest.fixture
def server(live_server_factory, settings, store, vendored_assets, tmp_path):
    from gridmap.reference import load_directory

    layers = level_layers()
    layers["subgrids"].loc[1, "name"] = HOSTILE  # 白石村: names are text, never markup
    load_directory(store, factory.write_dataset(tmp_path / "d", layers_=layers, tables_=level_tables()))
    return live_server_factory(env={**settings, "GRIDMAP_BASEMAP": "none"})


def _track(page) -> None:
    """Keep the page's requests in flight, for _quiet."""
    pending: set = set()
    page.on("request", lambda r: pending.add(r))
    page.on("requestfinished", lambda r: pending.discard(r))
    page.on("requestfailed", lambda r: pending.discard(r))
    page.gm_pending = pending


def _quiet(page) -> None:
    """Wait until no request of the page is in flight (one left behind would be aborted by the next goto)."""
    for _ in range(200):
        if not page.gm_pending:
            return
        page.wait_for_timeout(50)
    pytest.fail(f"requests still in flight: {[r.url for r in page.gm_pending]}")


def _view(page, south: float, west: float, north: float, east: float) -> None:
    """Show this box (again at each poll until the map keeps it: the page may still set its first view)."""
    page.wait_for_function(
        "b => { const m = window.gridmapMap; const want = L.latLngBounds([[b[0], b[1]], [b[2], b[3]]]);"
        " if (!m.getBounds().contains(want.getCenter()) || m.getZoom() !== m.getBoundsZoom(want)) {"
        " m.invalidateSize({animate: false}); m.fitBounds(want, {animate: false}); return false; } return true; }",
        arg=[south, west, north, east],
    )


def _labels(page, *, expect: set[str] | None = None) -> list[str]:
    """The grid-level labels on the map (waiting, with ``expect``, until at least those show)."""
    if expect is not None:
        page.wait_for_function(
            "names => { const shown = new Set([...document.querySelectorAll('.gm-level-label')]"
            ".map(e => e.textContent)); return names.every(n => shown.has(n)); }",
            arg=sorted(expect),
        )
    return page.eval_on_selector_all(".gm-level-label", "els => els.map(e => e.textContent)")


def _crumbs(page) -> str:
    return " ".join(page.locator(".gm-levels-ctl .gm-crumbs").inner_text().split())


def _state(page) -> tuple[str, str]:
    ctl = page.locator(".gm-levels-ctl")
    return ctl.get_attribute("data-level"), ctl.get_attribute("data-focus")


def _shot(page, name: str) -> None:
    png = page.screenshot(path=f"{SHOTS}-{name}.png")
    assert_not_blank(png)


def _settled(page) -> None:
    """Every tile layer of the map has its tiles (a tile still asked when the view moves is aborted)."""
    page.wait_for_function(
        "() => { let busy = false; window.gridmapMap.eachLayer(l => { if (l.isLoading && l.isLoading()) busy = true; });"
        " return !busy; }"
    )


def _pick(page, code: str) -> None:
    page.select_option(".gm-level-pick", code)
    page.wait_for_function("c => document.querySelector('.gm-levels-ctl').dataset.focus === c", arg=code)
    _settled(page)


def _drill_down_and_back(page, tag: str) -> None:
    page.goto(page.url.split("#")[0])
    page.wait_for_selector(".gm-levels-ctl .gm-level-btn")
    assert _state(page) == ("村", "")
    _view(page, 33.84, 106.54, 33.89, 106.64)
    assert {"红花铺村", HOSTILE} <= set(
        _labels(page, expect={"红花铺村", HOSTILE})
    )  # village grids by default, across the county
    _shot(page, f"{tag}-1-county-villages")

    page.get_by_role("button", name="组网格").click()
    assert _state(page) == ("组", "")
    _view(page, 33.85, 106.55, 33.88, 106.58)
    assert set(_labels(page, expect={"红花铺村一组", "红花铺村二组"})) == {"红花铺村一组", "红花铺村二组"}
    assert page.get_by_role("button", name="组网格").get_attribute("aria-pressed") == "true"
    _shot(page, f"{tag}-2-county-groups")
    page.get_by_role("button", name="县城网格").click()
    _view(page, 33.905, 106.51, 33.915, 106.53)
    assert _labels(page, expect={"滨江一号子网格"}) == [
        "滨江一号子网格"
    ]  # the sub-grids of the county-town grids

    _pick(page, TOWN_B)  # a town: its village grids
    assert _state(page) == ("村", TOWN_B)
    assert _crumbs(page).startswith("全县 › 凤州镇")
    _shot(page, f"{tag}-3-town")
    assert sorted(_labels(page, expect={"红花铺村", HOSTILE})) == sorted(["红花铺村", HOSTILE])
    assert page.locator("#gm-injected").count() == 0

    _pick(page, V1)  # a village: its group grids
    assert _state(page) == ("组", V1)
    assert _crumbs(page).startswith("全县 › 凤州镇 › 红花铺村")
    assert sorted(_labels(page, expect={"红花铺村一组", "红花铺村二组"})) == ["红花铺村一组", "红花铺村二组"]
    assert "level=" + V1 in page.url
    _shot(page, f"{tag}-4-village")

    page.locator(".gm-levels-ctl .gm-crumbs a", has_text="凤州镇").click()  # breadcrumb back up
    page.wait_for_function("c => document.querySelector('.gm-levels-ctl').dataset.focus === c", arg=TOWN_B)
    assert _state(page) == ("村", TOWN_B)

    _pick(page, V2)  # 白石村 has no groups; its shop appears when zoomed in, with public fields only
    page.evaluate("() => window.gridmapMap.setView([33.86005, 106.611], 17, {animate: false})")
    shop = page.locator(".gm-map path.leaflet-interactive[fill='#c2185b']").first
    shop.wait_for()
    shop.click()
    popup = page.locator(".leaflet-popup .gm-shop-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "白石村小卖部" in text and "零售" in text and "白石村 3 号" in text and OWNER_PHONE not in text
    _shot(page, f"{tag}-5-shop")

    page.locator(".gm-levels-ctl .gm-crumbs a", has_text="全县").click()
    page.wait_for_function("() => document.querySelector('.gm-levels-ctl').dataset.focus === ''")
    assert _state(page) == ("村", "")
    _settled(page)
    _quiet(page)
    assert_clean(page)


def test_level_switch_and_drill_down_on_desktop_and_phone(server, page):
    _track(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(server.url + "/")
    _drill_down_and_back(page, "desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    _drill_down_and_back(page, "phone")
    box = page.locator(".gm-levels-ctl").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # the control fits the phone
    for name in ("县城网格", "村网格", "组网格"):
        button = page.get_by_role("button", name=name).bounding_box()
        assert button["height"] >= 30 and button["x"] + button["width"] <= 390, (name, button)


@pytest.fixture
def demo_tiled(live_server_factory, settings, store, vendored_assets):
    """The demo county served as a big county: every layer from vector tiles."""
    from gridmap.reference import load_directory

    load_directory(store, DEMO)
    return live_server_factory(env={**settings, "GRIDMAP_BASEMAP": "none", "GRIDMAP_EMBED_MAX_FEATURES": 100})


def test_a_link_drills_the_tiled_demo_map_down_town_village_group(demo_tiled, page):
    """The big-county path: a #level link opens a town; its villages and then a village's groups are
    drawn from the subgrids tiles and labelled; the breadcrumb leads back to the county."""
    detail = json.loads(demo_tiled.get("/api/levels/610330100")[1])  # 双石铺镇
    town = {"code": detail["code"], "name": detail["name"]}
    villages = [c for c in detail["children"] if c["level"] == "村"]
    assert villages, detail["children"]
    _track(page)
    tiles: list[str] = []
    page.on("request", lambda r: tiles.append(r.url) if "/vt/subgrids/" in r.url else None)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{demo_tiled.url}/#level={town['code']}")
    page.wait_for_function(
        "c => document.querySelector('.gm-levels-ctl').dataset.focus === c", arg=town["code"]
    )
    assert page.locator(".gm-levels-ctl .gm-level-more").get_attribute("href") == f"/levels/{town['code']}"
    page.wait_for_function("() => document.querySelectorAll('.gm-level-label').length > 0")
    assert set(_labels(page)) <= {v["name"] for v in villages}
    _shot(page, "demo-tiled-town")

    village = villages[0]
    _pick(page, village["code"])
    groups = json.loads(demo_tiled.get(f"/api/levels/{village['code']}")[1])["children"]
    names = {g["name"] for g in groups if g["level"] == "组"}
    assert sorted(_labels(page, expect=names)) == sorted(names)
    assert _state(page) == ("组", village["code"])
    # the group grids' outlines (dashed 5 3) come in the subgrids tiles, restyled for the village
    page.wait_for_selector(".gm-map svg path[stroke-dasharray='5 3']")
    page.wait_for_load_state("networkidle")
    _shot(page, "demo-tiled-village")
    _pick(page, groups[0]["code"])
    assert _crumbs(page).startswith(f"全县 › {town['name']} › {village['name']} › {groups[0]['name']}")
    assert tiles, "no subgrids tiles asked"
    page.locator(".gm-levels-ctl .gm-crumbs a", has_text="全县").click()
    page.wait_for_function("() => document.querySelector('.gm-levels-ctl').dataset.focus === ''")
    _settled(page)  # the county's tiles in, before the page is left
    _quiet(page)
    assert_clean(page)

    page.goto(f"{demo_tiled.url}/levels/{village['code']}")  # the village's own page, on the phone
    crumbs = " ".join(page.locator(".gm-crumbs").inner_text().split())
    assert crumbs == f"全县 › {town['name']} › {village['name']}"
    assert groups[0]["name"] in page.locator(".gm-level-children").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    _shot(page, "demo-level-page")
    assert_clean(page)
