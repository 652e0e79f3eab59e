"""Read one import file of any common format (SHP/ZIP, GPKG, GeoJSON, KML/KMZ, CSV, XLSX)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.archive import (
    ArchiveLimits,
    check_members,
    copy_member,
    open_archive,
)
from gridmap.io.columns import (
    columns_of,
    header_list,
    kind_label,
    normalize_header,
    score_header,
)
from gridmap.io.encoding import Decoded, decode_text, detect_dbf_encoding, detect_file_codec, normalize_codec
from gridmap.io.offline import contains_url, no_network
from gridmap.io.sheets import MAX_CELLS, open_workbook, sheet_rows
from gridmap.model import LAYER_BY_NAME

__all__ = ["FORMAT_LABELS", "Source", "coordinate_pairs", "parse_coordinates",
           "read_source", "sniff_format", "strip_linked_crs"]

FORMAT_LABELS: dict[str, str] = {
    "shapefile": "Shapefile",
    "shapezip": "Shapefile（ZIP 压缩包）",
    "gpkg": "GeoPackage",
    "geojson": "GeoJSON",
    "kml": "KML",
    "kmz": "KMZ",
    "csv": "CSV 表格",
    "xlsx": "Excel 表格（XLSX）",
}

# progress(stage, done, total): called while reading large files.
Progress = Callable[[str, int, int | None], None]

_CHUNK = 25_000  # features read per batch when a progress callback is given
# Members of a zipped Shapefile that are extracted (the rest is skipped, never decompressed).
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_HEADER_SCAN_ROWS = 30

_LON = ("经度", "lon", "lng", "long", "longitude", "x", "pointx", "x坐标", "横坐标", "东坐标")
_LAT = ("纬度", "lat", "latitude", "y", "pointy", "y坐标", "纵坐标", "北坐标")
# Tokens in a coordinate header that name its datum, longest first.
_DATUM_TOKENS: tuple[tuple[str, str], ...] = (
    ("cgcs2000", "EPSG:4490"), ("wgs84", "EPSG:4326"), ("gcj02", "gcj02"), ("bd09", "bd09"),
    ("国家2000", "EPSG:4490"), ("火星", "gcj02"), ("高德", "gcj02"), ("腾讯", "gcj02"),
    ("百度", "bd09"), ("baidu", "bd09"), ("amap", "gcj02"), ("gps", "EPSG:4326"),
    ("gcj", "gcj02"), ("bd", "bd09"), ("wgs", "EPSG:4326"),
)
_WKT_HEADERS = ("wkt", "geometry", "geom", "thegeom", "几何", "shape", "坐标串", "边界", "范围")
_WKT_VALUE = re.compile(r"^\s*(SRID=\d+;\s*)?(MULTI)?(POINT|LINESTRING|POLYGON)\b", re.I)
_DMS = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*[°度:]\s*(?:(\d+(?:\.\d+)?)\s*['′分:]?\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)?\s*)?([NSEW东西南北])?\s*$",
    re.I,
)


@dataclass
class Source:
    """What was read from a file: attributes, geometry in the file's coordinates, and how."""

    frame: pd.DataFrame  # a GeoDataFrame (crs = declared or None) for spatial sources
    format: str
    file: str
    layer: str | None = None
    labels: pd.Index = field(default_factory=lambda: pd.Index([]))
    encoding: str | None = None
    encoding_reason: str = ""
    declared_crs: CRS | None = None
    crs_note: str = ""  # where the declared CRS came from, or why there is none
    geometry_from: str = ""  # "几何字段", "WKT 列 …", "经纬度列 …, …"
    reserved: tuple[str, ...] = ()  # headers used for coordinates, not attributes
    column_datum: str | None = None  # datum named by the coordinate headers
    column_datum_note: str = ""
    coordinate_pairs: list[tuple[str, str, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)

    @property
    def is_spatial(self) -> bool:
        return isinstance(self.frame, gpd.GeoDataFrame)

    def where(self, **extra) -> dict:
        return {"file": self.file, "layer": self.layer, **extra}


# --- format sniffing -------------------------------------------------------------------------


def sniff_format(path: str | Path, *, display_name: str | None = None) -> str:
    """Tell a file's format from its content (extension only breaks ties); see FORMAT_LABELS.

    ZIP-based files are told apart by their member names; a ZIP that states more than
    `gridmap.io.archive.MAX_MEMBERS` members is refused (DataError) before it is listed.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"找不到文件 {path}"
        raise InvalidInput(msg)
    shown = display_name or path.name
    with path.open("rb") as fh:
        head = fh.read(8192)
    suffix = path.suffix.lower()
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path, name=shown)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        msg = f"{shown} 是旧版 Excel（.xls）文件，请在 Excel/WPS 中另存为 .xlsx 后再导入"
        raise InvalidInput(msg)
    if head[:4] == b"\x00\x00\x27\x0a" or suffix in {".shp", ".dbf", ".shx"}:
        return "shapefile"
    text = decode_text(head, lenient=True).text
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if "<kml" in text[:4096].lower():
            return "kml"
        msg = f"{shown} 是 XML 文件，但不是 KML（没有 <kml> 根元素）"
        raise InvalidInput(msg)
    if stripped.startswith(("{", "[")):
        return "geojson"
    if b"\x00" in head:
        msg = (
            f"无法识别 {shown} 的格式；支持 Shapefile（或其 ZIP）、GeoPackage、GeoJSON、"
            "KML/KMZ、CSV、XLSX"
        )
        raise InvalidInput(msg)
    return "csv"


def _sniff_zip(path: Path, *, name: str) -> str:
    with open_archive(path, name=name) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    lower = [n.lower() for n in names]
    if "[content_types].xml" in lower and any(n.startswith("xl/") for n in lower):
        return "xlsx"
    if any(n.endswith(".kml") for n in lower) and not any(n.endswith(".shp") for n in lower):
        return "kmz"
    if any(n.endswith(".shp") for n in lower):
        return "shapezip"
    msg = f"ZIP 文件 {name} 中没有 Shapefile（.shp）或 KML；其中的文件：{'、'.join(names[:10])}"
    raise InvalidInput(msg)


# --- entry point -----------------------------------------------------------------------------


def read_source(
    path: str | Path,
    *,
    kind: str,
    layer: str | None = None,
    encoding: str | None = None,
    xy: tuple[str, str] | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    limits: ArchiveLimits | None = None,
) -> Source:
    """Read one file for import as `kind`; geometry stays in the file's own coordinates.

    Nothing is fetched over the network (see `gridmap.io.offline`): a GeoJSON ``crs`` that
    is a link is dropped with a warning, and so is a .prj that holds a URL. ZIP-based files
    (KMZ, zipped Shapefile, XLSX) are read within ``limits`` (see `gridmap.io.archive`).

    Parameters
    ----------
    path : str or Path
        The file: .shp (with its .dbf/.shx/.prj/.cpg), a .zip of a Shapefile, .gpkg,
        .geojson/.json (a FeatureCollection or a bare array of Features), .kml, .kmz,
        .csv or .xlsx.
    kind : str
        What the file holds (a layer such as "grids" or a table such as "units").
    layer : str, optional
        Layer (GeoPackage, KML, ZIP with several Shapefiles) or sheet (XLSX) to read.
    encoding : str, optional
        Text encoding to use instead of detecting it (Shapefile, CSV, GeoJSON, KML).
    xy : (str, str), optional
        Longitude/X and latitude/Y column names to take point positions from.
    display_name : str, optional
        The name to show in messages (an upload's original file name).
    progress : callable, optional
        ``progress(stage, done, total)`` while reading large files.
    limits : ArchiveLimits, optional
        How much a ZIP-based file may unpack to; default from the settings
        (GRIDMAP_IMPORT_MAX_UNPACKED_MB, GRIDMAP_IMPORT_MAX_RATIO).

    Returns
    -------
    Source
    """
    no_network()
    path = Path(path)
    columns_of(kind)  # InvalidInput for unknown kinds
    name = display_name or path.name
    fmt = sniff_format(path, display_name=name)
    codec = normalize_codec(encoding) if encoding else None
    if fmt in ("shapezip", "kmz", "xlsx") and limits is None:
        limits = ArchiveLimits.from_settings()
    if fmt == "shapefile":
        source = _read_shapefile(path, codec=codec, name=name, progress=progress)
    elif fmt == "shapezip":
        source = _read_zip_shapefile(path, layer=layer, codec=codec, name=name, progress=progress,
                                     limits=limits)
    elif fmt == "gpkg":
        source = _read_gpkg(path, kind=kind, layer=layer, name=name, progress=progress)
    elif fmt == "geojson":
        source = _read_geojson(path.read_bytes(), codec=codec, name=name)
    elif fmt in ("kml", "kmz"):
        source = _read_kml(path, fmt=fmt, kind=kind, layer=layer, codec=codec, name=name,
                           limits=limits)
    elif fmt == "csv":
        source = _read_csv(path, kind=kind, codec=codec, name=name)
    else:
        source = _read_xlsx(path, kind=kind, sheet=layer, name=name, limits=limits)
    source.file = name
    _finish_geometry(source, kind=kind, xy=xy)
    return source


# --- vector formats through GDAL -------------------------------------------------------------


def _gdal_read(target, *, layer=None, encoding=None, progress: Progress | None = None,
               name: str) -> gpd.GeoDataFrame:
    """pyogrio.read_dataframe with FIDs as index, in batches when a progress bar is shown."""
    kwargs = {"layer": layer, "fid_as_index": True}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        total = None
        if progress is not None and not isinstance(target, (bytes, io.BytesIO)):
            total = int(pyogrio.read_info(target, layer=layer, encoding=encoding)["features"])
        if total is None or total <= _CHUNK:
            frame = pyogrio.read_dataframe(target, **kwargs)
            if progress is not None:
                progress("读取", len(frame), len(frame))
            return frame
        parts = []
        for start in range(0, total, _CHUNK):
            parts.append(
                pyogrio.read_dataframe(target, skip_features=start, max_features=_CHUNK, **kwargs)
            )
            progress("读取", min(start + _CHUNK, total), total)
        return pd.concat(parts)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError, RuntimeError,
            UnicodeDecodeError) as exc:
        msg = f"无法读取 {name}：{_gdal_message(exc)}"
        raise DataError(
            msg,
            findings=[Finding(f"文件无法读取：{_gdal_message(exc)}", file=name,
                              hint="文件可能损坏或不完整；请重新导出或重新复制后再试")],
        ) from exc


def _gdal_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _fid_labels(frame: pd.DataFrame) -> pd.Index:
    return pd.Index([f"FID {fid}" for fid in frame.index])


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _read_shapefile(path: Path, *, codec: str | None, name: str,
                    progress: Progress | None) -> Source:
    shp = path if path.suffix.lower() == ".shp" else (_sibling(path, ".shp") or path.with_suffix(".shp"))
    shown = Path(name).with_suffix(".shp").name if Path(name).suffix.lower() != ".zip" else name
    if not shp.is_file():
        msg = f"找不到 {shp.name}：Shapefile 需要同名的 .shp、.shx、.dbf 文件放在一起"
        raise DataError(msg, findings=[Finding("缺少 .shp 文件", file=shown,
                                               hint="请把 .shp、.shx、.dbf、.prj、.cpg 一起提供，或打包成 ZIP")])
    findings: list[Finding] = []
    if _sibling(shp, ".dbf") is None:
        msg = f"{shp.name} 缺少同名的 .dbf 属性表文件，无法读取名称等属性"
        raise DataError(msg, findings=[Finding("缺少 .dbf 文件", file=shown,
                                               hint="请把同名的 .dbf 文件和 .shp 放在一起")])
    if codec:
        reason = "按 --encoding 指定"
    else:
        codec, reason = detect_dbf_encoding(shp)
    if _sibling(shp, ".shx") is None:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        findings.append(Finding("缺少 .shx 索引文件，已根据 .shp 重建", file=shown, severity="warning"))
    try:
        frame = _gdal_read(shp, encoding=codec, progress=progress, name=shown)
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    prj = _sibling(shp, ".prj")
    link = _linked_prj(prj) if prj is not None else None
    if prj is None:
        declared, note = None, "没有 .prj 文件"
    elif link is not None:
        declared, note = None, f".prj 文件不是坐标系定义，而是链接“{link}”（不会联网获取，已忽略）"
        findings.append(Finding(
            f"{prj.name} 中是一个链接（{link}），不是坐标系定义；为安全起见不会联网获取，已忽略",
            file=shown, severity="warning",
            hint="请用 --crs 指定坐标系（网页导入填写“坐标系”一栏），或换用含坐标系定义（WKT）的 .prj 文件"))
    elif frame.crs is None:
        declared, note = None, ".prj 文件无法解析"
    else:
        declared, note = frame.crs, ".prj 文件"
    return Source(frame=frame, format="shapefile", file=shown, layer=shp.stem,
                  labels=_fid_labels(frame), encoding=codec, encoding_reason=reason,
                  declared_crs=declared, crs_note=note, findings=findings)


_WKT_START = re.compile(r"^\s*(\{|[A-Z_]*(CS|CRS)\s*\[)", re.I)


def _linked_prj(prj: Path) -> str | None:
    """The URL or /vsi path a .prj holds instead of a coordinate system definition, if any."""
    try:
        with prj.open("rb") as fh:
            text = fh.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError:
        return None
    if not contains_url(text) or _WKT_START.match(text):
        return None
    return text.strip().splitlines()[0][:200] if text.strip() else None


def _safe_extract(archive: zipfile.ZipFile, target: Path, *, name: str,
                  limits: ArchiveLimits) -> list[Path]:
    """Extract the Shapefile parts of a ZIP (names made safe, GBK names decoded) within limits."""
    chosen: list[tuple[zipfile.ZipInfo, list[str]]] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        raw = info.filename
        if not info.flag_bits & 0x800:  # not marked UTF-8: Chinese Windows zips use GBK names
            try:
                raw = info.filename.encode("cp437").decode("gbk")
            except (UnicodeEncodeError, UnicodeDecodeError):
                raw = info.filename
        parts = [p for p in re.split(r"[\\/]+", raw) if p not in ("", ".", "..")]
        if not parts or parts[0].startswith("__MACOSX") or not parts[-1].lower().endswith(_SHAPEFILE_PARTS):
            continue
        chosen.append((info, parts))
    budget = [check_members(archive, [info for info, _ in chosen], name=name, limits=limits)]
    out = []
    for info, parts in chosen:
        dest = target.joinpath(*parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_member(archive, info, dest, name=name, budget=budget)
        out.append(dest)
    return out


def _pick(names: list[str], wanted: str | None, *, what: str, file: str) -> str:
    if wanted is not None:
        for candidate in names:
            if candidate == wanted or Path(candidate).stem == wanted:
                return candidate
        msg = f"{file} 中没有名为“{wanted}”的{what}；现有：{'、'.join(names)}"
        raise InvalidInput(msg)
    if len(names) == 1:
        return names[0]
    msg = f"{file} 中有多个{what}：{'、'.join(names)}；请用 --layer 指定要导入的一个"
    raise InvalidInput(msg)


def _read_zip_shapefile(path: Path, *, layer: str | None, codec: str | None, name: str,
                        progress: Progress | None, limits: ArchiveLimits) -> Source:
    with tempfile.TemporaryDirectory(prefix="gridmap-zip-") as tmp:
        with open_archive(path, name=name) as archive:
            files = _safe_extract(archive, Path(tmp), name=name, limits=limits)
        shps = sorted(str(p.relative_to(tmp)) for p in files if p.suffix.lower() == ".shp")
        chosen = _pick(shps, layer, what="Shapefile", file=name)
        source = _read_shapefile(Path(tmp) / chosen, codec=codec, name=f"{name}/{chosen}",
                                 progress=progress)
    source.format = "shapezip"
    return source


def _read_gpkg(path: Path, *, kind: str, layer: str | None, name: str,
               progress: Progress | None) -> Source:
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several types for unreadable files
        msg = f"无法打开 GeoPackage {name}：{_gdal_message(exc)}"
        raise DataError(msg, findings=[Finding(f"文件无法打开：{_gdal_message(exc)}", file=name,
                                               hint="文件可能损坏；请重新导出")]) from exc
    names = [str(n) for n, _ in listed]
    if not names:
        msg = f"GeoPackage {name} 中没有图层"
        raise DataError(msg, findings=[Finding("没有图层", file=name)])
    chosen = layer
    if chosen is None:
        by_kind = [n for n in names if normalize_header(n) in
                   {normalize_header(kind), normalize_header(kind_label(kind))}]
        chosen = by_kind[0] if len(by_kind) == 1 else None
    chosen = _pick(names, chosen, what="图层", file=name)
    frame = _gdal_read(path, layer=chosen, progress=progress, name=name)
    declared = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    note = "GeoPackage 图层的空间参考" if declared is not None else "GeoPackage 图层未定义空间参考"
    if declared is not None and "undefined" in declared.name.lower():
        declared, note = None, "GeoPackage 图层的空间参考为“未定义”"
    return Source(frame=frame, format="gpkg", file=name, layer=chosen, labels=_fid_labels(frame),
                  encoding="utf-8", encoding_reason="GeoPackage 规定为 UTF-8",
                  declared_crs=declared, crs_note=note)


# The key "crs" in any letter case, any letter possibly written as a \\u escape (json-c and
# GDAL match member names without regard to case).
_CRS_KEY = re.compile(r'"(?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)"\s*:\s*', re.I)
_OGC_CRS = re.compile(
    r"^\s*(?:urn:ogc:def:crs:[\w.:-]+|https?://www\.opengis\.net/def/crs/[\w.-]+/[\w.-]*/[\w.-]+)\s*$",
    re.I)


def _crs_is_local(value: object) -> bool:
    """Whether a GeoJSON crs member names a system GDAL resolves locally (never a link or a file)."""
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    members = {str(k).lower(): v for k, v in value.items()}
    kind = str(members.get("type", "")).lower()
    props = members.get("properties")
    if not isinstance(props, dict):
        return False
    props = {str(k).lower(): v for k, v in props.items()}
    if kind == "epsg":
        return str(props.get("code", "")).strip().isdigit()
    if kind == "name":
        name = props.get("name")
        if not isinstance(name, str) or len(name) > 200:
            return False
        return bool(_OGC_CRS.match(name)) or not (contains_url(name) or "/" in name or "\\" in name)
    return False  # "link", "url" and anything else: GDAL would fetch or open it


def strip_linked_crs(text: str) -> tuple[str, list[str], int]:
    """Replace every GeoJSON crs member that is a link (or not a plain name) by null.

    GDAL fetches a crs of type "link"/"url" over HTTP, on the collection and on single
    geometries. Returns (text, descriptions of what was removed, crs members kept).
    """
    out: list[str] = []
    removed: list[str] = []
    kept = 0
    pos = 0
    decoder = json.JSONDecoder()
    for match in _CRS_KEY.finditer(text):
        start = match.start()
        if start < pos:
            continue  # inside a value already replaced
        before = start - 1
        while before >= 0 and text[before] == "\\":
            before -= 1
        if (start - 1 - before) % 2:
            continue  # an escaped quote inside a string, not a member name
        try:
            value, end = decoder.raw_decode(text, match.end())
        except json.JSONDecodeError:
            continue  # broken JSON: GDAL reports it
        if _crs_is_local(value):
            kept += value is not None
            continue
        out.append(text[pos:match.end()])
        out.append("null")
        pos = end
        removed.append(json.dumps(value, ensure_ascii=False)[:200])
    if not removed:
        return text, [], kept
    out.append(text[pos:])
    return "".join(out), removed, kept


def _read_geojson(raw: bytes, *, codec: str | None, name: str) -> Source:
    text, used, reason = _decoded(decode_text(raw, codec=codec, name=name))
    del raw
    stripped = text.lstrip()
    notes = []
    findings = []
    if stripped.startswith("["):
        text = '{"type": "FeatureCollection", "features": ' + stripped + "}"
        notes.append("文件是要素数组（不是 FeatureCollection），已按要素集合读取")
    text, removed, kept = strip_linked_crs(text)
    if removed:
        shown = "；".join(removed[:3]) + (f" 等 {len(removed)} 处" if len(removed) > 3 else "")
        findings.append(Finding(
            f"GeoJSON 的坐标系声明（crs）是链接或外部引用：{shown}；为安全起见不会联网获取，已忽略",
            file=name, severity="warning",
            hint="如坐标不是 WGS84 经纬度，请用 --crs 指定坐标系（网页导入时填写“坐标系”一栏），"
                 "如 --crs EPSG:4545"))
    frame = _gdal_read(io.BytesIO(text.encode("utf-8")), name=name)
    if kept and frame.crs is not None:
        declared, note = frame.crs, "GeoJSON 的 crs 声明"
    elif removed:
        declared, note = None, "GeoJSON 的 crs 是链接（已忽略）"
    else:
        declared, note = None, "GeoJSON 未声明 crs（RFC 7946 规定为 WGS84 经纬度，但国内数据常为 GCJ-02）"
    return Source(frame=frame, format="geojson", file=name, labels=_fid_labels(frame),
                  encoding=used, encoding_reason=reason, declared_crs=declared, crs_note=note,
                  notes=notes, findings=findings)


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']", re.I)


_KML_CHUNK = 1 << 20
_NETWORK_LINK = re.compile(
    r"<(?:\w+:)?NetworkLink\b(?:(?:[^<]|<(?!/?(?:\w+:)?NetworkLink\b)){0,3000}?"
    r"<(?:\w+:)?href>\s*([^<\s]{1,300}))?", re.I)
_REMOTE_SCHEMA = re.compile(r"schemaUrl\s*=\s*[\"']\s*((?:https?|ftps?|file)://[^\"'\s]{1,300})", re.I)


def _kml_codec(raw: Path, *, codec: str | None, name: str) -> tuple[str, str]:
    """The KML's text encoding and why: --encoding, the XML declaration, BOM, UTF-8, GB18030."""
    if codec:
        return detect_file_codec(raw, codec=codec, name=name)
    with raw.open("rb") as fh:
        head = fh.read(4096)
    declared = _XML_ENCODING.match(head.removeprefix(codecs.BOM_UTF8))
    if not declared:
        return detect_file_codec(raw, name=name)
    label = declared.group(1).decode("ascii", errors="replace")
    try:
        named: str | None = normalize_codec(label)
    except InvalidInput:
        named = None
    return detect_file_codec(raw, name=name, declared=named, declared_as=f"XML 声明（encoding=\"{label}\"）")


def _decoded(decoded: Decoded) -> tuple[str, str, str]:
    return decoded.text, decoded.codec, decoded.reason


def _kml_to_utf8(raw: Path, doc: Path, *, codec: str) -> tuple[int, list[str]]:
    """Copy a KML as UTF-8 (declaration rewritten), streaming; (network links, remote URLs seen)."""
    decoder = codecs.getincrementaldecoder(codec)("replace")
    links = 0
    urls: list[str] = []
    carry = ""
    first = True
    with raw.open("rb") as src, doc.open("w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(_KML_CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            if first and (text or not chunk):
                text = re.sub(r"^\s*<\?xml[^>]*\?>", '<?xml version="1.0" encoding="utf-8"?>',
                              text.lstrip("\ufeff"), count=1)
                first = False
            dst.write(text)
            window = carry + text
            limit = len(window) if not chunk else max(0, len(window) - 4000)
            for match in _NETWORK_LINK.finditer(window):
                if match.start() >= limit:
                    break
                links += 1
                if match.group(1) and len(urls) < 5:
                    urls.append(match.group(1))
            for match in _REMOTE_SCHEMA.finditer(window, 0, limit):
                if match.group(1) not in urls and len(urls) < 5:
                    urls.append(match.group(1))
            carry = window[limit:]
            if not chunk:
                break
    return links, urls


def _read_kml(path: Path, *, fmt: str, kind: str, layer: str | None, codec: str | None,
              name: str, limits: ArchiveLimits | None) -> Source:
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="gridmap-kml-") as tmp:
        raw = path
        if fmt == "kmz":
            with open_archive(path, name=name, what="KMZ 文件") as archive:
                kmls = [i for i in archive.infolist() if i.filename.lower().endswith(".kml")]
                main = next((i for i in kmls if i.filename == "doc.kml"), kmls[0])
                budget = [check_members(archive, [main], name=name, limits=limits or ArchiveLimits(),
                                        what="KMZ 文件")]
                raw = Path(tmp) / "raw.kml"
                copy_member(archive, main, raw, name=name, budget=budget, what="KMZ 文件")
        codec, reason = _kml_codec(raw, codec=codec, name=name)
        doc = Path(tmp) / "doc.kml"
        links, urls = _kml_to_utf8(raw, doc, codec=codec)
        if raw != path:
            raw.unlink()
        if links or urls:
            shown = "、".join(urls) if urls else "网络链接"
            what = f"{links} 个网络链接（NetworkLink）" if links else "远程引用"
            findings.append(Finding(
                f"KML 中有{what}，指向 {shown}；为安全起见不会联网获取，链接指向的内容未导入",
                file=name, severity="warning",
                hint="如需导入链接中的数据，请先下载该文件，再单独导入"))
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(doc)]
        except Exception as exc:  # GDAL raises several types for broken XML
            msg = f"无法读取 KML {name}：{_gdal_message(exc)}"
            raise DataError(msg, findings=[Finding(f"KML 无法解析：{_gdal_message(exc)}", file=name,
                                                   hint="请检查文件是否完整")]) from exc
        frames = []
        chosen = [_pick(names, layer, what="图层（文件夹）", file=name)] if layer or len(names) == 1 else names
        for layer_name in chosen:
            part = _gdal_read(doc, layer=layer_name, name=name)
            if len(part):
                part["_kml_layer"] = layer_name
                frames.append(part)
    if frames:
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=frames[0].crs)
    else:
        frame = gpd.GeoDataFrame({"Name": []}, geometry=[], crs="EPSG:4326")
    notes = [f"合并了 {len(frames)} 个 KML 文件夹：{'、'.join(chosen)}"] if len(frames) > 1 else []
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    labels = pd.Index([f"第 {i} 个地标" for i in frame.index])
    frame = frame.drop(columns=[c for c in ("_kml_layer",) if c in frame.columns])
    return Source(frame=frame, format=fmt, file=name, layer=", ".join(chosen) if chosen else None,
                  labels=labels, encoding=codec, encoding_reason=reason,
                  declared_crs=CRS.from_epsg(4326), crs_note="KML 规定为 WGS84 经纬度",
                  notes=notes, findings=findings)


# --- tables: CSV and XLSX --------------------------------------------------------------------


def _read_csv(path: Path, *, kind: str, codec: str | None, name: str) -> Source:
    text, used, reason = _decoded(decode_text(path.read_bytes(), codec=codec, name=name))
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0] if "\n" in sample else sample,
                                      delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    source = _table_source(rows, list(range(1, len(rows) + 1)), kind=kind, name=name, sheet=None)
    source.format = "csv"
    source.encoding, source.encoding_reason = used, reason
    return source


def _read_xlsx(path: Path, *, kind: str, sheet: str | None, name: str,
               limits: ArchiveLimits | None) -> Source:
    book, external = open_workbook(path, name=name, limits=limits)
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                msg = f"{name} 中没有工作表“{sheet}”；现有：{'、'.join(book.sheetnames)}"
                raise InvalidInput(msg)
            candidates = [sheet]
        else:
            candidates = book.sheetnames
        best = None
        for sheet_name in candidates:  # choose by the header found near the top
            if len(candidates) == 1:
                best = (0, sheet_name)
                break
            top, _ = sheet_rows(book[sheet_name], name=name, limit=_HEADER_SCAN_ROWS, max_row=10_000)
            score = max((score_header(r, kind) for r in top), default=0)
            if best is None or score > best[0]:
                best = (score, sheet_name)
        assert best is not None
        sheet_name = best[1]
        rows, numbers = sheet_rows(book[sheet_name], name=name)
    finally:
        book.close()
    source = _table_source(rows, numbers, kind=kind, name=name, sheet=sheet_name)
    source.format = "xlsx"
    source.encoding, source.encoding_reason = "utf-8", "XLSX 内部为 Unicode，无需判断编码"
    if len(candidates) > 1:
        source.notes.append(f"工作簿有 {len(candidates)} 个工作表，按表头选用了“{sheet_name}”（可用 --layer 指定）")
    if external:
        source.notes.append(f"工作簿引用了 {len(external)} 个外部文件（外部链接）：只读取单元格中保存的值，"
                            "不会打开或下载外部文件")
    return source


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def _table_source(rows: list[list], numbers: list[int], *, kind: str, name: str,
                  sheet: str | None) -> Source:
    """Find the header row, build a frame of the rows below it, skip blank and note rows."""
    where = {"file": name, "layer": sheet}
    scores = [score_header(r, kind) for r in rows[:_HEADER_SCAN_ROWS]]
    nonblank = [i for i, r in enumerate(rows) if any(not _blank(v) for v in r)]
    if not nonblank:
        msg = f"{name}{'（工作表 ' + sheet + '）' if sheet else ''} 是空的"
        raise DataError(msg, findings=[Finding("表格为空", hint="第一行应为表头", **where)])
    best = max(scores) if scores else 0
    header_at = scores.index(best) if best > 0 else nonblank[0]
    width = max(len(r) for r in rows)
    if len(rows) * width > MAX_CELLS:
        msg = (f"{name}{'（工作表 ' + sheet + '）' if sheet else ''} 过大：{len(rows):,} 行 × {width:,} 列，"
               f"超过 {MAX_CELLS:,} 个单元格")
        raise DataError(msg, findings=[Finding(
            msg, hint="请删除多余的行和列（包括远处零星内容的单元格）后另存，或把数据拆成几个文件",
            **where)])
    header_cells = list(rows[header_at]) + [None] * (width - len(rows[header_at]))
    headers: list[str] = []
    for i, value in enumerate(header_cells):
        text = "" if _blank(value) else str(value).strip()
        text = text or f"第{i + 1}列"
        while text in headers:
            text += "_"
        headers.append(text)
    notes = []
    if header_at != nonblank[0]:
        notes.append(f"表头在第 {numbers[header_at]} 行（上方的标题行已跳过）")
    header_key = [normalize_header(h) for h in headers]
    data, labels, skipped = [], [], []
    for i in range(header_at + 1, len(rows)):
        row = list(rows[i]) + [None] * (width - len(rows[i]))
        filled = [v for v in row if not _blank(v)]
        if not filled:
            continue
        if [normalize_header(v) for v in row] == header_key:
            continue  # the header repeated (printed tables repeat it on every page)
        if len(filled) == 1 and len(str(filled[0])) > 8 and width > 2:
            skipped.append(numbers[i])  # a note such as “填表人：…” or “备注：…”
            continue
        data.append(row)
        labels.append(f"第 {numbers[i]} 行")
    frame = pd.DataFrame(data, columns=headers, dtype=object)
    frame.index = pd.RangeIndex(len(frame))
    findings = []
    if skipped:
        findings.append(Finding(
            f"第 {'、'.join(map(str, skipped[:10]))} 行只有一个单元格有内容，看起来是说明或备注，已跳过",
            severity="warning", hint="如果这些行是数据，请补全其他列", **where))
    return Source(frame=frame, format="table", file=name, layer=sheet, labels=pd.Index(labels),
                  notes=notes, findings=findings)


# --- geometry from columns -------------------------------------------------------------------


def _split_datum(key: str) -> tuple[str, str | None]:
    for token, datum in _DATUM_TOKENS:
        if token in key and key != token:
            base = key.replace(token, "", 1)
            if base:
                return base, datum
    return key, None


def coordinate_pairs(headers: list[str]) -> list[tuple[str, str, str | None]]:
    """(lon header, lat header, datum or None) for every lon/lat pair in a table's headers."""
    lon_keys = {normalize_header(h) for h in _LON}
    lat_keys = {normalize_header(h) for h in _LAT}
    groups: dict[str | None, dict[str, list[str]]] = {}
    for header in headers:
        key = normalize_header(header)
        base, datum = (key, None) if key in lon_keys | lat_keys else _split_datum(key)
        if base in lon_keys:
            groups.setdefault(datum, {}).setdefault("lon", []).append(header)
        elif base in lat_keys:
            groups.setdefault(datum, {}).setdefault("lat", []).append(header)
    pairs = []
    for datum, group in groups.items():
        if len(group.get("lon", [])) == 1 and len(group.get("lat", [])) == 1:
            pairs.append((group["lon"][0], group["lat"][0], datum))
    rank = {"EPSG:4326": 0, "EPSG:4490": 1, None: 2, "gcj02": 3, "bd09": 4}
    return sorted(pairs, key=lambda p: rank.get(p[2], 5))


def parse_coordinates(series: pd.Series) -> np.ndarray:
    """Cell values as floats; decimal degrees or degrees-minutes-seconds text; NaN if neither."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
    bad = np.isnan(values) & series.notna().to_numpy() & (series.astype(str).str.strip() != "").to_numpy()
    for i in np.flatnonzero(bad):
        m = _DMS.match(str(series.iloc[i]))
        if m:
            deg = float(m.group(1))
            value = abs(deg) + float(m.group(2) or 0) / 60 + float(m.group(3) or 0) / 3600
            sign = -1 if deg < 0 or (m.group(4) or "").upper() in {"S", "W", "西", "南"} else 1
            values[i] = sign * value
    return values


def _points_from_columns(source: Source, lon: str, lat: str, *, kind: str) -> gpd.GeoSeries:
    frame = source.frame
    x = parse_coordinates(frame[lon])
    y = parse_coordinates(frame[lat])
    bad = np.isnan(x) | np.isnan(y)
    for label in source.labels[bad]:
        source.findings.append(Finding(
            f"{label} 的坐标（{lon}、{lat}）为空或不是数字", feature=label, field=f"{lon},{lat}",
            hint="请填写十进制度数（如 106.5213）或度分秒（如 106°31′17″）", **source.where()))
    geoms = shapely.points(x, y)
    geoms[bad] = None
    return gpd.GeoSeries(geoms, index=frame.index)


def _wkt_column(frame: pd.DataFrame) -> str | None:
    keys = {normalize_header(h) for h in _WKT_HEADERS}
    for header in frame.columns:
        if normalize_header(header) in keys:
            return header
    for header in frame.columns:
        sample = frame[header].dropna().astype(str).head(5)
        if len(sample) and sample.map(lambda v: bool(_WKT_VALUE.match(v))).all():
            return header
    return None


def _geometry_from_wkt(source: Source, column: str) -> gpd.GeoSeries:
    values = source.frame[column].map(lambda v: None if _blank(v) else re.sub(r"^\s*SRID=\d+;", "", str(v)))
    geoms = shapely.from_wkt(values.to_numpy(dtype=object), on_invalid="ignore")
    bad = shapely.is_missing(geoms) & values.notna().to_numpy()
    for label in source.labels[bad]:
        source.findings.append(Finding(
            f"{label} 的 {column} 列不是有效的 WKT 几何", feature=label, field=column,
            hint="应形如 POLYGON((106.51 33.90, 106.52 33.90, 106.52 33.91, 106.51 33.90))",
            **source.where()))
    return gpd.GeoSeries(geoms, index=source.frame.index)


def _finish_geometry(source: Source, *, kind: str, xy: tuple[str, str] | None) -> None:
    """Give tabular sources a geometry (lon/lat or WKT columns) and vector ones their --xy."""
    is_layer = kind in LAYER_BY_NAME
    frame = source.frame
    if not is_layer:
        if isinstance(frame, gpd.GeoDataFrame):
            source.frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return
    headers = [str(c) for c in frame.columns if not (isinstance(frame, gpd.GeoDataFrame)
                                                     and c == frame.geometry.name)]
    pairs = coordinate_pairs(headers)
    source.coordinate_pairs = pairs
    if xy is not None:
        lon, lat = xy
        missing = [c for c in (lon, lat) if c not in headers]
        if missing:
            msg = f"--xy 指定的列“{'、'.join(missing)}”不存在；文件中的列：{header_list(headers)}"
            raise InvalidInput(msg)
        datum = next((d for a, b, d in pairs if (a, b) == (lon, lat)), None)
        _use_points(source, lon, lat, datum, kind=kind, how="按 --xy 指定")
        return
    if isinstance(frame, gpd.GeoDataFrame):
        source.geometry_from = "几何字段"
        return
    wkt = _wkt_column(frame)
    if wkt is not None:
        geoms = _geometry_from_wkt(source, wkt)
        source.frame = gpd.GeoDataFrame(frame.drop(columns=[wkt]), geometry=geoms.values)
        source.frame.index = frame.index
        source.geometry_from = f"WKT 列“{wkt}”"
        source.reserved = (wkt,)
        source.crs_note = "表格没有坐标系声明"
        return
    spec = LAYER_BY_NAME[kind]
    if not pairs:
        need = "经度、纬度两列（或 X、Y 两列）" if "Point" in spec.geom_types else "WKT 几何列"
        msg = (
            f"{source.file} 中找不到坐标列：导入{spec.label}需要{need}；"
            f"文件中的列：{header_list(headers)}"
        )
        raise DataError(msg, findings=[Finding(
            f"找不到坐标列；文件中的列：{header_list(headers)}",
            hint=f"请添加{need}，或用 --xy 经度列,纬度列 指定", **source.where())])
    lon, lat, datum = pairs[0]
    how = "按列名自动识别"
    if len(pairs) > 1:
        others = "；".join(f"{a}/{b}" for a, b, _ in pairs[1:])
        if datum is None and pairs[1][2] is None:
            msg = (
                f"{source.file} 中有多组坐标列（{lon}/{lat}；{others}），无法确定使用哪一组；"
                "请用 --xy 经度列,纬度列 指定"
            )
            raise InvalidInput(msg)
        how += f"（另有 {others} 未使用）"
    _use_points(source, lon, lat, datum, kind=kind, how=how)


def _use_points(source: Source, lon: str, lat: str, datum: str | None, *, kind: str,
                how: str) -> None:
    spec = LAYER_BY_NAME[kind]
    if "Point" not in spec.geom_types:
        msg = f"{spec.label}是{'、'.join(spec.geom_types)}图层，不能由经纬度列生成；请提供 WKT 几何列或面图层文件"
        raise InvalidInput(msg)
    geoms = _points_from_columns(source, lon, lat, kind=kind)
    frame = source.frame
    attrs = frame.drop(columns=[frame.geometry.name]) if isinstance(frame, gpd.GeoDataFrame) else frame
    source.frame = gpd.GeoDataFrame(attrs.drop(columns=[lon, lat]), geometry=geoms.values)
    source.frame.index = frame.index
    source.geometry_from = f"坐标列“{lon}”“{lat}”（{how}）"
    source.reserved = (lon, lat)
    source.declared_crs = None
    source.crs_note = "表格没有坐标系声明"
    if datum is not None:
        source.column_datum = datum
        source.column_datum_note = f"列名“{lon}”“{lat}”表明坐标系为 {_DATUM_LABELS.get(datum, datum)}"


_DATUM_LABELS = {"EPSG:4326": "WGS84", "EPSG:4490": "CGCS2000", "gcj02": "GCJ-02（高德/腾讯）",
                 "bd09": "BD-09（百度）"}
