"""Data exports of the grid levels: sub-grids with their derived level and town, shops, 门前五包
frontages, buildings and 网格人员, under Chinese names; shop owners' and grid people's phones only
in the office's internal export. Files read back through GDAL and openpyxl."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pandas as pd
import pyogrio
import pytest

from gridmap import dataexport
from tests import levelfactory
from tests.levelfactory import GROUPS, OWNER_PHONE, SECRETARY_PHONE, SUBGRID, VILLAGE

LEVEL_LABELS = {"subgrids": "下级网格", "shops": "商户", "frontages": "门前五包范围", "buildings": "楼栋"}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return levelfactory.build(tmp_path_factory.mktemp("levels"))


@pytest.fixture(scope="module")
def gpkg(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("gpkg") / "public.gpkg"
    path.write_bytes(dataexport.export_data(model, fmt="gpkg").data)
    return path


def test_public_geopackage_has_the_level_layers_under_chinese_names(gpkg):
    names = {row[0] for row in pyogrio.list_layers(gpkg)}
    assert {*LEVEL_LABELS, "grid_people"} <= names
    with sqlite3.connect(gpkg) as db:
        identifiers = dict(db.execute("select table_name, identifier from gpkg_contents"))
    assert {name: identifiers[name] for name in LEVEL_LABELS} == LEVEL_LABELS
    assert identifiers["grid_people"] == "网格人员"
    subgrids = pyogrio.read_dataframe(gpkg, layer="subgrids").set_index("code")
    assert subgrids.loc[VILLAGE, ["level", "level_name", "town_code"]].tolist() == [
        "村",
        "村网格",
        "610330101",
    ]
    assert subgrids.loc[GROUPS[1], ["level", "parent_code", "town_code"]].tolist() == [
        "组",
        VILLAGE,
        "610330101",
    ]
    assert subgrids.loc[SUBGRID, ["level", "grid_code", "town_code"]].tolist() == [
        "子网格",
        "610330100001",
        "610330100",
    ]
    shops = pyogrio.read_dataframe(gpkg, layer="shops").set_index("code")
    assert shops.loc["SH2", "grid_code"] == "610330100001"
    assert shops.geometry.geom_type.tolist() == ["Point", "Point"]
    assert pyogrio.read_dataframe(gpkg, layer="frontages")["shop_code"].tolist() == ["SH1", "SH2"]
    assert pyogrio.read_dataframe(gpkg, layer="buildings")["community_code"].tolist() == ["C2"]


def test_public_exports_hold_no_owner_contact_and_no_grid_people_phones(model, gpkg):
    shops = pyogrio.read_dataframe(gpkg, layer="shops")
    assert "owner" not in shops.columns and "owner_phone" not in shops.columns
    people = pyogrio.read_dataframe(gpkg, layer="grid_people", read_geometry=False)
    assert list(people.columns) == ["grid_code", "name", "role"]
    assert "李书记" in people["name"].tolist()
    for fmt in dataexport.EXPORT_FORMATS:
        data = dataexport.export_data(model, fmt=fmt).data
        blobs = [data]
        if zipfile.is_zipfile(io.BytesIO(data)) or fmt == "xlsx":  # XLSX is a ZIP of XML parts
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                blobs += [archive.read(n) for n in archive.namelist()]
        for blob in blobs:
            assert OWNER_PHONE.encode() not in blob, fmt
            assert SECRETARY_PHONE.encode() not in blob, fmt
            assert "王老板".encode() not in blob, fmt


def test_public_workbook_has_level_sheets_and_the_people_table(model, tmp_path):
    path = tmp_path / "public.xlsx"
    path.write_bytes(dataexport.export_data(model, fmt="xlsx").data)
    book = pd.read_excel(path, sheet_name=None, dtype=str)
    for label in LEVEL_LABELS.values():
        assert f"图层-{label}" in book
    subgrids = book["图层-下级网格"]
    assert {"网格编码", "网格名称", "上级编码", "网格层级", "网格层级名称", "所属镇代码"} <= set(
        subgrids.columns
    )
    assert subgrids.set_index("网格编码").loc[GROUPS[0], "网格层级"] == "组"
    assert list(book["网格人员"].columns) == ["网格编码", "姓名", "职责"]
    assert "负责人电话" not in book["图层-商户"].columns


def test_office_export_carries_the_personal_columns(model, tmp_path):
    extra = dataexport.personal_sheets(model)
    data = dataexport.export_data(model, fmt="xlsx", extra=extra).data
    path = tmp_path / "internal.xlsx"
    path.write_bytes(data)
    book = pd.read_excel(path, sheet_name=None, dtype=str)
    shops = book["图层-商户"].set_index("商户编号")
    assert shops.loc["SH1", "负责人"] == "王老板" and shops.loc["SH1", "负责人电话"] == OWNER_PHONE
    people = book["网格人员"]
    assert people.loc[people["姓名"] == "李书记", "联系电话"].tolist() == [SECRETARY_PHONE]
    gpkg = tmp_path / "internal.gpkg"
    gpkg.write_bytes(dataexport.export_data(model, fmt="gpkg", extra=extra).data)
    assert "owner_phone" in pyogrio.read_dataframe(gpkg, layer="shops").columns


def test_shapefile_and_kml_of_the_levels(model, tmp_path):
    with zipfile.ZipFile(io.BytesIO(dataexport.export_data(model, fmt="shp").data)) as archive:
        archive.extractall(tmp_path / "shp")
    subgrids = pyogrio.read_dataframe(tmp_path / "shp" / "subgrids.shp")
    assert all(len(c) <= 10 for c in subgrids.columns)
    assert {"parent", "level_nm"} <= set(subgrids.columns)
    assert "红花铺村一组" in subgrids["name"].tolist()
    buildings = pyogrio.read_dataframe(tmp_path / "shp" / "buildings.shp")
    assert buildings["community"].tolist() == ["C2"]
    readme = pd.read_csv(tmp_path / "shp" / "字段对照.csv", dtype=str)
    assert readme.loc[readme["文件"] == "grid_people.csv", "中文名"].tolist() == ["网格编码", "姓名", "职责"]
    assert readme.loc[readme["字段"] == "parent", "中文名"].tolist() == ["上级编码"]
    with zipfile.ZipFile(io.BytesIO(dataexport.export_data(model, fmt="kml").data)) as archive:
        archive.extractall(tmp_path / "kml")
    frontages = pyogrio.read_dataframe(tmp_path / "kml" / "frontages.kml")
    assert sorted(frontages["Name"]) == ["SH1", "SH2"]  # named after the shop they belong to


def test_the_exported_levels_load_again(model, tmp_path):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    folder = tmp_path / "again"
    folder.mkdir()
    dataexport.write_export(model, fmt="gpkg", path=folder / "layers.gpkg")
    dataexport.write_export(model, fmt="xlsx", path=folder / "responsibility.xlsx")
    again = build_model(read_dataset(folder))
    columns = ["name", "parent_code", "level", "town_code", "grid_code"]
    pd.testing.assert_frame_equal(
        again.subgrids[columns].sort_index(), model.subgrids[columns].sort_index(), check_dtype=False
    )
    assert sorted(again.shops.index) == ["SH1", "SH2"] and len(again.frontages) == 2
    assert again.grid_people["name"].tolist() == model.grid_people["name"].tolist()


def test_web_data_download_gives_owner_phones_to_the_office_only(module_database):
    from gridmap.auth import add_user
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from tests import factory
    from web import create_app

    folder, url = module_database
    store = Store(url)
    load_directory(store, levelfactory.write_dataset(folder / "data"))
    app = create_app(
        {
            "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
            "GRIDMAP_DATABASE_URL": url,
            "GRIDMAP_SECRET_KEY": "test-secret",
        }
    )
    visitor = app.test_client()
    public = visitor.get("/export/data.gpkg")
    assert public.status_code == 200 and OWNER_PHONE.encode() not in public.data
    assert "商户".encode() in public.data  # the shops layer is there, without the owner's contact
    add_user(store, username="office1", role="office", password=factory.PASSWORD)
    office = app.test_client()
    form = {
        "username": "office1",
        "password": factory.PASSWORD,
        "csrf_token": factory.csrf_token(office, "/login"),
    }
    assert office.post("/login", data=form).status_code == 302
    internal = office.get("/export/data.xlsx")
    assert internal.status_code == 200
    book = pd.read_excel(io.BytesIO(internal.data), sheet_name=None, dtype=str)
    assert book["图层-商户"].set_index("商户编号").loc["SH1", "负责人电话"] == OWNER_PHONE
    assert SECRETARY_PHONE in book["网格人员"]["联系电话"].tolist()
