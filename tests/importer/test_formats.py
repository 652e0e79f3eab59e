"""Every format × encoding × coordinate system: names intact and positions within 1 m."""

from __future__ import annotations

import pytest

from gridmap.importer import run_import
from tests.importer import fixtures as fx

SYSTEMS = list(fx.CRS_CASES)
SHIFTED = {"gcj02", "bd09"}


def _check(report, truth, *, tolerance_m: float = 1.0):
    assert report.ok, report.to_text()
    data = report.data
    assert sorted(data["name"]) == sorted(truth["name"])
    assert dict(zip(data["code"], data["name"])) == dict(zip(truth["code"], truth["name"]))
    error = fx.max_position_error_m(data, truth)
    assert error <= tolerance_m, f"position error {error:.3f} m\n{report.to_text()}"
    return error


def _crs_option(system: str, *, declared: bool) -> str | None:
    """What a user must pass: shifted systems always; EPSG systems when the format cannot say."""
    if system in SHIFTED:
        return system
    return None if declared else fx.CRS_CASES[system]


# --- Shapefile and its ZIP --------------------------------------------------------------------

SHP_ENCODINGS = ["utf8_cpg", "utf8_nocpg", "gbk_nocpg"]


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("encoding", SHP_ENCODINGS)
@pytest.mark.parametrize("zipped", [False, True], ids=["shp", "zip"])
def test_shapefile(tmp_path, county_store, encoding, system, zipped):
    truth = fx.truth_grids()
    path = fx.write_shapefile(tmp_path / "shp", truth, encoding=encoding, system=fx.CRS_CASES[system])
    if zipped:
        path = fx.write_zip(tmp_path, path)
    report = run_import(
        county_store, path, kind="grids", dry_run=True, crs=_crs_option(system, declared=True)
    )
    _check(report, truth)
    if encoding == "utf8_cpg":
        assert ".cpg" in report.encoding_reason
    elif encoding == "gbk_nocpg":
        assert report.encoding in ("gbk", "gb18030", "cp936"), report.encoding
    else:
        assert report.encoding == "utf-8"
    if system == "4545":
        assert "4545" in report.crs and ".prj" in report.crs_reason


# --- GeoPackage -------------------------------------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
def test_geopackage(tmp_path, county_store, system):
    truth = fx.truth_grids()
    path = fx.write_gpkg(tmp_path, truth, system=fx.CRS_CASES[system])
    report = run_import(
        county_store, path, kind="grids", dry_run=True, crs=_crs_option(system, declared=True)
    )
    _check(report, truth)
    assert report.encoding == "utf-8"
    if system in SHIFTED:
        assert "覆盖" in report.crs_reason  # the file said WGS84; --crs wins and says so


# --- GeoJSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
@pytest.mark.parametrize("bare", [False, True], ids=["collection", "bare_array"])
def test_geojson(tmp_path, county_store, system, encoding, bare):
    truth = fx.truth_grids()
    path = fx.write_geojson(tmp_path, truth, encoding=encoding, system=fx.CRS_CASES[system], bare=bare)
    # A bare array cannot carry a crs member, so a projected one needs --crs.
    declared = not (bare and system in ("4490", "4545"))
    if bare and system == "4490":
        declared = True  # CGCS2000 lon/lat is inferred as lon/lat (the same to the centimetre)
    report = run_import(
        county_store, path, kind="grids", dry_run=True, crs=_crs_option(system, declared=declared)
    )
    _check(report, truth)
    if bare:
        assert any("要素数组" in n for n in report.notes)
    assert report.encoding == ("gb18030" if encoding == "gbk" else "utf-8")


# --- KML and KMZ ------------------------------------------------------------------------------

KML_SYSTEMS = ["4326", "gcj02", "bd09"]  # KML is WGS84 by definition; GDAL writes nothing else


@pytest.mark.parametrize("system", KML_SYSTEMS)
@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
@pytest.mark.parametrize("kmz", [False, True], ids=["kml", "kmz"])
def test_kml(tmp_path, county_store, system, encoding, kmz):
    truth = fx.truth_grids()
    path = fx.write_kml(tmp_path, truth, encoding=encoding, system=fx.CRS_CASES[system], kmz=kmz)
    report = run_import(
        county_store, path, kind="grids", dry_run=True, crs=_crs_option(system, declared=True)
    )
    _check(report, truth)
    assert report.format == ("kmz" if kmz else "kml")
    if encoding == "gbk":
        assert "GBK" in report.encoding_reason


# --- CSV and XLSX: lon/lat columns and WKT ----------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("encoding", ["utf8_bom", "utf8", "gbk"])
def test_csv_lonlat_points(tmp_path, county_store, system, encoding):
    truth = fx.truth_points()
    path = fx.write_csv(tmp_path, truth, encoding=encoding, system=fx.CRS_CASES[system])
    report = run_import(
        county_store,
        path,
        kind="points",
        dry_run=True,
        crs=_crs_option(system, declared=system in ("4326", "4490")),
    )
    _check(report, truth)
    assert report.encoding == {"utf8_bom": "utf-8-sig", "utf8": "utf-8", "gbk": "gb18030"}[encoding]


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_csv_wkt_polygons(tmp_path, county_store, system, encoding):
    truth = fx.truth_grids()
    path = fx.write_csv(tmp_path, truth, encoding=encoding, system=fx.CRS_CASES[system], wkt=True)
    report = run_import(
        county_store,
        path,
        kind="grids",
        dry_run=True,
        crs=_crs_option(system, declared=system in ("4326", "4490")),
    )
    _check(report, truth)
    assert "WKT" in report.geometry_from


@pytest.mark.parametrize("system", SYSTEMS)
def test_xlsx_lonlat_points_below_title_rows(tmp_path, county_store, system):
    truth = fx.truth_points()
    path = fx.write_xlsx(tmp_path, truth, system=fx.CRS_CASES[system])
    report = run_import(
        county_store,
        path,
        kind="points",
        dry_run=True,
        crs=_crs_option(system, declared=system in ("4326", "4490")),
    )
    _check(report, truth)
    assert any("表头在第 3 行" in n for n in report.notes)
    assert report.findings == [] or all(f.severity == "warning" for f in report.findings)


@pytest.mark.parametrize("system", SYSTEMS)
def test_xlsx_wkt_polygons(tmp_path, county_store, system):
    truth = fx.truth_grids()
    path = fx.write_xlsx(tmp_path, truth, system=fx.CRS_CASES[system], wkt=True, title=False)
    report = run_import(
        county_store,
        path,
        kind="grids",
        dry_run=True,
        crs=_crs_option(system, declared=system in ("4326", "4490")),
    )
    _check(report, truth)


# --- what happens without the --crs that the data needs ---------------------------------------


def test_projected_csv_without_crs_stops_and_asks_for_crs(tmp_path, county_store):
    path = fx.write_csv(tmp_path, fx.truth_points(), encoding="utf8", system="EPSG:4545")
    report = run_import(county_store, path, kind="points", dry_run=True)
    assert not report.ok
    text = report.to_text()
    assert "--crs" in text
    assert "EPSG:4545" in text  # the county's zone is suggested: the store knows where it is


def test_zone_prefixed_coordinates_suggest_the_zone(tmp_path, county_store):
    truth = fx.truth_points()
    path = fx.write_csv(tmp_path, truth, encoding="utf8", system="EPSG:4524")  # zone 36, prefixed
    report = run_import(county_store, path, kind="points", dry_run=True)
    assert not report.ok
    assert "EPSG:4524" in report.to_text()
    fixed = run_import(county_store, path, kind="points", dry_run=True, crs="EPSG:4524")
    _check(fixed, truth)


def test_shifted_data_without_crs_is_imported_with_a_warning_that_names_the_option(tmp_path, county_store):
    truth = fx.truth_grids()
    path = fx.write_shapefile(tmp_path, truth, encoding="utf8_cpg", system="gcj02")
    report = run_import(county_store, path, kind="grids", dry_run=True)
    assert report.ok
    warning = next(f for f in report.warnings if "未声明坐标系" in f.message)
    assert "--crs gcj02" in warning.hint
    # …and the positions are off by the GCJ-02 offset (hundreds of metres), which is the trap.
    assert fx.max_position_error_m(report.data, truth) > 100


def test_column_names_that_state_the_datum_are_obeyed(tmp_path, county_store):
    truth = fx.truth_points()
    data = fx.in_crs(truth, "bd09")
    path = tmp_path / "baidu.csv"
    lines = ["编号,名称,类别,责任单位代码,经度(百度),纬度(百度)"]
    for (_, r), g in zip(data.iterrows(), data.geometry):
        lines.append(f"{r['code']},{r['name']},{r['category']},{r['unit_code']},{g.x:.9f},{g.y:.9f}")
    path.write_text("\n".join(lines), encoding="utf-8")
    report = run_import(county_store, path, kind="points", dry_run=True)
    _check(report, truth)
    assert "BD-09" in report.crs and "列名" in report.crs_reason
