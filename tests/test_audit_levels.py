"""Audit of the grid levels on tiny hand-made polygons: planted gaps, overlaps and children outside
their parent at each level (town → village → group, county-town grid → sub-grid), parent chains,
shops, frontages, buildings and household heads."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gridmap.audit import audit_model
from gridmap.io.read import Dataset, read_dataset
from gridmap.responsibility import build_model
from tests import factory

TOWN = "610330101"  # factory.TOWN_B: x 106.53–106.70, y 33.80–34.00
GRID = "610330100001"  # x 106.510–106.520, y 33.905–33.915
V1, V2 = "610330101201", "610330101202"
G11, G12 = "61033010120101", "61033010120102"
S1, S2 = "610330100001-01", "610330100001-02"


def _boxes() -> dict[str, tuple[str, tuple[float, float, float, float]]]:
    """code -> (parent, box): a clean set where every level tiles its parent."""
    return {
        V1: (TOWN, (106.53, 33.80, 106.60, 34.00)),
        V2: (TOWN, (106.60, 33.80, 106.70, 34.00)),
        G11: (V1, (106.53, 33.80, 106.60, 33.90)),
        G12: (V1, (106.53, 33.90, 106.60, 34.00)),
        S1: (GRID, (106.510, 33.905, 106.515, 33.915)),
        S2: (GRID, (106.515, 33.905, 106.520, 33.915)),
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Dataset:
    tables = factory.tables()
    tables["household_heads"] = [["H1", "郑大姐", "13900000009", "C1", "3号楼", "B1"]]
    layers = factory.layers()
    layers["buildings"] = gpd.GeoDataFrame(
        {"code": ["B1"], "name": ["3号楼"], "community_code": ["C1"]},
        geometry=[box(106.5125, 33.9065, 106.5130, 33.9070)],
        crs="EPSG:4326",
    )
    directory = tmp_path_factory.mktemp("levels")
    return read_dataset(factory.write_dataset(directory, layers_=layers, tables_=tables))


def _audit(base: Dataset, boxes=None, *, levels=None, shops=True, building=None, heads=None):
    boxes = boxes or _boxes()
    levels = levels or {}
    layers = dict(base.layers)
    layers["subgrids"] = gpd.GeoDataFrame(
        {
            "code": list(boxes),
            "name": [f"网格{c[-2:]}" for c in boxes],
            "parent_code": [p for p, _ in boxes.values()],
            "level": [levels.get(c) for c in boxes],
        },
        geometry=[box(*b) for _, b in boxes.values()],
        crs="EPSG:4326",
    )
    if shops:
        layers["shops"] = gpd.GeoDataFrame(
            {"code": ["SH1", "SH2"], "name": ["滨江饭店", "红花铺小卖部"]},
            geometry=[Point(106.5125, 33.9105), Point(106.56, 33.85)],
            crs="EPSG:4326",
        )
        layers["frontages"] = gpd.GeoDataFrame(
            {"shop_code": ["SH1", "SH2"]},
            # SH1's frontage is 5 m south of the shop; SH2's lies 0.001° (about 110 m) north of it.
            geometry=[
                LineString([(106.5124, 33.91045), (106.5126, 33.91045)]),
                LineString([(106.5599, 33.851), (106.5601, 33.851)]),
            ],
            crs="EPSG:4326",
        )
    layers["buildings"] = gpd.GeoDataFrame(
        {"code": ["B1"], "name": ["3号楼"], "community_code": ["C1"]},  # C1: 106.512–106.514, 33.906–33.908
        geometry=[building or box(106.5125, 33.9065, 106.5130, 33.9070)],
        crs="EPSG:4326",
    )
    tables = dict(base.tables)
    if heads is not None:
        tables["household_heads"] = heads
    return audit_model(build_model(Dataset(layers=layers, tables=tables)))


def _found(report) -> set[tuple[str, str]]:
    return {(f["kind"], f["code"]) for f in report.levels}


def test_clean_levels_have_no_findings_and_full_coverage(base):
    report = _audit(base, shops=False)
    assert report.levels == []
    assert report.ok
    share = {c["parent_code"]: (c["children"], c["covered_share"]) for c in report.coverage}
    assert share == {TOWN: (2, 1.0), V1: (2, 1.0), GRID: (2, 1.0)}
    assert "分级网格、商户与楼栋：错误 0 处" in report.to_text()


def _moved(code: str, **edges: float):
    boxes = _boxes()
    parent, (x0, y0, x1, y1) = boxes[code]
    b = {"x0": x0, "y0": y0, "x1": x1, "y1": y1} | edges
    boxes[code] = (parent, (b["x0"], b["y0"], b["x1"], b["y1"]))
    return boxes


# One planted error per level and kind: (boxes, the finding expected, its severity).
PLANTED = {
    "village gap": (_moved(V2, x0=106.601), ("gap", TOWN), "warning"),
    "village overlap": (_moved(V2, x0=106.599), ("overlap", V1), "error"),
    "village outside town": (_moved(V2, x1=106.71), ("outside_parent", V2), "error"),
    "group gap": (_moved(G12, y0=33.901), ("gap", V1), "warning"),
    "group overlap": (_moved(G12, y0=33.899), ("overlap", G11), "error"),
    "group outside village": (_moved(G12, y1=34.01), ("outside_parent", G12), "error"),
    "sub-grid gap": (_moved(S2, x0=106.5152), ("gap", GRID), "warning"),
    "sub-grid overlap": (_moved(S2, x0=106.5148), ("overlap", S1), "error"),
    "sub-grid outside grid": (_moved(S2, x1=106.5205), ("outside_parent", S2), "error"),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_planted_gap_overlap_or_child_outside_parent_is_found_at_each_level(base, case):
    boxes, expected, severity = PLANTED[case]
    report = _audit(base, boxes, shops=False)
    assert _found(report) == {expected}
    finding = report.levels[0]
    assert finding["severity"] == severity
    assert report.ok is (severity != "error")
    assert finding["area_m2"] > 1000 and finding["hint"]
    if expected[0] == "overlap":
        assert finding["other"] in (V2, G12, S2)
    text = report.to_text()
    assert f"编码/要素 {expected[1]}" in text and "处理：" in text


def test_gap_lowers_the_parents_coverage_share(base):
    report = _audit(base, _moved(V2, x1=106.65), shops=False)  # V2 stops half-way: 0.05° of 0.17° left
    town = next(c for c in report.coverage if c["parent_code"] == TOWN)
    assert 0.68 < town["covered_share"] < 0.73
    assert town["parent_label"] == "镇/街道" and town["uncovered_m2"] > 1e7
    assert _found(report) == {("gap", TOWN)}
    assert "覆盖 70" in report.to_text()


def test_unknown_parent_cycle_and_level_that_does_not_fit_the_parent(base):
    boxes = _boxes()
    boxes["X1"] = ("X2", (106.54, 33.81, 106.55, 33.82))  # X1 → X2 → X1: never reaches a town
    boxes["X2"] = ("X1", (106.54, 33.81, 106.55, 33.82))
    boxes["X3"] = ("NOPE", (106.54, 33.83, 106.55, 33.84))
    report = _audit(base, boxes, levels={V2: "组", G11: "乡"}, shops=False)
    kinds = _found(report)
    assert ("broken_chain", "X1") in kinds and ("broken_chain", "X2") in kinds
    assert ("unknown_parent", "X3") in kinds
    assert ("level_mismatch", V2) in kinds and ("unknown_level", G11) in kinds
    mismatch = next(f for f in report.levels if f["kind"] == "level_mismatch")
    assert "应为“村”" in mismatch["message"]
    assert not report.ok


def test_shops_frontages_buildings_and_household_heads(base):
    heads = pd.DataFrame(
        {
            "code": ["H1", "H2", "H3"],
            "name": ["郑大姐", "钱大哥", "孙阿姨"],
            "phone": [None] * 3,
            "community_code": ["C1"] * 3,
            "building": [None] * 3,
            "building_code": ["B1", None, "B9"],
        }
    )
    outside = box(106.5135, 33.9065, 106.5150, 33.9070)  # half of it east of C1 (x > 106.514)
    report = _audit(base, building=outside, heads=heads)
    assert {(f["kind"], f["code"]) for f in report.levels} == {
        ("frontage_far", 1),
        ("outside_community", "B1"),
        ("no_building", "H2"),
        ("unknown_building", "H3"),
    }
    far = next(f for f in report.levels if f["kind"] == "frontage_far")
    assert 100 < far["distance_m"] < 120 and "SH2" in far["message"]
    assert next(f for f in report.levels if f["kind"] == "unknown_building")["severity"] == "error"

    bare = _audit(base, shops=False)
    assert not any(f["kind"] == "no_frontage" for f in bare.levels)  # no shops at all: nothing to say
    layers = dict(base.layers)
    report = _audit(base)
    assert not any(f["kind"] == "no_frontage" for f in report.levels)
    layers["shops"] = gpd.GeoDataFrame(
        {"code": ["SH3"], "name": ["新店"]}, geometry=[Point(106.52, 33.91)], crs="EPSG:4326"
    )
    alone = audit_model(build_model(Dataset(layers=layers, tables=dict(base.tables))))
    assert [(f["kind"], f["code"], f["severity"]) for f in alone.levels] == [
        ("no_frontage", "SH3", "warning")
    ]
    assert "门前五包" in alone.to_text()


def test_gridmap_audit_prints_level_findings_in_chinese(tmp_path, base):
    """`gridmap audit <directory>` shows a planted overlap of two village grids with what to do."""
    import json

    from click.testing import CliRunner

    from gridmap.cli import main

    layers = factory.layers()
    boxes = _moved(V2, x0=106.599)
    layers["subgrids"] = gpd.GeoDataFrame(
        {"code": list(boxes), "name": list(boxes), "parent_code": [p for p, _ in boxes.values()]},
        geometry=[box(*b) for _, b in boxes.values()],
        crs="EPSG:4326",
    )
    directory = factory.write_dataset(tmp_path / "data", layers_=layers)
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["audit", str(directory)], env=env)
    assert result.exit_code == 1, result.output
    assert f"错误：图层 下级网格（subgrids），编码/要素 {V1}" in result.output
    assert f"与同属“{TOWN}”的 {V2} 重叠" in result.output and "处理：" in result.output
    result = CliRunner().invoke(main, ["audit", str(directory), "--json"], env=env)
    data = json.loads(result.output[result.output.index("{") :])
    assert data["counts"]["level_errors"] == 1 and data["levels"][0]["kind"] == "overlap"
