"""Real browser at 390×844 (issue 11): an inspector's day on a phone, end to end — today's plan on a
map that fills the screen, check-in with the phone's position (300 m: refused with the distance; 20 m:
accepted), the problem stop verified with a photo on its page, a problem reported from a stop, no
console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank
from tests.routing import town

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp")
PASSWORD = "secret-pass-1"

# every control a thumb uses on the plan page, with the size it has on screen
TAP_TARGETS = """() => Array.from(document.querySelectorAll(
    '.gm-plan-panel a, .gm-plan-panel button, .gm-plan-panel summary, '
    + '.leaflet-control-zoom a, .leaflet-control-layers-toggle, .leaflet-marker-icon.leaflet-interactive'))
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return {text: (e.textContent || e.className).trim().slice(0, 30), w: r.width, h: r.height}; })"""


# The lowest contrast ratio (WCAG) between the text of the plan panel and the background behind it.
LOWEST_CONTRAST = """() => {
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const behind = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3); }
    return [255, 255, 255]; };
  let worst = {ratio: 99};
  for (const el of document.querySelectorAll('.gm-plan-panel *')) {
    if (!el.checkVisibility() || ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = {ratio: ratio, text: el.textContent.trim().slice(0, 20)};
  }
  return worst;
}"""


def _today_plan(store, settings: dict) -> tuple[int, str]:
    """The town with inspector I03, a problem waiting to be verified, and I03's plan for today."""
    from gridmap.auth import add_user
    from gridmap.problems.service import context_from_settings
    from gridmap.reference import ReferenceCache, load_directory
    from gridmap.routing import county, patrols
    from gridmap.routing.options import options_from_settings
    from gridmap.settings import load_settings

    load_directory(store, town.write(Path(settings["GRIDMAP_INSTANCE_DIR"]).parent / "town"))
    add_user(store, username="I03", role="inspector", password=PASSWORD)
    cfg = load_settings(settings, environ={})
    ctx = context_from_settings(store, ReferenceCache(store, tolerance_m=50.0), cfg)
    number = town.add_problem(ctx, x=250, y=95, status="rectified")
    options = options_from_settings(cfg, own_grids=True, time_limit=0.5)
    plan = county.plan_county_day(store, cfg, inspectors=["I03"], options=options)
    (plan_id,) = patrols.save_day(store, plan, user=None, system=True)
    return plan_id, number


def _jpeg() -> bytes:
    """A small photo, as a phone would send it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def _moved(stop: dict, *, east: float = 0.0, north: float = 0.0) -> dict:
    """A browser position `east`, `north` metres from a stop."""
    x, y = town.xy(stop["lon"], stop["lat"])
    lon, lat = town.ll(x + east, y + north)
    return {"longitude": lon, "latitude": lat, "accuracy": 8}


@pytest.mark.browser
def test_an_inspectors_day_on_a_phone(live_server_factory, settings, store, vendored_assets, page):
    plan_id, number = _today_plan(store, settings)
    server = live_server_factory(env=settings)
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"], origin=server.url)

    page.goto(f"{server.url}/login?next=/patrol")
    page.fill("input[name=username]", "I03")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/patrol")
    page.screenshot(path=str(SHOTS / "patrol-day-phone.png"), full_page=True)
    page.locator(f"#gm-plans a[href='/patrol/{plan_id}']").click()  # today's plan
    page.wait_for_url(f"**/patrol/{plan_id}")
    page.wait_for_selector(".leaflet-container path.leaflet-interactive")  # the route line, drawn
    plan = page.request.get(f"{server.url}/api/patrols/{plan_id}").json()
    stops = [s for s in plan["stops"] if s["kind"] in ("point", "problem")]
    assert number in [s["ref"] for s in stops]

    # the route fills the screen, stops numbered, nothing wider than the phone
    box = page.locator(".gm-map").bounding_box()
    assert box["height"] >= 0.6 * PHONE["height"] and box["width"] >= PHONE["width"] - 1, box
    numbers = page.locator(".leaflet-marker-pane .gm-stop").all_inner_texts()
    assert sorted(numbers) == sorted(["起", *[str(s["seq"]) for s in stops]])
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    small = [t for t in page.evaluate(TAP_TARGETS) if round(t["w"], 2) < 44 or round(t["h"], 2) < 44]
    assert not small, small
    nav = page.locator("#gm-nav-next")
    assert nav.inner_text() == "导航到下一站" and nav.get_attribute("href").startswith("geo:")
    assert f"{stops[0]['lat']:.6f}, {stops[0]['lon']:.6f}" in page.locator("#gm-next").inner_text()
    assert_not_blank(page.screenshot(path=str(SHOTS / "patrol-plan-phone.png")))

    # 300 m away: refused, with the distance, and nothing recorded
    page.context.set_geolocation(_moved(stops[0], east=300))
    page.locator("#stop-1 button.gm-btn-checkin").click()
    refusal = page.locator("#stop-1 .gm-patrol-error")
    refusal.wait_for()
    assert "距该点位 300 米，需在 50 米内签到" in refusal.inner_text()
    assert page.locator("#stop-1 .gm-done").count() == 0
    page.screenshot(path=str(SHOTS / "patrol-checkin-refused.png"))

    # 20 m away: accepted
    page.context.set_geolocation(_moved(stops[0], north=20))
    page.locator("#stop-1 button.gm-btn-checkin").click()
    page.wait_for_selector("#stop-1 .gm-done")
    assert "距点位 20 米" in page.locator("#stop-1 .gm-done").inner_text()
    assert page.locator("#gm-next").inner_text().startswith("下一站：第 2 站")
    page.screenshot(path=str(SHOTS / "patrol-checkin-done.png"))

    # the problem stop leads to its page, where the inspector verifies it with a photo
    problem = next(s for s in stops if s["ref"] == number)
    link = page.locator(f"#stop-{problem['seq']} a.gm-problem")
    assert "核查" in link.inner_text()
    link.click()
    page.wait_for_url(f"**/problems/{number}")
    verify = page.locator("details.gm-action-verify")
    if verify.get_attribute("open") is None:
        verify.locator("summary").click()
    verify.locator("textarea[name=note]").fill("现场核查：已清理干净")
    verify.locator("input[type=file]").set_input_files(
        files=[{"name": "核查.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        verify.locator("button[type=submit]").click()
    checked = page.request.get(f"{server.url}/api/problems/{number}").json()
    assert checked["status"] == "verified", checked
    assert "verify" in [p["stage"] for p in checked["photos"]]  # the photo, labelled as taken when verifying
    page.screenshot(path=str(SHOTS / "patrol-verified-phone.png"))
    page.goto(f"{server.url}/patrol/{plan_id}")

    # report a problem from the second stop: the report page opens at the stop and files it
    second = stops[1]
    page.locator("#stop-2 a.gm-report").click()
    page.wait_for_url("**/report?*")
    assert float(page.input_value("#gm-lon")) == pytest.approx(second["lon"], abs=1e-6)
    assert float(page.input_value("#gm-lat")) == pytest.approx(second["lat"], abs=1e-6)
    page.select_option("#gm-category", "garbage")
    page.fill("#gm-description", "巡查时发现：路边垃圾堆放")
    with page.expect_response(
        lambda r: r.url.endswith("/api/problems") and r.request.method == "POST"
    ) as done:
        page.click("#gm-submit")
    made = done.value
    assert made.status == 201, made.text()
    tracking = made.json()["tracking_no"]
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=tracking)
    page.screenshot(path=str(SHOTS / "patrol-report-phone.png"))
    filed = page.request.get(f"{server.url}/api/problems/{tracking}").json()
    assert filed["source"] == "inspector"
    assert_clean(page)


def _touch_page(browser, viewport: dict, *, phone: bool):
    """A page in a fresh context (a touch phone or a desktop) that records console errors and
    blocks anything leaving 127.0.0.1."""
    from tests.browser.conftest import _is_local

    context = browser.new_context(
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return context, page


@pytest.mark.browser
def test_patrol_pages_on_a_touch_phone_and_a_desktop(
    live_server_factory, settings, store, vendored_assets, browser
):
    from tests.browser.test_phone import OVERFLOW, POPUP, STABLE_POPUP
    from tests.browser.test_phone import TAP_TARGETS as EVERY_TARGET

    plan_id, _ = _today_plan(store, settings)
    server = live_server_factory(env=settings)
    context, page = _touch_page(browser, PHONE, phone=True)
    try:
        page.goto(f"{server.url}/login?next=/patrol")
        page.fill("input[name=username]", "I03")
        page.fill("input[name=password]", PASSWORD)
        page.tap("button[type=submit]")
        page.wait_for_url(f"{server.url}/patrol")
        for where in ("/patrol", f"/patrol/{plan_id}"):
            if where != "/patrol":
                page.goto(server.url + where)
                page.wait_for_selector(".leaflet-container path.leaflet-interactive")
            found = page.evaluate(OVERFLOW)
            assert found["scrollWidth"] <= found["innerWidth"] and not found["wide"], (where, found)
            small = [t for t in page.evaluate(EVERY_TARGET) if round(t["w"], 2) < 44 or round(t["h"], 2) < 44]
            assert not small, (where, small)
            page.tap("#gm-menu-button")  # every control of the header is reachable
            entries = page.locator("#gm-nav a, #gm-nav button")
            assert entries.count() >= 3 and all(entries.nth(i).is_visible() for i in range(entries.count()))
            page.keyboard.press("Escape")
            assert page.locator("#gm-nav").is_hidden(), where
        worst = page.evaluate(LOWEST_CONTRAST)
        assert worst["ratio"] >= 7, worst  # readable outdoors: WCAG AAA for every text of the panel
        # a tap on a numbered stop opens its popup, whole and uncovered
        marker = page.locator(".leaflet-marker-pane .gm-stop", has_text="5").first
        box = marker.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".leaflet-popup")
        page.wait_for_function(STABLE_POPUP, polling=150)
        popup = page.evaluate(POPUP)
        inside = popup["left"] >= 0 and popup["right"] <= popup["vw"] and popup["bottom"] <= popup["vh"]
        assert inside and popup["top"] >= popup["headerBottom"] and popup["covered"] == [], popup
        assert popup["text"].startswith("5.") and "在此上报问题" in popup["text"]
        page.screenshot(path=str(SHOTS / "patrol-popup-phone.png"))
        assert page.errors == []
    finally:
        context.close()
    context, page = _touch_page(browser, {"width": 1366, "height": 768}, phone=False)
    try:
        page.goto(f"{server.url}/login?next=/patrol/{plan_id}")
        page.fill("input[name=username]", "I03")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/patrol/{plan_id}")
        page.wait_for_selector(".leaflet-container path.leaflet-interactive")
        box = page.locator(".gm-map").bounding_box()
        assert box["height"] >= 0.6 * 768 and box["width"] >= 0.5 * 1366, box  # the map beside the stops
        found = page.evaluate(OVERFLOW)
        assert found["scrollWidth"] <= found["innerWidth"], found
        page.screenshot(path=str(SHOTS / "patrol-plan-desktop.png"))
        assert page.errors == []
    finally:
        context.close()
