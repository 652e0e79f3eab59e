"""Download routes and buttons: /export/… maps and data through the Flask test client."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import unquote

import pytest
from PIL import Image
from pypdf import PdfReader

from tests import factory


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One app over a store loaded with the tiny dataset, for the whole module."""
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from web import create_app

    folder = tmp_path_factory.mktemp("web")
    settings = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": f"sqlite:///{folder / 'instance' / 'web.sqlite'}",
        "GRIDMAP_SECRET_KEY": "test-secret",
    }
    load_directory(Store(settings["GRIDMAP_DATABASE_URL"]), factory.write_dataset(folder / "data"))
    return create_app(settings).test_client()


def test_grid_png_pdf_svg(client):
    r = client.get("/export/grids/610330100001.png?dpi=100&paper=A4")
    assert r.status_code == 200 and r.mimetype == "image/png"
    image = Image.open(io.BytesIO(r.data))
    assert image.size == (827, 1169) and round(image.info["dpi"][0]) == 100
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "滨江网格责任图_A4.png" in unquote(disposition)
    r = client.get("/export/grids/610330100001.pdf?paper=A3&landscape=1")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(r.data)).pages[0]
    assert round(float(page.mediabox.width)) == 1191
    text = page.extract_text()
    assert "王建国" in text
    assert "数据来源：网格责任数据" in text and "数据版本 1" in text  # from the store's metadata
    r = client.get("/export/grids/610330100001.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"


@pytest.mark.parametrize("url", [
    "/export/towns/610330100.pdf", "/export/units/U2.png?dpi=72", "/export/leaders/L03.svg",
    "/export/county.pdf", "/export/county?format=png&dpi=72", "/export/grids/610330100002?format=pdf",
])
def test_other_maps(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.mimetype in ("application/pdf", "image/png", "image/svg+xml")


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/export/grids/999.png", 404, "网格编码“999”不存在"),
    ("/export/grids/610330100001.png?dpi=1000", 400, "72–600"),
    ("/export/grids/610330100001.png?dpi=abc", 400, "整数"),
    ("/export/grids/610330100001.png?paper=B5", 400, "纸张大小“B5”"),
    ("/export/grids/610330100001.bmp", 400, "图片格式“bmp”"),
    ("/export/villages/1.png", 404, "villages"),
    ("/export/data.dwg", 400, "导出格式“dwg”"),
])
def test_bad_requests_get_a_clear_message(client, url, status, words):
    r = client.get(url)
    assert r.status_code == status
    assert words in r.get_data(as_text=True)


def test_data_downloads(client):
    r = client.get("/export/data.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    r = client.get("/export/data.shp")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        assert {"grids.shp", "grids.dbf", "grids.cpg", "字段对照.csv"} <= set(archive.namelist())
    r = client.get("/export/data.gpkg")
    assert r.status_code == 200 and r.data[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize(("page", "action"), [
    ("/grids/610330100001", "/export/grids/610330100001"),
    ("/units/U1", "/export/units/U1"),
    ("/leaders/L01", "/export/leaders/L01"),
    ("/", "/export/county"),
])
def test_pages_have_a_download_form(client, page, action):
    html = client.get(page).get_data(as_text=True)
    assert f'action="{action}"' in html
    for name in ("format", "paper", "landscape", "dpi"):
        assert re.search(rf'name="{name}"', html)
    if page == "/":
        assert 'href="/export/data.gpkg"' in html and 'href="/export/data.shp"' in html
