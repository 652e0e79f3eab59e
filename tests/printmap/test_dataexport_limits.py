"""Exports of tables longer than an Excel sheet: never cut, written beside the workbook as CSV and
said so; the CSV export; both read back through pandas' C parser, GDAL and gridmap load."""

from __future__ import annotations

import io
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest
import shapely

from gridmap import dataexport
from gridmap.io.read import read_dataset
from gridmap.io.tables import read_csv_cells
from gridmap.model import TABLES_FILE


@pytest.fixture
def three_rows(monkeypatch):
    """An Excel sheet of 3 rows, header included: the tiny dataset's 3-row tables no longer fit."""
    monkeypatch.setattr(dataexport, "XLSX_MAX_ROWS", 3)


def test_a_table_over_the_sheet_limit_goes_beside_the_workbook_whole_and_it_says_why(
    factory_model, three_rows, tmp_path
):
    exported = dataexport.export_data(factory_model, fmt="xlsx")
    assert exported.mimetype == "application/zip" and exported.ascii_filename == "gridmap-data-xlsx.zip"
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(exported.data)).extractall(folder)
    assert {p.name for p in folder.iterdir()} >= {"网格责任数据.xlsx", "县级领导.csv", "包片领导.csv"}
    book = openpyxl.load_workbook(folder / "网格责任数据.xlsx", read_only=True)
    assert "县级领导" not in book.sheetnames and "网格责任" in book.sheetnames  # 2 rows + header fit
    notes = [row[0] for row in book["说明"].iter_rows(values_only=True)]
    [why] = [n for n in notes if n and "“县级领导”" in n]
    assert "超过 Excel 一个工作表的上限" in why and "县级领导.csv" in why and "没有" in why
    leaders = read_csv_cells(folder / "县级领导.csv", codec=None, name="县级领导.csv")
    assert leaders.codec == "utf-8-sig"
    assert leaders.frame.iloc[0].tolist() == ["编号", "姓名", "职务", "联系电话"]
    assert leaders.frame[1].tolist()[1:] == factory_model.leaders["name"].tolist()  # every row

    # the workbook and the CSV files it left out load again, with the layers exported as GeoPackage
    (folder / "网格责任数据.xlsx").rename(folder / TABLES_FILE)
    dataexport.write_export(factory_model, fmt="gpkg", path=folder / "layers.gpkg")
    again = read_dataset(folder)
    assert again.tables["leaders"]["name"].tolist() == factory_model.leaders["name"].tolist()
    assert sorted(again.tables["grid_leaders"]["leader_code"]) == sorted(
        factory_model.grid_leaders["leader_code"]
    )


def test_the_internal_export_puts_long_personal_tables_beside_it_too(factory_model, monkeypatch):
    monkeypatch.setattr(dataexport, "XLSX_MAX_ROWS", 1)  # even one row is too many
    exported = dataexport.export_data(
        factory_model, fmt="xlsx", extra=dataexport.personal_sheets(factory_model)
    )
    names = zipfile.ZipFile(io.BytesIO(exported.data)).namelist()
    assert "中心户长.csv" in names and "巡查员.csv" in names and "网格责任数据（内部）.xlsx" in names


def test_write_export_puts_the_csv_files_next_to_the_workbook(factory_model, three_rows, tmp_path):
    written = dataexport.write_export(factory_model, fmt="xlsx", path=tmp_path / "责任数据.xlsx")
    assert tmp_path / "责任数据-县级领导.csv" in written and all(p.is_file() for p in written)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    units = pd.read_csv(tmp_path / "责任数据-责任单位.csv", encoding="utf-8-sig", dtype=str)
    assert units["单位代码"].tolist() == factory_model.units["code"].tolist()


def test_a_workbook_that_fits_stays_one_file(factory_model):
    exported = dataexport.export_data(factory_model, fmt="xlsx")
    assert exported.filename == "网格责任数据.xlsx" and exported.data[:2] == b"PK"
    assert "说明" in openpyxl.load_workbook(io.BytesIO(exported.data), read_only=True).sheetnames


def test_the_csv_export_has_every_table_and_layer_and_loads_again(factory_model, tmp_path):
    exported = dataexport.export_data(factory_model, fmt="csv")
    assert exported.mimetype == "application/zip" and exported.filename.endswith("_CSV.zip")
    folder = tmp_path / "csv"
    zipfile.ZipFile(io.BytesIO(exported.data)).extractall(folder)
    grids = pd.read_csv(folder / "grids.csv", encoding="utf-8-sig", dtype=str)
    shapes = shapely.from_wkt(grids[dataexport.DERIVED_LABELS["wkt"]].tolist())
    expected = factory_model.grids.geometry.to_numpy()
    assert shapely.equals_exact(shapes, expected, tolerance=1e-7).all()
    assert grids["网格名称"].tolist() == factory_model.grids["name"].tolist()
    fields = pd.read_csv(folder / "字段对照.csv", encoding="utf-8-sig", dtype=str)
    assert "网格名称" in fields.loc[fields["文件"] == "grids", "字段"].tolist()

    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for name in dataexport.PUBLIC_TABLES:
        shutil.copy(folder / f"{name}.csv", dataset / f"{name}.csv")
    dataexport.write_export(factory_model, fmt="gpkg", path=dataset / "layers.gpkg")
    again = read_dataset(dataset)
    assert again.tables["units"]["code"].tolist() == factory_model.units["code"].tolist()
    twice = [w for w in again.warnings if "有 2 处" in w.message]  # the GeoPackage has the tables too
    assert len(twice) == len(dataexport.PUBLIC_TABLES) and all(w.message.endswith(".csv") for w in twice)


def test_the_download_page_offers_csv_and_the_route_serves_it(client):
    page = client.get("/").get_data(as_text=True)
    assert "/export/data.csv" in page and "1,048,576 行" in page
    response = client.get("/export/data.csv")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "gridmap-data-csv.zip" in response.headers["Content-Disposition"]
    assert "units.csv" in zipfile.ZipFile(io.BytesIO(response.data)).namelist()
