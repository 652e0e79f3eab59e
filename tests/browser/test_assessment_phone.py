"""Real browser at 390×844 with touch (issue 13): the office opens a round and its coverage map; an
inspector fills a market's checklist on a phone — a fail without a photo is not sent, two fails with
photos become two problems dispatched on the spot to the point's unit with the photos attached (checked
in the store) — and the office's coverage map turns the point from due to assessed without a reload.
Screenshots: /tmp/assessment-*.png."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from tests.browser.conftest import _is_local, assert_not_blank

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp")
PASSWORD = "secret-pass-1"

# every control a thumb uses on the checklist, with its size on screen
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    '.gm-assess .gm-choices label, .gm-assess button, .gm-assess .gm-links a, .gm-assess input[type=file],'
    + '.gm-assess textarea, .gm-assess .gm-point-list a, .gm-assess .gm-items a'))
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect(); return {what: e.outerHTML.slice(0, 60), w: r.width, h: r.height}; })
  .filter(t => Math.round(t.w * 100) / 100 < 44 || Math.round(t.h * 100) / 100 < 44)"""
OVERFLOW = """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""


def _phone(browser):
    """A touch phone in a fresh context: JS errors and HTTP errors recorded, nothing leaves 127.0.0.1."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: page.errors.append(f"failed {r.url}"))
    return context, page


def _log_in(page, url: str, username: str, then: str) -> None:
    page.goto(f"{url}/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("main button[type=submit]").tap()


def _tap(page, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    page.locator(selector).tap()


def _rows(store, sql: str) -> list[tuple]:
    """Rows as the served app left them, read on either backend."""
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def _photo(path: Path, colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return str(path)


@pytest.mark.browser
def test_an_assessment_on_a_phone_files_two_fails_and_the_coverage_map_turns(
    live_server_factory, settings, loaded_store, vendored_assets, browser, tmp_path
):
    from gridmap.auth import add_user

    add_user(loaded_store, username="boss", role="office", password=PASSWORD)
    add_user(loaded_store, username="I01", role="inspector", password=PASSWORD)
    server = live_server_factory(env=settings)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()

    # the office creates the round on its phone and keeps the coverage map open
    office_ctx, office = _phone(browser)
    _log_in(office, server.url, "boss", "/assessment")
    office.fill("input[name=name]", "2026年11月第2次测评")
    office.fill("input[name=starts_on]", (today - dt.timedelta(days=2)).isoformat())
    office.fill("input[name=ends_on]", (today + dt.timedelta(days=12)).isoformat())
    with office.expect_navigation():
        _tap(office, "#gm-round-form button[type=submit]")
    round_url = office.url
    office.wait_for_selector("#gm-coverage-map path.leaflet-interactive")
    assert office.evaluate("() => window.gridmapCoverage") == {"P1": "due", "P2": "due"}
    assert office.locator("#gm-coverage-counts").inner_text() == "已测评 0 个，待测评 2 个"
    assert_not_blank(office.screenshot(path=str(SHOTS / "assessment-coverage-before.png")))

    # the inspector at the market opens its checklist from the round's list
    insp_ctx, insp = _phone(browser)
    _log_in(insp, server.url, "I01", round_url.removeprefix(server.url))
    with insp.expect_navigation():
        _tap(insp, "#gm-points li[data-code=P1] a")
    assert "城关农贸市场" in insp.locator("h1").inner_text()
    assert insp.locator("#gm-point-unit").inner_text() == "县住建局"
    assert insp.locator(".gm-criterion").count() == 4
    assert insp.locator(".gm-photo:visible").count() == 0  # a photo is asked for on a fail only
    _tap(insp, "#gm-c-1 .gm-choices label:has(input[value=fail])")
    _tap(insp, "#gm-c-2 .gm-choices label:has(input[value=pass])")
    _tap(insp, "#gm-c-3 .gm-choices label:has(input[value=fail])")
    _tap(insp, "#gm-c-4 .gm-choices label:has(input[value=na])")
    assert insp.locator(".gm-photo:visible").count() == 2

    # a fail without its photo is not sent: the page stays, nothing is written
    insp.locator("#gm-c-1 .gm-photo input").set_input_files(_photo(tmp_path / "a.jpg", (200, 40, 40)))
    _tap(insp, "#gm-assess-submit")
    insp.wait_for_timeout(500)
    assert "/points/P1" in insp.url
    assert insp.evaluate("() => document.querySelector('#gm-c-3 .gm-photo input').validity.valueMissing")
    assert _rows(loaded_store, "SELECT count(*) FROM assessments") == [(0,)]
    assert _rows(loaded_store, "SELECT count(*) FROM problems") == [(0,)]

    insp.locator("#gm-c-3 .gm-photo input").set_input_files(_photo(tmp_path / "b.jpg", (40, 90, 200)))
    insp.fill("textarea[name=note]", "东门入口")
    assert insp.evaluate(SMALL_TARGETS) == []
    assert insp.evaluate(OVERFLOW) == 0
    insp.evaluate("() => window.scrollTo(0, 0)")
    insp.screenshot(path=str(SHOTS / "assessment-form-filled.png"), full_page=True)
    with insp.expect_navigation():
        _tap(insp, "#gm-assess-submit")

    # the result: two problems handed over to the market's unit
    assert "/assessment/" in insp.url
    assert "县住建局" in insp.locator("#gm-handed").inner_text()
    filed = insp.locator("#gm-items a.gm-filed").all_inner_texts()
    assert len(filed) == 2
    assert insp.locator("#gm-score").inner_text() == "38"  # weights 3 pass of 3+3+2 applicable
    assert insp.evaluate(SMALL_TARGETS) == [] and insp.evaluate(OVERFLOW) == 0
    assert_not_blank(insp.screenshot(path=str(SHOTS / "assessment-result.png"), full_page=True))

    # in the store: two problems, dispatched to U1 on the spot, one photo each, linked from the items
    rows = _rows(
        loaded_store,
        "SELECT tracking_no, category, status, unit_code, source, reported_by FROM problems ORDER BY id",
    )
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("stall", "dispatched", "U1", "inspector", "I01"),
        ("public_ads", "dispatched", "U1", "inspector", "I01"),
    ]
    assert sorted(r[0] for r in rows) == sorted(filed)
    photos = _rows(
        loaded_store,
        "SELECT p.tracking_no, count(f.id) FROM problems p JOIN problem_photos f ON f.problem_id = p.id GROUP BY p.id",
    )
    assert sorted(photos) == sorted((no, 1) for no in filed)
    dispatches = _rows(loaded_store, "SELECT unit_code FROM problem_events WHERE action = 'dispatch'")
    assert dispatches == [("U1",), ("U1",)]
    linked = _rows(loaded_store, "SELECT tracking_no FROM assessment_items WHERE result = 'fail' ORDER BY id")
    assert sorted(r[0] for r in linked) == sorted(filed)
    # the photo is served on the problem's page
    with insp.expect_navigation():
        _tap(insp, "#gm-items a.gm-filed >> nth=0")
    assert insp.locator("main img").count() >= 1

    # the office's map turns the market green without a reload
    office.evaluate("() => window.gridmapCoverageRefresh()")
    office.wait_for_function("() => window.gridmapCoverage.P1 === 'assessed'")
    assert office.evaluate("() => window.gridmapCoverage") == {"P1": "assessed", "P2": "due"}
    assert office.locator("#gm-coverage-counts").inner_text() == "已测评 1 个，待测评 1 个"
    fills = office.evaluate(
        "() => Array.from(document.querySelectorAll('#gm-coverage-map path.leaflet-interactive')).map(p => p.getAttribute('fill'))"
    )
    assert sorted(fills) == ["#1b7f3b", "#c62828"]
    assert office.evaluate(OVERFLOW) == 0
    assert_not_blank(office.screenshot(path=str(SHOTS / "assessment-coverage-after.png")))
    assert office.errors == [] and insp.errors == []
    office_ctx.close()
    insp_ctx.close()
