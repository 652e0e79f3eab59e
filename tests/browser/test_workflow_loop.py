"""Real browser (issue 12): the problem page's forms for 核实, unit requests and 回退, as office, inspector and unit."""

from __future__ import annotations

import pytest

from tests.browser.conftest import _is_local, assert_clean
from tests.browser.test_office import _log_in, _report
from tests.problems.conftest import ON_BINJIANG_ROAD

PASSWORD = "loop-pass-1"


def _person(browser, width: int, height: int):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=width < 600,
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())  # the confirmations of 回退 and the like
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.loop_errors = errors
    return context, page


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def _submit(page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f"details.gm-action-{action} button[type=submit]").click()


@pytest.mark.browser
def test_verify_request_and_return_through_the_page(
    live_server_factory, settings, loaded_store, vendored_assets, page, browser
):
    from gridmap.auth import add_user

    add_user(loaded_store, username="office", role="office", password=PASSWORD)
    add_user(loaded_store, username="insp", role="inspector", password=PASSWORD)
    add_user(loaded_store, username="u1", role="unit", unit_code="U1", password=PASSWORD)
    server = live_server_factory(env=settings)
    no = _report(server, ON_BINJIANG_ROAD, "河边垃圾堆")
    page.on("dialog", lambda d: d.accept())
    page.set_viewport_size({"width": 1366, "height": 768})
    _log_in(page, server.url, "office", PASSWORD)
    page.goto(f"{server.url}/problems/{no}")

    # office: 派核实 asks for an inspector from the list of active ones
    page.locator("details.gm-action-send_verify summary").click()
    options = page.locator("details.gm-action-send_verify select[name=inspector] option").all_inner_texts()
    assert options[0] == "请选择巡查员" and any("insp" in o for o in options[1:])
    page.select_option("details.gm-action-send_verify select[name=inspector]", "insp")
    page.screenshot(path="/tmp/loop-office-send-verify.png", full_page=True)
    _submit(page, "send_verify")
    assert page.locator(".gm-status").inner_text() == "核实中"
    assert "核实期限" in page.locator(".gm-facts").inner_text()

    # inspector on a phone: 核实属实 files it
    context, insp = _person(browser, 390, 844)
    try:
        _log_in(insp, server.url, "insp", PASSWORD)
        insp.goto(f"{server.url}/problems/{no}")
        assert insp.locator("details.gm-action-confirm").count() == 1
        _fits(insp)
        insp.screenshot(path="/tmp/loop-inspector-phone.png", full_page=True)
        _submit(insp, "confirm")
        assert insp.locator(".gm-status").inner_text() == "已立案"
    finally:
        context.close()

    # office: raise urgency (紧急 badge), dispatch to U1
    page.reload()
    page.locator("details.gm-action-set_urgency summary").click()
    _submit(page, "set_urgency")
    assert page.locator(".gm-flag.gm-urgent").inner_text() == "紧急"
    page.select_option("select[name=unit]", "U1")
    _submit(page, "dispatch")

    # unit on a phone: asks for more working hours with a reason, then the office sees the request
    context, unit = _person(browser, 390, 844)
    try:
        _log_in(unit, server.url, "u1", PASSWORD)
        unit.goto(f"{server.url}/problems/{no}")
        unit.locator("details.gm-action-request_extension summary").click()
        unit.fill("details.gm-action-request_extension input[name=hours]", "8")
        unit.fill("details.gm-action-request_extension textarea[name=note]", "等材料到货")
        _submit(unit, "request_extension")
        assert "待审批：延期申请" in unit.locator(".gm-request").inner_text()
        assert unit.locator("details.gm-action-request_extension").count() == 0
        _fits(unit)
        unit.screenshot(path="/tmp/loop-unit-phone.png", full_page=True)

        page.reload()
        assert "延长 8 个工作小时" in page.locator(".gm-request").inner_text()
        page.locator("details.gm-action-approve summary").click()
        page.screenshot(path="/tmp/loop-office-approve.png", full_page=True)
        _submit(page, "approve")
        assert "已延期 1 次" in page.locator(".gm-facts").inner_text()

        # the unit sends it back with a reason; the office may re-dispatch
        unit.reload()
        unit.locator("details.gm-action-return summary").click()
        unit.fill("details.gm-action-return textarea[name=note]", "不属于本单位")
        _submit(unit, "return")
        assert unit.locator(".gm-status").inner_text() == "已回退"
        assert unit.loop_errors == []
    finally:
        context.close()
    page.reload()
    assert page.locator("details.gm-action-dispatch").count() == 1
    _fits(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _fits(page)
    page.screenshot(path="/tmp/loop-office-phone.png", full_page=True)
    assert_clean(page)
