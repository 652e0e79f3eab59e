"""gridmap.io.formats on its own: sniffing by content, header rows, coordinate columns, DMS, WKT."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridmap.errors import DataError, InvalidInput
from gridmap.io.coordinates import coordinate_pairs, parse_coordinates
from gridmap.io.formats import read_source
from gridmap.io.sniff import sniff_format

# --- sniff_format: content decides, the extension only breaks ties ---------------------------


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.gpkg", b"SQLite format 3\x00" + b"\x00" * 100, "gpkg"),
        ("a.csv", b"SQLite format 3\x00" + b"\x00" * 100, "gpkg"),  # a misnamed GeoPackage
        ("a.txt", b'  {"type": "FeatureCollection", "features": []}', "geojson"),
        ("a.csv", b'[{"type": "Feature"}]', "geojson"),
        ("a.xml", b'<?xml version="1.0"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"></kml>', "kml"),
        ("a.json", "\ufeff<kml>".encode(), "kml"),  # BOM, then the root element
        ("a.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96, "shapefile"),
        ("a.bin", b"\x00\x00\x27\x0a" + b"\x00" * 96, "shapefile"),  # the .shp magic number
        ("a.dbf", b"\x03\x7a\x01\x01" + b"\x00" * 28, "shapefile"),
        ("a.dat", "名称,经度,纬度\n市场,106.5,33.9\n".encode("gbk"), "csv"),
    ],
)
def test_sniff_format_reads_the_content(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff_format(path) == expected


def test_sniff_format_tells_zips_apart_by_their_members(tmp_path):
    xlsx = _zip(tmp_path / "book.zip", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})
    kmz = _zip(tmp_path / "doc.zip", {"doc.kml": b"<kml/>", "files/icon.png": b"png"})
    shp = _zip(tmp_path / "data.kmz", {"a/grids.shp": b"x", "a/grids.dbf": b"x", "a/readme.kml": b"x"})
    assert sniff_format(xlsx) == "xlsx"
    assert sniff_format(kmz) == "kmz"
    assert sniff_format(shp) == "shapezip"  # a .shp wins over a stray .kml, whatever the name says
    other = _zip(tmp_path / "misc.zip", {"说明.txt": b"x", "照片.jpg": b"y"})
    with pytest.raises(InvalidInput, match=r"没有 Shapefile（.shp）或 KML") as caught:
        sniff_format(other)
    assert "说明.txt" in str(caught.value) and "照片.jpg" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "另存为 .xlsx"),
        (b'<?xml version="1.0"?><gpx version="1.1"></gpx>', "不是 KML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "无法识别"),
    ],
)
def test_sniff_format_refuses_what_it_cannot_read_and_says_why(tmp_path, content, words):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=words) as caught:
        sniff_format(path, display_name="用户文件.xls")
    if words != "无法识别":
        assert "用户文件.xls" in str(caught.value)  # messages name the upload, not the temp file


def test_sniff_format_of_a_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="找不到文件"):
        sniff_format(tmp_path / "nope.csv")


# --- coordinate columns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["名称", "经度", "纬度"], [("经度", "纬度", None)]),
        (["X坐标", "Y坐标"], [("X坐标", "Y坐标", None)]),
        (
            ["Lng_GCJ02", "Lat_GCJ02", "经度", "纬度"],
            [("经度", "纬度", None), ("Lng_GCJ02", "Lat_GCJ02", "gcj02")],
        ),
        (
            ["lng_bd09", "lat_bd09", "WGS84经度", "WGS84纬度"],
            [("WGS84经度", "WGS84纬度", "EPSG:4326"), ("lng_bd09", "lat_bd09", "bd09")],
        ),
        (
            ["CGCS2000经度", "CGCS2000纬度", "百度经度", "百度纬度"],
            [("CGCS2000经度", "CGCS2000纬度", "EPSG:4490"), ("百度经度", "百度纬度", "bd09")],
        ),
        (["经度", "经度(备用)", "纬度"], [("经度", "纬度", None)]),  # "经度备用" is no longitude header
        (["经度", "lon", "纬度"], []),  # two undatumed longitudes: no pair is sure
        (["名称", "地址"], []),
    ],
)
def test_coordinate_pairs_group_by_the_datum_the_headers_name(headers, expected):
    assert coordinate_pairs(headers) == expected


def test_parse_coordinates_decimal_numbers_and_blanks():
    values = parse_coordinates(pd.Series(["106.5213", " 33.9 ", "", None, "abc", 106.25], dtype=object))
    assert values[0] == pytest.approx(106.5213) and values[1] == pytest.approx(33.9)
    assert values[5] == 106.25
    assert np.isnan(values[2:5]).all()


def test_parse_coordinates_degrees_minutes_seconds():
    values = parse_coordinates(
        pd.Series(
            ["106°31′17″", "33度54分30秒N", "106°31'17\"W", "33°30.5′S", "-33:30:00", "x"], dtype=object
        )
    )
    assert values[0] == pytest.approx(106 + 31 / 60 + 17 / 3600)
    assert values[1] == pytest.approx(33 + 54 / 60 + 30 / 3600)
    assert values[2] == pytest.approx(-(106 + 31 / 60 + 17 / 3600))
    assert values[3] == pytest.approx(-(33 + 30.5 / 60))
    assert values[4] == pytest.approx(-33.5)
    assert np.isnan(values[5])


# --- tables: header row, notes, repeated headers, encodings -----------------------------------

POINT_HEADER = "点位编号,点位名称,点位类别,责任单位代码,经度,纬度"


def _csv(tmp_path, lines: list[str], *, encoding="utf-8", name="points.csv"):
    path = tmp_path / name
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def test_csv_header_below_title_rows_repeated_headers_and_notes_are_skipped(tmp_path):
    path = _csv(
        tmp_path,
        [
            "凤县实地考察点位清单,,,,,",
            ",,,,,",
            POINT_HEADER,
            "P1,城关农贸市场,农贸市场,U1,106.515,33.912",
            POINT_HEADER,  # printed tables repeat the header on every page
            "P2,县医院,医院,U2,106.522,33.907",
            "填表人：县创建办张三（联系电话略）,,,,,",
            ",,,,,",
        ],
        encoding="gbk",
    )
    source = read_source(path, kind="points")
    assert source.format == "csv" and source.encoding == "gb18030"
    assert source.frame["点位名称"].tolist() == ["城关农贸市场", "县医院"]
    assert list(source.labels) == ["第 4 行", "第 6 行"]  # spreadsheet row numbers, for messages
    assert any("表头在第 3 行" in n for n in source.notes)
    [note] = [f for f in source.findings if "已跳过" in f.message]
    assert "第 7 行" in note.message and note.severity == "warning"
    assert source.reserved == ("经度", "纬度")
    assert [(p.x, p.y) for p in source.frame.geometry] == [(106.515, 33.912), (106.522, 33.907)]
    assert source.frame.crs is None and source.declared_crs is None
    assert "经度" not in source.frame.columns  # coordinates are not attributes


def test_csv_delimiter_and_bom_are_detected(tmp_path):
    path = _csv(
        tmp_path, [POINT_HEADER.replace(",", ";"), "P1;市场;农贸市场;U1;106.5;33.9"], encoding="utf-8-sig"
    )
    source = read_source(path, kind="points")
    assert source.encoding == "utf-8-sig" and "BOM" in source.encoding_reason
    assert source.frame["点位名称"].tolist() == ["市场"]


def test_blank_coordinates_are_findings_not_points(tmp_path):
    path = _csv(tmp_path, [POINT_HEADER, "P1,甲,医院,U1,106.5,33.9", "P2,乙,医院,U1,,33.9"])
    source = read_source(path, kind="points")
    assert source.frame.geometry.iloc[1] is None
    [finding] = source.findings
    assert finding.feature == "第 3 行" and "经度、纬度" in finding.message


def test_named_datum_columns_are_used_and_recorded(tmp_path):
    path = _csv(
        tmp_path, ["点位编号,点位名称,点位类别,责任单位代码,Lng_GCJ02,Lat_GCJ02", "P1,甲,医院,U1,106.5,33.9"]
    )
    source = read_source(path, kind="points")
    assert source.column_datum == "gcj02"
    assert "GCJ-02" in source.column_datum_note and "Lng_GCJ02" in source.column_datum_note


def test_two_undatumed_coordinate_pairs_need_xy_and_xy_must_exist(tmp_path):
    path = _csv(
        tmp_path,
        [
            "点位编号,点位名称,点位类别,责任单位代码,经度,纬度,X坐标,Y坐标",
            "P1,甲,医院,U1,106.5,33.9,500000,3750000",
        ],
    )
    # Both pairs are undatumed, so neither is sure; the message must point to --xy. (The
    # message says "找不到坐标列" although it lists both pairs: the "多组坐标列" branch of
    # _finish_geometry is unreachable, since coordinate_pairs never returns two undatumed pairs.)
    with pytest.raises((InvalidInput, DataError), match="--xy"):
        read_source(path, kind="points")
    source = read_source(path, kind="points", xy=("X坐标", "Y坐标"))
    assert (source.frame.geometry.iloc[0].x, source.frame.geometry.iloc[0].y) == (500000, 3750000)
    assert "按 --xy 指定" in source.geometry_from
    assert "经度" in source.frame.columns  # the other pair stays an attribute
    with pytest.raises(InvalidInput, match="“lon、lat”不存在"):
        read_source(path, kind="points", xy=("lon", "lat"))


def test_wkt_column_gives_polygons_and_bad_wkt_is_a_finding(tmp_path):
    poly = box(106.51, 33.905, 106.52, 33.915).wkt
    path = _csv(
        tmp_path,
        [
            "网格编码,网格名称,所属镇代码,边界",
            f'G1,滨江网格,T1,"SRID=4326;{poly}"',
            "G2,新建路网格,T1,POLYGON((1 2, 3",
        ],
    )
    source = read_source(path, kind="grids")
    assert source.geometry_from == "WKT 列“边界”" and source.reserved == ("边界",)
    assert source.frame.geometry.iloc[0].equals(box(106.51, 33.905, 106.52, 33.915))
    assert source.frame.geometry.iloc[1] is None
    [finding] = source.findings
    assert finding.feature == "第 3 行" and finding.field == "边界"


def test_polygon_layer_cannot_come_from_lonlat_columns(tmp_path):
    path = _csv(tmp_path, ["网格编码,网格名称,所属镇代码,经度,纬度", "G1,甲,T1,106.5,33.9"])
    with pytest.raises(InvalidInput, match="不能由经纬度列生成"):
        read_source(path, kind="grids")


def test_a_layer_without_coordinates_names_the_columns_it_has(tmp_path):
    path = _csv(tmp_path, [POINT_HEADER.rsplit(",", 2)[0], "P1,甲,医院,U1"])
    with pytest.raises(DataError, match="找不到坐标列") as caught:
        read_source(path, kind="points")
    assert "点位名称" in str(caught.value)


def test_tables_keep_no_geometry(tmp_path):
    path = tmp_path / "units.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"单位代码": "U1", "单位名称": "县住建局"},
                        "geometry": {"type": "Point", "coordinates": [106.5, 33.9]},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    source = read_source(path, kind="units")
    assert not source.is_spatial
    assert source.frame.to_dict("records") == [{"单位代码": "U1", "单位名称": "县住建局"}]


def test_empty_table_and_unknown_encoding_and_kind(tmp_path):
    empty = _csv(tmp_path, [",,", ",,"], name="empty.csv")
    with pytest.raises(DataError, match="是空的"):
        read_source(empty, kind="units")
    ok = _csv(tmp_path, ["单位代码,单位名称", "U1,甲"])
    with pytest.raises(InvalidInput, match="无法识别的编码“klingon”"):
        read_source(ok, kind="units", encoding="klingon")
    with pytest.raises(InvalidInput, match="未知的数据类型“villages”"):
        read_source(ok, kind="villages")
    with pytest.raises(DataError, match="不能按 utf-8 解码"):
        read_source(
            _csv(tmp_path, ["单位代码,单位名称", "U1,县住建局"], encoding="gbk", name="g.csv"),
            kind="units",
            encoding="utf-8",
        )


# --- vector files -----------------------------------------------------------------------------


def test_geopackage_layer_is_chosen_by_kind_and_crs_is_declared(tmp_path):
    path = tmp_path / "two.gpkg"
    grids = gpd.GeoDataFrame({"网格名称": ["甲"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4545")
    points = gpd.GeoDataFrame({"点位名称": ["乙"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    grids.to_file(path, layer="网格", driver="GPKG", engine="pyogrio")
    points.to_file(path, layer="points", driver="GPKG", engine="pyogrio")
    source = read_source(path, kind="grids")
    assert source.layer == "网格" and source.frame["网格名称"].tolist() == ["甲"]
    assert source.declared_crs.to_epsg() == 4545 and source.geometry_from == "几何字段"
    assert list(source.labels) == ["FID 1"]
    assert read_source(path, kind="points").layer == "points"
    with pytest.raises(InvalidInput, match="多个图层"):
        read_source(path, kind="rivers")
    with pytest.raises(InvalidInput, match="没有名为“道路”的图层"):
        read_source(path, kind="rivers", layer="道路")


def test_bare_feature_array_is_read_as_a_collection_without_crs(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps(
            [
                {
                    "type": "Feature",
                    "properties": {"名称": "嘉陵江"},
                    "geometry": {"type": "LineString", "coordinates": [[106.5, 33.9], [106.6, 33.9]]},
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    source = read_source(path, kind="rivers")
    assert source.format == "geojson" and source.declared_crs is None
    assert any("要素数组" in n for n in source.notes)
    assert "RFC 7946" in source.crs_note
    assert source.frame["名称"].tolist() == ["嘉陵江"]


def test_sniff_bom_kml_with_a_character_cut_at_the_sniffed_head(tmp_path):
    # The head read for sniffing (8192 bytes) ends inside a UTF-8 character of a KML with a BOM.
    head = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<kml><Document><name>'
    pad = "凤".encode() * ((8192 - len(head)) // 3 + 1)
    assert (8192 - len(head)) % 3 and len(head) + len(pad) > 8192  # byte 8192 is inside a character
    path = tmp_path / "cut.kml"
    path.write_bytes(head + pad + b"</name></Document></kml>")
    assert sniff_format(path) == "kml"
