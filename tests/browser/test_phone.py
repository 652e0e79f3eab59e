"""The public map pages on a phone (390×844, touch) and on a desktop (1366×768), in Debian chromium.

On a phone: the map fills the screen below the header, nothing overflows sideways, the header
collapses into a menu whose every entry can be reached, every tap target is at least 44×44 CSS px,
legend / layers / problem filter wait in a closed drawer, and a tap on the map opens a popup that
is whole and on top of every control. On a desktop: a one-line header and a drawer in which the
legend never hides the layer toggles. Screenshots go to /tmp/phone-*.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import shapely

from tests.browser.conftest import start_live_server

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
PASSWORD = "phone-test-pass-1"
GRID = "610330100001"
pytestmark = pytest.mark.browser
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

# Every visible link, button and field, with its size (a checkbox or radio counts with its label,
# which is what a finger hits). Links that do nothing (pointer-events: none) are not targets.
TAP_TARGETS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('a, button, input, select, summary')) {
    if (el.type === 'hidden' || !el.checkVisibility({visibilityProperty: true})) continue;  // e.g. in a closed <details>
    let r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!r.width || !r.height || style.visibility === 'hidden' || style.pointerEvents === 'none') continue;
    if ((el.type === 'checkbox' || el.type === 'radio') && el.closest('label')) {
      r = el.closest('label').getBoundingClientRect();
    }
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '';
    const label = (el.textContent || el.name || el.getAttribute('aria-label') || '').trim().slice(0, 20);
    out.push({what: el.tagName.toLowerCase() + cls + ' ' + label,
              w: Math.round(r.width * 10) / 10, h: Math.round(r.height * 10) / 10});
  }
  return out;
}"""

# Page width and what sticks out on the right (map panes are clipped by the map: not counted).
OVERFLOW = """() => {
  const vw = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.leaflet-pane')) continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.height && (r.right > vw + 0.5 || r.left < -0.5)) {
      wide.push(el.tagName.toLowerCase() + '.' + String(el.className) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: vw, wide: wide.slice(0, 10)};
}"""

MAP_BOX = """() => {
  const r = document.querySelector('.gm-map .leaflet-container').getBoundingClientRect();
  return {top: r.top, left: r.left, width: r.width, height: r.height, vh: window.innerHeight, vw: window.innerWidth};
}"""

# The open popup: is it whole inside the viewport, below the header, and is it what a finger
# hits at its corners and centre (not a control or the header)?
POPUP = """() => {
  const popup = document.querySelector('.leaflet-popup');
  if (!popup) return null;
  const r = popup.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();
  const header = document.querySelector('.gm-header').getBoundingClientRect();
  const inset = 14;  // the wrapper's rounded corners are not part of it
  const spots = [[r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
                 [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset],
                 [(r.left + r.right) / 2, (r.top + r.bottom) / 2]];
  const covered = spots.filter(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return !hit || !popup.contains(hit);
  }).map(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return [Math.round(x), Math.round(y), hit ? hit.tagName.toLowerCase() + '.' + String(hit.className) : null];
  });
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, vw: window.innerWidth,
          vh: window.innerHeight, headerBottom: header.bottom, covered: covered,
          text: popup.innerText};
}"""

STABLE_POPUP = """() => {
  const p = document.querySelector('.leaflet-popup');
  if (!p) return false;
  const r = p.getBoundingClientRect();
  const key = [r.left, r.top, r.width, r.height].map(Math.round).join();
  window.__popupSame = window.__popupKey === key ? (window.__popupSame || 0) + 1 : 0;
  window.__popupKey = key;
  return window.__popupSame >= 2;  // the same place three polls in a row: autoPan is done
}"""


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about", ""} or parts.hostname == "127.0.0.1"


@pytest.fixture(scope="module")
def server(vendored_assets, module_database):
    """The demo county served once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.auth import add_user
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
    add_user(store, username="office", role="office", password=PASSWORD)
    store.engine.dispose()
    live = start_live_server(env=env, log_dir=folder / "logs")
    live.env = env  # type: ignore[attr-defined]
    yield live
    live.stop()


@pytest.fixture(scope="module")
def places(server) -> dict:
    """The pages under test and a quiet spot inside a grid (whois names no road, point or community)."""
    units = json.loads(server.get("/api/units")[1])["units"]
    leaders = json.loads(server.get("/api/leaders")[1])["leaders"]
    unit = next(u for u in units if u["segments"])
    grids = json.loads(server.get("/api/layers/grids.geojson")[1])["features"]
    polygon = shapely.geometry.shape(next(f for f in grids if f["id"] == GRID)["geometry"])
    minx, miny, maxx, maxy = polygon.bounds
    rng = np.random.default_rng(7)
    spot = None
    for lon, lat in zip(rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)):
        if not polygon.buffer(-0.0004).contains(shapely.Point(lon, lat)):
            continue
        d = json.loads(server.get(f"/api/whois?lon={lon}&lat={lat}")[1])
        if d["grid"] and d["grid"]["code"] == GRID and not (d["segment"] or d["point"] or d["community"]):
            spot = (float(lat), float(lon))
            break
    assert spot, "no quiet spot in the grid"
    pages = {"county": "/", "grid": f"/grids/{GRID}", "unit": f"/units/{unit['code']}"}
    pages["leader"] = f"/leaders/{leaders[0]['code']}"
    return {"pages": pages, "spot": spot}


def _context(browser, viewport: dict, *, phone: bool):
    context = browser.new_context(
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    return context


def _watched(context):
    page = context.new_page()
    page.errors = []

    def on_console(message) -> None:
        if message.type == "error" and not (message.location or {}).get("url", "").endswith("/favicon.ico"):
            page.errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.errors.append(f"pageerror: {error}"))
    page.on("request", lambda r: None if _is_local(r.url) else page.errors.append(f"left 127.0.0.1: {r.url}"))
    return page


@pytest.fixture
def phone(browser):
    context = _context(browser, PHONE, phone=True)
    yield _watched(context)
    context.close()


@pytest.fixture
def desktop(browser):
    context = _context(browser, DESKTOP, phone=False)
    yield _watched(context)
    context.close()


def _map_ready(page) -> None:
    page.wait_for_selector(".gm-map .leaflet-container path.leaflet-interactive")
    page.wait_for_selector("html[data-problems-loaded]", state="attached")


def _login(page, server) -> None:
    page.goto(f"{server.url}/login?next=/")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.gm-form button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def _small_targets(page) -> list[dict]:
    return [t for t in page.evaluate(TAP_TARGETS) if round(t["w"], 2) < 44 or round(t["h"], 2) < 44]


def _assert_no_overflow(page, where: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scrollWidth"] <= found["innerWidth"] and not found["wide"], (where, found)


def _check_menu(page, where: str, viewport: dict = PHONE, *, whole_page: bool = True) -> list[str]:
    """Open the header menu: every entry is visible, inside the viewport and big enough; close it."""
    button = page.locator("#gm-menu-button")
    assert button.is_visible(), where
    assert page.locator("#gm-nav").is_hidden(), f"{where}: the menu starts closed"
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, (where, box)
    header = page.locator(".gm-header").bounding_box()
    assert header["height"] <= 60, (where, header)  # one row: brand and menu button
    page.tap("#gm-menu-button")
    entries = page.locator("#gm-nav a, #gm-nav button")
    assert entries.count() >= 5, where
    labels = []
    for i in range(entries.count()):
        entry = entries.nth(i)
        assert entry.is_visible(), (where, entry.inner_text())
        r = entry.bounding_box()
        inside = r["x"] >= 0 and r["y"] >= 0 and r["x"] + r["width"] <= viewport["width"] + 0.5
        assert inside and r["y"] + r["height"] <= viewport["height"], (where, entry.inner_text(), r)
        assert r["width"] >= 44 and r["height"] >= 44, (where, entry.inner_text(), r)
        labels.append(entry.inner_text().strip())
    if whole_page:
        assert not _small_targets(page), (where, "menu open", _small_targets(page))
    page.keyboard.press("Escape")
    assert page.locator("#gm-nav").is_hidden(), where
    return labels


def _tap_near_top_of_map(page, spot: tuple[float, float], *, y: int, touch: bool) -> dict:
    """Put the quiet spot ``y`` px below the map's top edge and tap (click) it; the popup's geometry."""
    page.evaluate(
        """([lat, lon, y]) => {
          const map = window.gridmapMap;
          map.setView([lat, lon], 17, {animate: false});
          map.panBy([0, map.getSize().y / 2 - y], {animate: false});
        }""",
        [spot[0], spot[1], y],
    )
    point = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        list(spot),
    )
    box = page.evaluate(MAP_BOX)
    x, y = box["left"] + point[0], box["top"] + point[1]
    for attempt in range(2):
        if touch:
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)
        try:
            page.wait_for_selector(".leaflet-popup .gm-whois", timeout=8000)
            break
        except PlaywrightTimeout:
            # on a busy machine chromium may take a slow tap for a long press (no click); once more
            page.screenshot(path="/tmp/phone-tap-missed.png")
            if attempt:
                raise
    page.wait_for_function(STABLE_POPUP, polling=150)
    return page.evaluate(POPUP)


def _assert_popup_clear(popup: dict, where: str) -> None:
    assert popup is not None, where
    inside = popup["left"] >= 0 and popup["right"] <= popup["vw"] and popup["bottom"] <= popup["vh"]
    assert inside and popup["top"] >= popup["headerBottom"], (where, popup)
    assert popup["covered"] == [], (where, popup)


@pytest.mark.parametrize("name", ["county", "grid", "unit", "leader"])
def test_map_page_on_a_phone(server, places, phone, name):
    page = phone
    page.goto(server.url + places["pages"][name])
    _map_ready(page)
    box = page.evaluate(MAP_BOX)
    assert box["height"] >= 0.6 * box["vh"] and box["width"] == box["vw"], (name, box)
    assert box["top"] <= 60, (name, box)  # right below the header
    _assert_no_overflow(page, name)
    assert not _small_targets(page), (name, _small_targets(page))

    # legend, layers and problem filter wait in a closed drawer; a button on the map opens it
    drawer = page.locator(".gm-drawer")
    assert drawer.is_hidden(), name
    page.screenshot(path=f"/tmp/phone-{name}.png")
    page.tap(".gm-drawer-toggle")
    assert drawer.is_visible(), name
    for part in (".leaflet-control-layers", ".gm-problem-filter", ".gm-legend"):
        assert page.locator(f".gm-drawer {part}").count() == 1, (name, part)
    heat = page.locator(".gm-drawer label", has_text="问题热力图")
    heat.scroll_into_view_if_needed()
    assert heat.is_visible(), name
    assert not _small_targets(page), (name, "drawer open", _small_targets(page))
    _assert_no_overflow(page, f"{name}, drawer open")
    if name == "county":
        page.screenshot(path="/tmp/phone-county-drawer.png")
    page.tap(".gm-drawer-close")
    assert drawer.is_hidden(), name

    # the print-map and download form, folded below the map, has big enough targets too
    page.locator(".gm-download > summary").tap()
    page.locator(".gm-download form").wait_for()
    assert not _small_targets(page), (name, "downloads open", _small_targets(page))
    _assert_no_overflow(page, f"{name}, downloads open")
    page.evaluate("window.scrollTo(0, 0)")

    labels = _check_menu(page, name)
    assert {"全县地图", "网格", "责任单位", "包片领导", "登录"} <= set(labels), labels

    # a tap near the top of the map: the popup pans clear of the search box and the buttons
    popup = _tap_near_top_of_map(page, places["spot"], y=70, touch=True)
    _assert_popup_clear(popup, name)
    assert "此处由谁负责" in popup["text"]
    page.screenshot(path=f"/tmp/phone-{name}-popup.png")
    assert not _small_targets(page), (name, "popup open", _small_targets(page))
    assert page.errors == [], (name, page.errors)


def test_a_tap_on_the_map_closes_the_open_drawer_first(server, places, phone):
    page = phone
    page.goto(server.url + "/")
    _map_ready(page)
    page.tap(".gm-drawer-toggle")
    assert page.locator(".gm-drawer").is_visible()
    box = page.evaluate(MAP_BOX)
    # Right of the level switch in the top-left corner, below the layers button: open map.
    page.touchscreen.tap(box["left"] + box["width"] - 40, box["top"] + 150)
    page.locator(".gm-drawer").wait_for(state="hidden")
    assert page.locator(".leaflet-popup").count() == 0  # that tap only closed the sheet
    assert page.errors == []


@pytest.mark.parametrize("path", ["/grids", "/units", "/leaders", "/login"])
def test_list_pages_are_cards_on_a_phone(server, phone, path):
    page = phone
    page.goto(server.url + path)
    _assert_no_overflow(page, path)
    assert not _small_targets(page), (path, _small_targets(page))
    if path != "/login":
        assert page.locator(".gm-cards thead").is_hidden()
        rows = page.locator(".gm-cards tbody tr")
        first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
        assert first["width"] >= PHONE["width"] - 40 and second["y"] >= first["y"] + first["height"], path
        page.screenshot(path=f"/tmp/phone{path.replace('/', '-')}.png", full_page=True)
    _check_menu(page, path)
    assert page.errors == [], (path, page.errors)


def _contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text against the first opaque background behind it."""
    return page.evaluate(
        """(selector) => {
          const el = document.querySelector(selector);
          function rgb(s) { return s.match(/[\\d.]+/g).map(Number); }
          function lum(c) {
            const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
          }
          let node = el, bg = null;
          while (node && node.nodeType === 1) {
            const c = rgb(getComputedStyle(node).backgroundColor);
            if (c.length < 4 || c[3] > 0.9) { bg = c; break; }
            node = node.parentNode;
          }
          bg = bg || [255, 255, 255];
          const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )


def test_logged_in_menu_on_a_phone_shows_user_and_logout(server, phone):
    page = phone
    _login(page, server)
    _map_ready(page)
    labels = _check_menu(page, "office, /")
    assert "退出" in labels and "问题清单" in labels, labels
    page.tap("#gm-menu-button")
    assert page.locator(".gm-who").is_visible()
    assert _contrast(page, ".gm-who") >= 4.5
    assert _contrast(page, ".gm-logout button") >= 4.5
    page.screenshot(path="/tmp/phone-menu-office.png")
    page.tap(".gm-logout button")  # 退出 works from the menu
    page.wait_for_selector("#gm-nav a[href$='/login']", state="attached")
    assert page.errors == [], page.errors


def test_desktop_header_is_one_line_and_the_legend_leaves_the_layers_free(server, places, desktop):
    page = desktop
    _login(page, server)
    _map_ready(page)
    header = page.locator(".gm-header").bounding_box()
    assert header["height"] <= 56, header
    assert page.locator("#gm-menu-button").is_hidden()
    for entry in page.locator("#gm-nav > a, .gm-logout button").all():
        r = entry.bounding_box()
        assert r["y"] >= header["y"] and r["y"] + r["height"] <= header["y"] + header["height"], (
            entry.inner_text()
        )
        assert r["x"] + r["width"] <= DESKTOP["width"], entry.inner_text()
    assert _contrast(page, ".gm-who") >= 4.5
    box = page.evaluate(MAP_BOX)
    assert box["height"] >= 0.6 * box["vh"], box
    _assert_no_overflow(page, "desktop /")

    # the county map opens with its drawer: every layer toggle is visible and on top
    assert page.locator(".gm-drawer").is_visible() and page.locator(".gm-legend").is_visible()
    toggles = page.locator(".gm-drawer .leaflet-control-layers label")
    assert toggles.count() >= 8
    for i in range(toggles.count()):
        label = toggles.nth(i)
        r = label.bounding_box()
        assert r["y"] + r["height"] <= DESKTOP["height"], label.inner_text()
        hit = page.evaluate(
            "([x, y]) => { const el = document.elementFromPoint(x, y); return el && !!el.closest('.leaflet-control-layers label'); }",
            [r["x"] + r["width"] / 2, r["y"] + r["height"] / 2],
        )
        assert hit, f"layer toggle {label.inner_text()!r} is covered"
    heat = page.locator(".gm-drawer label", has_text="问题热力图").locator("input")
    assert not heat.is_checked()
    page.locator(".gm-drawer label", has_text="问题热力图").click()
    assert heat.is_checked()  # the heat map can be switched on with the legend open

    popup = _tap_near_top_of_map(page, places["spot"], y=30, touch=False)
    _assert_popup_clear(popup, "desktop /")
    page.screenshot(path="/tmp/phone-desktop-county.png")

    # closing the drawer gives its width back to the map
    width = box["width"]
    page.click(".gm-drawer-toggle")
    page.locator(".gm-drawer").wait_for(state="hidden")
    assert page.evaluate(MAP_BOX)["width"] > width + 200

    page.goto(server.url + places["pages"]["grid"])
    _map_ready(page)
    box = page.evaluate(MAP_BOX)
    assert box["height"] >= 0.6 * box["vh"] and box["width"] >= 0.5 * box["vw"], box
    assert page.locator(".gm-side").is_visible() and page.locator(".gm-drawer").is_hidden()
    _assert_no_overflow(page, "desktop grid")
    page.screenshot(path="/tmp/phone-desktop-grid.png")
    assert page.errors == [], page.errors


def test_a_header_too_long_for_a_tablet_folds_into_the_menu(server, browser):
    """At 800 px the office's ten header entries do not fit on one line: they fold into the menu."""
    tablet = {"width": 800, "height": 1024}
    context = _context(browser, tablet, phone=True)  # a touch tablet
    try:
        page = _watched(context)
        _login(page, server)
        _map_ready(page)
        assert page.locator(".gm-header.gm-compact").count() == 1
        labels = _check_menu(page, "office at 800 px", tablet, whole_page=False)
        assert "退出" in labels and "巡查路线" in labels, labels
        _assert_no_overflow(page, "office at 800 px")
        page.set_viewport_size(DESKTOP)  # wide again: back to one line
        page.locator("#gm-menu-button").wait_for(state="hidden")
        assert page.locator("#gm-nav").is_visible()
        assert page.errors == [], page.errors
    finally:
        context.close()


def test_a_problem_popup_stays_whole_when_its_photo_arrives(server, places, desktop):
    """The photo in a problem popup loads after the popup opened and makes it taller: the popup
    pans again so that it stays whole and clear of the controls (it used to open clipped)."""
    import io

    from PIL import Image

    from gridmap.problems.context import context_from_settings
    from gridmap.problems.service import report_problem
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings
    from gridmap.store import Store

    store = Store(server.env["GRIDMAP_DATABASE_URL"])
    ctx = context_from_settings(
        store, ReferenceCache(store, tolerance_m=50.0), load_settings(server.env, environ={})
    )
    photo = io.BytesIO()
    Image.new("RGB", (400, 800), (200, 60, 40)).save(photo, "JPEG")
    lat, lon = places["spot"][0] + 0.0008, places["spot"][1]
    report_problem(ctx, lon=lon, lat=lat, category="garbage", description="路边垃圾堆放",
                   photos=[("photo.jpg", photo.getvalue())])  # fmt: skip

    page = desktop
    _login(page, server)
    page.wait_for_selector("html[data-problems-loaded='1']", state="attached")
    page.evaluate(
        """([lat, lon]) => {
          const map = window.gridmapMap;
          map.setView([lat, lon], 17, {animate: false});
          map.panBy([0, map.getSize().y / 2 - 40], {animate: false});
        }""",
        [lat, lon],
    )
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.evaluate(MAP_BOX)
    page.mouse.click(box["left"] + x, box["top"] + y)
    page.wait_for_selector(".leaflet-popup .gm-problem-popup")
    page.wait_for_function(
        "() => { const i = document.querySelector('.leaflet-popup img.gm-thumb'); return i && i.complete && i.naturalWidth > 0; }"
    )
    page.wait_for_function(STABLE_POPUP, polling=150)
    popup = page.evaluate(POPUP)
    _assert_popup_clear(popup, "problem popup with a photo")
    assert "路边垃圾堆放" in popup["text"]
    assert popup["bottom"] - popup["top"] > 240  # the photo is in it
    page.screenshot(path="/tmp/phone-desktop-problem-popup.png")
    assert page.errors == [], page.errors


def test_office_and_unit_pages_on_a_phone(server, phone, browser):
    """The office's task list, problem list, a problem page, users and atlas; a unit's tasks."""
    from gridmap.auth import add_user
    from gridmap.store import Store

    store = Store(server.env["GRIDMAP_DATABASE_URL"])
    units = json.loads(server.get("/api/units")[1])["units"]
    unit = next(u for u in units if u["segments"])
    add_user(store, username="phone-unit", role="unit", unit_code=unit["code"], password=PASSWORD)
    grids = json.loads(server.get("/api/layers/grids.geojson")[1])["features"]
    point = shapely.geometry.shape(
        next(f for f in grids if f["id"] == GRID)["geometry"]
    ).representative_point()
    lon, lat = point.x, point.y
    response = phone.request.post(
        server.url + "/api/problems",
        data={"lon": lon, "lat": lat, "category": "garbage", "description": "手机页面测试：垃圾堆放"},
    )
    assert response.status == 201, response.text()
    number = response.json()["tracking_no"]

    _login(phone, server)
    for path in ("/tasks", "/problems", f"/problems/{number}", "/office", "/admin/users", "/export/atlas"):
        phone.goto(server.url + path)
        phone.wait_for_load_state("load")
        _assert_no_overflow(phone, path)
        assert not _small_targets(phone), (path, _small_targets(phone))
        _check_menu(phone, path)
        if path == "/office":
            phone.screenshot(path="/tmp/phone-office-desk.png", full_page=True)
    assert not phone.errors, phone.errors

    context = _context(browser, PHONE, phone=True)
    page = _watched(context)
    page.goto(f"{server.url}/login?next=/tasks")
    page.fill("input[name=username]", "phone-unit")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.gm-form button[type=submit]")
    page.wait_for_url("**/tasks")
    _assert_no_overflow(page, "unit /tasks")
    assert not _small_targets(page), ("unit /tasks", _small_targets(page))
    _check_menu(page, "unit /tasks")
    assert not page.errors, page.errors
    context.close()


def test_citizen_pages_header_on_a_phone(server, phone):
    """/report and the lookup are reachable one-handed: the menu opens, nothing overflows."""
    phone.goto(server.url + "/report")
    phone.wait_for_selector(".leaflet-container")
    _assert_no_overflow(phone, "/report")
    assert not _small_targets(phone), ("/report", _small_targets(phone))
    labels = _check_menu(phone, "/report")
    assert "随手拍上报" in labels and "登录" in labels
    assert not phone.errors, phone.errors


def _tap_map_centre(page, selector: str, words: str) -> dict:
    """Tap the middle of a page's map; wait for a popup with ``words`` to settle; its geometry."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f".leaflet-popup:has-text('{words}')", timeout=10000)
    page.wait_for_function(STABLE_POPUP, polling=150)
    return page.evaluate(POPUP)


def test_a_tap_on_the_report_and_problem_maps_opens_a_whole_popup(server, phone):
    phone.goto(server.url + "/report")
    phone.wait_for_selector("#gm-report-map.leaflet-container")
    popup = _tap_map_centre(phone, "#gm-report-map", "已选位置")
    _assert_popup_clear(popup, "/report")
    assert "附近" in popup["text"] or "镇" in popup["text"], popup["text"]

    grids = json.loads(server.get("/api/layers/grids.geojson")[1])["features"]
    point = shapely.geometry.shape(
        next(f for f in grids if f["id"] == GRID)["geometry"]
    ).representative_point()
    response = phone.request.post(
        server.url + "/api/problems",
        data={"lon": point.x, "lat": point.y, "category": "garbage", "description": "点地图看位置"},
    )
    assert response.status == 201, response.text()
    phone.goto(f"{server.url}/problems/{response.json()['tracking_no']}")
    phone.wait_for_selector(".leaflet-container")
    popup = _tap_map_centre(phone, ".leaflet-container", "问题位置")
    _assert_popup_clear(popup, "problem page")
    assert not phone.errors, phone.errors
