"""Who is responsible here: grids, towns as fallback, nearest segment, points, communities."""

from __future__ import annotations

import numpy as np
import pytest

from gridmap.errors import InvalidInput
from gridmap.io.read import read_dataset
from gridmap.responsibility import build_model
from gridmap.whois import WhoisIndex, parse_lonlat


@pytest.fixture
def index(dataset_dir):
    return WhoisIndex(build_model(read_dataset(dataset_dir)), tolerance_m=50)


def test_spot_in_grid_names_grid_leaders_head_and_department(index):
    d = index.lookup(106.5151, 33.9101)
    assert d["grid"] == {"code": "610330100001", "name": "滨江网格"}
    assert [x["name"] for x in d["leaders"]] == ["王建国", "李明"]
    assert d["grid_head"]["name"] == "周网格长"
    assert d["lead_department"]["name"] == "县住建局"
    assert d["town"]["name"] == "双石铺镇"
    assert d["fallback"] is False


def test_nearest_segment_within_tolerance_with_distance_in_metres(index):
    # 0.0003 degrees of latitude north of 滨江路 is about 33 m.
    d = index.lookup(106.515, 33.9103)
    assert d["segment"]["road_name"] == "滨江路"
    assert d["segment"]["unit"]["name"] == "县住建局"
    assert 32 < d["segment"]["distance_m"] < 34.5
    far = index.lookup(106.515, 33.9140)  # about 444 m from any road
    assert far["segment"] is None


def test_point_and_community_at_the_spot(index):
    d = index.lookup(106.52201, 33.90701)
    assert d["point"]["name"] == "县医院"
    assert d["responsible_unit"]["name"] == "县城管执法局"
    c = index.lookup(106.513, 33.907)
    assert c["community"]["name"] == "花园小区"
    assert c["community"]["household_heads"] == [{"name": "郑大姐", "building": "3号楼"}]
    assert "phone" not in c["community"]["household_heads"][0]


def test_outside_every_grid_the_town_answers(index):
    d = index.lookup(106.60, 33.90)
    assert d["grid"] is None and d["fallback"] is True
    assert d["town"]["name"] == "凤州镇"
    assert [x["name"] for x in d["leaders"]] == ["张华"]
    outside = index.lookup(110.0, 30.0)
    assert outside["town"] is None and outside["fallback"] is False and not outside["in_county"]


def test_vectorised_locate_agrees_with_grid_containment(index):
    rng = np.random.default_rng(7)
    lon = rng.uniform(106.5101, 106.5299, 500)
    lat = rng.uniform(33.9051, 33.9149, 500)
    hit = index.locate(lon, lat)
    expected = np.where(lon < 106.52, 0, 1)
    assert (hit.grid == expected).all()


def test_gcj02_input_is_shifted_back():
    from gridmap.crs import gcj02_from_wgs84

    lon, _lat = gcj02_from_wgs84(106.5151, 33.9101)
    assert abs(lon - 106.5151) > 0.003  # the shift is hundreds of metres


def test_lookup_accepts_gcj02(index):
    from gridmap.crs import gcj02_from_wgs84

    lon, lat = gcj02_from_wgs84(106.5151, 33.9101)
    d = index.lookup(lon, lat, crs="gcj02")
    assert d["grid"]["code"] == "610330100001"
    assert abs(d["lon"] - 106.5151) < 1e-6


@pytest.mark.parametrize(
    ("lon", "lat", "text"),
    [
        (None, "33.9", "缺少参数 lon"),
        ("106.5", "", "缺少参数 lat"),
        ("abc", "33.9", "应为数字"),
        ("190", "33.9", "-180 到 180"),
        ("106.5", "-91", "-90 到 90"),
        ("nan", "33.9", "-180 到 180"),
    ],
)
def test_bad_coordinates(lon, lat, text):
    with pytest.raises(InvalidInput, match=text):
        parse_lonlat(lon, lat)


def test_unknown_crs_parameter(index):
    with pytest.raises(InvalidInput, match="crs"):
        index.lookup(106.5, 33.9, crs="mars")


def test_single_lookup_agrees_with_vectorised_locate(index):
    rng = np.random.default_rng(3)
    lon = rng.uniform(106.505, 106.535, 300)
    lat = rng.uniform(33.900, 33.920, 300)
    hit = index.locate(lon, lat)
    grid_codes = list(index.model.grids.index)
    seg_codes = list(index.model.segments.index)
    for i in range(len(lon)):
        d = index.lookup(lon[i], lat[i])
        assert (d["grid"] or {}).get("code") == (grid_codes[hit.grid[i]] if hit.grid[i] >= 0 else None)
        assert (d["segment"] or {}).get("code") == (
            seg_codes[hit.segment[i]] if hit.segment[i] >= 0 else None
        )


def test_a_road_without_an_end_name_answers_valid_json(tmp_path):
    import json

    from tests import factory

    layers = factory.layers()
    layers["segments"]["to_name"] = [None] * len(layers["segments"])  # read back as NaN
    index = WhoisIndex(
        build_model(read_dataset(factory.write_dataset(tmp_path / "d", layers_=layers))), tolerance_m=50
    )
    d = index.lookup(106.515, 33.9103)
    assert d["segment"]["road_name"] == "滨江路"
    assert d["segment"]["to_name"] is None
    json.loads(json.dumps(d, allow_nan=False))  # the browser's JSON.parse accepts it
