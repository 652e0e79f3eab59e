"""Real browser: the exposure page (曝光台) on a phone (390×844) and a desktop — before and after
photos load, nothing overflows, no personal data, outside text shown as text; the office publishes
from the problem page, pays out on the monthly reward list, and a citizen looks up the points.
Screenshots: /tmp/exposure-phone.png, /tmp/exposure-desktop.png, /tmp/rewards-phone.png, /tmp/rewards-desktop.png,
/tmp/reward-lookup-phone.png, /tmp/exposure-publish.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank
from tests.browser.test_report_phone import OVERFLOW
from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = Path("/tmp")
PASSWORD = "secret-pass-1"
XSS = '<img src=x onerror="window.pwned=1">'
IMAGES_LOADED = """
() => Array.from(document.querySelectorAll('.gm-exp img'))
  .map((img) => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))
"""


def _context(settings, loaded_store):
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings

    return context_from_settings(
        loaded_store, ReferenceCache(loaded_store, tolerance_m=50.0), load_settings(settings, environ={})
    )


@pytest.fixture
def cases(settings, loaded_store):
    """Three citizens' cases dispatched to U2: one fixed with an after photo and published, one
    published with a hostile title, one for the office to publish in the browser."""
    from gridmap.auth import add_user
    from gridmap.exposure import service
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act

    ctx = _context(settings, loaded_store)
    office = add_user(loaded_store, username="boss", role="office", password=PASSWORD)
    unit = add_user(loaded_store, username="u2", role="unit", password=PASSWORD, unit_code="U2")
    numbers = []
    for i, colour in enumerate(((200, 40, 40), (40, 40, 200), (200, 160, 40))):
        made = report_problem(
            ctx,
            lon=NEAR_HOSPITAL[0],
            lat=NEAR_HOSPITAL[1],
            category="garbage",
            description=f"医院门口垃圾 第{i + 1}处，联系人赵六",
            reporter_name="赵六",
            reporter_phone="138-1234-5678",
            photos=[("before.jpg", jpeg_bytes(size=(640, 480), color=colour))],
        )
        no = made.record["tracking_no"]
        act(ctx, no, user=office, action="dispatch", unit_code="U2")
        numbers.append(no)
    act(
        ctx,
        numbers[0],
        user=unit,
        action="rectify",
        note="已清理",
        photos=[("after.jpg", jpeg_bytes(size=(640, 480), color=(40, 180, 60)))],
    )
    service.publish(
        ctx, numbers[0], user=office, title="县医院门口垃圾长期堆放", comment="群众多次反映，已督促整改"
    )
    service.publish(ctx, numbers[1], user=office, title=XSS, comment=XSS)
    return numbers


def _login(page, server):
    page.goto(server.url + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


@pytest.mark.browser
@pytest.mark.parametrize(("size", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_exposure_page_on_a_phone_and_a_desktop(
    live_server_factory, settings, cases, vendored_assets, page, size, name
):
    server = live_server_factory(env=settings)
    page.set_viewport_size(size)
    page.goto(server.url + "/exposure")
    cards = page.locator(".gm-exp")
    assert cards.count() == 2
    assert cards.nth(1).locator(".gm-exp-title").inner_text() == "县医院门口垃圾长期堆放"
    assert cards.nth(0).locator(".gm-exp-title").inner_text() == XSS  # shown as text, not run
    assert page.evaluate("window.pwned") is None
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.gm-exp img')).every((i) => i.complete)"
    )
    images = page.evaluate(IMAGES_LOADED)
    assert len(images) == 3 and all(i["ok"] for i in images)  # two before photos, one after photo
    fixed = cards.nth(1)
    assert fixed.locator("figure").nth(1).locator("img").count() == 1
    assert "整改中" in cards.nth(0).locator("figure").nth(1).inner_text()
    text = page.locator("main").inner_text()
    for private in ("赵六", "12345678", "boss", "u2", "联系人"):
        assert private not in text
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    assert_not_blank(page.screenshot(path=str(SHOTS / f"exposure-{name}.png"), full_page=True))
    assert_clean(page)


@pytest.mark.browser
def test_the_office_publishes_pays_and_the_citizen_looks_up(
    live_server_factory, settings, cases, vendored_assets, page
):
    server = live_server_factory(env=settings)
    page.set_viewport_size(PHONE)
    _login(page, server)
    page.goto(f"{server.url}/problems/{cases[2]}")
    page.fill(".gm-exp-publish input[name=title]", "第三处垃圾点")
    with page.expect_navigation():
        page.click(".gm-exp-publish button[type=submit]")
    assert "在曝光台公开：第三处垃圾点" in page.locator(".gm-exp-publish").inner_text()
    page.locator(".gm-exp-publish").screenshot(path=str(SHOTS / "exposure-publish.png"))
    page.goto(server.url + "/exposure")
    assert page.locator(".gm-exp").count() == 3
    assert page.locator(".gm-exp-title").first.inner_text() == "第三处垃圾点"

    page.goto(server.url + "/rewards")
    row = page.locator(".gm-reward-table tbody tr")
    assert row.count() == 1 and "13812345678" in row.inner_text() and "待发放" in row.inner_text()
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert "已发放" in page.locator(".gm-reward-table tbody tr").inner_text()
    assert_not_blank(page.screenshot(path=str(SHOTS / "rewards-phone.png"), full_page=True))
    page.set_viewport_size(DESKTOP)
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
    assert_not_blank(page.screenshot(path=str(SHOTS / "rewards-desktop.png"), full_page=True))
    assert_clean(page)

    citizen = page.context.browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        lookup = citizen.new_page()
        lookup.goto(server.url + "/rewards/lookup")
        lookup.fill("input[name=no]", cases[0].lower())
        with lookup.expect_navigation():
            lookup.click(".gm-lookup-form button[type=submit]")
        result = lookup.locator(".gm-reward-result").inner_text()
        assert lookup.locator(".gm-reward-points b").inner_text() == "10"
        assert "已发放" in result and "12345678" not in lookup.content()
        assert lookup.evaluate(OVERFLOW) == {"scroll": 0, "wide": []}
        assert_not_blank(lookup.screenshot(path=str(SHOTS / "reward-lookup-phone.png"), full_page=True))
    finally:
        citizen.close()
