"""gridmap.io.georef on its own: which CRS wins, why, and where the features land."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point

from gridmap.crs import wgs84_from_bd09, wgs84_from_gcj02
from gridmap.errors import DataError, InvalidInput
from gridmap.io.georef import georeference, parse_crs_option
from gridmap.io.source import Source

LON, LAT = 106.52, 33.91  # Feng County (tests/factory.py)


def _source(points, *, declared=None, note="", columns=None, **extra) -> Source:
    frame = gpd.GeoDataFrame(
        columns or {"名称": [f"点{i}" for i in range(len(points))]},
        geometry=[None if p is None else Point(p) for p in points],
    )
    labels = pd.Index([f"第 {i + 2} 行" for i in range(len(points))])
    return Source(
        frame=frame,
        format="csv",
        file="点位.csv",
        labels=labels,
        declared_crs=CRS.from_user_input(declared) if declared else None,
        crs_note=note,
        **extra,
    )


def _xy(series: gpd.GeoSeries) -> np.ndarray:
    return shapely.get_coordinates(series.to_numpy())


def _project(code: str, lon=LON, lat=LAT) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", code, always_xy=True).transform(lon, lat)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("火星坐标", "gcj02"),
        ("bd09", "bd09"),
        ("百度", "bd09"),
    ],
)
def test_parse_crs_option_keeps_shifted_systems_as_names(text, expected):
    assert parse_crs_option(text) == expected


@pytest.mark.parametrize(
    ("text", "epsg"), [("wgs84", 4326), ("cgcs2000", 4490), ("EPSG:4545", 4545), ("4490", 4490)]
)
def test_parse_crs_option_gives_crs_objects(text, epsg):
    assert parse_crs_option(text).to_epsg() == epsg


def test_parse_crs_option_refuses_nonsense_with_examples():
    with pytest.raises(InvalidInput, match=r"无法识别的坐标系“北京坐标”.*EPSG:4545.*gcj02"):
        parse_crs_option("北京坐标")


def test_declared_projected_crs_is_transformed_to_lonlat():
    x, y = _project("EPSG:4545")
    geoms, choice = georeference(_source([(x, y)], declared="EPSG:4545", note=".prj 文件"))
    assert _xy(geoms)[0] == pytest.approx([LON, LAT], abs=1e-9)
    assert geoms.crs.to_epsg() == 4326
    assert choice.label.startswith("EPSG:4545（CGCS2000") and choice.reason == "按 .prj 文件"
    assert choice.findings == []


def test_user_crs_overrides_the_declaration_and_says_so():
    geoms, choice = georeference(
        _source([(LON, LAT)], declared="EPSG:4326", note=".prj 文件"), user_crs="gcj02"
    )
    assert _xy(geoms)[0] == pytest.approx(wgs84_from_gcj02(LON, LAT), abs=1e-9)
    assert choice.label == "GCJ-02（高德/腾讯坐标）"
    assert choice.reason == "按 --crs 指定（覆盖了.prj 文件中的 EPSG:4326（WGS 84））"
    _, same = georeference(
        _source([(LON, LAT)], declared="EPSG:4326", note=".prj 文件"), user_crs="EPSG:4326"
    )
    assert same.reason == "按 --crs 指定"


def test_datum_named_by_the_columns_beats_inference_and_yields_to_crs():
    source = _source(
        [(LON, LAT)], column_datum="bd09", column_datum_note="列名“百度经度”“百度纬度”表明坐标系为 BD-09"
    )
    geoms, choice = georeference(source)
    assert _xy(geoms)[0] == pytest.approx(wgs84_from_bd09(LON, LAT), abs=1e-9)
    assert choice.reason == source.column_datum_note
    _, forced = georeference(source, user_crs="wgs84")
    assert "覆盖了列名" in forced.reason


def test_plausible_lonlat_without_declaration_is_wgs84_with_a_warning():
    geoms, choice = georeference(_source([(LON, LAT), None], note="表格没有坐标系声明"))
    assert _xy(geoms)[0] == pytest.approx([LON, LAT])
    assert geoms.iloc[1] is None  # a missing geometry stays missing
    assert choice.label == "EPSG:4326（WGS 84）" and "按 WGS84/CGCS2000 经纬度处理" in choice.reason
    [warning] = choice.findings
    assert warning.severity == "warning" and "--crs gcj02" in warning.hint


def test_amap_district_attributes_mean_gcj02():
    columns = {"adcode": ["610330"], "name": ["凤县"], "center": ["[106.5,33.9]"], "parent": ["{}"]}
    geoms, choice = georeference(_source([(LON, LAT)], columns=columns))
    assert _xy(geoms)[0] == pytest.approx(wgs84_from_gcj02(LON, LAT), abs=1e-9)
    assert "adcode、center、parent" in choice.reason and "GCJ-02" in choice.reason
    # declared WGS84 is obeyed, but the signature is pointed out
    _, declared = georeference(
        _source([(LON, LAT)], columns=columns, declared="EPSG:4326", note="GeoJSON 的 crs 声明")
    )
    [warning] = declared.findings
    assert "高德/阿里云 DataV" in warning.message and "--crs gcj02" in warning.hint


@pytest.mark.parametrize(
    ("points", "county_lon", "words"),
    [
        ([_project("EPSG:4524")], None, "带号前缀 36.*--crs EPSG:4524"),
        ([_project("EPSG:4545")], LON, "不带带号.*本县数据所在的带为 --crs EPSG:4545"),
        ([(LAT, LON)], None, "经度、纬度顺序颠倒"),
        ([(5.0, 7.0)], None, "既不像经纬度，也不像高斯-克吕格坐标"),
    ],
)
def test_undeclared_non_lonlat_stops_with_a_hint_from_the_numbers(points, county_lon, words):
    with pytest.raises(DataError) as caught:
        georeference(_source(points, note="没有 .prj 文件"), county_lon=county_lon)
    assert "无法确定坐标系" in caught.value.message and "没有 .prj 文件" in caught.value.message
    [finding] = caught.value.findings
    assert finding.file == "点位.csv"
    assert re.search(words, finding.hint), finding.hint


def test_a_wrong_declaration_that_lands_outside_china_is_refused():
    x, y = _project("EPSG:4545")
    with pytest.raises(DataError, match="都不在中国范围内") as caught:
        georeference(_source([(x, y)], declared="EPSG:3857", note=".prj 文件"))
    assert "--crs" in caught.value.findings[0].hint


def test_single_features_outside_china_are_warnings_with_their_place():
    geoms, choice = georeference(_source([(LON, LAT), (10.0, 50.0)], declared="EPSG:4326", note=".prj 文件"))
    assert len(geoms) == 2
    [warning] = choice.findings
    assert warning.feature == "第 3 行" and "(10.0000, 50.0000)" in warning.message
    assert warning.severity == "warning"


def test_old_datums_are_converted_with_a_warning_about_accuracy():
    x, y = _project("EPSG:2381")  # Xian 1980 / 3-degree Gauss-Kruger CM 108E
    geoms, choice = georeference(_source([(x, y)], declared="EPSG:2381", note=".prj 文件"))
    lon, lat = _xy(geoms)[0]
    assert abs(lon - LON) < 0.01 and abs(lat - LAT) < 0.01
    [warning] = choice.findings
    assert "北京54/西安80" in warning.message and warning.severity == "warning"
