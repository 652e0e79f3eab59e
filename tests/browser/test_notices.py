"""The office's notice page in Debian chromium on a phone (390×844): the month's flags and ranking,
and the Word button that downloads the notice under its Chinese file name."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document

from tests.browser.conftest import assert_clean

PHONE = {"width": 390, "height": 844}
PASSWORD = "notice-test-pass-1"
pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const vw = window.innerWidth, wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && (r.right > vw + 0.5 || r.left < -0.5)) wide.push(el.tagName + '.' + el.className);
  }
  return wide;
}"""


@pytest.fixture
def server(live_server_factory, settings, loaded_store, vendored_assets, tmp_path):
    from gridmap.auth import add_user
    from gridmap.problems.context import context_from_settings
    from gridmap.problems.history import import_history
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings
    from tests.problems.historyfile import make_cases, write_history

    ctx = context_from_settings(
        loaded_store, ReferenceCache(loaded_store, tolerance_m=50.0), load_settings(settings, environ={})
    )
    path = write_history(tmp_path / "history.csv", make_cases(200, month="2026-11", seed=3), headers="en")
    report = import_history(ctx, path, now=dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC))
    assert report.committed, report.to_text()
    add_user(loaded_store, username="office1", role="office", password=PASSWORD)
    add_user(loaded_store, username="unit1", role="unit", password=PASSWORD, unit_code="U1")
    return live_server_factory(env=settings), ctx


def login(page, server, name):
    page.goto(server.url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def test_the_office_downloads_the_notice_on_a_phone(server, page, tmp_path):
    from tests.notice.conftest import evaluated

    live, ctx = server
    page.set_viewport_size(PHONE)
    login(page, live, "office1")
    page.goto(live.url + "/notices?month=2026-11")
    assert "关于2026年11月网格化管理工作情况的通报" in page.inner_text("h1")
    grids = evaluated(ctx, "grid")
    red = next(r["name"] for r in grids if r["flag"] == "red")
    assert f"网格 {red}" in page.inner_text("#gm-notice-summary")
    assert page.evaluate(OVERFLOW) == []
    button = page.get_by_role("link", name="网格化管理工作通报（Word）")
    box = button.bounding_box()
    assert box["height"] >= 44, box
    page.screenshot(path="/tmp/notices-phone.png", full_page=True)
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "2026年11月网格化管理工作通报.docx"
    saved = tmp_path / "notice.docx"
    download.save_as(saved)
    doc = Document(io.BytesIO(saved.read_bytes()))
    assert [row.cells[1].text for row in doc.tables[1].rows[1:]] == [r["name"] for r in grids]
    assert_clean(page)


def test_a_unit_is_refused(server, page):
    live, _ctx = server
    login(page, live, "unit1")
    response = page.goto(live.url + "/notices")
    assert response.status == 403
    assert "此页面仅供创建办" in page.inner_text("body")
