"""Reading and validating dataset directories: every error names file, layer, feature, field."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, Polygon

from gridmap.errors import DataError
from gridmap.io.read import read_dataset
from tests import factory


def _errors(directory) -> list:
    with pytest.raises(DataError) as info:
        read_dataset(directory)
    return info.value.findings


def test_reads_the_tiny_dataset(dataset_dir):
    ds = read_dataset(dataset_dir)
    assert len(ds.layers["grids"]) == 2
    assert ds.layers["grids"].crs.to_epsg() == 4326
    assert list(ds.tables["leaders"]["name"]) == ["王建国", "李明", "张华"]
    assert ds.tables["grid_roles"]["grid_head_phone"].iloc[0] == "13900000001"


def test_missing_required_column_is_named(tmp_path):
    layers = factory.layers()
    layers["grids"] = layers["grids"].drop(columns=["name"])
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers))
    f = next(f for f in findings if f.field == "name")
    assert f.file == "layers.gpkg" and f.layer == "grids"
    assert "网格名称" in f.message


def test_grid_that_is_not_a_polygon(tmp_path):
    layers = factory.layers()
    geoms = list(layers["grids"].geometry)
    geoms[1] = LineString([(106.52, 33.905), (106.53, 33.915)])
    layers["grids"] = layers["grids"].set_geometry(geoms)
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers))
    assert len(findings) == 1
    f = findings[0]
    assert (f.layer, f.feature) == ("grids", "FID 2")
    assert "LineString" in f.message and "Polygon" in f.message


def test_self_intersecting_grid(tmp_path):
    layers = factory.layers()
    bowtie = Polygon([(106.52, 33.905), (106.53, 33.915), (106.53, 33.905), (106.52, 33.915)])
    layers["grids"] = layers["grids"].set_geometry([layers["grids"].geometry[0], bowtie])
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers))
    f = findings[0]
    assert (f.file, f.layer, f.feature) == ("layers.gpkg", "grids", "FID 2")
    assert "Self-intersection" in f.message and "几何无效" in f.message
    assert "修复" in str(f)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_layer_without_crs(tmp_path):
    layers = factory.layers()
    layers["segments"] = layers["segments"].set_crs(None, allow_override=True)
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers))
    f = findings[0]
    assert (f.layer, f.feature) == ("segments", None)
    assert "坐标系" in f.message


def test_projected_layer_is_brought_to_lonlat(tmp_path):
    layers = factory.layers()
    layers["points"] = layers["points"].to_crs("EPSG:4545")
    ds = read_dataset(factory.write_dataset(tmp_path, layers_=layers))
    truth = factory.layers()["points"].geometry
    assert ds.layers["points"].crs.to_epsg() == 4326
    got = ds.layers["points"].geometry.to_numpy()
    assert shapely.distance(got, truth.to_numpy()).max() < 1e-8


def test_duplicate_code_and_empty_required_cell(tmp_path):
    tables = factory.tables()
    tables["units"].append(["U1", "重复单位", "县级部门", None, None])
    tables["leaders"][1][1] = None
    findings = _errors(factory.write_dataset(tmp_path, tables_=tables))
    messages = [str(f) for f in findings]
    assert any("责任单位" in m and "第 5 行" in m and "重复" in m for m in messages), messages
    assert any("县级领导" in m and "第 3 行" in m and "姓名" in m for m in messages), messages


def test_dangling_reference_to_unit(tmp_path):
    layers = factory.layers()
    layers["segments"].loc[2, "unit_code"] = "U99"
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers))
    f = findings[0]
    assert (f.layer, f.field, f.feature) == ("segments", "unit_code", "FID 3")
    assert "U99" in f.message


def test_english_headers_are_accepted(tmp_path):
    from gridmap.model import TABLE_BY_NAME

    headers = {name: [c.name for c in spec.columns] for name, spec in TABLE_BY_NAME.items()}
    ds = read_dataset(factory.write_dataset(tmp_path, headers=headers))
    assert list(ds.tables["units"]["code"]) == ["U1", "U2", "U3"]


def test_missing_sheet_and_missing_layer(tmp_path):
    layers = factory.layers()
    del layers["towns"]
    tables = factory.tables()
    del tables["grid_roles"]
    findings = _errors(factory.write_dataset(tmp_path, layers_=layers, tables_=tables))
    text = "\n".join(str(f) for f in findings)
    assert "缺少图层“towns”" in text
    assert "缺少工作表“网格责任”" in text


def test_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="不存在"):
        read_dataset(tmp_path / "nowhere")


def test_of_two_name_columns_the_filled_one_wins(tmp_path):
    layers = factory.layers()
    grids = layers["grids"].copy()
    grids["网格名称"] = list(grids["name"])  # the name in the Chinese column ...
    grids["name"] = None  # ... and the canonical one empty, as some exports leave it
    layers["grids"] = grids
    ds = read_dataset(factory.write_dataset(tmp_path, layers_=layers))
    assert list(ds.layers["grids"]["name"]) == list(factory.layers()["grids"]["name"])
    warning = next(f for f in ds.warnings if f.field == "name" and f.layer == "grids")
    assert "使用了有值的“网格名称”" in warning.message
