"""Real browser: the reporter's own tracking page on a phone (390×844) after the case is closed —
"解决了吗？" with two large answers, nothing overflows, targets 44×44; "没解决" with a note reopens
the case and the page says so. Screenshots: /tmp/track-ask.png, /tmp/track-answered.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank
from tests.browser.test_report_phone import OVERFLOW

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp")

TAP_TARGETS = """
() => Array.from(document.querySelectorAll(
    '.gm-track a, .gm-track button, .gm-track input:not([type=hidden]), .gm-track textarea'))
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .map((el) => { const r = el.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 80), w: r.width, h: r.height}; })
  .filter((t) => Math.round(t.w * 100) / 100 < 44 || Math.round(t.h * 100) / 100 < 44)
"""


def _close(settings, loaded_store, tracking_no: str) -> None:
    """Dispatch, rectify, verify and close the case through the library, as the staff would."""
    from gridmap.auth import add_user
    from gridmap.problems.context import context_from_settings
    from gridmap.problems.workflow import act
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings

    ctx = context_from_settings(
        loaded_store, ReferenceCache(loaded_store, tolerance_m=50.0), load_settings(settings, environ={})
    )
    people = {
        role: add_user(loaded_store, username=name, role=role, password="secret-pass-1", **kw)
        for name, role, kw in (
            ("boss", "office", {}),
            ("u2", "unit", {"unit_code": "U2"}),
            ("in", "inspector", {}),
        )
    }
    act(ctx, tracking_no, user=people["office"], action="dispatch", unit_code="U2")
    act(ctx, tracking_no, user=people["unit"], action="rectify", note="已清理")
    act(ctx, tracking_no, user=people["inspector"], action="verify")
    act(ctx, tracking_no, user=people["inspector"], action="close", note="问题已解决，予以结案")


@pytest.mark.browser
def test_the_tracking_page_asks_and_reopens_on_a_phone(
    live_server_factory, settings, loaded_store, vendored_assets, page
):
    server = live_server_factory(env=settings)
    answer = page.request.post(
        f"{server.url}/api/problems",
        data={"lon": 106.5221, "lat": 33.9071, "category": "garbage", "description": "医院门口垃圾没人清理"},
    )
    assert answer.status == 201
    body = answer.json()
    tracking_no, link = body["tracking_no"], body["followup_url"]
    _close(settings, loaded_store, tracking_no)

    page.set_viewport_size(PHONE)
    page.goto(server.url + link)
    ask = page.locator("#gm-ask-title")
    assert ask.inner_text() == "解决了吗？"
    assert ask.is_visible() and ask.bounding_box()["y"] < PHONE["height"]  # asked on the first screen
    yes, no = page.locator(".gm-ask-yes"), page.locator(".gm-ask-no")
    assert yes.bounding_box()["width"] >= 300 and yes.bounding_box()["height"] >= 48
    assert page.evaluate(TAP_TARGETS) == []
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    assert_not_blank(page.screenshot(path=str(SHOTS / "track-ask.png"), full_page=True))
    assert_clean(page)

    page.fill("#gm-ask-note", "垃圾还堆在医院门口东侧")
    with page.expect_navigation():
        no.click()
    outcome = page.locator("#gm-track-outcome")
    assert "重新交办" in outcome.inner_text()
    assert page.locator("#gm-ask-title").count() == 0
    assert page.locator(".gm-track-status .gm-status").inner_text() == "已派遣（交办）"
    assert page.evaluate(TAP_TARGETS) == []
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    assert_not_blank(page.screenshot(path=str(SHOTS / "track-answered.png"), full_page=True))
    assert_clean(page)


def _office_logs_in(page, url: str, store) -> None:
    from gridmap.auth import add_user

    add_user(store, username="boss", role="office", password="secret-pass-1")
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "secret-pass-1")
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.mark.browser
def test_a_phrase_picked_fills_the_note_under_the_csp(
    live_server_factory, settings, loaded_store, vendored_assets, page
):
    server = live_server_factory(env=settings)
    answer = page.request.post(
        f"{server.url}/api/problems",
        data={"lon": 106.5221, "lat": 33.9071, "category": "garbage", "description": "医院门口垃圾"},
    )
    tracking_no = answer.json()["tracking_no"]
    page.set_viewport_size(PHONE)
    _office_logs_in(page, server.url, loaded_store)
    page.goto(f"{server.url}/problems/{tracking_no}")
    page.locator("details.gm-action-reject summary").click()
    pick = page.locator("details.gm-action-reject select.gm-phrase-pick")
    note = page.locator("details.gm-action-reject textarea[name=note]")
    pick.select_option("经核实，不属于城市管理问题，不予立案")
    assert note.input_value() == "经核实，不属于城市管理问题，不予立案"
    assert pick.input_value() == ""  # ready for another pick
    pick.select_option("重复上报，已有相同问题在办理中")  # a second pick is added, not replacing
    assert note.input_value() == "经核实，不属于城市管理问题，不予立案；重复上报，已有相同问题在办理中"
    assert pick.bounding_box()["height"] >= 44
    assert_clean(page)


@pytest.mark.browser
def test_the_phrase_page_on_a_phone(live_server_factory, settings, loaded_store, vendored_assets, page):
    server = live_server_factory(env=settings)
    page.set_viewport_size(PHONE)
    _office_logs_in(page, server.url, loaded_store)
    page.goto(f"{server.url}/admin/phrases")
    first = page.locator("#gm-phrases-reject input[name=text]").first.input_value()
    assert first == "经核实，不属于城市管理问题，不予立案"
    targets = TAP_TARGETS.replace(".gm-track", ".gm-phrases")
    assert page.evaluate(targets) == []
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    page.select_option("#gm-new-phrase select[name=action]", "urge")
    page.fill("#gm-new-phrase textarea[name=text]", "请于今日下班前处置完毕")
    with page.expect_navigation():
        page.click("#gm-new-phrase button[type=submit]")
    assert "已添加惯用语" in page.locator(".gm-ok-box").inner_text()
    assert page.locator("#gm-phrases-urge input[name=text]").last.input_value() == "请于今日下班前处置完毕"
    page.locator("#gm-phrases-urge").scroll_into_view_if_needed()
    assert_not_blank(page.screenshot(path=str(SHOTS / "phrases-phone.png")))
    assert_clean(page)
