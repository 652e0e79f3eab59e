"""Import fixtures made on the spot: the same grids and points in every format, encoding and CRS."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import shapely
from shapely.geometry import Point, Polygon

from gridmap import crs as gcrs

# Names chosen to trip encoders: 太原 in GBK is valid UTF-8 (mojibake trap), 镕 and 堃 are
# rare characters, · and （） are punctuation that GBK and UTF-8 encode differently.
GRID_NAMES = ["双石铺镇滨江网格", "太原路网格", "凤州镇·镕堃（东）网格"]
GRID_CODES = ["610330100001", "610330100002", "610330100003"]
TOWN_CODE = "610330100"
POINT_NAMES = ["城关农贸市场", "太原路小学", "县医院（新院）"]
POINT_CODES = ["P01", "P02", "P03"]
UNIT_CODE = "U1"

_X = (106.510, 106.5135, 106.5172, 106.521)
_Y0, _Y1 = 33.905, 33.9121


def truth_grids() -> gpd.GeoDataFrame:
    """Three adjacent grids in WGS84 with irregular shared edges."""
    polys = []
    for i in range(3):
        x0, x1 = _X[i], _X[i + 1]
        polys.append(
            Polygon(
                [
                    (x0, _Y0),
                    (x1, _Y0),
                    (x1 + 0.0003, (_Y0 + _Y1) / 2),
                    (x1, _Y1),
                    (x0, _Y1),
                    (x0 + 0.0003, (_Y0 + _Y1) / 2) if i else (x0, (_Y0 + _Y1) / 2),
                ]
            )
        )
    return gpd.GeoDataFrame(
        {"code": GRID_CODES, "name": GRID_NAMES, "town_code": [TOWN_CODE] * 3},
        geometry=polys,
        crs="EPSG:4326",
    )


def truth_points() -> gpd.GeoDataFrame:
    pts = [Point(106.5112, 33.9071), Point(106.5150, 33.9102), Point(106.5190, 33.9066)]
    return gpd.GeoDataFrame(
        {
            "code": POINT_CODES,
            "name": POINT_NAMES,
            "category": ["农贸市场", "学校", "医院"],
            "unit_code": [UNIT_CODE] * 3,
        },
        geometry=pts,
        crs="EPSG:4326",
    )


def town() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [TOWN_CODE], "name": ["双石铺镇"]},
        geometry=[shapely.box(106.40, 33.80, 106.60, 34.00)],
        crs="EPSG:4326",
    )


def in_crs(gdf: gpd.GeoDataFrame, target: str) -> gpd.GeoDataFrame:
    """The truth expressed in a target system: EPSG codes through PROJ, gcj02/bd09 shifted."""
    if target in ("gcj02", "bd09"):
        out = gdf.copy()
        out.geometry = gcrs.convert_geoseries(gdf.geometry, source="wgs84", target=target)
        return out
    return gdf.to_crs(target)


# CRS cases: (id, the truth's system, --crs the user must give or None when the file says it)
CRS_CASES = {
    "4326": "EPSG:4326",
    "4490": "EPSG:4490",
    "4545": "EPSG:4545",
    "gcj02": "gcj02",
    "bd09": "bd09",
}


def _drop(path: Path, *suffixes: str) -> None:
    for suffix in suffixes:
        path.with_suffix(suffix).unlink(missing_ok=True)


def write_shapefile(
    folder: Path, gdf: gpd.GeoDataFrame, *, encoding: str, system: str, name: str = "网格"
) -> Path:
    """encoding: utf8_cpg | utf8_nocpg | gbk_nocpg. GCJ-02/BD-09 data carry no .prj."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.shp"
    data = in_crs(gdf, system)
    pyogrio.write_dataframe(data, path, encoding="GBK" if encoding.startswith("gbk") else "UTF-8")
    if encoding != "utf8_cpg":
        _drop(path, ".cpg")
    if system in ("gcj02", "bd09"):
        _drop(path, ".prj")
    return path


def write_zip(folder: Path, shp: Path) -> Path:
    out = folder / f"{shp.stem}.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for part in sorted(shp.parent.glob(f"{shp.stem}.*")):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    return out


def write_gpkg(folder: Path, gdf: gpd.GeoDataFrame, *, system: str, layer: str = "网格") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.gpkg"
    data = in_crs(gdf, system)
    if system in ("gcj02", "bd09"):
        data = data.set_crs("EPSG:4326", allow_override=True)  # what phone-app data claims
    pyogrio.write_dataframe(data, path, layer=layer)
    return path


def write_geojson(
    folder: Path, gdf: gpd.GeoDataFrame, *, encoding: str, system: str, bare: bool = False
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.geojson"
    data = in_crs(gdf, system)
    if system in ("gcj02", "bd09"):
        data = data.set_crs("EPSG:4326", allow_override=True)
    pyogrio.write_dataframe(data, path, driver="GeoJSON")
    text = path.read_text(encoding="utf-8")
    if bare:
        text = json.dumps(json.loads(text)["features"], ensure_ascii=False)
    path.write_bytes(text.encode("gbk" if encoding.startswith("gbk") else "utf-8"))
    return path


def write_kml(folder: Path, gdf: gpd.GeoDataFrame, *, encoding: str, system: str, kmz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.kml"
    data = in_crs(gdf, system)
    if system in ("gcj02", "bd09"):
        data = data.set_crs("EPSG:4326", allow_override=True)
    pyogrio.write_dataframe(data, path, driver="KML")
    text = path.read_text(encoding="utf-8")
    if encoding.startswith("gbk"):
        text = text.replace('encoding="utf-8"', 'encoding="GBK"', 1)
        raw = text.encode("gbk")
    else:
        raw = text.encode("utf-8")
    if not kmz:
        path.write_bytes(raw)
        return path
    path.unlink()
    out = folder / "data.kmz"
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("doc.kml", raw)
    return out


def _xy_rows(gdf: gpd.GeoDataFrame, system: str, *, wkt: bool) -> tuple[list[str], list[list]]:
    data = in_crs(gdf, system)
    projected = system == "EPSG:4545"
    attrs = [c for c in gdf.columns if c != "geometry"]
    if wkt:
        header = [*attrs, "WKT"]
        rows = [
            [*r[attrs], shapely.to_wkt(g, rounding_precision=9 if not projected else 4)]
            for (_, r), g in zip(data.iterrows(), data.geometry)
        ]
    else:
        header = [*attrs, "X" if projected else "经度", "Y" if projected else "纬度"]
        rows = [
            [*r[attrs], round(g.x, 4 if projected else 9), round(g.y, 4 if projected else 9)]
            for (_, r), g in zip(data.iterrows(), data.geometry)
        ]
    return header, rows


def write_csv(folder: Path, gdf: gpd.GeoDataFrame, *, encoding: str, system: str, wkt: bool = False) -> Path:
    """encoding: utf8_bom | utf8 | gbk."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    header, rows = _xy_rows(gdf, system, wkt=wkt)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    codec = {"utf8_bom": "utf-8-sig", "utf8": "utf-8", "gbk": "gbk"}[encoding]
    path.write_bytes(buffer.getvalue().encode(codec))
    return path


def write_xlsx(
    folder: Path, gdf: gpd.GeoDataFrame, *, system: str, wkt: bool = False, title: bool = True
) -> Path:
    """A sheet with a merged title row and a note row above the header, like office tables."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.xlsx"
    header, rows = _xy_rows(gdf, system, wkt=wkt)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "点位表"
    if title:
        sheet.append(["凤县创文点位责任表"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        sheet.append(["填报单位：县创建办", None, None, "日期：2024-05-01"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def hausdorff_m(a, b) -> float:
    """Hausdorff distance in metres between two WGS84 geometries (via the local zone)."""
    sa = gpd.GeoSeries([a], crs="EPSG:4326").to_crs("EPSG:4545").iloc[0]
    sb = gpd.GeoSeries([b], crs="EPSG:4326").to_crs("EPSG:4545").iloc[0]
    return float(shapely.hausdorff_distance(sa, sb, densify=0.25))


def max_position_error_m(imported: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> float:
    by_code = truth.set_index("code").geometry
    errors = [hausdorff_m(geom, by_code[code]) for code, geom in zip(imported["code"], imported.geometry)]
    return float(np.max(errors))


# --- hostile files ---------------------------------------------------------------------------

_MIB = 1024 * 1024


def _deflated_spaces(unpacked: int) -> tuple[bytes, int]:
    """A raw deflate stream of `unpacked` spaces and its CRC-32, made in well under a second.

    After a full flush deflate starts afresh, so every 1 MiB block compresses to the same bytes:
    compress one block, repeat it (what a bomb maker does; zlib would take ~8 s for 768 MiB).
    """
    import zlib

    block = b" " * _MIB
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(unpacked, _MIB)
    tail = squeeze.compress(b" " * rest) + squeeze.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(b" " * rest, crc)
    return one * whole + tail, crc


def write_bomb(
    path: Path,
    *,
    member: str = "doc.kml",
    unpacked: int = 768 * _MIB,
    stated: int | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A ZIP whose `member` inflates to `unpacked` bytes of spaces (768 MiB from ~770 KB).

    stated: the uncompressed size the ZIP's directories claim (a lie when not `unpacked`).
    extra: small members stored before the bomb, e.g. a real .shp or XLSX parts.
    """
    import struct
    import zlib

    entries = [(name, data, zlib.crc32(data), len(data), 0) for name, data in (extra or {}).items()]
    data, crc = _deflated_spaces(unpacked)
    entries.append((member, data, crc, unpacked if stated is None else stated, 8))
    out = bytearray()
    central = bytearray()
    for name, payload, crc32, size, method in entries:
        raw_name = name.encode("utf-8")
        offset = len(out)
        out += (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0x800,
                method,
                0,
                0x21,
                crc32,
                len(payload),
                size,
                len(raw_name),
                0,
            )
            + raw_name
            + payload
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0x800,
                method,
                0,
                0x21,
                crc32,
                len(payload),
                size,
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )
    out += central + struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0
    )
    path.write_bytes(bytes(out))
    return path


def qgis_kml(folder: Path, gdf: gpd.GeoDataFrame, *, names: list[str | None] | None = None) -> Path:
    """A KML as QGIS/GDAL write it: empty <name>, the attributes in ExtendedData/SchemaData.

    names: what each placemark's <name> holds (default: empty for all, as QGIS writes it).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "网格_qgis.kml"
    names = names if names is not None else [""] * len(gdf)
    placemarks = []
    for (_, row), label in zip(gdf.iterrows(), names):
        ring = " ".join(f"{x},{y}" for x, y in row.geometry.exterior.coords)
        placemarks.append(
            f"  <Placemark>\n    <name>{label or ''}</name>\n"
            '    <ExtendedData><SchemaData schemaUrl="#网格">\n'
            f'      <SimpleData name="网格编码">{row["code"]}</SimpleData>\n'
            f'      <SimpleData name="网格名称">{row["name"]}</SimpleData>\n'
            f'      <SimpleData name="所属镇编码">{row["town_code"]}</SimpleData>\n'
            "    </SchemaData></ExtendedData>\n"
            f"    <Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates>"
            "</LinearRing></outerBoundaryIs></Polygon>\n  </Placemark>"
        )
    text = (
        '<?xml version="1.0" encoding="utf-8" ?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        '<Document id="root_doc">\n<Schema name="网格" id="网格">\n'
        '  <SimpleField name="网格编码" type="string"></SimpleField>\n'
        '  <SimpleField name="网格名称" type="string"></SimpleField>\n'
        '  <SimpleField name="所属镇编码" type="string"></SimpleField>\n</Schema>\n'
        "<Folder><name>网格</name>\n" + "\n".join(placemarks) + "\n</Folder>\n</Document></kml>\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_sparse_xlsx(
    path: Path, cells: dict[str, str], *, sheet: str = "表1", dimension: str | None = "A1:XFD1048576"
) -> Path:
    """A minimal XLSX holding only `cells` ({"A1": "code", "XFD1048576": "x"}), a few KB.

    With cells far apart (or a <dimension> that claims the whole sheet) a reader that pads
    rows and columns to the used range would make billions of empty cells.
    """
    import re as _re

    def key(ref: str) -> tuple[int, str]:
        letters, number = _re.match(r"([A-Z]+)(\d+)", ref).groups()
        return int(number), letters

    rows: dict[int, list[str]] = {}
    for ref in sorted(cells, key=lambda r: (key(r)[0], len(key(r)[1]), key(r)[1])):
        number, _ = key(ref)
        rows.setdefault(number, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{cells[ref]}</t></is></c>')
    data = "".join(f'<row r="{n}">{"".join(c)}</row>' for n, c in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship '
            f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship '
            f'Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">{dim}'
            f"<sheetData>{data}</sheetData></worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return path
