"""Geometry from table columns: lon/lat pairs (with their datum), DMS text, WKT; --xy."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.columns import header_list, normalize_header
from gridmap.io.source import Source
from gridmap.io.tables import is_blank
from gridmap.model import LAYER_BY_NAME

__all__ = ["coordinate_pairs", "finish_geometry", "parse_coordinates"]

_LON = ("经度", "lon", "lng", "long", "longitude", "x", "pointx", "x坐标", "横坐标", "东坐标")
_LAT = ("纬度", "lat", "latitude", "y", "pointy", "y坐标", "纵坐标", "北坐标")
# Tokens in a coordinate header that name its datum, longest first.
_DATUM_TOKENS: tuple[tuple[str, str], ...] = (
    ("cgcs2000", "EPSG:4490"),
    ("wgs84", "EPSG:4326"),
    ("gcj02", "gcj02"),
    ("bd09", "bd09"),
    ("国家2000", "EPSG:4490"),
    ("火星", "gcj02"),
    ("高德", "gcj02"),
    ("腾讯", "gcj02"),
    ("百度", "bd09"),
    ("baidu", "bd09"),
    ("amap", "gcj02"),
    ("gps", "EPSG:4326"),
    ("gcj", "gcj02"),
    ("bd", "bd09"),
    ("wgs", "EPSG:4326"),
)
_WKT_HEADERS = ("wkt", "geometry", "geom", "thegeom", "几何", "shape", "坐标串", "边界", "范围")
_WKT_VALUE = re.compile(r"^\s*(SRID=\d+;\s*)?(MULTI)?(POINT|LINESTRING|POLYGON)\b", re.I)
_DMS = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*[°度:]\s*(?:(\d+(?:\.\d+)?)\s*['′分:]?\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)?\s*)?([NSEW东西南北])?\s*$",
    re.I,
)


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
        source.findings.append(
            Finding(
                f"{label} 的坐标（{lon}、{lat}）为空或不是数字",
                feature=label,
                field=f"{lon},{lat}",
                hint="请填写十进制度数（如 106.5213）或度分秒（如 106°31′17″）",
                **source.where(),
            )
        )
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
    values = source.frame[column].map(lambda v: None if is_blank(v) else re.sub(r"^\s*SRID=\d+;", "", str(v)))
    geoms = shapely.from_wkt(values.to_numpy(dtype=object), on_invalid="ignore")
    bad = shapely.is_missing(geoms) & values.notna().to_numpy()
    for label in source.labels[bad]:
        source.findings.append(
            Finding(
                f"{label} 的 {column} 列不是有效的 WKT 几何",
                feature=label,
                field=column,
                hint="应形如 POLYGON((106.51 33.90, 106.52 33.90, 106.52 33.91, 106.51 33.90))",
                **source.where(),
            )
        )
    return gpd.GeoSeries(geoms, index=source.frame.index)


def finish_geometry(source: Source, *, kind: str, xy: tuple[str, str] | None) -> None:
    """Give tabular sources a geometry (lon/lat or WKT columns) and vector ones their --xy."""
    is_layer = kind in LAYER_BY_NAME
    frame = source.frame
    if not is_layer:
        if isinstance(frame, gpd.GeoDataFrame):
            source.frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return
    headers = [
        str(c)
        for c in frame.columns
        if not (isinstance(frame, gpd.GeoDataFrame) and c == frame.geometry.name)
    ]
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
        msg = f"{source.file} 中找不到坐标列：导入{spec.label}需要{need}；文件中的列：{header_list(headers)}"
        raise DataError(
            msg,
            findings=[
                Finding(
                    f"找不到坐标列；文件中的列：{header_list(headers)}",
                    hint=f"请添加{need}，或用 --xy 经度列,纬度列 指定",
                    **source.where(),
                )
            ],
        )
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


def _use_points(source: Source, lon: str, lat: str, datum: str | None, *, kind: str, how: str) -> None:
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


_DATUM_LABELS = {
    "EPSG:4326": "WGS84",
    "EPSG:4490": "CGCS2000",
    "gcj02": "GCJ-02（高德/腾讯）",
    "bd09": "BD-09（百度）",
}
