"""Every real file in ../shared/realdata (Chinese pitfalls, admin boundaries) imports or says what to add.

Skipped when the folder is absent. Nothing is copied from it; the store is a temporary database.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridmap.importer import run_import
from gridmap.store import Store
from tests.realdata import REALDATA

FOLDERS = ("chinese_pitfalls", "admin_boundaries")
DATA_SUFFIXES = {".shp", ".json", ".geojson", ".xlsx", ".csv", ".kml", ".kmz", ".gpkg", ".zip"}
# Parts of a Shapefile set, and ArcGIS side files: they travel with the .shp.
SIDE_SUFFIXES = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".xml"}

# The NGCC county-seat point of Feng County (WGS84-era lon/lat), from SOURCES.md.
FENG_SEAT = shapely.Point(106.51279, 33.918312)
# 宝鸡市 in WGS84 from the city-points table (Lng_WGS84, Lat_WGS84).
BAOJI_WGS84 = shapely.Point(107.2330101, 34.3643389)


def _files() -> list[Path]:
    if not REALDATA.is_dir():
        return []
    files = []
    for folder in FOLDERS:
        for path in sorted((REALDATA / folder).rglob("*")):
            if path.is_file() and path.suffix.lower() in DATA_SUFFIXES:
                files.append(path)
            elif path.is_file():
                assert path.suffix.lower() in SIDE_SUFFIXES, f"unexpected file {path}"
    return files


def _kind(path: Path) -> str:
    """The kind a clerk would try first: points as communities (code + name), areas as towns."""
    if path.suffix.lower() == ".xlsx":
        return "communities"
    if path.suffix.lower() == ".shp":
        import pyogrio

        geometry = pyogrio.read_info(path)["geometry_type"]
        if "Point" in geometry:
            return "communities"
        if "Line" in geometry:
            return "rivers"
    return "towns"


def _metres(a, b) -> float:
    sa = gpd.GeoSeries([a], crs="EPSG:4326").to_crs("EPSG:4545").iloc[0]
    sb = gpd.GeoSeries([b], crs="EPSG:4326").to_crs("EPSG:4545").iloc[0]
    return float(sa.distance(sb))


@pytest.fixture(scope="module")
def empty_store(module_database):
    """An empty store shared by the module, on each backend (SQLite and PostgreSQL)."""
    _folder, url = module_database
    store = Store(url)
    yield store
    store.drop_connections()


FILES = _files()


@pytest.mark.skipif(not FILES, reason="../shared/realdata is not present")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_file_imports_or_says_what_to_add(path, empty_store):
    """With no options at all: either it imports, or every error says what to do."""
    report = run_import(empty_store, path, kind=_kind(path), dry_run=True)
    text = report.to_text()
    assert "编码" in text or report.format in ("gpkg",)
    if report.ok:
        assert report.crs and report.crs_reason, text
        assert len(report.data) > 0
        names = report.data["name"].dropna().astype(str)
        assert names.str.contains(r"[\u4e00-\u9fff]").all(), names.head().tolist()
    else:
        for finding in report.errors:
            assert finding.hint, f"error without advice: {finding}"
            assert any(word in finding.hint for word in ("--columns", "--crs", "--layer", "唯一", "请")), (
                finding
            )
    assert empty_store.data_version() == 0  # a dry run never writes


def _run(store, name: str, kind: str, **options):
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{name} not present")
    return run_import(store, path, kind=kind, dry_run=True, **options)


def _row(report, name: str):
    rows = report.data[report.data["name"] == name]
    assert len(rows), f"{name} not among {report.data['name'].head().tolist()}"
    return rows.geometry.iloc[0]


@pytest.mark.skipif(not FILES, reason="../shared/realdata is not present")
class TestNamesAndPositions:
    """With the mapping a clerk would write after reading the first report."""

    def test_ngcc_gbk_points_without_prj(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/ngcc_400w_wgs_noprj_gbk/XianCh_point.shp",
            "communities",
            columns={"code": "CNTYPT_", "name": "NAME"},
        )
        assert report.ok, report.to_text()
        assert report.encoding in ("gb18030", "gbk", "cp936")
        assert _metres(_row(report, "凤县"), FENG_SEAT) < 1.0
        assert "宝鸡县" in set(report.data["name"])  # stale (abolished 2003) but named right

    def test_ngcc_province_polygons(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/ngcc_400w_wgs_noprj_gbk/bou2_4p.shp",
            "towns",
            columns={"code": "BOU2_4M_", "name": "NAME"},
        )
        # One of the 925 parts (a South China Sea islet) has no name: that, and only that, stops it.
        assert [f.field for f in report.errors] == ["name"], report.to_text()
        assert report.errors[0].feature == "FID 898" and report.errors[0].hint
        shaanxi = report.data[report.data["name"] == "陕西省"].geometry
        assert shaanxi.contains(FENG_SEAT).any()

    def test_ngcc_capitals(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/ngcc_400w_wgs_noprj_gbk/res1_4m.shp",
            "communities",
            columns={"code": "ADCODE99", "name": "NAME"},
        )
        assert report.ok, report.to_text()
        assert _metres(_row(report, "西安"), shapely.Point(108.94, 34.26)) < 10_000

    def test_lambert_beijing54_points(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/china400w_lambert_beijing54_gbk/县城驻地.shp",
            "communities",
            columns={"code": "name", "name": "name"},
        )
        # County-seat names repeat across China, so names cannot be codes: the import stops…
        assert not report.ok
        assert all("重复" in f.message or "为空" in f.message for f in report.errors)
        assert all(f.hint for f in report.errors)
        # …but the projection was understood: Feng County lands on the NGCC seat point.
        assert "Lambert" in report.crs
        assert any("北京54" in f.message for f in report.warnings)
        assert _metres(_row(report, "凤县"), FENG_SEAT) < 1.0

    def test_city_points_prj_that_lies(self, empty_store):
        name = "chinese_pitfalls/city_points_2023_gbk_ldid936/地级市点位数据.shp"
        mapping = {"code": "城市代码", "name": "城市"}
        report = _run(empty_store, name, "communities", columns=mapping)
        assert report.ok
        warning = next(f for f in report.warnings if "不一致" in f.message)
        assert "--xy Lng_WGS84,Lat_WGS84" in warning.hint
        fixed = _run(empty_store, name, "communities", columns=mapping, xy=("Lng_WGS84", "Lat_WGS84"))
        assert fixed.ok, fixed.to_text()
        assert _metres(_row(fixed, "宝鸡市"), BAOJI_WGS84) < 1.0

    def test_city_points_excel_version(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/city_points_2023_gbk_ldid936/地级市点位数据.xlsx",
            "communities",
            columns={"code": "城市代码", "name": "城市"},
        )
        assert report.ok, report.to_text()
        assert "Lng_WGS84" in report.geometry_from
        assert _metres(_row(report, "宝鸡市"), BAOJI_WGS84) < 1.0

    def test_cgcs2000_cities_with_utf8_cpg(self, empty_store):
        report = _run(
            empty_store,
            "chinese_pitfalls/cgcs2000_geographic_4490_utf8/市.shp",
            "towns",
            columns={"code": "市代码", "name": "市名"},
        )
        assert report.ok, report.to_text()
        assert "4490" in report.crs and ".cpg" in report.encoding_reason
        assert _row(report, "宝鸡市").contains(FENG_SEAT)

    def test_gcj02_boundaries_are_shifted_back(self, empty_store):
        """DataV 宝鸡市 (GCJ-02, no CRS) lands on the CGCS2000 outline once shifted."""
        datav = _run(empty_store, "admin_boundaries/gmap_610000.json", "towns")
        official = _run(
            empty_store,
            "chinese_pitfalls/cgcs2000_geographic_4490_utf8/市.shp",
            "towns",
            columns={"code": "市代码", "name": "市名"},
        )
        assert datav.ok and "GCJ-02" in datav.crs and "adcode" in datav.crs_reason
        raw = _run(empty_store, "admin_boundaries/gmap_610000.json", "towns", crs="wgs84")
        shifted = _metres(_row(datav, "宝鸡市").centroid, _row(official, "宝鸡市").centroid)
        unshifted = _metres(_row(raw, "宝鸡市").centroid, _row(official, "宝鸡市").centroid)
        assert shifted < 100 < unshifted, (shifted, unshifted)

    @pytest.mark.parametrize(
        "name",
        [
            "admin_boundaries/gmap_610330.json",
            "admin_boundaries/feng_county_610330_fc.geojson",
            "admin_boundaries/gmap_610300.json",
            "admin_boundaries/datav_610300_full.json",
            "chinese_pitfalls/garybikini_baoji_2020_nocpg_noprj/宝鸡市.shp",
        ],
    )
    def test_feng_county_outline_contains_its_seat(self, empty_store, name):
        report = _run(empty_store, name, "towns")
        assert report.ok, report.to_text()
        assert "GCJ-02" in report.crs
        assert _row(report, "凤县").contains(FENG_SEAT)
        if name.endswith("宝鸡市.shp"):
            assert report.encoding == "utf-8"  # UTF-8 without .cpg

    def test_stale_code_is_read_as_written(self, empty_store):
        report = _run(empty_store, "admin_boundaries/datav_610300_full.json", "towns")
        codes = dict(zip(report.data["code"], report.data["name"]))
        assert codes.get("610322") == "凤翔县"
