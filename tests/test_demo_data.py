"""The committed demo county in geodata/demo: schema, counts, topology, references, determinism."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from gridmap.model import LAYERS, LAYERS_FILE, TABLES, TABLES_FILE

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "geodata" / "demo"
SCRIPT = ROOT / "scripts" / "make_demo_data.py"
METRIC = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
TOWN = "610330100"
TOWN_NAMES = [
    "双石铺镇",
    "凤州镇",
    "黄牛铺镇",
    "红花铺镇",
    "河口镇",
    "唐藏镇",
    "平木镇",
    "坪坎镇",
    "留凤关镇",
]


def read_layers(directory: Path) -> dict[str, gpd.GeoDataFrame]:
    path = directory / LAYERS_FILE
    return {s.name: gpd.read_file(path, layer=s.name, engine="pyogrio") for s in LAYERS}


def read_tables(directory: Path) -> dict[str, pd.DataFrame]:
    book = openpyxl.load_workbook(directory / TABLES_FILE, read_only=True)
    tables = {}
    for spec in TABLES:
        header, *rows = book[spec.label].iter_rows(values_only=True)
        assert list(header) == [c.label for c in spec.columns], spec.label
        tables[spec.name] = pd.DataFrame(rows, columns=[c.name for c in spec.columns], dtype=object)
    book.close()
    return tables


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return read_layers(DEMO)


@pytest.fixture(scope="module")
def metric(layers) -> dict[str, gpd.GeoDataFrame]:
    return {name: frame.to_crs(METRIC) for name, frame in layers.items()}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return read_tables(DEMO)


@pytest.fixture(scope="module")
def unit_grid(metric) -> pd.Series:
    """The grid each unit works in, derived from the grid of its segments (one per unit)."""
    joined = _in_one_grid(metric["segments"], metric["grids"])
    grids_per_unit = joined.groupby("unit_code")["grid_code"].unique()
    assert grids_per_unit.map(len).eq(1).all(), "a unit takes segments in two grids"
    return grids_per_unit.str[0]


def _in_one_grid(segments: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each segment with the code of the one grid that holds (nearly) all its length."""
    lines = segments.geometry.values
    share = np.array([shapely.length(shapely.intersection(lines, g)) for g in grids.geometry])
    share /= segments.length.to_numpy()
    assert ((share > 0.999).sum(axis=0) == 1).all(), "a segment is not inside exactly one grid"
    out = segments.copy()
    out["grid_code"] = grids["code"].to_numpy()[share.argmax(axis=0)]
    return out


def _overlap_area(frame: gpd.GeoDataFrame) -> float:
    """Sum of the pairwise intersection areas of a frame's polygons."""
    left, right = frame.sindex.query(frame.geometry, predicate="intersects")
    pairs = left < right
    a, b = frame.geometry.values[left[pairs]], frame.geometry.values[right[pairs]]
    return float(shapely.area(shapely.intersection(a, b)).sum())


def _assert_tiles(frame: gpd.GeoDataFrame) -> None:
    """Polygons that tile one area: no overlap, and their union has no hole of any size."""
    assert _overlap_area(frame) < 1.0
    union = shapely.union_all(frame.geometry.values)
    assert union.geom_type == "Polygon"
    holes = [shapely.Polygon(ring).area for ring in union.interiors]
    assert all(area < 1.0 for area in holes)
    assert union.area == pytest.approx(frame.area.sum(), abs=1.0)


# ---------------------------------------------------------------- schema and counts


def test_layers_follow_the_model(layers):
    assert sorted(pyogrio.list_layers(DEMO / LAYERS_FILE)[:, 0]) == sorted(s.name for s in LAYERS)
    for spec in LAYERS:
        frame = layers[spec.name]
        assert list(frame.columns) == [c.name for c in spec.columns] + ["geometry"], spec.name
        assert frame.crs.to_epsg() == 4326
        assert set(frame.geom_type) <= set(spec.geom_types), spec.name
        assert frame.is_valid.all() and not frame.is_empty.any(), spec.name


def test_sheets_follow_the_model():
    book = openpyxl.load_workbook(DEMO / TABLES_FILE)
    assert book.sheetnames == [s.label for s in TABLES]
    for spec in TABLES:
        sheet = book[spec.label]
        assert [c.value for c in sheet[1]] == [c.label for c in spec.columns]
        # codes and phones are text cells, never numbers
        assert {c.data_type for row in sheet.iter_rows() for c in row} == {"s"}, spec.label


def test_counts(layers, tables):
    assert len(layers["towns"]) == 9
    assert len(layers["grids"]) == 12
    assert len(tables["leaders"]) == 27
    assert len(tables["units"]) == 132
    assert len(tables["grid_roles"]) == 12
    assert len(tables["grid_leaders"]) == 27
    assert len(tables["town_leaders"]) == 9
    assert len(layers["points"]) == 139
    assert layers["points"]["category"].nunique() == 28
    assert len(layers["communities"]) == 112
    assert len(tables["inspectors"]) == 46
    assert len(layers["segments"]) >= 132
    assert set(layers["rivers"]["name"]) >= {"嘉陵江"}


def test_codes(layers, tables):
    assert list(layers["grids"]["code"]) == [f"{TOWN}{i:03d}" for i in range(1, 13)]
    assert set(layers["grids"]["town_code"]) == {TOWN}
    assert list(layers["towns"]["code"]) == [f"610330{i}" for i in range(100, 109)]
    assert list(tables["leaders"]["code"]) == [f"L{i:02d}" for i in range(1, 28)]
    assert list(tables["units"]["code"]) == [f"U{i:03d}" for i in range(1, 133)]
    assert list(layers["points"]["code"]) == [f"P{i:03d}" for i in range(1, 140)]
    assert list(layers["communities"]["code"]) == [f"C{i:03d}" for i in range(1, 113)]
    assert list(tables["inspectors"]["code"]) == [f"I{i:02d}" for i in range(1, 47)]
    heads = tables["household_heads"]["code"]
    assert list(heads) == [f"H{i:04d}" for i in range(1, len(heads) + 1)]
    assert layers["segments"]["code"].is_unique
    assert layers["segments"]["code"].str.fullmatch(r"S\d{4}").all()
    for spec in TABLES:
        if spec.key:
            assert tables[spec.name][spec.key].is_unique, spec.name


def test_chinese_text_survives_a_round_trip(layers, tables, tmp_path):
    assert list(layers["towns"]["name"]) == TOWN_NAMES
    assert "老街网格" in set(layers["grids"]["name"])
    assert {"滨江路", "新建路", "汉中路", "老街"} <= set(layers["segments"]["road_name"])
    assert "县委书记" in set(tables["leaders"]["title"])
    assert "县住建局" in set(tables["units"]["name"])
    copy = tmp_path / "copy.gpkg"
    for name in ("grids", "points"):
        layers[name].to_file(copy, layer=name, driver="GPKG", engine="pyogrio")
        assert_geodataframe_equal(gpd.read_file(copy, layer=name, engine="pyogrio"), layers[name])


# ---------------------------------------------------------------- geometry and topology


def test_grids_tile_the_county_town(metric):
    grids = metric["grids"]
    _assert_tiles(grids)
    assert 3e6 < grids.area.sum() < 9e6  # a county town of a few square kilometres
    seat = metric["towns"].set_index("code").geometry[TOWN]
    assert seat.buffer(0.01).covers(shapely.union_all(grids.geometry.values))


def test_towns_tile_the_county(metric):
    _assert_tiles(metric["towns"])
    width, height = np.ptp(metric["towns"].total_bounds.reshape(2, 2), axis=0)
    assert 30e3 < width < 50e3 and 30e3 < height < 50e3


def test_points_lie_well_inside_one_grid(metric):
    points, grids = metric["points"], metric["grids"]
    inside = np.array([shapely.contains(g, points.geometry.values) for g in grids.geometry])
    assert (inside.sum(axis=0) == 1).all()
    edges = shapely.union_all(grids.boundary.values)
    assert (points.distance(edges) > 1.0).all()


def test_communities_lie_inside_one_grid_apart_from_each_other_and_water(metric):
    communities, grids = metric["communities"], metric["grids"]
    within = np.array([shapely.within(communities.geometry.values, g) for g in grids.geometry])
    assert (within.sum(axis=0) == 1).all()
    assert _overlap_area(communities) < 0.01
    water = shapely.union_all(metric["rivers"].geometry.values)
    assert not communities.intersects(water).any()
    assert (communities["households"] > 0).all()


def test_segments_lie_in_one_grid_and_cover_every_grid(metric):
    joined = _in_one_grid(metric["segments"], metric["grids"])
    assert set(joined["grid_code"]) == set(metric["grids"]["code"])


def test_street_graph_is_connected(layers, metric):
    ends = shapely.get_coordinates(shapely.boundary(layers["segments"].geometry.values))
    assert len(ends) == 2 * len(layers["segments"])  # no closed or multi-part segments
    keys = [tuple(xy) for xy in np.round(ends, 7)]
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    nodes = np.array([index[k] for k in keys]).reshape(-1, 2)
    graph = coo_array((np.ones(len(nodes)), (nodes[:, 0], nodes[:, 1])), shape=(len(index),) * 2)
    assert connected_components(graph, directed=False)[0] == 1
    assert 20e3 < metric["segments"].length.sum() < 100e3  # tens of kilometres of street


def test_riverside_road_follows_the_river(metric):
    river = metric["rivers"].set_index("name").geometry["嘉陵江"]
    riverside = metric["segments"][metric["segments"]["road_name"] == "滨江路"]
    assert len(riverside) > 0 and (riverside.distance(river) < 100).all()


# ---------------------------------------------------------------- responsibility


def test_every_unit_takes_a_segment_in_its_own_grid(tables, unit_grid):
    assert set(unit_grid.index) == set(tables["units"]["code"])
    per_grid = unit_grid.value_counts()
    assert len(per_grid) == 12 and (per_grid >= 8).all()
    lead = tables["grid_roles"].set_index("grid_code")["lead_unit_code"]
    assert (unit_grid[lead.to_numpy()].to_numpy() == lead.index.to_numpy()).all()


def test_points_and_communities_belong_to_units_of_their_grid(metric, unit_grid):
    grids = metric["grids"][["code", "geometry"]].rename(columns={"code": "grid_code"})
    for name, predicate in (("points", "within"), ("communities", "within")):
        joined = metric[name].sjoin(grids, predicate=predicate)
        assert len(joined) == len(metric[name])
        assert (unit_grid[joined["unit_code"]].to_numpy() == joined["grid_code"].to_numpy()).all()


def test_every_reference_exists(layers, tables):
    units, leaders = set(tables["units"]["code"]), set(tables["leaders"]["code"])
    grids, towns = set(layers["grids"]["code"]), set(layers["towns"]["code"])
    for name in ("segments", "points", "communities"):
        assert set(layers[name]["unit_code"]) <= units, name
    roles = tables["grid_roles"]
    assert set(roles["grid_code"]) == grids and set(roles["lead_unit_code"]) <= units
    assert roles["lead_unit_code"].is_unique and roles["grid_head"].notna().all()

    grid_leaders = tables["grid_leaders"]
    assert set(grid_leaders["grid_code"]) == grids
    assert grid_leaders.groupby("grid_code").size().isin([2, 3]).all()
    assert sorted(grid_leaders["leader_code"]) == sorted(leaders)  # each leader takes one grid

    town_leaders = tables["town_leaders"]
    assert set(town_leaders["town_code"]) == towns
    assert town_leaders["leader_code"].is_unique and set(town_leaders["leader_code"]) <= leaders

    heads = tables["household_heads"]
    per_community = heads.groupby("community_code").size()
    assert set(per_community.index) == set(layers["communities"]["code"])
    assert per_community.between(1, 3).all()

    patrolled = tables["inspectors"]["grid_codes"].str.split("、")
    assert patrolled.map(len).between(1, 2).all()
    assert set(itertools.chain.from_iterable(patrolled)) == grids


# ---------------------------------------------------------------- determinism


@pytest.mark.slow
def test_generator_is_deterministic(layers, tables, tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, cwd=tmp_path)
    again = read_layers(tmp_path)
    for name, frame in layers.items():
        assert_geodataframe_equal(again[name], frame)
    for name, frame in read_tables(tmp_path).items():
        pd.testing.assert_frame_equal(frame, tables[name])
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == (DEMO / "README.md").read_text(
        encoding="utf-8"
    )
