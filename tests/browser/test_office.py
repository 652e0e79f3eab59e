"""Real browser (issue 11): the office's chores in the browser — users made, used and disabled."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.browser.conftest import _is_local, assert_clean
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD

OFFICE_PASSWORD = "office-pass-1"


def _report(server, spot, description: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = {"lon": spot[0], "lat": spot[1], "category": "garbage", "description": description}
    conn.request(
        "POST", "/api/problems", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    response = conn.getresponse()
    data = json.loads(response.read())
    assert response.status == 201, data
    return data["tracking_no"]


def _log_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.fixture
def phone(browser):
    """A second person's phone: its own cookies, 390×844, nothing leaves 127.0.0.1."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id="Asia/Shanghai", is_mobile=True
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_office_creates_a_unit_user_who_sees_only_its_tasks_until_disabled(
    live_server_factory, settings, loaded_store, vendored_assets, page, phone
):
    from gridmap.auth import add_user

    add_user(loaded_store, username="office", role="office", password=OFFICE_PASSWORD)
    server = live_server_factory(env=settings)
    mine = _report(server, ON_BINJIANG_ROAD, "滨江路垃圾")  # unit U1 answers for it
    theirs = _report(server, NEAR_HOSPITAL, "医院门口垃圾")  # unit U2
    answers: list[bool] = []
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        (dialog.accept if answers.pop(0) else dialog.dismiss)()

    page.on("dialog", on_dialog)

    # the office finds 用户管理 on its workbench (工作台 in the header) and creates a unit user bound to 县住建局 (U1)
    _log_in(page, server.url, "office", OFFICE_PASSWORD)
    desk = page.locator("header a[href='/office']")
    assert desk.count() == 1 and desk.inner_text() == "工作台"
    page.goto(server.url + desk.get_attribute("href"))
    link = page.locator(".gm-desk a[href='/admin/users']")
    assert link.count() == 1 and "用户管理" in link.inner_text()
    link.click()
    page.wait_for_url("**/admin/users")
    assert page.locator("select[name=unit]").is_hidden()  # no role chosen: no binding shown
    page.fill("#gm-new-user input[name=username]", "zhujianju")
    page.select_option("#gm-role", "unit")
    assert page.locator("select[name=leader]").is_hidden()
    page.select_option("select[name=unit]", "U1")
    page.click("#gm-new-user button[type=submit]")  # no password typed: one is made and shown once
    password = page.locator("#gm-secret").inner_text().strip()
    assert len(password) >= 12
    row = page.locator("tr[data-username=zhujianju]")
    assert "县住建局（U1）" in row.inner_text() and "在用" in row.inner_text()
    page.screenshot(path="/tmp/office-users.png", full_page=True)

    # the unit user logs in on a phone and sees its unit's problem, not another unit's
    _log_in(phone, server.url, "zhujianju", password)
    phone.wait_for_url("**/tasks")
    tasks = phone.locator("main").inner_text()
    assert mine in tasks and theirs not in tasks
    phone.screenshot(path="/tmp/office-unit-tasks.png")

    # 停用 asks first: "取消" changes nothing
    page.goto(server.url + "/admin/users")
    answers.append(False)
    page.locator("tr[data-username=zhujianju] button", has_text="停用").click()
    for _ in range(50):
        if seen:
            break
        page.wait_for_timeout(100)
    assert seen and "停用“zhujianju”" in seen[-1]
    phone.goto(server.url + "/tasks")
    assert phone.url.endswith("/tasks") and mine in phone.locator("main").inner_text()

    # confirmed: the unit user's next page load is the login page, and the API says 401
    answers.append(True)
    page.locator("tr[data-username=zhujianju] button", has_text="停用").click()
    page.wait_for_selector("text=已停用“zhujianju”")
    assert "已停用" in page.locator("tr[data-username=zhujianju]").inner_text()
    phone.goto(server.url + "/tasks")
    assert "/login" in phone.url and mine not in phone.content()
    assert phone.request.get(server.url + "/api/me").status == 401
    # and the password no longer opens a session
    _log_in(phone, server.url, "zhujianju", password)
    assert "用户名或密码错误" in phone.locator("main").inner_text()
    assert_clean(page)


@pytest.mark.browser
def test_problem_page_map_buttons_and_confirmation(
    live_server_factory, settings, loaded_store, vendored_assets, page
):
    from gridmap.auth import add_user

    add_user(loaded_store, username="office", role="office", password=OFFICE_PASSWORD)
    server = live_server_factory(env=settings)
    no = _report(server, NEAR_HOSPITAL, "医院门口垃圾")
    answers: list[bool] = []
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), (d.accept if answers.pop(0) else d.dismiss)()))
    _log_in(page, server.url, "office", OFFICE_PASSWORD)
    page.goto(f"{server.url}/problems/{no}")

    # the small map: the spot, and the street it is on drawn and named with no tiles at all
    page.wait_for_selector("#gm-problem-map .leaflet-interactive")
    label = page.locator("#gm-problem-map .gm-street-label", has_text="汉中路")
    assert label.count() >= 1 and label.first.is_visible()
    box = page.locator("#gm-problem-map").bounding_box()
    assert box["height"] >= 200

    # the dispatch list makes no choice; 派遣 without one stays on the page (required), the server too
    assert page.locator("select[name=unit]").input_value() == ""
    first = page.locator("select[name=unit] option").nth(1).inner_text()
    assert "县城管执法局" in first and "建议" in first

    # 不予立案 is folded away, red-outlined, and asks first: 取消 keeps the problem as it was
    colours = page.evaluate(
        """() => [...document.querySelectorAll('.gm-action button[type=submit]')].map(
               (b) => getComputedStyle(b).backgroundColor + '|' + getComputedStyle(b).borderColor)"""
    )
    assert len(set(colours)) >= 3, colours
    page.locator("details.gm-action-reject summary").click()
    page.fill("details.gm-action-reject textarea[name=note]", "重复上报")
    answers.append(False)
    page.locator("details.gm-action-reject button[type=submit]").click()
    for _ in range(50):
        if asked:
            break
        page.wait_for_timeout(100)
    assert asked and "不予立案" in asked[0]
    assert page.url.endswith(f"/problems/{no}") and page.locator(".gm-status").inner_text() == "已上报"
    page.screenshot(path="/tmp/office-problem.png", full_page=True)

    # on a phone the page, its map and its forms (the unit list too) fit the width
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("#gm-problem-map .leaflet-interactive")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert page.locator("#gm-problem-map").bounding_box()["height"] >= 0.6 * 844

    # the suggested unit, chosen: dispatched to it, named by unit in the history
    page.select_option("select[name=unit]", index=1)
    with page.expect_navigation():
        page.locator("details.gm-action-dispatch button[type=submit]").click()
    assert page.locator(".gm-status").inner_text() == "已派遣（交办）"
    assert "创建办（office）" in page.locator(".gm-timeline").inner_text()
    assert_clean(page)
