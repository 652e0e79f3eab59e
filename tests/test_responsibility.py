"""build_model at scale: link tables grouped in one pass (table order kept) and items given the grid they overlap most."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.io.read import Dataset
from gridmap.model import LAYERS, TABLES
from gridmap.responsibility import build_model

X0, Y0, STEP = 106.50, 33.90, 0.01  # two grids side by side: A west, B east


def _dataset(segments: list, *, grid_leaders: list[tuple], town_leaders: list[tuple]) -> Dataset:
    def empty(spec):
        cols = {c.name: pd.Series(dtype=object) for c in spec.columns}
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")

    layers = {spec.name: empty(spec) for spec in LAYERS}
    layers["towns"] = gpd.GeoDataFrame(
        {"code": ["T1", "T2"], "name": ["甲镇", "乙镇"]},
        geometry=[
            shapely.box(X0 - 1, Y0 - 1, X0 + STEP, Y0 + 1),
            shapely.box(X0 + STEP, Y0 - 1, X0 + 1, Y0 + 1),
        ],
        crs="EPSG:4326",
    )
    layers["grids"] = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["甲网格", "乙网格"], "town_code": ["T1", "T2"]},
        geometry=[
            shapely.box(X0, Y0, X0 + STEP, Y0 + STEP),
            shapely.box(X0 + STEP, Y0, X0 + 2 * STEP, Y0 + STEP),
        ],
        crs="EPSG:4326",
    )
    layers["segments"] = gpd.GeoDataFrame(
        {
            "code": [f"S{i}" for i in range(len(segments))],
            "road_name": "路",
            "from_name": None,
            "to_name": None,
            "unit_code": "U1",
        },
        geometry=segments,
        crs="EPSG:4326",
    )
    tables = {
        spec.name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns}) for spec in TABLES
    }
    tables["units"] = pd.DataFrame(
        {"code": ["U1", "U2"], "name": ["住建局", "城管局"], "kind": None, "contact": None, "phone": None}
    )
    tables["leaders"] = pd.DataFrame(
        {"code": ["L1", "L2", "L3"], "name": ["甲", "乙", "丙"], "title": "副县长", "phone": None}
    )
    tables["grid_roles"] = pd.DataFrame(
        {
            "grid_code": ["A", "B"],
            "grid_head": ["张三", "李四"],
            "grid_head_phone": None,
            "lead_unit_code": ["U2", "U1"],
        }
    )
    tables["grid_leaders"] = pd.DataFrame(grid_leaders, columns=["grid_code", "leader_code"])
    tables["town_leaders"] = pd.DataFrame(town_leaders, columns=["town_code", "leader_code"])
    return Dataset(layers=layers, tables=tables, source="test")


def test_link_lists_keep_table_order_per_key():
    model = build_model(
        _dataset(
            [],
            grid_leaders=[("B", "L3"), ("A", "L2"), ("B", "L1"), ("A", "L3"), ("B", "L2")],
            town_leaders=[("T2", "L2"), ("T1", "L3"), ("T2", "L1")],
        )
    )
    assert model.grids.loc["A", "leader_codes"] == ["L2", "L3"]
    assert model.grids.loc["B", "leader_codes"] == ["L3", "L1", "L2"]
    assert model.leaders.loc["L1", "grid_codes"] == ["B"]
    assert model.leaders.loc["L3", "grid_codes"] == ["B", "A"]
    assert model.leaders.loc["L2", "town_codes"] == ["T2"]
    assert model.towns.loc["T2", "liaison_codes"] == ["L2", "L1"]
    assert model.towns.loc["T1", "liaison_codes"] == ["L3"]
    # a unit's grids: where it has segments or leads, sorted, once each
    assert model.units.loc["U2", "grid_codes"] == ["A"]
    assert model.units.loc["U1", "grid_codes"] == ["B"]


def test_no_links_give_empty_lists():
    model = build_model(_dataset([], grid_leaders=[], town_leaders=[]))
    assert model.grids["leader_codes"].tolist() == [[], []]
    assert model.leaders["grid_codes"].tolist() == [[], [], []]
    assert model.towns["liaison_codes"].tolist() == [[], []]


def test_segments_go_to_the_grid_they_overlap_most():
    y = Y0 + STEP / 2
    inside_a = shapely.LineString([(X0 + 0.002, y), (X0 + 0.008, y)])
    mostly_b = shapely.LineString([(X0 + 0.008, y), (X0 + 0.019, y)])  # 2 in A, 9 in B
    mostly_a = shapely.LineString([(X0 + 0.001, y), (X0 + 0.012, y)])  # 9 in A, 2 in B
    touching = shapely.LineString([(X0 - 0.005, Y0 - 0.001), (X0, Y0)])  # meets A at one corner only
    outside = shapely.LineString([(X0 - 0.005, y), (X0 - 0.001, y)])
    inside_b = shapely.LineString([(X0 + 0.012, y), (X0 + 0.013, y + 0.001)])
    model = build_model(
        _dataset(
            [inside_a, mostly_b, mostly_a, touching, outside, inside_b],
            grid_leaders=[("A", "L1"), ("B", "L2")],
            town_leaders=[],
        )
    )
    codes = [None if pd.isna(c) else c for c in model.segments["grid_code"]]
    assert codes == ["A", "B", "A", None, None, "B"]
    assert (model.segments["length_m"] > 0).all()
