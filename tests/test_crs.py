"""Tests for gridmap.crs: GCJ-02 / BD-09 shifts, geometry conversion, local zones, CRS names."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from gridmap import crs
from gridmap.errors import InvalidInput
from tests.realdata import REALDATA

GEOD = Geod(ellps="WGS84")
FENG_BOUNDS = (106.41, 33.57, 107.13, 34.31)


def _feng_grid(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(
        np.linspace(FENG_BOUNDS[0], FENG_BOUNDS[2], n),
        np.linspace(FENG_BOUNDS[1], FENG_BOUNDS[3], n),
    )
    return lon.ravel(), lat.ravel()


def _max_error_m(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> float:
    _, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    return float(np.max(dist))


def _east_north_m(lon0: float, lat0: float, lon1: float, lat1: float) -> tuple[float, float]:
    az, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    return dist * math.sin(math.radians(az)), dist * math.cos(math.radians(az))


# --- reference values -------------------------------------------------------------------------


def test_gcj02_reference_beijing() -> None:
    lon, lat = crs.gcj02_from_wgs84(116.397128, 39.916527)
    assert lon == pytest.approx(116.403370, abs=1e-5)
    assert lat == pytest.approx(39.917930, abs=1e-5)


def test_gcj02_reference_eviltransform_vector() -> None:
    # The test vector published with eviltransform: WGS84 (116.404, 39.915).
    lon, lat = crs.gcj02_from_wgs84(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_bd09_reference_vector() -> None:
    # Published example of the Baidu formula: GCJ-02 (118.0, 32.0) -> BD-09.
    lon, lat = crs.bd09_from_gcj02(118.0, 32.0)
    assert lon == pytest.approx(118.00653128313961, abs=1e-9)
    assert lat == pytest.approx(32.00581846664105, abs=1e-9)
    back = crs.gcj02_from_bd09(118.00653128313961, 32.00581846664105)
    assert back == pytest.approx((118.0, 32.0), abs=1e-9)


def test_gcj02_offset_direction_at_feng_county() -> None:
    # Documented offset near Shuangshipu: about +376 m east and -181 m north.
    lon, lat = crs.gcj02_from_wgs84(106.52, 33.91)
    east, north = _east_north_m(106.52, 33.91, lon, lat)
    print(f"GCJ-02 offset at 106.52E 33.91N: east {east:.1f} m, north {north:.1f} m")
    assert east == pytest.approx(376.0, abs=20.0)
    assert north == pytest.approx(-181.0, abs=20.0)
    # And back: GCJ-02 -> WGS84 moves the other way.
    wlon, wlat = crs.wgs84_from_gcj02(106.52, 33.91)
    east_back, north_back = _east_north_m(106.52, 33.91, wlon, wlat)
    assert east_back == pytest.approx(-376.0, abs=20.0)
    assert north_back == pytest.approx(181.0, abs=20.0)


# --- shapes of inputs and outputs -------------------------------------------------------------


def test_scalars_give_floats_and_arrays_keep_shape() -> None:
    lon, lat = crs.wgs84_from_bd09(106.53, 33.92)
    assert isinstance(lon, float)
    assert isinstance(lat, float)
    grid_lon = np.full((3, 4), 106.5)
    grid_lat = np.linspace(33.6, 34.3, 12).reshape(3, 4)
    out_lon, out_lat = crs.gcj02_from_wgs84(grid_lon, grid_lat)
    assert out_lon.shape == (3, 4)
    assert out_lat.shape == (3, 4)
    # Broadcasting a scalar longitude against an array of latitudes.
    b_lon, b_lat = crs.bd09_from_wgs84(106.5, [33.6, 33.9, 34.2])
    assert b_lon.shape == b_lat.shape == (3,)
    assert len(set(np.round(b_lon, 9))) > 1


def test_nan_passes_through() -> None:
    lon, lat = crs.wgs84_from_gcj02(np.array([106.5, np.nan]), np.array([33.9, np.nan]))
    assert np.isnan(lon[1]) and np.isnan(lat[1])
    assert np.isfinite(lon[0]) and lon[0] != 106.5


def test_identity_outside_china() -> None:
    # Paris, New York, Tokyo (east of the box), Sydney.
    lon = np.array([2.3522, -74.006, 139.6917, 151.2093])
    lat = np.array([48.8566, 40.7128, 35.6895, -33.8688])
    for func in (crs.gcj02_from_wgs84, crs.wgs84_from_gcj02):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    # Inside China the shift is never zero.
    in_lon, in_lat = crs.gcj02_from_wgs84(106.52, 33.91)
    assert (in_lon, in_lat) != (106.52, 33.91)


# --- round trips over Feng County -------------------------------------------------------------


def test_round_trip_wgs84_gcj02_over_feng_county() -> None:
    lon, lat = _feng_grid()
    back = crs.wgs84_from_gcj02(*crs.gcj02_from_wgs84(lon, lat))
    err = _max_error_m(lon, lat, *back)
    print(f"WGS84 -> GCJ-02 -> WGS84 max error over 200x200 Feng County grid: {err:.3e} m")
    assert err <= 0.5
    assert err < 0.01


def test_round_trip_wgs84_bd09_over_feng_county() -> None:
    lon, lat = _feng_grid()
    back = crs.wgs84_from_bd09(*crs.bd09_from_wgs84(lon, lat))
    err = _max_error_m(lon, lat, *back)
    print(f"WGS84 -> BD-09 -> WGS84 max error over 200x200 Feng County grid: {err:.3e} m")
    assert err <= 0.5
    assert err < 0.01


def test_round_trip_gcj02_bd09_over_feng_county() -> None:
    lon, lat = _feng_grid()
    back = crs.gcj02_from_bd09(*crs.bd09_from_gcj02(lon, lat))
    err = _max_error_m(lon, lat, *back)
    print(f"GCJ-02 -> BD-09 -> GCJ-02 max error over 200x200 Feng County grid: {err:.3e} m")
    assert err < 0.01


def test_inverses_solve_the_forward_formula() -> None:
    # Starting from the offset side: forward(inverse(p)) must give p back.
    lon, lat = _feng_grid(100)
    err_gcj = _max_error_m(lon, lat, *crs.gcj02_from_wgs84(*crs.wgs84_from_gcj02(lon, lat)))
    err_bd = _max_error_m(lon, lat, *crs.bd09_from_wgs84(*crs.wgs84_from_bd09(lon, lat)))
    print(f"forward(inverse) max error: GCJ-02 {err_gcj:.3e} m, BD-09 {err_bd:.3e} m")
    assert err_gcj < 0.01
    assert err_bd < 0.01


def test_inverse_beats_one_step_approximation() -> None:
    # The one-step inverse (subtract the offset computed at the GCJ-02 point) is off by
    # decimetres to metres; our grid must be able to tell it apart from the iterative one.
    lon, lat = _feng_grid(50)
    glon, glat = crs.gcj02_from_wgs84(lon, lat)
    slon, slat = crs.gcj02_from_wgs84(glon, glat)
    one_step = (glon - (slon - glon), glat - (slat - glat))
    err_one_step = _max_error_m(lon, lat, *one_step)
    err_iterative = _max_error_m(lon, lat, *crs.wgs84_from_gcj02(glon, glat))
    assert err_one_step > 0.01
    assert err_iterative < err_one_step / 100


# --- geometries -------------------------------------------------------------------------------


def _sample_geometries() -> list:
    poly = Polygon(
        [(106.5, 33.9), (106.6, 33.9), (106.6, 34.0), (106.5, 34.0), (106.5, 33.9)],
        holes=[[(106.52, 33.92), (106.54, 33.92), (106.54, 33.94), (106.52, 33.92)]],
    )
    return [
        Point(106.52, 33.91),
        LineString([(106.5, 33.9), (106.55, 33.95), (106.7, 34.1)]),
        poly,
        MultiPolygon([poly, Polygon([(107.0, 34.2), (107.1, 34.2), (107.1, 34.3), (107.0, 34.2)])]),
    ]


@pytest.mark.parametrize("geom", _sample_geometries(), ids=lambda g: g.geom_type)
def test_transform_geometry_keeps_type_and_vertices(geom) -> None:
    out = crs.transform_geometry(geom, crs.gcj02_from_wgs84)
    assert out.geom_type == geom.geom_type
    assert shapely.get_num_coordinates(out) == shapely.get_num_coordinates(geom)
    if isinstance(geom, (Polygon, MultiPolygon)):
        assert shapely.get_num_interior_rings(shapely.get_geometry(out, 0)) == 1
    src = shapely.get_coordinates(geom)
    got = shapely.get_coordinates(out)
    want = np.column_stack(crs.gcj02_from_wgs84(src[:, 0], src[:, 1]))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.abs(got - src).max() > 1e-3  # really moved (hundreds of metres)
    back = crs.transform_geometry(out, crs.wgs84_from_gcj02)
    np.testing.assert_allclose(shapely.get_coordinates(back), src, rtol=0, atol=1e-9)


def test_transform_geometry_array_keeps_z_and_none() -> None:
    arr = np.array([Point(106.52, 33.91, 1200.0), None, LineString([(106.5, 33.9), (106.6, 34.0)])])
    out = crs.transform_geometry(arr, crs.bd09_from_wgs84)
    assert out.shape == (3,)
    assert out[1] is None
    assert out[0].has_z and out[0].z == 1200.0
    assert not out[2].has_z
    assert out[0].x != 106.52


def test_convert_geoseries_round_trip_and_metadata() -> None:
    gs = gpd.GeoSeries(_sample_geometries(), index=[10, 11, 12, 13], crs="EPSG:4326", name="geom")
    shifted = crs.convert_geoseries(gs, source="wgs84", target="bd09")
    assert list(shifted.index) == [10, 11, 12, 13]
    assert shifted.crs == gs.crs
    assert shifted.name == "geom"
    assert list(shifted.geom_type) == list(gs.geom_type)
    assert list(shifted.count_coordinates()) == list(gs.count_coordinates())
    # BD-09 and via-GCJ-02 agree.
    gcj = crs.convert_geoseries(gs, source="wgs84", target="gcj02")
    via = crs.convert_geoseries(gcj, source="gcj02", target="bd09")
    np.testing.assert_allclose(
        shifted.get_coordinates().values, via.get_coordinates().values, rtol=0, atol=1e-12
    )
    back = crs.convert_geoseries(shifted, source="百度", target="EPSG:4490")
    np.testing.assert_allclose(back.get_coordinates().values, gs.get_coordinates().values, rtol=0, atol=1e-9)
    # The input is left alone.
    assert gs.iloc[0].x == 106.52


def test_convert_geoseries_same_datum_is_identity_copy() -> None:
    gs = gpd.GeoSeries([Point(106.52, 33.91)], crs="EPSG:4490")
    same = crs.convert_geoseries(gs, source="cgcs2000", target="wgs84")
    assert same.iloc[0].equals(gs.iloc[0])


def test_convert_geoseries_refuses_projected_and_unknown_names() -> None:
    gs = gpd.GeoSeries([Point(500000.0, 3750000.0)], crs="EPSG:4545")
    with pytest.raises(InvalidInput, match="投影坐标系"):
        crs.convert_geoseries(gs, source="wgs84", target="gcj02")
    lonlat = gpd.GeoSeries([Point(106.52, 33.91)], crs="EPSG:4326")
    with pytest.raises(InvalidInput, match="无法识别"):
        crs.convert_geoseries(lonlat, source="wgs84", target="web mercator")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "EPSG:4326"),
        ("WGS-84", "EPSG:4326"),
        ("epsg:4326", "EPSG:4326"),
        ("CGCS2000", "EPSG:4490"),
        ("EPSG:4490", "EPSG:4490"),
        ("GCJ-02", "gcj02"),
        ("gcj02", "gcj02"),
        ("BD09", "bd09"),
        (" bd-09 ", "bd09"),
    ],
)
def test_resolve_crs_name(name: str, expected: str) -> None:
    assert crs.resolve_crs_name(name) == expected


def test_crs_aliases_cover_the_four_systems() -> None:
    assert {"wgs84", "epsg:4326", "cgcs2000", "epsg:4490", "gcj02", "bd09"} <= set(crs.CRS_ALIASES)
    assert set(crs.CRS_ALIASES.values()) == {"EPSG:4326", "EPSG:4490", "gcj02", "bd09"}
    with pytest.raises(InvalidInput):
        crs.resolve_crs_name("EPSG:3857")


# --- local zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "code"),
    [(106.52, 4545), (105.0, 4544), (75.2, 4534), (73.5, 4534), (136.5, 4554), (108.0, 4545)],
)
def test_local_crs_picks_nearest_zone(lon: float, code: int) -> None:
    assert crs.local_crs(lon) == f"EPSG:{code}"


def test_local_crs_names_the_right_central_meridian() -> None:
    for lon in np.arange(73.5, 136.51, 0.25):
        code = crs.local_crs(float(lon))
        info = CRS.from_user_input(code)
        params = info.coordinate_operation.params
        cm = next(p.value for p in params if p.name == "Longitude of natural origin")
        assert f"3-degree Gauss-Kruger CM {int(cm)}E" in info.name
        assert "zone" not in info.name.lower()
        assert abs(cm - lon) <= 1.5 + 1e-9


@pytest.mark.parametrize("lon", [10.0, 73.4, 136.6, float("nan"), -106.52])
def test_local_crs_rejects_longitudes_outside_china(lon: float) -> None:
    with pytest.raises(InvalidInput, match="不在中国范围内"):
        crs.local_crs(lon)


def test_local_crs_for_bounds() -> None:
    assert crs.local_crs_for(FENG_BOUNDS) == "EPSG:4545"
    assert crs.local_crs_for((104.0, 30.0, 105.9, 31.0)) == "EPSG:4544"
    with pytest.raises(InvalidInput):
        crs.local_crs_for((137660.0, 4139735.0, 138000.0, 4140000.0))  # metres, not degrees
    with pytest.raises(InvalidInput):
        crs.local_crs_for((float("nan"),) * 4)  # total_bounds of an empty layer
    with pytest.raises(InvalidInput):
        crs.local_crs_for((107.0, 33.0, 106.0, 34.0))


# --- plausibility -----------------------------------------------------------------------------


def test_is_plausible_china_lonlat() -> None:
    x = np.array([106.52, 33.91, 137660.03, np.nan, 2.35, 136.0])
    y = np.array([33.91, 106.52, 4139735.53, 33.0, 48.85, 45.0])
    got = crs.is_plausible_china_lonlat(x, y)
    assert got.dtype == bool
    assert got.tolist() == [True, False, False, False, False, True]
    assert bool(crs.is_plausible_china_lonlat(106.52, 33.91)) is True


# --- real data (skipped when /work/shared/realdata is absent) ---------------------------------

CITY_POINTS = REALDATA / "chinese_pitfalls/city_points_2023_gbk_ldid936/地级市点位数据.shp"


def test_real_city_points_triplets_match_formulas() -> None:
    if not CITY_POINTS.exists():
        pytest.skip("real data not available")
    pyogrio = pytest.importorskip("pyogrio")
    df = pyogrio.read_dataframe(CITY_POINTS, encoding="gbk")
    wlon, wlat = df["Lng_WGS84"].to_numpy(float), df["Lat_WGS84"].to_numpy(float)
    glon, glat = df["lng_GCJ02"].to_numpy(float), df["Lat_GCJ02"].to_numpy(float)
    blon, blat = df["Lng_BD09"].to_numpy(float), df["Lat_BD09"].to_numpy(float)
    # The file stores coordinates rounded to ~1e-7 degrees (about 1 cm).
    assert _max_error_m(glon, glat, *crs.gcj02_from_wgs84(wlon, wlat)) < 0.05
    assert _max_error_m(wlon, wlat, *crs.wgs84_from_gcj02(glon, glat)) < 0.05
    assert _max_error_m(blon, blat, *crs.bd09_from_gcj02(glon, glat)) < 0.05
    assert _max_error_m(wlon, wlat, *crs.wgs84_from_bd09(blon, blat)) < 0.05
    # Known data bug: geometry takes longitude from WGS84 but latitude from GCJ-02.
    np.testing.assert_allclose(df.geometry.y.to_numpy(), glat, atol=1e-9)
    assert np.abs(df.geometry.y.to_numpy() - wlat).max() > 1e-3
