"""Download routes and buttons: /export/… maps and data through the Flask test client."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from urllib.parse import unquote

import pandas as pd
import pyogrio
import pytest
from PIL import Image
from pypdf import PdfReader

from tests import factory

SVG = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def client(module_database):
    """One app over a store loaded with the tiny dataset, for the whole module."""
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from web import create_app

    folder, url = module_database
    settings = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
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
    _check_svg(r.data, title="滨江网格责任图")


A4_POINTS = ("595.275591pt", "841.889764pt")


def _check_svg(data: bytes, *, title: str) -> None:
    """A well-formed A4 portrait SVG with the map's title and drawn content."""
    root = ET.fromstring(data)
    assert root.tag == f"{{{SVG}}}svg"
    assert (root.get("width"), root.get("height")) == A4_POINTS
    assert root.findtext(f"{{{SVG}}}title") == title
    assert len(root.findall(f".//{{{SVG}}}path")) > 50  # the map is drawn, not an empty page


@pytest.mark.parametrize(
    ("url", "name", "content"),
    [
        ("/export/towns/610330100.pdf", "双石铺镇网格责任图_A4.pdf", "联系镇县级领导：王建国（县委书记）"),
        ("/export/units/U2.png?dpi=72", "县城管执法局责任区图_A4.png", None),
        ("/export/leaders/L03.svg", "张华包片网格责任图_A4.svg", "张华包片网格责任图"),
        ("/export/county.pdf", "全县网格责任总图_A4.pdf", "网格体系：2 个镇（街道）· 2 个网格"),
        ("/export/county?format=png&dpi=72", "全县网格责任总图_A4.png", None),
        ("/export/grids/610330100002?format=pdf", "新建路网格责任图_A4.pdf", "包片县级领导：张华（副县长）"),
    ],
)
def test_other_maps(client, url, name, content):
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert unquote(r.headers["Content-Disposition"]).endswith(f"UTF-8''{name}")
    if name.endswith(".pdf"):
        assert r.mimetype == "application/pdf"
        reader = PdfReader(io.BytesIO(r.data))
        assert len(reader.pages) == 1
        page = reader.pages[0]
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
        assert content in page.extract_text()
    elif name.endswith(".png"):
        assert r.mimetype == "image/png"
        image = Image.open(io.BytesIO(r.data))
        assert image.size == (595, 842) and round(image.info["dpi"][0]) == 72  # A4 at 72 dpi
        darkest, lightest = image.convert("L").getextrema()
        assert darkest < 64 and lightest > 192  # black text on white paper, not a blank page
    else:
        assert r.mimetype == "image/svg+xml"
        _check_svg(r.data, title=content)


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/export/grids/999.png", 404, "网格编码“999”不存在"),
        ("/export/grids/610330100001.png?dpi=1000", 400, "72–600"),
        ("/export/grids/610330100001.png?dpi=abc", 400, "整数"),
        ("/export/grids/610330100001.png?paper=B5", 400, "纸张大小“B5”"),
        ("/export/grids/610330100001.bmp", 400, "图片格式“bmp”"),
        ("/export/villages/1.png", 404, "villages"),
        ("/export/data.dwg", 400, "导出格式“dwg”"),
    ],
)
def test_bad_requests_get_a_clear_message(client, url, status, words):
    r = client.get(url)
    assert r.status_code == status
    assert words in r.get_data(as_text=True)


def test_data_downloads(client, tmp_path):
    grid_names = ["滨江网格", "新建路网格"]
    r = client.get("/export/data.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    book = pd.read_excel(io.BytesIO(r.data), sheet_name=None, dtype=str)
    assert book["县级领导"]["姓名"].tolist() == ["王建国", "李明", "张华"]
    assert book["图层-网格"]["网格名称"].tolist() == grid_names
    r = client.get("/export/data.shp")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        assert {"grids.shp", "grids.dbf", "grids.cpg", "字段对照.csv"} <= set(archive.namelist())
        archive.extractall(tmp_path / "shp")
    grids = pyogrio.read_dataframe(tmp_path / "shp" / "grids.shp")
    assert grids["name"].tolist() == grid_names and grids.crs.to_epsg() == 4326
    truth = factory.layers()["grids"].geometry.iloc[0]
    assert grids.geometry.iloc[0].hausdorff_distance(truth) < 1e-7  # same shape; ring order may differ
    r = client.get("/export/data.gpkg")
    assert r.status_code == 200 and r.data[:16] == b"SQLite format 3\x00"
    (tmp_path / "data.gpkg").write_bytes(r.data)
    layers = set(pyogrio.list_layers(tmp_path / "data.gpkg")[:, 0])
    assert {"towns", "grids", "segments", "points", "communities", "rivers", "leaders", "units"} <= layers
    segments = pyogrio.read_dataframe(tmp_path / "data.gpkg", layer="segments")
    assert segments["road_name"].tolist() == ["滨江路", "新建路", "汉中路"]
    assert segments["grid_code"].tolist() == ["610330100001", "610330100002", "610330100002"]


@pytest.mark.parametrize(
    ("page", "action"),
    [
        ("/grids/610330100001", "/export/grids/610330100001"),
        ("/units/U1", "/export/units/U1"),
        ("/leaders/L01", "/export/leaders/L01"),
        ("/", "/export/county"),
    ],
)
def test_pages_have_a_download_form(client, page, action):
    html = client.get(page).get_data(as_text=True)
    assert f'action="{action}"' in html
    for name in ("format", "paper", "landscape", "dpi"):
        assert re.search(rf'name="{name}"', html)
    if page == "/":
        assert 'href="/export/data.gpkg"' in html and 'href="/export/data.shp"' in html
