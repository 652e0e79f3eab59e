"""Data exports read back through GDAL (and openpyxl): counts, Chinese attributes, geometries."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gridmap import dataexport
from gridmap.errors import InvalidInput
from gridmap.levelexport import KML_NAME_FIELDS
from gridmap.model import TABLE_BY_NAME

TOLERANCE = 1e-7  # degrees


def _same_geometries(expected: gpd.GeoSeries, actual: gpd.GeoSeries) -> None:
    a = shapely.force_2d(np.asarray(expected.values))
    b = shapely.force_2d(np.asarray(actual.values))
    assert len(a) == len(b)
    same = shapely.equals_exact(a, b, tolerance=TOLERANCE)
    if not same.all():  # polygons whose ring order differs (KML, Shapefile): compare as shapes
        dist = shapely.hausdorff_distance(a[~same], b[~same])
        assert (dist <= TOLERANCE).all(), float(dist.max())


def _same_attributes(expected: pd.DataFrame, actual: pd.DataFrame, columns: dict[str, str]) -> None:
    for mine, theirs in columns.items():
        left = expected[mine].tolist()
        right = actual[theirs].tolist()
        for x, y in zip(left, right):
            if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
                assert y is None or y == "" or (isinstance(y, float) and np.isnan(y)) or y is pd.NA
            elif isinstance(x, (float, np.floating)):
                assert float(y) == pytest.approx(float(x), abs=0.05)
            else:
                assert str(y) == str(x), (mine, x, y)


@pytest.fixture(scope="module")
def layers(demo_model):
    return dataexport.export_layers(demo_model)


def _unzip(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    return folder


def test_geopackage_reads_back(demo_model, layers, tmp_path):
    exported = dataexport.export_data(demo_model, fmt="gpkg")
    path = tmp_path / exported.filename
    path.write_bytes(exported.data)
    names = set(pyogrio.list_layers(path)[:, 0])
    assert set(layers) | set(dataexport.PUBLIC_TABLES) <= names
    for name, expected in layers.items():
        actual = gpd.read_file(path, layer=name)
        assert len(actual) == len(expected) == len(demo_model.layer(name))
        _same_attributes(expected, actual, {c: c for c in expected.columns if c != "geometry"})
        _same_geometries(expected.geometry, actual.geometry)
    leaders = pyogrio.read_dataframe(path, layer="leaders")
    assert leaders["name"].tolist() == demo_model.leaders["name"].tolist()


def test_geojson_zip_reads_back(demo_model, layers, tmp_path):
    folder = _unzip(dataexport.export_data(demo_model, fmt="geojson").data, tmp_path)
    for name, expected in layers.items():
        actual = gpd.read_file(folder / f"{name}.geojson")
        assert actual.crs.to_epsg() == 4326
        assert len(actual) == len(expected)
        _same_attributes(expected, actual, {c: c for c in expected.columns if c != "geometry"})
        _same_geometries(expected.geometry, actual.geometry)
    units = pd.read_csv(folder / "units.csv", dtype=str, encoding="utf-8-sig")
    assert units["单位名称"].tolist() == demo_model.units["name"].tolist()


def test_kml_zip_reads_back_with_chinese_names(demo_model, layers, tmp_path):
    folder = _unzip(dataexport.export_data(demo_model, fmt="kml").data, tmp_path)
    for name, expected in layers.items():
        text = (folder / f"{name}.kml").read_text(encoding="utf-8")
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        actual = gpd.read_file(folder / f"{name}.kml")
        assert len(actual) == len(expected)
        label = "road_name" if name == "segments" else KML_NAME_FIELDS.get(name, "name")
        name_column = "Name" if "Name" in actual.columns else label if label in actual.columns else "name"
        # Placemark names are the features' Chinese names, in the file and as read back.
        assert actual[name_column].tolist() == expected[label].tolist()
        assert f"<name>{expected[label].iloc[0]}</name>" in text
        others = {c: c for c in expected.columns if c not in ("geometry", label)}
        _same_attributes(expected, actual, others)
        _same_geometries(expected.geometry, actual.geometry)


def test_shapefile_zip_is_utf8_with_cpg_and_short_field_names(demo_model, layers, tmp_path):
    folder = _unzip(dataexport.export_data(demo_model, fmt="shp").data, tmp_path)
    mapping = pd.read_csv(folder / "字段对照.csv", dtype=str, encoding="utf-8-sig")
    assert "liaison_leaders" in " ".join(mapping["说明"].fillna(""))
    for name, expected in layers.items():
        assert (folder / f"{name}.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
        info = pyogrio.read_info(folder / f"{name}.shp")
        assert all(len(f) <= 10 for f in info["fields"])
        actual = gpd.read_file(folder / f"{name}.shp")
        assert len(actual) == len(expected)
        columns = {c: dataexport.SHAPEFILE_FIELDS.get(c, c) for c in expected.columns if c != "geometry"}
        _same_attributes(expected, actual, columns)
        _same_geometries(expected.geometry, actual.geometry)
    # Chinese text intact in the raw DBF bytes, encoded as UTF-8 (not GBK).
    raw = (folder / "grids.dbf").read_bytes()
    assert demo_model.grids["name"].iloc[0].encode("utf-8") in raw


def test_xlsx_reads_back_and_keeps_the_import_layout(demo_model, layers, tmp_path):
    exported = dataexport.export_data(demo_model, fmt="xlsx")
    path = tmp_path / exported.filename
    path.write_bytes(exported.data)
    book = pd.read_excel(path, sheet_name=None, dtype=str)
    for name in dataexport.PUBLIC_TABLES:
        spec = TABLE_BY_NAME[name]
        sheet = book[spec.label]
        assert list(sheet.columns) == [c.label for c in spec.columns]
    assert book["县级领导"]["姓名"].tolist() == demo_model.leaders["name"].tolist()
    grids = book["图层-网格"]
    assert len(grids) == len(layers["grids"])
    assert grids["网格名称"].tolist() == layers["grids"]["name"].tolist()
    for name, expected in layers.items():
        sheet = book["图层-" + dataexport.LAYER_BY_NAME[name].label.replace("/", "")]
        assert len(sheet) == len(expected)
        wkt = sheet[dataexport.DERIVED_LABELS["wkt"]]
        ok = wkt.notna()
        geoms = gpd.GeoSeries(shapely.from_wkt(wkt[ok].tolist()), crs="EPSG:4326")
        _same_geometries(expected.geometry[ok.to_numpy()], geoms)


def test_the_exported_geopackage_and_workbook_load_again(demo_model, tmp_path):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    folder = tmp_path / "again"
    folder.mkdir()
    dataexport.write_export(demo_model, fmt="gpkg", path=folder / "layers.gpkg")
    dataexport.write_export(demo_model, fmt="xlsx", path=folder / "responsibility.xlsx")
    again = build_model(read_dataset(folder))
    assert len(again.grids) == len(demo_model.grids)
    assert (
        again.grid_detail(demo_model.grids.index[0])["leaders"]
        == demo_model.grid_detail(demo_model.grids.index[0])["leaders"]
    )


def test_write_export_folder_zip_and_refusals(factory_model, tmp_path):
    written = dataexport.write_export(factory_model, fmt="shp", path=tmp_path / "shp")
    assert (tmp_path / "shp" / "grids.shp").is_file() and (tmp_path / "shp" / "grids.cpg").is_file()
    assert all(p.exists() for p in written)
    [zipped] = dataexport.write_export(factory_model, fmt="geojson", path=tmp_path / "data.zip")
    assert zipfile.is_zipfile(zipped)
    with pytest.raises(InvalidInput):  # a non-empty folder is not overwritten
        dataexport.write_export(factory_model, fmt="shp", path=tmp_path / "shp")
    with pytest.raises(InvalidInput):
        dataexport.write_export(factory_model, fmt="gpkg", path=tmp_path / "no" / "such" / "x.gpkg")
    with pytest.raises(InvalidInput):
        dataexport.export_data(factory_model, fmt="dwg")
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers
