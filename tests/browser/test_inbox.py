"""The inbox in Debian chromium on a phone (390×844) and a desktop: unread count in the header, mark read."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import assert_clean

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
PASSWORD = "inbox-test-pass-1"
pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const vw = window.innerWidth, wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && (r.right > vw + 0.5 || r.left < -0.5)) wide.push(el.tagName + '.' + el.className);
  }
  return wide;
}"""
BOX = (
    "(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.width, r.height]; }"
)


@pytest.fixture
def server(live_server_factory, settings, loaded_store, vendored_assets):
    from gridmap.auth import add_user
    from gridmap.notify import repository
    from gridmap.notify.notice import Notice

    add_user(loaded_store, username="unit1", role="unit", password=PASSWORD, unit_code="U1")
    at = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    notices = [
        Notice(
            event=event,
            message=message,
            recipients=("unit1",),
            tracking_no=no,
            unit_code="U1",
        )
        for event, no, message in [
            (
                "dispatched",
                "FX20261201-0001",
                "问题 FX20261201-0001（垃圾暴露，滨江路）已交办给县住建局，请在 12月2日 17:00 前办理。",
            ),
            (
                "urged",
                "FX20261201-0002",
                "包片领导王建国催办问题 FX20261201-0002（井盖缺失，新建路与人民路交叉口）：群众反映强烈，请今天内处理完毕。期限 12月1日 13:00。",
            ),
            (
                "overdue",
                "FX20261130-0007",
                "问题 FX20261130-0007（占道经营，滨江路）已逾期（期限 11月30日 18:00），请县住建局尽快办理并反馈。",
            ),
        ]
    ]
    for i, notice in enumerate(notices):
        repository.add(loaded_store, [notice], now=at + dt.timedelta(minutes=10 * i))
    return live_server_factory(env=settings)


def login(page, server):
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "unit1")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


@pytest.mark.parametrize(("size", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_inbox_page_and_header_count(server, page, size, name):
    page.set_viewport_size(size)
    login(page, server)
    badge = page.locator(".gm-header .gm-inbox .gm-badge")
    assert badge.inner_text() == "3" and badge.is_visible()  # in the header bar, also on a phone
    w, h = page.evaluate(BOX, ".gm-header .gm-inbox")
    assert w >= 44 and round(h, 2) >= 44
    with page.expect_navigation():
        page.click(".gm-header .gm-inbox")
    assert page.locator(".gm-inbox-entry.gm-unread").count() == 3
    weight = page.evaluate(
        "getComputedStyle(document.querySelector('.gm-unread .gm-inbox-message')).fontWeight"
    )
    assert int(weight) >= 700
    first = page.locator(".gm-inbox-entry").first
    assert (
        "FX20261201-0001" not in first.inner_text() and "FX20261130-0007" in first.inner_text()
    )  # newest first
    assert page.evaluate(OVERFLOW) == []
    page.screenshot(path=f"/tmp/inbox-{name}.png", full_page=True)
    with page.expect_navigation():
        first.locator("button", has_text="标为已读").click()
    assert page.locator(".gm-inbox-entry.gm-unread").count() == 2
    assert page.locator(".gm-header .gm-badge").inner_text() == "2"
    with page.expect_navigation():
        page.click("text=全部标为已读")
    assert page.locator(".gm-inbox-entry.gm-unread").count() == 0
    assert page.locator(".gm-header .gm-badge").count() == 0
    page.screenshot(path=f"/tmp/inbox-{name}-read.png", full_page=True)
    assert_clean(page)
