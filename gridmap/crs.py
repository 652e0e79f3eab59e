"""Chinese coordinate systems: GCJ-02 / BD-09 offsets, local Gauss-Krüger zones, CRS names."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from gridmap.errors import InvalidInput

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CRS_ALIASES",
    "bd09_from_gcj02",
    "bd09_from_wgs84",
    "convert_geoseries",
    "convert_lonlat",
    "gcj02_from_bd09",
    "gcj02_from_wgs84",
    "is_plausible_china_lonlat",
    "local_crs",
    "local_crs_for",
    "resolve_crs_name",
    "transform_geometry",
    "wgs84_from_bd09",
    "wgs84_from_gcj02",
]

# A pair of coordinate arrays (or of floats, when floats went in).
LonLat = tuple[Any, Any]
LonLatFunc = Callable[[Any, Any], LonLat]

# Krasovsky 1940 ellipsoid, as used by the public GCJ-02 ("eviltransform") formula.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

# The usual rough box outside of which GCJ-02 equals WGS84.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_X_PI = math.pi * 3000.0 / 180.0

# Inverse iterations stop when the largest change is below this (degrees, ~0.1 mm).
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30

# CGCS2000 3-degree Gauss-Krüger zones without zone prefix:
# EPSG:4534 (CM 75E) .. EPSG:4554 (CM 135E).
_GK3_FIRST_EPSG = 4534
_GK3_FIRST_CM = 75.0
_GK3_ZONES = 21
_LOCAL_LON_RANGE = (73.5, 136.5)

# The three datums we can shift between; CGCS2000 counts as WGS84 (they agree to map accuracy).
_DATUMS = ("wgs84", "gcj02", "bd09")

CRS_ALIASES: dict[str, str] = {
    # WGS84 lon/lat
    "wgs84": "EPSG:4326",
    "wgs-84": "EPSG:4326",
    "epsg:4326": "EPSG:4326",
    "4326": "EPSG:4326",
    "gps": "EPSG:4326",
    # CGCS2000 lon/lat (国家2000)
    "cgcs2000": "EPSG:4490",
    "epsg:4490": "EPSG:4490",
    "4490": "EPSG:4490",
    "国家2000": "EPSG:4490",
    "2000国家大地坐标系": "EPSG:4490",
    # GCJ-02 (国测局 / 火星坐标: Amap, Tencent)
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "火星坐标": "gcj02",
    "国测局": "gcj02",
    "高德": "gcj02",
    "腾讯": "gcj02",
    # BD-09 (Baidu)
    "bd09": "bd09",
    "bd-09": "bd09",
    "百度": "bd09",
}
"""User-facing CRS names (lower case) mapped to an EPSG code or to "gcj02" / "bd09"."""

_DATUM_OF = {"EPSG:4326": "wgs84", "EPSG:4490": "wgs84", "gcj02": "gcj02", "bd09": "bd09"}


def resolve_crs_name(name: str) -> str:
    """Return the canonical CRS for a user-facing name ("EPSG:4326", "EPSG:4490", "gcj02", "bd09").

    Parameters
    ----------
    name : str
        A name such as "WGS84", "EPSG:4490", "GCJ-02", "百度"; case and spaces do not matter.

    Returns
    -------
    str
    """
    key = "".join(str(name).split()).lower().replace("_", "-")
    for candidate in (key, key.replace("-", "")):
        if candidate in CRS_ALIASES:
            return CRS_ALIASES[candidate]
    known = "、".join(sorted({"WGS84", "CGCS2000", "EPSG:4326", "EPSG:4490", "GCJ-02", "BD-09"}))
    msg = f"无法识别的坐标系名称：{name!r}；可用：{known}"
    raise InvalidInput(msg)


# --- GCJ-02 -----------------------------------------------------------------------------------


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _out(x: np.ndarray, y: np.ndarray, scalar: bool) -> LonLat:
    if scalar:
        return float(x), float(y)
    return x, y


def _in_china(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])


def _gcj_delta(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 (dlon, dlat) in degrees at WGS84 (x, y), without the China test."""
    u = x - 105.0
    v = y - 35.0
    common = (20.0 * np.sin(6.0 * u * np.pi) + 20.0 * np.sin(2.0 * u * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * np.sqrt(np.abs(u))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(v * np.pi) + 40.0 * np.sin(v / 3.0 * np.pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(v / 12.0 * np.pi) + 320.0 * np.sin(v * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + u + 2.0 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * np.sqrt(np.abs(u))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(u * np.pi) + 40.0 * np.sin(u / 3.0 * np.pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(u / 12.0 * np.pi) + 300.0 * np.sin(u / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = y / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _gcj_shift(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(x, y)
    return x + dlon, y + dlat


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    tx: np.ndarray,
    ty: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x, y) = (tx, ty) by fixed-point iteration from the first guess (x, y)."""
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        step_x = tx - fx
        step_y = ty - fy
        x = x + step_x
        y = y + step_y
        finite = np.isfinite(step_x) & np.isfinite(step_y)
        if not finite.any():
            break
        change = max(np.abs(step_x[finite]).max(), np.abs(step_y[finite]).max())
        if change < _TOLERANCE_DEG:
            break
    return x, y


def gcj02_from_wgs84(lon: Any, lat: Any) -> LonLat:
    """Shift WGS84 (or CGCS2000) lon/lat to GCJ-02; identity outside China's rough box.

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    x, y, scalar = _as_arrays(lon, lat)
    inside = _in_china(x, y)
    gx, gy = _gcj_shift(x, y)
    return _out(np.where(inside, gx, x), np.where(inside, gy, y), scalar)


def wgs84_from_gcj02(lon: Any, lat: Any) -> LonLat:
    """Shift GCJ-02 lon/lat back to WGS84 by iterating the forward formula (error far below 1 cm).

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    gx, gy, scalar = _as_arrays(lon, lat)
    inside = _in_china(gx, gy)
    dlon, dlat = _gcj_delta(gx, gy)
    x0 = np.where(inside, gx - dlon, gx)
    y0 = np.where(inside, gy - dlat, gy)
    x, y = _invert(_gcj_shift, gx, gy, x0, y0)
    # Outside the box GCJ-02 is WGS84 (decided on the GCJ-02 input, as eviltransform does).
    x = np.where(inside, x, gx)
    y = np.where(inside, y, gy)
    return _out(x, y, scalar)


# --- BD-09 ------------------------------------------------------------------------------------


def _bd_forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_from_gcj02(lon: Any, lat: Any) -> LonLat:
    """Shift GCJ-02 lon/lat to Baidu BD-09 with the standard Baidu formula (applied everywhere).

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    x, y, scalar = _as_arrays(lon, lat)
    bx, by = _bd_forward(x, y)
    return _out(bx, by, scalar)


def gcj02_from_bd09(lon: Any, lat: Any) -> LonLat:
    """Shift Baidu BD-09 lon/lat to GCJ-02: the usual closed form, refined by iteration.

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    bx, by, scalar = _as_arrays(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = _invert(_bd_forward, bx, by, z * np.cos(theta), z * np.sin(theta))
    return _out(gx, gy, scalar)


def bd09_from_wgs84(lon: Any, lat: Any) -> LonLat:
    """Shift WGS84 lon/lat to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    return bd09_from_gcj02(*gcj02_from_wgs84(lon, lat))


def wgs84_from_bd09(lon: Any, lat: Any) -> LonLat:
    """Shift BD-09 lon/lat to WGS84 (through GCJ-02, both steps iterative).

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; arrays are broadcast against each other.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    return wgs84_from_gcj02(*gcj02_from_bd09(lon, lat))


def _identity(lon: Any, lat: Any) -> LonLat:
    x, y, scalar = _as_arrays(lon, lat)
    return _out(x.copy(), y.copy(), scalar)


_CONVERTERS: dict[tuple[str, str], LonLatFunc] = {
    ("wgs84", "gcj02"): gcj02_from_wgs84,
    ("gcj02", "wgs84"): wgs84_from_gcj02,
    ("gcj02", "bd09"): bd09_from_gcj02,
    ("bd09", "gcj02"): gcj02_from_bd09,
    ("wgs84", "bd09"): bd09_from_wgs84,
    ("bd09", "wgs84"): wgs84_from_bd09,
}


def _datum(name: str) -> str:
    return _DATUM_OF[resolve_crs_name(name)]


def _converter(source: str, target: str) -> LonLatFunc:
    src, dst = _datum(source), _datum(target)
    if src == dst:
        return _identity
    return _CONVERTERS[(src, dst)]


def convert_lonlat(lon: Any, lat: Any, *, source: str, target: str) -> LonLat:
    """Shift lon/lat between "wgs84" (= CGCS2000), "gcj02" and "bd09", named as in `CRS_ALIASES`.

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees.
    source, target : str
        CRS names; see `resolve_crs_name`.

    Returns
    -------
    tuple
        (lon, lat) as floats for scalar input, else as numpy arrays.
    """
    return _converter(source, target)(lon, lat)


# --- geometries -------------------------------------------------------------------------------


def transform_geometry(geom_or_array: Any, func: LonLatFunc) -> Any:
    """Apply a lon/lat function such as `gcj02_from_wgs84` to every vertex; Z values pass through.

    Parameters
    ----------
    geom_or_array : shapely Geometry or array_like of them
        Geometries in lon/lat; None and empty geometries pass through.
    func : callable
        ``func(x_array, y_array) -> (x_array, y_array)``.

    Returns
    -------
    Geometry or numpy.ndarray
        Same shape, geometry types and vertex counts as the input.
    """

    def xy_only(x: np.ndarray, y: np.ndarray, *z: np.ndarray) -> tuple[np.ndarray, ...]:
        nx, ny = func(x, y)
        return (np.asarray(nx, dtype=float), np.asarray(ny, dtype=float), *z)

    return shapely.transform(geom_or_array, xy_only, include_z=None, interleaved=False)


def convert_geoseries(gs: gpd.GeoSeries, *, source: str, target: str) -> gpd.GeoSeries:
    """Return a copy of a lon/lat GeoSeries shifted between "wgs84", "gcj02" and "bd09".

    The CRS stays as it was (EPSG:4326 lon/lat; GCJ-02 and BD-09 have no EPSG code).

    Parameters
    ----------
    gs : geopandas.GeoSeries
        Geometries in lon/lat degrees (CRS geographic or not set).
    source, target : str
        CRS names; see `resolve_crs_name`.

    Returns
    -------
    geopandas.GeoSeries
    """
    import geopandas as gpd

    if not isinstance(gs, gpd.GeoSeries):
        msg = f"convert_geoseries expects a GeoSeries, got {type(gs).__name__}"
        raise TypeError(msg)
    func = _converter(source, target)
    if gs.crs is not None and not gs.crs.is_geographic:
        msg = f"坐标偏移只能用于经纬度数据，当前数据是投影坐标系（{gs.crs.name}），请先转换为经纬度"
        raise InvalidInput(msg)
    values = transform_geometry(np.asarray(gs.values, dtype=object), func)
    return gpd.GeoSeries(values, index=gs.index, crs=gs.crs, name=gs.name)


# --- plausibility and local zones -------------------------------------------------------------


def is_plausible_china_lonlat(x: Any, y: Any) -> np.ndarray:
    """Tell, value by value, whether (x, y) lies in China's rough lon/lat box (NaN gives False).

    Parameters
    ----------
    x, y : float or array_like
        Candidate longitudes and latitudes.

    Returns
    -------
    numpy.ndarray of bool
    """
    xa, ya, _ = _as_arrays(x, y)
    return np.asarray(_in_china(xa, ya))


def local_crs(lon: float) -> str:
    """Return the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix) nearest a longitude.

    EPSG:4534 has its central meridian at 75E and each next code is 3 degrees further east,
    up to EPSG:4554 at 135E; e.g. 106.52E (Feng County) gives "EPSG:4545" (CM 108E).

    Parameters
    ----------
    lon : float
        Longitude in degrees, within China (73.5–136.5).

    Returns
    -------
    str
        "EPSG:45xx".
    """
    try:
        value = float(lon)
    except (TypeError, ValueError):
        value = math.nan
    if not (_LOCAL_LON_RANGE[0] <= value <= _LOCAL_LON_RANGE[1]):
        msg = (
            f"经度 {lon} 不在中国范围内（{_LOCAL_LON_RANGE[0]}–{_LOCAL_LON_RANGE[1]}），"
            "无法选择高斯-克吕格投影带；请检查数据是否为经纬度坐标"
        )
        raise InvalidInput(msg)
    zone = math.floor((value - _GK3_FIRST_CM) / 3.0 + 0.5)
    zone = min(max(zone, 0), _GK3_ZONES - 1)
    return f"EPSG:{_GK3_FIRST_EPSG + zone}"


def local_crs_for(bounds: tuple[float, float, float, float]) -> str:
    """Return the `local_crs` zone for the centre of lon/lat bounds (minx, miny, maxx, maxy).

    Parameters
    ----------
    bounds : tuple of 4 floats
        Lon/lat degrees, e.g. ``GeoSeries.total_bounds``.

    Returns
    -------
    str
        "EPSG:45xx".
    """
    try:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
    except (TypeError, ValueError):
        msg = f"范围应为 (最小经度, 最小纬度, 最大经度, 最大纬度) 四个数，收到：{bounds!r}"
        raise InvalidInput(msg) from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx > maxx or miny > maxy:
        msg = f"范围无效（可能是空数据）：{bounds!r}"
        raise InvalidInput(msg)
    if not (-90.0 <= miny <= 90.0 and -90.0 <= maxy <= 90.0):
        msg = f"范围 {bounds!r} 不是经纬度（纬度超出 ±90°），可能已是投影坐标"
        raise InvalidInput(msg)
    return local_crs((minx + maxx) / 2.0)
