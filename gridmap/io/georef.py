"""Decide an import file's coordinate system (.prj, --crs, column names, plausibility) and go to WGS84."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gridmap.crs import convert_geoseries, is_plausible_china_lonlat, local_crs, resolve_crs_name
from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.columns import normalize_header
from gridmap.io.source import Source

__all__ = ["CrsChoice", "georeference", "parse_crs_option"]

STORE_CRS = "EPSG:4326"
_SHIFTED = {"gcj02": "GCJ-02（高德/腾讯坐标）", "bd09": "BD-09（百度坐标）"}
# Attribute names that Aliyun DataV / Amap district data carry (their coordinates are GCJ-02).
_AMAP_KEYS = {
    "center",
    "centroid",
    "acroutes",
    "centerlng",
    "centerlat",
    "citycode",
    "parent",
    "subfeatureindex",
    "childrennum",
}
_OLD_DATUMS = ("beijing 1954", "beijing_1954", "xian 1980", "xian_1980", "xi'an 1980")


@dataclass
class CrsChoice:
    """The coordinate system used for an import, and why."""

    label: str
    reason: str
    findings: list[Finding] = field(default_factory=list)


def parse_crs_option(value: str) -> str | CRS:
    """Parse a --crs value: "gcj02"/"bd09" (and aliases) or anything PROJ knows (EPSG:4545, WKT)."""
    text = str(value).strip()
    try:
        name = resolve_crs_name(text)
    except InvalidInput:
        name = None
    if name in _SHIFTED:
        return name
    try:
        return CRS.from_user_input(name or text)
    except CRSError:
        msg = (
            f"无法识别的坐标系“{value}”；可写 EPSG 代码（如 EPSG:4490、EPSG:4545）、"
            "gcj02（高德/腾讯）或 bd09（百度）"
        )
        raise InvalidInput(msg) from None


def _crs_label(crs: CRS | str) -> str:
    if isinstance(crs, str):
        return _SHIFTED.get(crs, crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}（{crs.name}）" if epsg else crs.name


def _bounds(geoms: np.ndarray) -> np.ndarray:
    return shapely.bounds(geoms)


def _plausible(bounds: np.ndarray) -> np.ndarray:
    return is_plausible_china_lonlat(bounds[:, 0], bounds[:, 1]) & is_plausible_china_lonlat(
        bounds[:, 2], bounds[:, 3]
    )


def _guess(bounds: np.ndarray, *, county_lon: float | None) -> str:
    """A hint about the coordinate system that coordinates of this size suggest."""
    ok = np.isfinite(bounds).all(axis=1)
    if not ok.any():
        return ""
    x = float(np.median(bounds[ok, 0]))
    y = float(np.median(bounds[ok, 1]))
    if bool(is_plausible_china_lonlat(y, x)):
        return "坐标值像是经纬度但经度、纬度顺序颠倒，请检查"
    if bool(is_plausible_china_lonlat(x, y)):
        return "坐标值本身像经纬度，文件声明的坐标系可能有误，可试 --crs wgs84"
    if 1e7 <= x < 1e8 and 1e6 <= y <= 6.5e6:
        zone = int(x // 1e6)
        if 25 <= zone <= 45:
            return (
                f"X 坐标带有带号前缀 {zone}，像是 3 度带高斯-克吕格投影第 {zone} 带："
                f"CGCS2000 为 --crs EPSG:{4513 + zone - 25}（西安80 为 EPSG:{2349 + zone - 25}，"
                f"北京54 为 EPSG:{2401 + zone - 25}）"
            )
        if 13 <= zone <= 23:
            return (
                f"X 坐标带有带号前缀 {zone}，像是 6 度带高斯-克吕格投影第 {zone} 带："
                f"CGCS2000 为 --crs EPSG:{4491 + zone - 13}"
            )
    if 1e5 <= x <= 9e5 and 1e6 <= y <= 6.5e6:
        here = ""
        if county_lon is not None:
            code = local_crs(county_lon)
            here = f"；本县数据所在的带为 --crs {code}"
        return (
            "坐标值（米）像是不带带号的 3 度带高斯-克吕格投影：CGCS2000 为 EPSG:4534–4554，"
            f"按中央经线选择（如 108°E 为 EPSG:4545）{here}"
        )
    return f"坐标值（约 X={x:.0f}, Y={y:.0f}）既不像经纬度，也不像高斯-克吕格坐标；请向数据提供方确认坐标系"


def _amap_signature(source: Source) -> list[str]:
    keys = {normalize_header(c): str(c) for c in source.frame.columns}
    if "adcode" not in keys:
        return []
    found = sorted(keys[k] for k in _AMAP_KEYS if k in keys)
    return ["adcode", *found] if found else []


def to_store_crs(geoms: gpd.GeoSeries, crs: CRS | str) -> gpd.GeoSeries:
    """Transform geometries from `crs` (an EPSG/WKT CRS, or "gcj02"/"bd09") to the store's CRS."""
    if isinstance(crs, str):  # gcj02 / bd09: lon/lat with an offset
        lonlat = gpd.GeoSeries(geoms.values, index=geoms.index).set_crs(STORE_CRS, allow_override=True)
        return convert_geoseries(lonlat, source=crs, target="wgs84")
    series = gpd.GeoSeries(geoms.values, index=geoms.index).set_crs(crs, allow_override=True)
    if crs.equals(CRS.from_epsg(4326)):
        return series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = series.to_crs(STORE_CRS)
    return out


def _old_datum(crs: CRS | str) -> bool:
    if isinstance(crs, str):
        return False
    geodetic = crs.geodetic_crs
    datum = geodetic.datum.name.lower() if geodetic is not None and geodetic.datum is not None else ""
    return any(name in datum for name in _OLD_DATUMS)


def georeference(
    source: Source, *, user_crs: str | None = None, county_lon: float | None = None
) -> tuple[gpd.GeoSeries, CrsChoice]:
    """Return the source's geometries in EPSG:4326 and which CRS was used, and why.

    Order: ``--crs`` (user_crs); the datum that coordinate column names state (Lng_GCJ02 …);
    the file's own declaration (.prj, GeoPackage, GeoJSON crs, KML = WGS84); else lon/lat
    is inferred when every value is plausible for China (GCJ-02 when the attributes are
    those of Amap/DataV district data), otherwise the import stops and asks for ``--crs``.

    Parameters
    ----------
    source : Source
        From `gridmap.io.formats.read_source`, with a geometry column.
    user_crs : str, optional
        The --crs option.
    county_lon : float, optional
        Longitude of the county already in the store, to suggest its Gauss-Krüger zone.

    Returns
    -------
    (geopandas.GeoSeries, CrsChoice)

    Raises
    ------
    DataError
        When the coordinate system cannot be decided or gives positions outside China.
    """
    geoms = source.frame.geometry
    raw = _bounds(geoms.to_numpy())
    present = np.isfinite(raw).all(axis=1)
    where = source.where()
    findings: list[Finding] = []
    signature = _amap_signature(source)
    if user_crs:
        crs = parse_crs_option(user_crs)
        reason = "按 --crs 指定"
        if source.declared_crs is not None and not (isinstance(crs, CRS) and crs.equals(source.declared_crs)):
            reason += f"（覆盖了{source.crs_note}中的 {_crs_label(source.declared_crs)}）"
        elif source.column_datum:
            reason += f"（覆盖了{source.column_datum_note}）"
    elif source.column_datum:
        crs = parse_crs_option(source.column_datum)
        reason = source.column_datum_note
    elif source.declared_crs is not None:
        crs = source.declared_crs
        reason = f"按 {source.crs_note}"
        if crs.is_geographic and signature:
            findings.append(
                Finding(
                    f"文件声明为 {_crs_label(crs)}，但属性字段（{'、'.join(signature)}）是高德/阿里云 DataV "
                    "行政区划数据的特征，这类数据实际多为 GCJ-02 坐标",
                    severity="warning",
                    hint="如确为高德/DataV 数据，请加 --crs gcj02 重新导入",
                    **where,
                )
            )
    elif present.any() and _plausible(raw[present]).all():
        if signature:
            crs = "gcj02"
            reason = (
                f"{source.crs_note or '未声明坐标系'}；坐标值在中国经纬度范围内，且属性字段"
                f"（{'、'.join(signature)}）是高德/阿里云 DataV 行政区划数据的特征，按 GCJ-02 处理"
                "（如不是，请加 --crs wgs84）"
            )
        else:
            crs = CRS.from_epsg(4326)
            reason = f"{source.crs_note or '未声明坐标系'}；坐标值都在中国经纬度范围内，按 WGS84/CGCS2000 经纬度处理"
            findings.append(
                Finding(
                    "文件未声明坐标系，按 WGS84/CGCS2000 经纬度导入",
                    severity="warning",
                    hint="如果坐标取自高德或腾讯地图，请加 --crs gcj02；取自百度地图，请加 --crs bd09",
                    **where,
                )
            )
    else:
        guess = _guess(raw[present], county_lon=county_lon) if present.any() else ""
        msg = (
            f"{source.file} 没有声明坐标系（{source.crs_note or '无坐标系信息'}），坐标值也不是中国范围内的经纬度，"
            "无法确定坐标系"
        )
        raise DataError(
            msg,
            findings=[
                Finding(
                    msg,
                    hint=f"请用 --crs 指定坐标系（如 --crs EPSG:4545）{('；' + guess) if guess else ''}",
                    **where,
                )
            ],
        )
    out = to_store_crs(geoms, crs)
    label = _crs_label(crs)
    if _old_datum(crs):
        findings.append(
            Finding(
                f"坐标系 {label} 基于北京54/西安80 椭球，转换到 WGS84 没有公开的精确参数，"
                "按 PROJ 的近似转换，位置误差可能达数十至上百米",
                severity="warning",
                hint="如需精确位置，请在 GIS 软件中用本地七参数转换为 CGCS2000 后再导入",
                **where,
            )
        )
    after = _bounds(out.to_numpy())
    ok_geom = np.isfinite(after).all(axis=1)
    inside = np.zeros(len(after), dtype=bool)
    inside[ok_geom] = _plausible(after[ok_geom])
    outside = ok_geom & ~inside
    if ok_geom.any() and not inside.any():
        guess = _guess(raw[present], county_lon=county_lon)
        msg = f"按 {label} 转换后，{source.file} 的要素都不在中国范围内：坐标系不对（{reason}）"
        raise DataError(
            msg,
            findings=[
                Finding(msg, hint=f"请用 --crs 指定正确的坐标系{('；' + guess) if guess else ''}", **where)
            ],
        )
    for label_, (x, y) in zip(
        source.labels[outside],
        shapely.get_coordinates(shapely.point_on_surface(out.to_numpy()[outside])) if outside.any() else [],
    ):
        findings.append(
            Finding(
                f"{label_} 转换后位于 ({x:.4f}, {y:.4f})，不在中国范围内",
                feature=label_,
                severity="warning",
                hint="请检查该要素的坐标",
                **where,
            )
        )
    return out, CrsChoice(label=label, reason=reason, findings=findings)
