"""Import of grid-level layers: a village-grid Shapefile with Chinese headers in GBK, refused with
row numbers when a parent does not exist; shops, frontages, buildings and grid people."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
from click.testing import CliRunner
from shapely.geometry import LineString, Point, box

from gridmap.cli import main
from gridmap.importer import run_import
from gridmap.responsibility import build_model
from tests.importer import fixtures as fx

TOWN = fx.TOWN_CODE  # box 106.40–106.60, 33.80–34.00
GRID = fx.GRID_CODES[0]  # x 106.510–106.5135, y 33.905–33.9121
V1, V2, G1, S1 = "610330100201", "610330100202", "61033010020101", f"{GRID}-01"
HEADERS = {"code": "网格编码", "name": "网格名称", "parent_code": "上级编码", "level": "网格层级"}


def _with_grids(store):
    store.import_reference("grids", fx.truth_grids(), mode="replace")
    return store


def _shapefile(folder, rows, *, cpg: bool, name: str = "村网格"):
    """A Shapefile of sub-grids (code, name, parent, level, box) with Chinese headers, GBK-encoded."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(
        {HEADERS[k]: [r[i] for r in rows] for i, k in enumerate(HEADERS)},
        geometry=[box(*r[4]) for r in rows],
        crs="EPSG:4326",
    )
    path = folder / f"{name}.shp"
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    # The headers are stored as GBK bytes (8 bytes each: they fit the 10-byte dBASE limit).
    assert "上级编码".encode("gbk") in path.with_suffix(".dbf").read_bytes()[:400]
    return path


ROWS = [
    (V1, "红花铺村", TOWN, None, (106.40, 33.80, 106.50, 33.90)),
    (V2, "草店村（东）", TOWN, "村", (106.50, 33.80, 106.60, 33.90)),
    (G1, "红花铺村一组", V1, None, (106.40, 33.80, 106.45, 33.90)),  # its village is in the same file
    (S1, "滨江一号子网格", GRID, "", (106.5105, 33.906, 106.512, 33.910)),
]


def test_village_grids_from_a_gbk_shapefile_with_chinese_headers(tmp_path, fresh_county_store):
    store = _with_grids(fresh_county_store)
    for cpg in (True, False):
        path = _shapefile(tmp_path / str(cpg), ROWS, cpg=cpg)
        report = run_import(store, path, kind="subgrids")
        assert report.ok and report.committed, report.to_text()
        assert report.encoding in ("gbk", "gb18030", "cp936"), (cpg, report.encoding)
        assert "上级编码" in "；".join(report.columns)
    stored = store.read_current().layers["subgrids"]
    assert stored["code"].tolist() == [V1, V2, G1, S1]
    assert stored["name"].tolist() == ["红花铺村", "草店村（东）", "红花铺村一组", "滨江一号子网格"]
    assert stored["parent_code"].tolist() == [TOWN, TOWN, V1, GRID]
    model = build_model(store.read_current())
    got = {c: (r.level, r.level_name, r.town_code, r.grid_code) for c, r in model.subgrids.iterrows()}
    assert got == {
        V1: ("村", "村网格", TOWN, None),
        V2: ("村", "村网格", TOWN, None),
        G1: ("组", "组网格", TOWN, None),
        S1: ("子网格", "子网格", TOWN, GRID),
    }


def test_unknown_parent_is_refused_with_row_numbers_and_nothing_written(
    tmp_path, fresh_county_store, settings
):
    store = _with_grids(fresh_county_store)
    assert run_import(store, _shapefile(tmp_path / "ok", ROWS[:2], cpg=True), kind="subgrids").committed
    version = store.data_version()
    rows = [
        ("610330100203", "新村", TOWN, None, (106.40, 33.90, 106.50, 34.00)),
        ("610330100204", "错村", "610330199", None, (106.50, 33.90, 106.60, 34.00)),
        ("61033010020401", "错村一组", "610330100299", None, (106.50, 33.90, 106.55, 34.00)),
    ]
    path = _shapefile(tmp_path / "bad", rows, cpg=False, name="村网格二")
    report = run_import(store, path, kind="subgrids")
    assert not report.ok and not report.committed
    missing = [(f.feature, f.field, f.file) for f in report.errors]
    assert missing == [("FID 1", "parent_code", "村网格二.shp"), ("FID 2", "parent_code", "村网格二.shp")]
    text = report.to_text()
    assert "FID 1 的“上级编码”引用了不存在的镇、县城网格或下级网格“610330199”" in text
    assert "“610330100299”" in text and "数据库保持原样" in text
    assert "请把“上级编码”改为已有的" in text  # what to do
    assert store.data_version() == version
    assert store.read_current().layers["subgrids"]["code"].tolist() == [V1, V2]  # nothing written

    env = {k: settings[k] for k in ("GRIDMAP_DATABASE_URL", "GRIDMAP_INSTANCE_DIR")}
    result = CliRunner().invoke(main, ["import", str(path), "--as", "subgrids", "--merge"], env=env)
    assert result.exit_code == 1
    assert "要素/行 FID 1，字段 parent_code" in result.output and "610330199" in result.output
    assert store.data_version() == version


def test_parent_cycles_and_levels_that_do_not_fit_are_refused(tmp_path, fresh_county_store):
    store = _with_grids(fresh_county_store)
    rows = [
        ("X1", "甲", "X2", None, (106.40, 33.80, 106.45, 33.85)),
        ("X2", "乙", "X1", None, (106.45, 33.80, 106.50, 33.85)),
        (V1, "红花铺村", TOWN, "组", (106.50, 33.80, 106.60, 33.90)),
    ]
    report = run_import(store, _shapefile(tmp_path, rows, cpg=True), kind="subgrids")
    assert not report.committed
    assert [(f.feature, f.field) for f in report.errors] == [
        ("FID 0", "parent_code"),
        ("FID 1", "parent_code"),
        ("FID 2", "level"),
    ]
    assert "成环" in report.errors[0].message and "应为“村”" in report.errors[2].message
    assert not len(store.read_current().layers["subgrids"])


def test_shops_frontages_buildings_and_grid_people(tmp_path, fresh_county_store):
    """Layers without a code column (frontages) and the grid_people table go through the same pipeline."""
    store = _with_grids(fresh_county_store)
    assert run_import(store, _shapefile(tmp_path / "v", ROWS, cpg=True), kind="subgrids").committed
    shops = gpd.GeoDataFrame(
        {"商户编号": ["SH1", "SH2"], "商户名称": ["滨江饭店", "红花铺小卖部"], "经营类别": ["餐饮", "零售"]},
        geometry=[Point(106.512, 33.908), Point(106.45, 33.85)],
        crs="EPSG:4326",
    )
    shops.to_file(tmp_path / "shops.geojson", driver="GeoJSON", engine="pyogrio")
    assert run_import(store, tmp_path / "shops.geojson", kind="shops").committed
    fronts = gpd.GeoDataFrame(
        {"商户编号": ["SH1", "SH2", "SH9"]},
        geometry=[
            LineString([(106.5119, 33.90795), (106.5121, 33.90795)]),
            LineString([(106.4499, 33.84995), (106.4501, 33.84995)]),
            LineString([(106.46, 33.86), (106.461, 33.86)]),
        ],
        crs="EPSG:4326",
    )
    fronts.to_file(tmp_path / "fronts.geojson", driver="GeoJSON", engine="pyogrio")
    bad = run_import(store, tmp_path / "fronts.geojson", kind="frontages")
    assert [(f.feature, f.field) for f in bad.errors] == [("FID 2", "shop_code")]
    assert "SH9" in bad.errors[0].message and not bad.committed
    fronts.iloc[:2].to_file(tmp_path / "fronts2.geojson", driver="GeoJSON", engine="pyogrio")
    for _ in range(2):  # merging a shop's frontages again replaces them (key shop_code)
        report = run_import(store, tmp_path / "fronts2.geojson", kind="frontages", mode="merge")
        assert report.committed, report.to_text()
    assert store.read_current().layers["frontages"]["shop_code"].tolist() == ["SH1", "SH2"]

    people = tmp_path / "people.csv"
    pd.DataFrame(
        {
            "网格编码": [TOWN, V1, G1, S1, "NOPE"],
            "姓名": ["甲", "乙", "丙", "丁", "戊"],
            "职责": ["镇干部", "村书记", "网格员", "志愿者", "网格员"],
            "联系电话": ["13900000001", None, None, None, None],
        }
    ).to_csv(people, index=False, encoding="gbk")
    refused = run_import(store, people, kind="grid_people")
    assert [(f.feature, f.field) for f in refused.errors] == [("第 6 行", "grid_code")]
    pd.read_csv(people, encoding="gbk", dtype=str).iloc[:4].to_csv(people, index=False, encoding="gbk")
    assert run_import(store, people, kind="grid_people").committed
    stored = store.read_current().tables["grid_people"]
    assert stored["grid_code"].tolist() == [TOWN, V1, G1, S1]

    communities = gpd.GeoDataFrame(
        {"小区编号": ["C1"], "小区名称": ["花园小区"]},
        geometry=[box(106.511, 33.906, 106.513, 33.908)],
        crs="EPSG:4326",
    )
    communities.to_file(tmp_path / "comms.geojson", driver="GeoJSON", engine="pyogrio")
    assert run_import(store, tmp_path / "comms.geojson", kind="communities").committed
    buildings = gpd.GeoDataFrame(
        {"楼栋编号": ["B1"], "楼栋名称": ["3号楼"], "小区编号": ["C1"]},
        geometry=[box(106.5115, 33.9065, 106.5120, 33.9070)],
        crs="EPSG:4326",
    )
    buildings.to_file(tmp_path / "b.geojson", driver="GeoJSON", engine="pyogrio")
    report = run_import(store, tmp_path / "b.geojson", kind="buildings", dry_run=True)
    assert report.ok and json.dumps(report.as_dict(), ensure_ascii=False, default=str)
    assert run_import(store, tmp_path / "b.geojson", kind="buildings").committed
    model = build_model(store.read_current())
    assert model.shops.loc["SH1", "grid_code"] == GRID
    assert model.buildings.loc["B1", "community_code"] == "C1"
    heads = tmp_path / "heads.csv"
    pd.DataFrame(
        {
            "编号": ["H1", "H2"],
            "姓名": ["郑大姐", "钱大哥"],
            "小区编号": ["C1", "C1"],
            "楼栋编号": ["B1", "B9"],
        }
    ).to_csv(heads, index=False, encoding="gbk")
    refused = run_import(store, heads, kind="household_heads")
    assert [(f.feature, f.field) for f in refused.errors] == [("第 3 行", "building_code")]
    assert "楼栋“B9”" in refused.errors[0].message and "--as buildings" not in refused.errors[0].hint


def test_import_page_refuses_an_unknown_parent_with_the_row_number(tmp_path, login, loaded_store):
    """The web import page runs the same pipeline: a zipped GBK Shapefile, refused, nothing written."""
    from tests import factory

    office = login("office1", "office")
    rows = [
        ("610330100201", "红花铺村", "610330100", None, (106.40, 33.80, 106.50, 33.90)),
        ("610330100202", "错村", "610330199", None, (106.45, 33.90, 106.50, 33.95)),
    ]
    shp = _shapefile(tmp_path / "web", rows, cpg=False)
    archive = fx.write_zip(tmp_path, shp)
    version = loaded_store.data_version()
    data = {
        "csrf_token": factory.csrf_token(office, "/import"),
        "kind": "subgrids",
        "mode": "replace",
        "file": (io.BytesIO(archive.read_bytes()), "村网格.zip"),
    }
    page = office.post("/import/preview", data=data, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "FID 1" in html and "上级编码" in html and "610330199" in html
    assert 'name="token"' not in html  # no commit button for a refused file
    assert loaded_store.data_version() == version
    assert not len(loaded_store.read_current().layers["subgrids"])


def test_children_outside_their_parent_and_overlaps_are_warned_at_import(tmp_path, fresh_county_store):
    store = _with_grids(fresh_county_store)
    rows = [
        (V1, "红花铺村", TOWN, None, (106.40, 33.80, 106.50, 33.90)),
        (V2, "草店村", TOWN, None, (106.49, 33.80, 106.61, 33.90)),  # overlaps V1, reaches past the town
    ]
    report = run_import(store, _shapefile(tmp_path, rows, cpg=True), kind="subgrids", dry_run=True)
    assert report.ok, report.to_text()
    text = "\n".join(f.message for f in report.warnings)
    assert f"FID 1（{V2}）：村网格有" in text and "在其上级镇/街道“610330100”之外" in text
    assert f"与同属“{TOWN}”的 {V2} 重叠" in text
    assert f"镇/街道 {TOWN}：其下的村网格之间或边缘有未覆盖区域" in text  # the north half of the town
