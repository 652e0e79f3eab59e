"""Validation, repair, references, coverage checks, replace/merge, and the responsibility tables."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import Point, Polygon, box

from gridmap.importer import run_import
from gridmap.reference import ReferenceCache
from tests import factory
from tests.importer import fixtures as fx


def _gpkg(tmp_path, gdf, name="grids.gpkg", layer="grids"):
    path = tmp_path / name
    pyogrio.write_dataframe(gdf, path, layer=layer)
    return path


def _grids(polys, names=None, codes=None, town=fx.TOWN_CODE):
    n = len(polys)
    return gpd.GeoDataFrame(
        {
            "网格编码": codes or [f"G{i}" for i in range(n)],
            "网格名称": names or [f"网格{i}" for i in range(n)],
            "所属镇代码": [town] * n,
        },
        geometry=polys,
        crs="EPSG:4326",
    )


# --- repair and geometry checks ---------------------------------------------------------------


def test_bow_tie_is_repaired_and_reported(tmp_path, county_store):
    bow = Polygon([(106.51, 33.90), (106.52, 33.91), (106.52, 33.90), (106.51, 33.91)])
    path = _gpkg(tmp_path, _grids([bow, box(106.53, 33.90, 106.54, 33.91)]))
    report = run_import(county_store, path, kind="grids", dry_run=True)
    assert report.ok, report.to_text()
    assert report.counts["repaired"] == 1
    warning = next(f for f in report.warnings if "make_valid" in f.message)
    assert warning.feature == "FID 1" and "Self-intersection" in warning.message
    repaired = report.data.geometry.iloc[0]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"


def test_empty_duplicate_and_multipart_geometries(tmp_path, county_store):
    a = box(106.51, 33.90, 106.52, 33.91)
    multi = shapely.MultiPolygon([box(106.53, 33.90, 106.535, 33.905), box(106.54, 33.90, 106.545, 33.905)])
    gdf = _grids([a, a, multi, Polygon()])
    report = run_import(county_store, _gpkg(tmp_path, gdf), kind="grids", dry_run=True)
    by_feature = {(f.feature, f.severity): f.message for f in report.findings if f.feature}
    assert "几何为空" in by_feature[("FID 4", "error")]
    assert "完全相同" in by_feature[("FID 2", "warning")]
    assert "2 个互不相连" in by_feature[("FID 3", "warning")]
    assert not report.ok
    assert county_store.read_current().layers["grids"].empty  # nothing written


def test_wrong_geometry_type_is_an_error(tmp_path, county_store):
    gdf = gpd.GeoDataFrame(
        {"code": ["G1"], "name": ["甲"], "town_code": [fx.TOWN_CODE]},
        geometry=[Point(106.51, 33.91)],
        crs="EPSG:4326",
    )
    report = run_import(county_store, _gpkg(tmp_path, gdf), kind="grids", dry_run=True)
    assert not report.ok
    assert "只接受" in report.errors[0].message and report.errors[0].feature == "FID 1"


# --- gaps, overlaps, slivers, outside the county ----------------------------------------------


def test_gap_overlap_and_sliver_are_reported_with_places(tmp_path, county_store):
    polys = [
        box(106.500, 33.900, 106.540, 33.910),
        box(106.500, 33.910, 106.510, 33.920),
        box(106.5095, 33.910, 106.520, 33.920),  # overlaps G1 by ~46 m
        box(106.520, 33.910, 106.530, 33.920),
        box(106.530004, 33.910, 106.540, 33.920),  # a 0.37 m wide seam with G3: a sliver
        box(106.500, 33.920, 106.540, 33.930),
        box(106.500, 33.930, 106.515, 33.940),
        box(106.516, 33.930, 106.540, 33.940),  # ~92 m gap
        box(106.500, 33.940, 106.540, 33.950),
    ]
    report = run_import(
        county_store, _gpkg(tmp_path, _grids(polys)), kind="grids", dry_run=True, tolerance_m2=1.0
    )
    assert report.ok, report.to_text()
    messages = [f.message for f in report.warnings]
    overlap = next(m for m in messages if "重叠" in m and "碎片" not in m)
    assert "G1" in overlap and "G2" in overlap and "106.509750,33.915000" in overlap
    gap = next(m for m in messages if "缝隙" in m and "碎片" not in m)
    assert "G6" in gap and "G7" in gap
    sliver = next(m for m in messages if "狭长缝隙碎片" in m)
    assert "G3" in sliver and "G4" in sliver
    assert len(messages) == 3, messages  # no projection artefacts along the long edges
    # A large tolerance hides all three.
    quiet = run_import(
        county_store,
        _gpkg(tmp_path, _grids(polys), name="b.gpkg"),
        kind="grids",
        dry_run=True,
        tolerance_m2=1e7,
    )
    assert not any("重叠" in f.message or "缝隙" in f.message for f in quiet.findings)


def test_features_outside_the_county(tmp_path, county_store):
    inside = box(106.51, 33.90, 106.52, 33.91)
    far = box(108.0, 34.0, 108.01, 34.01)
    report = run_import(county_store, _gpkg(tmp_path, _grids([inside, far])), kind="grids", dry_run=True)
    assert report.ok
    assert any(f.feature == "FID 2" and "不在本县" in f.message for f in report.warnings)
    all_far = run_import(
        county_store, _gpkg(tmp_path, _grids([far]), name="far.gpkg"), kind="grids", dry_run=True
    )
    assert not all_far.ok and "--crs" in all_far.errors[0].hint


# --- references -------------------------------------------------------------------------------


def test_dangling_reference_is_an_error_and_a_name_is_resolved(tmp_path, county_store):
    truth = fx.truth_points()
    truth["unit_code"] = ["U1", "县住建局", "U9"]
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(truth, path)
    report = run_import(county_store, path, kind="points", dry_run=True)
    error = report.errors[0]
    assert len(report.errors) == 1 and error.feature == "FID 3" and "U9" in error.message
    assert error.field == "unit_code" and error.hint
    assert any("已按名称对应" in f.message and "U1" in f.message for f in report.warnings)


def test_towns_must_come_before_grids(tmp_path, empty_store):
    path = _gpkg(tmp_path, _grids([box(106.51, 33.90, 106.52, 33.91)]))
    report = run_import(empty_store, path, kind="grids", dry_run=True)
    assert not report.ok
    assert "--as towns" in report.errors[0].hint


# --- commit, replace and merge ----------------------------------------------------------------


def test_commit_replace_then_merge_and_the_cache_sees_it(tmp_path, loaded_store):
    cache = ReferenceCache(loaded_store, tolerance_m=50.0)
    assert set(cache.model().grids.index) == {"610330100001", "610330100002"}
    before = loaded_store.data_version()
    grids = factory.layers()["grids"].copy()
    grids.loc[0, "name"] = "滨江网格（新）"
    extra = gpd.GeoDataFrame(
        {"code": ["610330100003"], "name": ["城北网格"], "town_code": ["610330100"]},
        geometry=[box(106.51, 33.915, 106.53, 33.925)],
        crs="EPSG:4326",
    )
    path = _gpkg(tmp_path, pd.concat([grids.iloc[[0]], extra]))
    merged = run_import(loaded_store, path, kind="grids", mode="merge")
    assert merged.committed, merged.to_text()
    assert loaded_store.data_version() == before + 1 == merged.version
    model = cache.model()
    assert set(model.grids.index) == {"610330100001", "610330100002", "610330100003"}
    assert model.grids.loc["610330100001", "name"] == "滨江网格（新）"
    replaced = run_import(loaded_store, path, kind="grids", mode="replace")
    assert replaced.committed
    assert set(cache.model().grids.index) == {"610330100001", "610330100003"}
    # Grid roles for the dropped grid now dangle: reported as a warning, not hidden.
    assert any("610330100002" in f.message and "导入后" in f.message for f in replaced.warnings)


def test_segments_get_their_grid_codes(tmp_path, loaded_store):
    segments = factory.layers()["segments"]
    path = tmp_path / "roads.gpkg"
    pyogrio.write_dataframe(segments, path)
    report = run_import(loaded_store, path, kind="segments")
    assert report.committed
    stored = loaded_store.read_current()
    assert len(stored.layers["segments"]) == 3
    with loaded_store.engine.connect() as conn:
        from sqlalchemy import select

        from gridmap.store import reference_tables

        table = reference_tables["segments"]
        rows = dict(conn.execute(select(table.c.code, table.c.grid_code)).all())
    assert rows == {"S1": "610330100001", "S2": "610330100002", "S3": "610330100002"}


def test_dry_run_writes_nothing(tmp_path, loaded_store):
    before = loaded_store.read_dataset()
    version = loaded_store.data_version()
    path = tmp_path / "units.csv"
    path.write_text("单位代码,单位名称\nU9,县水务局\n", encoding="utf-8")
    report = run_import(loaded_store, path, kind="units", mode="replace", dry_run=True)
    assert report.ok and not report.committed
    assert loaded_store.data_version() == version
    after = loaded_store.read_dataset()
    pd.testing.assert_frame_equal(before.tables["units"], after.tables["units"])


# --- responsibility tables in XLSX ------------------------------------------------------------


def test_xlsx_table_with_title_rows_and_merged_cells(tmp_path, loaded_store):
    """包片领导 sheet as offices make it: title, merged grid cells, names instead of codes."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "包片领导"
    sheet.append(["凤县县城网格包片领导一览表"])
    sheet.merge_cells("A1:D1")
    sheet.append([None, None, None, "2024年5月"])
    sheet.append(["序号", "网格编码", "网格名称", "包片领导"])
    sheet.append([1, "610330100001", "滨江网格", "王建国"])
    sheet.append([None, None, None, "张华"])
    sheet.append([2, "610330100002", "新建路网格", "李明"])
    sheet.merge_cells("A4:A5")
    sheet.merge_cells("B4:B5")
    sheet.merge_cells("C4:C5")
    sheet.append(["备注：本表由县创建办负责解释"])
    path = tmp_path / "包片领导.xlsx"
    book.save(path)
    report = run_import(loaded_store, path, kind="grid_leaders")
    assert report.committed, report.to_text()
    assert any("表头在第 3 行" in n for n in report.notes)
    links = loaded_store.read_dataset().tables["grid_leaders"]
    pairs = set(zip(links["grid_code"], links["leader_code"]))
    assert pairs == {("610330100001", "L01"), ("610330100001", "L03"), ("610330100002", "L02")}
    assert any("已按名称对应" in f.message for f in report.warnings)
    assert any("备注" in f.message or "说明" in f.message for f in report.warnings)


def test_missing_required_column_names_it_and_the_columns_found(tmp_path, empty_store):
    path = tmp_path / "units.csv"
    path.write_text("单位,电话\n县水务局,0917-1\n", encoding="utf-8")
    report = run_import(empty_store, path, kind="units", dry_run=True)
    error = report.errors[0]
    assert "单位代码" in error.message and "单位、电话" in error.message
    assert "--columns" in error.hint


def test_mapping_file_overrides_synonyms(tmp_path, empty_store):
    path = tmp_path / "units.csv"
    path.write_text("编号,单位,机构全称\nU9,水务,县水务局\n", encoding="utf-8")
    mapping = tmp_path / "map.txt"
    mapping.write_text("# 字段映射\n单位名称 = 机构全称\ncode: 编号\n", encoding="utf-8")
    report = run_import(empty_store, path, kind="units", columns=mapping)
    assert report.committed, report.to_text()
    assert list(empty_store.read_current().tables["units"]["name"]) == ["县水务局"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"不存在的字段": "编号"}', encoding="utf-8")
    report = run_import(empty_store, path, kind="units", columns=bad)
    assert not report.ok and "可用字段" in report.errors[0].message


def test_gpkg_with_several_layers_asks_for_one(tmp_path, empty_store):
    path = tmp_path / "many.gpkg"
    for layer in ("甲", "乙"):
        pyogrio.write_dataframe(fx.truth_points(), path, layer=layer)
    report = run_import(empty_store, path, kind="communities", dry_run=True)
    assert not report.ok and "--layer" in report.errors[0].message
    chosen = run_import(empty_store, path, kind="communities", layer="乙", dry_run=True)
    assert chosen.layer == "乙" and len(chosen.data) == 3


# --- two columns for one field: the filled one wins ------------------------------------------


def test_qgis_style_kml_takes_names_from_extended_data(tmp_path, county_store):
    kml = fx.qgis_kml(tmp_path, fx.truth_grids())  # every <name> empty, 网格名称 in SimpleData
    report = run_import(county_store, kml, kind="grids", dry_run=True)
    assert report.ok, report.to_text()
    assert list(report.data["name"]) == fx.GRID_NAMES
    line = next(c for c in report.columns if c.startswith("网格名称（name）"))
    assert "← 网格名称" in line and "“Name”列，全部为空，未使用" in line  # says which was used
    assert "字段对应" in report.to_text() and "Name" in report.unused_columns


def test_rows_left_empty_in_the_chosen_column_come_from_the_other(tmp_path, county_store):
    names = ["滨江网格（简称）", "", ""]  # only the first placemark has a <name>
    kml = fx.qgis_kml(tmp_path, fx.truth_grids(), names=names)
    report = run_import(county_store, kml, kind="grids", dry_run=True)
    assert report.ok, report.to_text()
    assert list(report.data["name"]) == ["滨江网格（简称）", *fx.GRID_NAMES[1:]]
    line = next(c for c in report.columns if c.startswith("网格名称（name）"))
    assert "← Name" in line and "其中 2 行“Name”为空，取自“网格名称”" in line


def test_the_filled_column_wins_in_tables_too(tmp_path, empty_store):
    path = tmp_path / "units.csv"
    # 单位名称 (the label) outranks 名称 (a synonym), but it is empty here.
    path.write_text("代码,单位名称,名称,电话\nU1,,县住建局,1\nU2,,县水务局,2\n", encoding="utf-8")
    report = run_import(empty_store, path, kind="units", dry_run=True)
    assert report.ok, report.to_text()
    assert list(report.data["name"]) == ["县住建局", "县水务局"]
    assert any("← 名称" in c and "“单位名称”列，全部为空" in c for c in report.columns)
