"""The office's notice page, its JSON twin and the downloads; nobody else gets them."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pypdf
import pytest
from docx import Document

from gridmap import auth, clock
from tests.notice.conftest import NOW, evaluated

PASSWORD = "correct-horse-9"


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def month(imported):
    return imported


@pytest.fixture(scope="module")
def app(month):
    from web import create_app

    app = create_app(month.settings)
    app.extensions["gridmap.clock"] = lambda: clock.from_db(NOW)
    auth.add_user(month.ctx.store, username="office1", role="office", password=PASSWORD)
    auth.add_user(month.ctx.store, username="unit1", role="unit", unit_code="U1", password=PASSWORD)
    auth.add_user(month.ctx.store, username="insp1", role="inspector", password=PASSWORD)
    return app


def client_for(app, name):
    client = app.test_client()
    r = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert r.status_code == 302
    return client


def test_the_office_downloads_the_notice_with_a_chinese_file_name(app, month):
    office = client_for(app, "office1")
    r = office.get("/notices/file?month=2026-11&format=docx&issuer=凤县创建全国文明城市工作指挥部办公室")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    disposition = r.headers["Content-Disposition"]
    assert 'filename="notice-2026-11.docx"' in disposition
    assert f"filename*=UTF-8''{quote('2026年11月网格化管理工作通报.docx')}" in disposition
    doc = Document(io.BytesIO(r.data))
    assert doc.paragraphs[0].text == "凤县创建全国文明城市工作指挥部办公室"
    assert [row.cells[1].text for row in doc.tables[1].rows[1:]] == [
        r["name"] for r in evaluated(month.ctx, "grid")
    ]
    assert len(doc.inline_shapes) == 2  # the typical problem's photo and the map of problems
    assert month.tracking["photo"] in "\n".join(p.text for p in doc.paragraphs)

    units = len(office.get("/api/notices?month=2026-11").get_json()["overdue"])
    r = office.get("/notices/file?month=2026-11&format=pdf&kind=rectify")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert f"filename*=UTF-8''{quote('2026年11月整改通知书.pdf')}" in r.headers["Content-Disposition"]
    assert len(pypdf.PdfReader(io.BytesIO(r.data)).pages) >= units >= 2  # a unit per page (or more)


def test_the_page_and_its_json_twin(app, month):
    grids = evaluated(month.ctx, "grid")
    red = next(r["name"] for r in grids if r["flag"] == "red")
    office = client_for(app, "office1")
    page = office.get("/notices?month=2026-11")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "关于2026年11月网格化管理工作情况的通报" in html
    assert f"流动红旗：镇 双石铺镇；网格 {red}" in html
    assert "/notices/file?month=2026-11&amp;kind=notice&amp;format=docx" in html
    data = office.get("/api/notices?month=2026-11").get_json()
    assert data["flags"]["grids"]["red"] == [red]
    assert [row[:2] for row in data["table"]["grids"]] == [[str(r["rank"]), r["name"]] for r in grids]
    assert data["files"]["notice.pdf"] == "2026年11月网格化管理工作通报.pdf"
    first = data["overdue"][0]["cases"][0]
    assert first["deadline"].endswith("+08:00") and first["days_overdue"] >= 1
    assert data["typical"][0]["tracking_no"] == month.tracking["photo"] and data["typical"][0]["has_photo"]
    assert data["totals"]["overdue"] == sum(len(u["cases"]) for u in data["overdue"])
    # without a month: the month before now (2 December 2026 in China -> November)
    assert office.get("/api/notices").get_json()["month"] == "2026-11"


def test_bad_input_is_a_400_with_a_chinese_message(app):
    office = client_for(app, "office1")
    r = office.get("/api/notices?month=2026-13")
    assert r.status_code == 400 and "月份“2026-13”无效" in r.get_data(as_text=True)
    r = office.get("/notices/file?month=2026-11&format=odt")
    assert r.status_code == 400 and "docx" in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/notices", "/api/notices", "/notices/file?month=2026-11&format=docx"])
def test_others_get_403(app, path):
    for name in ("unit1", "insp1"):
        assert client_for(app, name).get(path).status_code == 403, (name, path)
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == (401 if path.startswith("/api/") else 302)


def test_issuer_and_number_are_cleaned_and_bounded(app):
    office = client_for(app, "office1")
    r = office.get(
        "/notices/file?month=2026-11&format=docx&issuer=%E5%87%A4%E5%8E%BF%00%01%E5%8A%9E&number=%0B12"
    )
    assert r.status_code == 200
    doc = Document(io.BytesIO(r.data))
    assert doc.paragraphs[0].text == "凤县办"
    r = office.get("/api/notices?month=2026-11&issuer=" + "办" * 41)
    assert r.status_code == 400 and "发文机关最多 40 个字" in r.get_data(as_text=True)


def test_one_units_rectification_notice(app, month):
    office = client_for(app, "office1")
    units = office.get("/api/notices?month=2026-11").get_json()["overdue"]
    last = units[-1]
    page = office.get("/notices?month=2026-11").get_data(as_text=True)
    assert f"unit={quote(last['unit_code'])}" in page
    r = office.get(f"/notices/file?month=2026-11&kind=rectify&format=docx&unit={quote(last['unit_code'])}")
    assert r.status_code == 200
    name = f"2026年11月整改通知书（{last['unit_name']}）.docx"
    assert f"filename*=UTF-8''{quote(name)}" in r.headers["Content-Disposition"]
    doc = Document(io.BytesIO(r.data))
    texts = [p.text for p in doc.paragraphs]
    assert len(doc.sections) == 1 and f"{last['unit_name']}：" in texts
    assert f"整改〔2026〕11-{len(units)}号" in texts  # numbered as in the whole month's list
    assert len(doc.tables[0].rows) == len(last["cases"]) + 1
    r = office.get("/notices/file?month=2026-11&kind=rectify&format=pdf&unit=NOPE")
    assert r.status_code == 400 and "单位“NOPE”没有超期未办结的问题" in r.get_data(as_text=True)
    r = office.get(f"/notices/file?month=2026-11&kind=notice&unit={quote(last['unit_code'])}")
    assert r.status_code == 400 and "只有整改通知书" in r.get_data(as_text=True)
