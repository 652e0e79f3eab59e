"""Tests for gridmap.io.encoding: .cpg, LDID and content-based DBF encoding detection."""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from gridmap.errors import DataError, InvalidInput
from gridmap.io.encoding import detect_dbf_encoding
from tests.realdata import REALDATA as _SHARED

NAMES = ["凤县", "宝鸡市", "双石铺镇", "凤州镇"]

REALDATA = _SHARED / "chinese_pitfalls"


def _write_shapefile(
    folder: Path,
    *,
    encoding: str,
    names: list[str] = NAMES,
    keep_cpg: bool = True,
    stem: str = "towns",
    columns: dict[str, list] | None = None,
) -> Path:
    """Write a small point shapefile with pyogrio (ENCODING layer option); maybe drop the .cpg."""
    if columns is None:
        columns = {"name": names, "code": [f"6103{i:02d}" for i in range(len(names))]}
    data = columns
    n = len(next(iter(data.values())))
    gdf = gpd.GeoDataFrame(
        {**data, "n": list(range(n))},
        geometry=[Point(106.5 + i / 100, 33.9) for i in range(n)],
        crs="EPSG:4326",
    )
    shp = folder / f"{stem}.shp"
    # pyogrio turns `encoding=` into the ENCODING layer creation option of the Shapefile driver
    # (passing layer_options={"ENCODING": ...} is overridden by pyogrio's own UTF-8 default).
    pyogrio.write_dataframe(gdf, shp, encoding=encoding)
    cpg = shp.with_suffix(".cpg")
    assert cpg.exists()
    if not keep_cpg:
        cpg.unlink()
    return shp


def _set_ldid(shp: Path, ldid: int) -> None:
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = ldid
    dbf.write_bytes(bytes(data))


def _read_names(shp: Path, encoding: str, column: str = "name") -> list[str]:
    df = pyogrio.read_dataframe(shp, encoding=encoding, read_geometry=False)
    return df[column].tolist()


# --- generated shapefiles ---------------------------------------------------------------------


def test_utf8_with_cpg(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="UTF-8")
    encoding, reason = detect_dbf_encoding(shp.with_suffix(".dbf"))
    assert encoding == "utf-8"
    assert "按 .cpg 文件" in reason
    assert _read_names(shp, encoding) == NAMES


def test_utf8_without_cpg(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="UTF-8", keep_cpg=False)
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "utf-8"
    assert reason.startswith("无 .cpg")
    assert "UTF-8" in reason
    assert _read_names(shp, encoding) == NAMES


def test_gbk_without_cpg(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK", keep_cpg=False)
    raw = shp.with_suffix(".dbf").read_bytes()
    assert "凤县".encode("gbk") in raw and "凤县".encode() not in raw
    assert raw[29] == 0  # GDAL writes no LDID, so only the content can tell
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    assert "无 .cpg，按内容判断为 GBK/GB18030" in reason
    assert _read_names(shp, encoding) == NAMES


def test_gbk_with_cpg_is_obeyed(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK")
    assert detect_dbf_encoding(shp) == ("gbk", "按 .cpg 文件（GBK）")
    assert _read_names(shp, "gbk") == NAMES


@pytest.mark.parametrize(
    ("cpg_text", "expected"),
    [
        ("UTF-8", "utf-8"),
        ("utf-8\r\n", "utf-8"),
        ("\ufeffUTF-8", "utf-8"),
        ("65001", "utf-8"),
        ("GBK", "gbk"),
        ("936", "cp936"),
        ("CP936", "cp936"),
        ("GB2312", "gbk"),
        ("GB18030", "gb18030"),
        ("gb18030", "gb18030"),
        ("950", "cp950"),
        ("1252", "cp1252"),
    ],
)
def test_cpg_values_map_to_codecs(tmp_path: Path, cpg_text: str, expected: str) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK")
    shp.with_suffix(".cpg").write_bytes(cpg_text.encode("utf-8"))
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == expected
    assert reason.startswith("按 .cpg 文件")
    b"".decode(encoding)  # a real Python codec


def test_cpg_that_lies_is_obeyed_but_flagged(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK")
    shp.with_suffix(".cpg").write_text("UTF-8")
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "utf-8"
    assert ".cpg 可能有误" in reason
    # The other way round: UTF-8 text under a GBK .cpg decodes without error, as mojibake.
    shp = _write_shapefile(tmp_path, encoding="UTF-8", names=["凤县", "双石铺镇"], stem="other")
    shp.with_suffix(".cpg").write_text("GBK")
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "gbk"
    assert "看起来是 UTF-8" in reason


def test_unknown_or_empty_cpg_falls_back_to_content(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK")
    cpg = shp.with_suffix(".cpg")
    cpg.write_text("NOT-A-CODEPAGE")
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    assert "无法识别" in reason
    cpg.write_text("")
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    assert reason.startswith(".cpg 为空")


@pytest.mark.parametrize(("ldid", "expected"), [(0x4D, "cp936"), (0x7A, "gbk")])
def test_ldid_names_the_codepage(tmp_path: Path, ldid: int, expected: str) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK", keep_cpg=False)
    _set_ldid(shp, ldid)
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == expected
    assert f"按 DBF 头部 LDID=0x{ldid:02X}" in reason
    assert _read_names(shp, encoding) == NAMES


def test_ldid_ansi_is_undetermined(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK", keep_cpg=False)
    _set_ldid(shp, 0x57)
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    assert "LDID=0x57" in reason and "按内容判断" in reason


def test_ldid_contradicted_by_content(tmp_path: Path) -> None:
    # UTF-8 text under an LDID that claims GBK. The UTF-8 bytes of these names even decode
    # as GBK (to mojibake), so decoding alone cannot catch the stale LDID.
    names = ["凤县", "双石铺镇"]
    for name in names:
        assert name.encode("utf-8").decode("gbk") != name
    shp = _write_shapefile(tmp_path, encoding="UTF-8", names=names, keep_cpg=False)
    _set_ldid(shp, 0x4D)
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "utf-8"
    assert "与内容不符" in reason
    assert _read_names(shp, encoding) == names


def test_gbk_names_that_are_also_valid_utf8(tmp_path: Path) -> None:
    # GBK 太原 = CC AB D4 AD and 思茅 = CB BC C3 A9 are valid UTF-8 too (as "̫ԭ", "˼é");
    # the real NGCC res1_4m.dbf / res2_4m.dbf contain exactly these.
    names = ["太原", "思茅", "鹰潭"]
    for name in names:
        name.encode("gbk").decode("utf-8")  # the trap is real
    shp = _write_shapefile(tmp_path, encoding="GBK", names=names, keep_cpg=False)
    encoding, _ = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    assert _read_names(shp, encoding) == names


def test_utf8_latin_text_stays_utf8(tmp_path: Path) -> None:
    names = ["Café Fengxian", "Ürümqi Road"]
    shp = _write_shapefile(tmp_path, encoding="UTF-8", names=names, keep_cpg=False)
    assert detect_dbf_encoding(shp)[0] == "utf-8"


def test_pure_ascii_is_utf8(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK", names=["Fengxian", "Baoji"], keep_cpg=False)
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == "utf-8"
    assert "ASCII" in reason


def test_chinese_field_names_count_as_content(tmp_path: Path) -> None:
    shp = _write_shapefile(
        tmp_path, encoding="GBK", keep_cpg=False, columns={"网格名称": ["G01", "G02"], "镇": ["A", "B"]}
    )
    encoding, _ = detect_dbf_encoding(shp)
    assert encoding == "gb18030"
    df = pyogrio.read_dataframe(shp, encoding=encoding, read_geometry=False)
    assert "网格名称" in df.columns


# --- hand-made DBF bytes: edge cases pyogrio will not write ------------------------------------


def _write_dbf(path: Path, fields: list[tuple[str, int]], rows: list[list[bytes]], *, ldid: int = 0) -> None:
    """A minimal dBASE III file with character fields only."""
    header_length = 32 + 32 * len(fields) + 1
    record_length = 1 + sum(width for _, width in fields)
    out = bytearray(struct.pack("<BBBBIHH", 3, 124, 1, 1, len(rows), header_length, record_length))
    out += bytes(17) + bytes([ldid]) + bytes(2)
    for name, width in fields:
        out += name.encode("ascii").ljust(11, b"\x00") + b"C" + bytes(4)
        out += bytes([width, 0]) + bytes(14)
    out += b"\r"
    for row in rows:
        out += b" " + b"".join(v[:w].ljust(w, b" ") for v, (_, w) in zip(row, fields, strict=True))
    out += b"\x1a"
    path.write_bytes(bytes(out))


def test_multibyte_character_cut_at_field_width(tmp_path: Path) -> None:
    # Some writers cut text at the byte width, splitting the last character.
    dbf = tmp_path / "cut.dbf"
    text = "凤县双石铺镇".encode()
    _write_dbf(dbf, [("NAME", 8)], [[text], ["凤州镇".encode()]])
    # 8 bytes: two whole characters and two of the third's three bytes.
    assert dbf.read_bytes().count(b"\xe5\x87\xa4\xe5\x8e\xbf\xe5\x8f") == 1
    assert detect_dbf_encoding(dbf)[0] == "utf-8"


def test_undecodable_mix_is_reported(tmp_path: Path) -> None:
    dbf = tmp_path / "mixed.dbf"
    rows = [["凤县".encode()], ["凤州镇".encode()], ["宝鸡市".encode("gbk")], [b"\x80\xff\x80"]]
    _write_dbf(dbf, [("NAME", 20)], rows)
    encoding, reason = detect_dbf_encoding(dbf)
    assert encoding in {"utf-8", "gb18030"}
    assert "无法确定" in reason


def test_bad_paths_and_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        detect_dbf_encoding(tmp_path / "towns.geojson")
    with pytest.raises(DataError, match=r".dbf"):
        detect_dbf_encoding(tmp_path / "missing.shp")
    short = tmp_path / "short.dbf"
    short.write_bytes(b"\x03\x00")
    with pytest.raises(DataError, match="不是有效的 DBF"):
        detect_dbf_encoding(short)
    broken = tmp_path / "broken.dbf"
    _write_dbf(broken, [("NAME", 20)], [[b"x"]])
    data = bytearray(broken.read_bytes())
    data[10:12] = struct.pack("<H", 5)  # record length shorter than the fields
    broken.write_bytes(bytes(data))
    with pytest.raises(DataError, match="头部损坏"):
        detect_dbf_encoding(broken)


def test_upper_case_extensions(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path, encoding="GBK", stem="roads")
    for suffix in (".dbf", ".cpg"):
        shp.with_suffix(suffix).rename(shp.with_suffix(suffix.upper()))
    assert detect_dbf_encoding(shp) == ("gbk", "按 .cpg 文件（GBK）")


# --- real data (skipped when /work/shared/realdata is absent) ---------------------------------

GBK_BY_CONTENT = ("无 .cpg", "GBK/GB18030")
REAL_CASES = [
    # shapefile, expected encoding, words in the reason, column, names that must read intact
    pytest.param(
        "ngcc_400w_wgs_noprj_gbk/XianCh_point.shp",
        "gb18030",
        GBK_BY_CONTENT,
        "NAME",
        {"凤县"},
        id="ngcc-gbk-nocpg-counties",
    ),
    pytest.param(
        "ngcc_400w_wgs_noprj_gbk/res2_4m.shp",
        "gb18030",
        GBK_BY_CONTENT,
        "NAME",
        {"宝鸡", "太原"},
        id="ngcc-gbk-nocpg-cities",
    ),
    pytest.param(
        "ngcc_400w_wgs_noprj_gbk/res1_4m.shp",
        "gb18030",
        GBK_BY_CONTENT,
        "NAME",
        {"太原"},
        id="ngcc-gbk-nocpg-capitals",
    ),
    pytest.param(
        "garybikini_baoji_2020_nocpg_noprj/宝鸡市.shp",
        "utf-8",
        ("无 .cpg", "UTF-8"),
        "name",
        {"凤县"},
        id="garybikini-utf8-nocpg",
    ),
    pytest.param(
        "cgcs2000_geographic_4490_utf8/市.shp",
        "utf-8",
        ("按 .cpg 文件",),
        "市名",
        {"宝鸡市"},
        id="cgcs2000-utf8-cpg",
    ),
    pytest.param(
        "city_points_2023_gbk_ldid936/地级市点位数据.shp",
        "cp936",
        ("LDID=0x4D",),
        "城市",
        {"宝鸡市"},
        id="citypoints-gbk-ldid936",
    ),
    pytest.param(
        "china400w_lambert_beijing54_gbk/县城驻地.shp",
        "cp936",
        ("LDID=0x4D",),
        "name",
        {"凤县"},
        id="lambert-gbk-ldid936",
    ),
]


@pytest.mark.parametrize(("rel", "expected", "words", "column", "names"), REAL_CASES)
def test_real_chinese_shapefiles(
    rel: str, expected: str, words: tuple[str, ...], column: str, names: set[str]
) -> None:
    shp = REALDATA / rel
    if not shp.exists():
        pytest.skip(f"real data not available: {shp}")
    encoding, reason = detect_dbf_encoding(shp)
    assert encoding == expected, reason
    for word in words:
        assert word in reason
    df = pyogrio.read_dataframe(shp, encoding=encoding, read_geometry=False)
    assert column in df.columns  # Chinese field names (市名, 城市) come through too
    assert names <= set(df[column].dropna())


def test_real_feng_county_record_reads_intact() -> None:
    shp = REALDATA / "ngcc_400w_wgs_noprj_gbk/XianCh_point.shp"
    if not shp.exists():
        pytest.skip(f"real data not available: {shp}")
    encoding, _ = detect_dbf_encoding(shp)
    df = pyogrio.read_dataframe(shp, encoding=encoding)
    feng = df[df["NAME"] == "凤县"]
    assert len(feng) == 1
    assert int(feng["ADCODE93"].iloc[0]) == 610330
    assert feng.geometry.iloc[0].x == pytest.approx(106.51279, abs=1e-5)
    assert feng.geometry.iloc[0].y == pytest.approx(33.918312, abs=1e-5)


# --- the one text decoder ------------------------------------------------------------------------

from gridmap.io.encoding import codec_label, decode_text, detect_file_codec, normalize_codec  # noqa: E402
from gridmap.parsing import parse_json  # noqa: E402


def test_decode_text_order_bom_utf8_gb18030():
    bom = decode_text(b"\xef\xbb\xbf" + "名称,编码".encode())
    assert (bom.text, bom.codec, bom.reason) == ("名称,编码", "utf-8-sig", "带 UTF-8 BOM 标记")
    plain = decode_text("凤县".encode(), what="无 .cpg，")
    assert (plain.text, plain.codec, plain.reason) == ("凤县", "utf-8", "无 .cpg，按内容判断为 UTF-8")
    gbk = decode_text("双石铺镇".encode("gbk"))
    assert (gbk.text, gbk.codec) == ("双石铺镇", "gb18030")
    assert "GBK/GB18030" in gbk.reason


def test_decode_text_given_codec_wins_and_must_fit():
    text = "凤州镇".encode("gbk")
    assert decode_text(text, codec="gbk").text == "凤州镇"
    assert decode_text(text, codec="gbk").reason == "按 --encoding 指定"
    assert decode_text(b"\xef\xbb\xbfname", codec="utf-8").text == "name"  # a BOM is not a character
    with pytest.raises(DataError, match=r"towns.csv 不能按 utf-8 解码（第 3 个字节有误）") as caught:
        decode_text(b"ab" + text, codec="utf-8", name="towns.csv")
    assert caught.value.findings and caught.value.findings[0].file == "towns.csv"


def test_decode_text_refuses_or_replaces_what_is_neither():
    junk = b"name\n\x81\x20"  # 0x81 0x20 is neither UTF-8 nor GB18030
    with pytest.raises(DataError, match=r"a.csv 既不是 UTF-8 也不是 GBK 编码（第 6 个字节无法解码）"):
        decode_text(junk, name="a.csv")
    lenient = decode_text(junk, lenient=True)
    assert lenient.text.startswith("name\n") and "\ufffd" in lenient.text
    assert lenient.codec == "gb18030" and "已替换" in lenient.reason


def test_decode_text_error_class_for_request_bodies():
    with pytest.raises(InvalidInput, match="第 3 个字节有误") as caught:
        decode_text(b'{"\xff', codec="utf-8-sig", name="请求体 JSON", error=InvalidInput)
    assert not caught.value.findings
    with pytest.raises(
        InvalidInput, match=r"请求体 JSON 不能按 utf-8 解码（第 9 个字节有误）；请以 UTF-8 发送"
    ):
        parse_json(b'{"name":\xb7\xef}')
    assert parse_json(b'\xef\xbb\xbf{"name": "\xe5\x87\xa4"}') == {"name": "凤"}


def test_codec_names_and_labels():
    assert normalize_codec(" GBK ") == "gbk"
    assert normalize_codec("UTF8") == "utf-8"
    assert normalize_codec("cp936") == "gbk"
    with pytest.raises(InvalidInput, match="无法识别的编码“latin-9x”；常用：UTF-8、GBK、GB18030"):
        normalize_codec("latin-9x")
    assert codec_label("gb18030") == "GB18030（GBK 的超集）"
    assert codec_label("utf-8-sig") == "UTF-8（带 BOM）"
    assert codec_label("big5") == "BIG5"
    assert codec_label(None) == ""


def test_detect_file_codec_streams_across_chunks(tmp_path):
    # A character split by the 1 MiB chunk boundary still decodes as UTF-8.
    path = tmp_path / "big.kml"
    path.write_bytes(b"x" * ((1 << 20) - 1) + "凤县".encode() * 3)
    assert detect_file_codec(path, name="big.kml") == ("utf-8", "按内容判断为 UTF-8")
    gbk = tmp_path / "gbk.kml"
    gbk.write_bytes(b"x" * ((1 << 20) - 1) + "凤县".encode("gbk") * 3)
    assert detect_file_codec(gbk, name="gbk.kml")[0] == "gb18030"
    with pytest.raises(DataError, match=r"gbk.kml 不能按 utf-8 解码（约第 1048576 个字节有误）"):
        detect_file_codec(gbk, codec="utf-8", name="gbk.kml")


def test_detect_file_codec_declared_encoding(tmp_path):
    path = tmp_path / "doc.kml"
    path.write_bytes('<?xml version="1.0" encoding="GBK"?><kml><name>凤县</name></kml>'.encode("gbk"))
    assert detect_file_codec(
        path, name="doc.kml", declared="gbk", declared_as='XML 声明（encoding="GBK"）'
    ) == ("gbk", '按 XML 声明（encoding="GBK"）')
    utf8 = tmp_path / "utf8.kml"
    utf8.write_bytes('<?xml version="1.0" encoding="ascii"?><kml><name>凤县</name></kml>'.encode())
    codec, reason = detect_file_codec(
        utf8, name="utf8.kml", declared="ascii", declared_as='XML 声明（encoding="ascii"）'
    )
    assert codec == "utf-8" and reason == 'XML 声明（encoding="ascii"）与内容不符，按内容判断为 UTF-8'
