"""Real browser (issue 12): the whole life of one citizen case through the web pages — report on a
phone → 派核实 → 核实属实 (filed) → dispatched → 回退 → re-dispatched → rectified → verified → closed →
the reporter says "没解决" on the tracking page → reopened → rectified → verified → closed → the
reporter is satisfied; each actor's inbox shows the right notices. Screenshots: /tmp/life-*.png."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_workflow_loop import _person, _submit

PASSWORD = "life-pass-1"


def _log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def _status(page) -> str:
    return page.locator(".gm-status").first.inner_text()


def _do(page, url: str, no: str, action: str, **fields: str) -> None:
    """Open the problem's page, unfold the action, fill its fields, submit it."""
    page.goto(f"{url}/problems/{no}")
    form = f"details.gm-action-{action}"
    if page.locator(form).get_attribute("open") is None:  # the main step comes unfolded
        page.locator(f"{form} summary").click()
    for name, value in fields.items():
        if name in ("unit", "inspector"):
            page.select_option(f"{form} select[name={name}]", value)
        else:
            page.fill(f"{form} textarea[name={name}]", value)
    _submit(page, action)


@pytest.mark.browser
def test_one_citizen_case_from_report_to_satisfied(
    live_server_factory, settings, loaded_store, vendored_assets, browser
):
    from gridmap.auth import add_user

    for name, role, kw in (
        ("boss", "office", {}),
        ("insp", "inspector", {}),
        ("u1", "unit", {"unit_code": "U1"}),
        ("u2", "unit", {"unit_code": "U2"}),
    ):
        add_user(loaded_store, username=name, role=role, password=PASSWORD, **kw)
    server = live_server_factory(env=settings)
    url = server.url
    people = {
        name: _person(browser, *size)
        for name, size in (
            ("citizen", (390, 844)),
            ("boss", (1366, 768)),
            ("insp", (390, 844)),
            ("u1", (390, 844)),
            ("u2", (390, 844)),
        )
    }
    try:
        citizen, office, insp, u1, u2 = (people[n][1] for n in ("citizen", "boss", "insp", "u1", "u2"))
        for name, page in (("boss", office), ("insp", insp), ("u1", u1), ("u2", u2)):
            _log_in(page, url, name)

        # the citizen reports on the phone and keeps the "我的上报" link
        citizen.goto(f"{url}/report")
        citizen.wait_for_selector("#gm-report-map .leaflet-overlay-pane path")
        box = citizen.locator("#gm-report-map").bounding_box()
        citizen.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        citizen.select_option("#gm-category", "garbage")
        citizen.fill("#gm-description", "桥头垃圾堆了三天")
        citizen.locator("#gm-submit").click()
        citizen.locator("#gm-followup-link").wait_for()
        no = citizen.locator("#gm-tracking-no").inner_text()
        link = citizen.locator("#gm-followup-link").get_attribute("href")
        assert re.fullmatch(rf"/track/{no}\?key=[\w-]{{20,}}", link), link

        _do(office, url, no, "send_verify", inspector="insp")
        assert _status(office) == "核实中"
        _do(insp, url, no, "confirm", note="经现场核实，问题属实")
        assert _status(insp) == "已立案"
        _do(office, url, no, "dispatch", unit="U1")
        _do(u1, url, no, "return", note="该位置由其他单位负责管理，请重新派遣")
        assert _status(u1) == "已回退"
        _do(office, url, no, "dispatch", unit="U2")
        for round_ in (1, 2):
            _do(u2, url, no, "rectify", note=f"已清理（第 {round_} 次）")
            _do(insp, url, no, "verify")
            _do(insp, url, no, "close")
            assert _status(insp) == "已结案"
            citizen.goto(url + link)
            assert citizen.locator("#gm-ask-title").inner_text() == "解决了吗？"
            if round_ == 1:
                citizen.fill("#gm-ask-note", "桥头东侧还有一堆")
                with citizen.expect_navigation():
                    citizen.locator(".gm-ask-no").click()
                assert "重新交办" in citizen.locator("#gm-track-outcome").inner_text()
                assert citizen.locator(".gm-track-status .gm-status").inner_text() == "已派遣（交办）"
                citizen.screenshot(path="/tmp/life-citizen-reopened.png", full_page=True)
            else:
                with citizen.expect_navigation():
                    citizen.locator(".gm-ask-yes").click()
                assert "谢谢" in citizen.locator("#gm-track-outcome").inner_text()
                assert citizen.locator("#gm-ask-title").count() == 0
                citizen.screenshot(path="/tmp/life-citizen-satisfied.png", full_page=True)

        office.goto(f"{url}/problems/{no}")
        history = office.locator(".gm-timeline").inner_text()
        for label in ("派核实", "核实属实", "回退", "整改反馈", "结案", "回访", "重新打开"):
            assert label in history, label
        assert "满意（已解决）" in office.locator(".gm-facts").inner_text()
        office.screenshot(path="/tmp/life-office.png", full_page=True)

        # each actor's inbox: what they were told
        expected = {
            "boss": ["回退了", "核实"],
            "insp": ["请到现场核实"],
            "u1": ["已交办给"],
            "u2": ["已交办给", "已重新打开（市民反馈未解决）"],
        }
        for name, page in (("boss", office), ("insp", insp), ("u1", u1), ("u2", u2)):
            page.goto(f"{url}/inbox")
            text = page.locator(".gm-inbox-list").inner_text()
            assert no in text, (name, text)
            for words in expected[name]:
                assert words in text, (name, words, text)
        assert "已重新打开" not in u1.locator(".gm-inbox-list").inner_text()  # the returned unit is out of it
        for name, (_context, page) in people.items():
            assert page.loop_errors == [], (name, page.loop_errors)
    finally:
        for context, _page in people.values():
            context.close()
