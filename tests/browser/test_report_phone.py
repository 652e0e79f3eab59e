"""Real browser (issue 11): the citizen's report page on a phone (390×844) — the map opens on the
town and takes at least 40% of the screen, nothing overflows, tap targets are at least 44×44, a
double tap on 提交 files one report, the form resets and shows the tracking number, the lookup box
finds it; a retry after a lost answer files nothing twice. Screenshots: /tmp/report-*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from gridmap.reference import ReferenceCache
from tests.browser.conftest import assert_clean, assert_not_blank

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp")

# every control a thumb may hit on the page (not the header: its own tests cover it)
TAP_TARGETS = """
() => Array.from(document.querySelectorAll(
    '.gm-report a, .gm-report button, .gm-report input:not([type=hidden]), .gm-report select, .gm-report textarea'))
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .map((el) => { const r = el.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 80), w: r.width, h: r.height}; })
  .filter((t) => Math.round(t.w * 100) / 100 < 44 || Math.round(t.h * 100) / 100 < 44)
"""

# elements whose right edge passes the viewport, and the page's own horizontal scroll
OVERFLOW = """
() => ({
  scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  wide: Array.from(document.querySelectorAll('main *'))
    .filter((el) => !el.closest('.leaflet-pane, .leaflet-control-container'))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5); })
    .map((el) => el.outerHTML.slice(0, 80)),
})
"""


def _stored(store) -> list[str]:
    """Tracking numbers stored by the served app, read on either backend."""
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT tracking_no FROM problems ORDER BY id"))]


def _open_report(page, server) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{server.url}/report")
    page.wait_for_selector("#gm-report-map.leaflet-container")
    page.wait_for_selector("#gm-report-map .leaflet-overlay-pane path")  # the grids are drawn


def _fill(page) -> None:
    box = page.locator("#gm-report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the town's middle
    assert page.input_value("#gm-lon") != ""
    page.wait_for_function("() => document.getElementById('gm-where').textContent.indexOf('附近') >= 0")
    page.select_option("#gm-category", "garbage")
    page.fill("#gm-description", "路口东侧垃圾堆放两天无人清理")
    page.fill("#gm-reporter-phone", "13800000000")


def _check_layout(page, when: str) -> None:
    assert page.evaluate(TAP_TARGETS) == [], f"{when}: tap targets under 44×44"
    overflow = page.evaluate(OVERFLOW)
    assert overflow == {"scroll": 0, "wide": []}, f"{when}: {overflow}"


@pytest.mark.browser
def test_report_page_on_a_phone(live_server_factory, settings, loaded_store, vendored_assets, page):
    server = live_server_factory(env=settings)
    posts: list[str] = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/problems") else None,
    )
    _open_report(page, server)

    # the map: at least 40% of the screen, opened on the town (the grids), not the whole county
    map_box = page.locator("#gm-report-map").bounding_box()
    assert map_box["height"] >= 0.4 * PHONE["height"], map_box
    view = page.evaluate(
        """() => { const b = window.gridmapReportMap.getBounds();
                   return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"""
    )
    model = ReferenceCache(loaded_store, tolerance_m=50.0).model()
    gx0, gy0, gx1, gy1 = model.grids.total_bounds
    tx0, _, tx1, _ = model.towns.total_bounds
    assert view[0] <= gx0 and view[1] <= gy0 and view[2] >= gx1 and view[3] >= gy1, view  # the grids show
    assert view[2] - view[0] < 0.6 * (tx1 - tx0), view  # ...and the county's far towns do not
    _check_layout(page, "empty form")

    _fill(page)
    _check_layout(page, "filled form")
    page.evaluate("() => window.scrollTo(0, 0)")  # the map with its marker, the form below
    assert_not_blank(page.screenshot(path=str(SHOTS / "report-filled.png")))
    assert _stored(loaded_store) == []

    # a double tap on 提交: one request, one problem
    page.locator("#gm-submit").dblclick()
    link = page.locator("#gm-tracking-no")
    link.wait_for()
    page.wait_for_timeout(2000)  # past the button's rest: a late second tap would have been sent by now
    stored = _stored(loaded_store)
    assert len(stored) == 1, stored
    assert len(posts) == 1, posts
    tracking_no = stored[0]
    assert link.inner_text() == tracking_no
    assert link.get_attribute("href").endswith(f"/problems/{tracking_no}")
    detail = page.locator("#gm-result-detail").inner_text()
    assert re.search(r"期限 \d{1,2}月\d{1,2}日 \d\d:\d\d", detail), detail  # a human time, China time
    assert "T" not in detail and "+08:00" not in detail
    # the form is reset and ready for the next report
    assert page.input_value("#gm-category") == ""
    assert page.input_value("#gm-description") == ""
    assert page.input_value("#gm-lon") == "" and page.input_value("#gm-lat") == ""
    assert page.locator("#gm-report-map img.leaflet-marker-icon").count() == 0
    page.wait_for_function("() => !document.getElementById('gm-submit').disabled")
    _check_layout(page, "after submit")
    page.locator("#gm-result").scroll_into_view_if_needed()
    assert_not_blank(page.screenshot(path=str(SHOTS / "report-done.png")))
    assert_clean(page)

    # the lookup box: the number (typed in lower case) opens its page
    page.fill("#gm-lookup-no", tracking_no.lower())
    page.click("#gm-lookup-submit")
    page.wait_for_url(f"**/problems/{tracking_no}")
    assert "路口东侧垃圾堆放两天无人清理" in page.content()
    assert "13800000000" not in page.content()  # contacts are never public
    assert_clean(page)

    # an unknown number: a clear message on the report page, what was typed kept
    _open_report(page, server)
    page.fill("#gm-lookup-no", "FX20991231-0042")
    page.click("#gm-lookup-submit")
    error = page.locator("#gm-lookup-error")
    error.wait_for()
    assert "没有找到受理编号为 FX20991231-0042 的问题" in error.inner_text()
    assert page.input_value("#gm-lookup-no") == "FX20991231-0042"
    _check_layout(page, "lookup error")
    assert_not_blank(page.screenshot(path=str(SHOTS / "report-lookup-unknown.png")))
    assert [r for r in page.gridmap_bad_responses if "/report/lookup" not in r] == []
    assert page.gridmap_errors == [e for e in page.gridmap_errors if "404" in e]  # only the expected 404
    assert len(_stored(loaded_store)) == 1


@pytest.mark.browser
def test_retry_after_a_lost_answer_files_one_report(
    live_server_factory, settings, loaded_store, vendored_assets, page
):
    """The server files the report but the answer never arrives; the citizen taps 提交 again."""
    server = live_server_factory(env=settings)
    lost: list[int] = []

    def lose_first_answer(route) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)  # the server takes and files it...
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.continue_()

    page.route("**/api/problems", lose_first_answer)
    _open_report(page, server)
    _fill(page)
    page.click("#gm-submit")
    message = page.locator("#gm-message")
    page.wait_for_function("() => document.getElementById('gm-message').textContent.indexOf('网络') >= 0")
    assert lost == [201] and len(_stored(loaded_store)) == 1
    assert "重试不会重复上报" in message.inner_text()
    assert page.input_value("#gm-description") != ""  # nothing lost on the phone either
    page.wait_for_function("() => !document.getElementById('gm-submit').disabled")
    page.click("#gm-submit")
    page.locator("#gm-tracking-no").wait_for()
    stored = _stored(loaded_store)
    assert len(stored) == 1, stored  # the same key: the first report is answered, not filed again
    assert page.locator("#gm-tracking-no").inner_text() == stored[0]
    assert page.input_value("#gm-description") == ""
