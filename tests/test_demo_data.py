"""The committed demo county in geodata/demo: schema, counts, topology, references, determinism."""

from __future__ import annotations

import itertools
import json
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

from gridmap.io.references import check_references
from gridmap.levels import derive_subgrids
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
    levels = layers["subgrids"]["level"].value_counts()
    assert set(levels.index) == {"村", "组", "子网格"}
    assert 27 <= levels["村"] <= 45  # 3-5 village grids in each of the 9 towns
    assert 2 * levels["村"] <= levels["组"] <= 4 * levels["村"]  # 2-4 group grids a village
    assert 8 <= levels["子网格"] <= 15  # in 5 of the 12 county-town grids
    assert 200 <= len(layers["shops"]) <= 500
    assert len(layers["frontages"]) == len(layers["shops"])
    assert 4 * 112 <= len(layers["buildings"]) <= 12 * 112
    assert 300 <= len(tables["grid_people"]) <= 800


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
    sub = layers["subgrids"].set_index("code")
    assert sub.index.is_unique
    parent = sub["parent_code"]
    assert (sub.index.str[:-3][sub["level"] == "村"] == parent[sub["level"] == "村"]).all()
    assert sub.index[sub["level"] == "村"].str.fullmatch(r"610330\d{3}2\d{2}").all()
    for level in ("组", "子网格"):  # the parent's code and a 2-digit sequence
        mine = sub[sub["level"] == level]
        assert (mine.index.str[:-2] == mine["parent_code"]).all() and mine.index.str.fullmatch(
            r"\d{14}"
        ).all()
    assert layers["shops"]["code"].is_unique and layers["shops"]["name"].is_unique
    assert layers["buildings"]["code"].is_unique
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


# ---------------------------------------------------------------- grid levels, shops, buildings


def _no_two_intersect(frame: gpd.GeoDataFrame) -> bool:
    left, right = frame.sindex.query(frame.geometry, predicate="intersects")
    return bool((left == right).all())


def _children_of(metric, level: str, parents: gpd.GeoDataFrame):
    """(parent geometry, its children) for every parent, children of ``level`` from the sub-grids."""
    sub = metric["subgrids"]
    mine = sub[sub["level"] == level]
    for code, shape in parents.geometry.items():
        yield code, shape, mine[mine["parent_code"] == code]


@pytest.mark.parametrize(
    ("level", "parent_layer", "per_parent"),
    [("村", "towns", (3, 5)), ("组", "villages", (2, 4)), ("子网格", "grids", (0, 3))],
)
def test_children_lie_inside_their_parent_apart_and_leave_a_gap(metric, level, parent_layer, per_parent):
    sub = metric["subgrids"]
    if parent_layer == "villages":
        parents = sub[sub["level"] == "村"].set_index("code")
    else:
        parents = metric[parent_layer].set_index("code")
    children = sub[sub["level"] == level]
    assert set(children["parent_code"]) <= set(parents.index)
    assert children.geom_type.eq("Polygon").all() and children.is_valid.all()
    assert _no_two_intersect(children)  # siblings (and cousins) apart
    counts = []
    for code, shape, mine in _children_of(metric, level, parents):
        counts.append(len(mine))
        assert mine.within(shape).all(), code
        if len(mine):  # the parent's fallback is reachable: a gap wider than 20 m is left
            left = shape.difference(shapely.union_all(mine.geometry.values))
            assert not left.buffer(-10.0).is_empty, code
            assert left.area > 0.02 * shape.area, code
    assert per_parent[0] <= min(counts) and max(counts) <= per_parent[1]
    if level == "子网格":
        assert sum(c > 0 for c in counts) == 5


def test_village_grids_keep_clear_of_the_county_town(metric):
    sub = metric["subgrids"]
    villages = sub[sub["level"] == "村"]
    county_town = shapely.union_all(metric["grids"].geometry.values)
    assert (villages.distance(county_town) > 100.0).all()
    assert set(villages["parent_code"]) == set(metric["towns"]["code"])  # every town has villages


def test_levels_derive_as_labelled(layers):
    grids = layers["grids"].set_index("code")["town_code"]
    towns = pd.Index(layers["towns"]["code"])
    sub = derive_subgrids(
        layers["subgrids"].set_index("code").drop(columns="level"), towns=towns, grids=grids
    )
    labelled = layers["subgrids"].set_index("code")
    assert (sub["level"] == labelled["level"]).all()
    assert sub["town_code"].notna().all()
    assert (sub.loc[labelled["level"] == "子网格", "grid_code"].notna()).all()
    assert sub["depth"].max() == 2


def test_every_level_has_its_people(layers, tables):
    people = tables["grid_people"]
    roles = people.groupby("grid_code")["role"].agg(set)
    sub = layers["subgrids"].set_index("code")
    assert all(roles[t] == {"镇干部"} for t in layers["towns"]["code"])
    assert all(roles[g] == {"网格员"} for g in layers["grids"]["code"])
    for code, level in sub["level"].items():
        assert roles[code] == ({"村书记", "网格员"} if level == "村" else {"网格员", "志愿者"}), code
    assert set(roles.index) == set(layers["towns"]["code"]) | set(layers["grids"]["code"]) | set(sub.index)
    assert people["phone"].str.fullmatch(r"1\d{10}").all()
    everyone = pd.concat([tables["leaders"]["name"], tables["household_heads"]["name"], people["name"]])
    assert everyone.is_unique  # fictitious names, none repeated within the demo


def test_every_shop_has_a_frontage_between_its_door_and_a_road(layers, metric):
    shops, fronts = metric["shops"].set_index("code"), metric["frontages"]
    assert (
        layers["shops"]["category"]
        .isin(["餐饮", "零售", "理发美容", "维修", "服装鞋帽", "药店", "通讯", "文印"])
        .all()
    )
    assert layers["shops"]["category"].nunique() >= 6
    assert layers["shops"][["name", "address", "owner", "owner_phone"]].notna().all().all()
    assert layers["shops"]["owner_phone"].str.fullmatch(r"1\d{10}").all()
    assert sorted(fronts["shop_code"]) == sorted(shops.index)  # one frontage for each shop
    assert fronts.geom_type.eq("Polygon").all()
    own = shops.geometry[fronts["shop_code"]].to_numpy()
    assert (shapely.distance(fronts.geometry.values, own) < 3.0).all()  # its door
    segments = metric["segments"]
    assert (fronts.geometry.apply(lambda f: segments.distance(f).min()) < 7.0).all()  # the kerb
    assert not shops.intersects(shapely.union_all(segments.buffer(3.0).geometry.values)).any()
    assert _no_two_intersect(fronts)
    water = shapely.union_all(metric["rivers"].geometry.values)
    assert not fronts.intersects(water).any() and not shops.intersects(water).any()
    on_streets = segments.iloc[segments.sindex.nearest(shops.geometry, return_all=False)[1]]["road_name"]
    assert set(on_streets) == {"老街", "凤州路", "汉中路"}
    grids = metric["grids"]
    inside = np.array([shapely.contains(g, fronts.geometry.values) for g in grids.geometry])
    assert (inside.sum(axis=0) == 1).all()  # every frontage inside one county-town grid


def test_household_heads_live_in_numbered_buildings_of_their_community(layers, metric, tables):
    buildings = metric["buildings"].set_index("code")
    communities = metric["communities"].set_index("code")
    home = communities.geometry[buildings["community_code"]].to_numpy()
    assert shapely.within(buildings.geometry.values, home).all()
    assert _no_two_intersect(metric["buildings"])
    assert buildings.groupby("community_code").size().between(4, 12).all()
    heads = tables["household_heads"]
    assert heads["building_code"].notna().all() and heads["building_code"].isin(buildings.index).all()
    theirs = buildings.loc[heads["building_code"]]
    assert (theirs["community_code"].to_numpy() == heads["community_code"].to_numpy()).all()
    names = communities["name"][heads["community_code"]].to_numpy() + heads["building"].to_numpy()
    assert (theirs["name"].to_numpy() == names).all()  # 楼栋 text and building name agree


def test_check_references_finds_nothing(layers, tables):
    assert check_references(layers, tables) == []


@pytest.mark.slow
def test_audit_finds_only_the_planned_gaps(layers):
    gridmap = Path(sys.executable).with_name("gridmap")
    done = subprocess.run([str(gridmap), "audit", str(DEMO), "--json"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["ok"] and report["counts"]["level_errors"] == 0
    assert {(f["kind"], f["severity"]) for f in report["levels"]} == {("gap", "warning")}
    sub = layers["subgrids"]
    assert {f["code"] for f in report["levels"]} == set(sub["parent_code"])  # each parent leaves a gap
    assert all(0.3 < c["covered_share"] < 0.98 for c in report["coverage"])


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
