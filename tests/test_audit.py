"""Audit of the responsibility map on tiny hand-made polygons."""

from __future__ import annotations

from shapely.geometry import Point, box

from gridmap.audit import audit_model
from gridmap.io.read import read_dataset
from gridmap.responsibility import build_model
from tests import factory


def _audit(tmp_path, layers, tables=None):
    return audit_model(
        build_model(read_dataset(factory.write_dataset(tmp_path, layers_=layers, tables_=tables)))
    )


def test_clean_dataset_has_no_findings(dataset_dir):
    report = audit_model(build_model(read_dataset(dataset_dir)))
    assert report.ok and report.error_count == 0
    assert "缝隙 0 处，重叠 0 处，未落实责任 0 处" in report.to_text()


def test_overlap_reported_with_area_in_square_metres(tmp_path):
    layers = factory.layers()
    # Grid B starts 0.0001 degrees (about 9.2 m) west of grid A's east edge: 9.2 m x 1110 m.
    layers["grids"] = layers["grids"].set_geometry(
        [box(106.510, 33.905, 106.520, 33.915), box(106.5199, 33.905, 106.530, 33.915)]
    )
    report = _audit(tmp_path, layers)
    assert len(report.overlaps) == 1 and not report.gaps
    o = report.overlaps[0]
    assert o["grids"] == ["610330100001", "610330100002"]
    assert 9.0 * 1100 < o["area_m2"] < 9.4 * 1120


def test_gap_between_grids_reported(tmp_path):
    layers = factory.layers()
    ring = box(106.508, 33.903, 106.532, 33.917)
    inner_a = box(106.510, 33.905, 106.520, 33.915)
    # Three grids: a frame around, and two inner boxes leaving a 0.0002-degree seam between them.
    layers["grids"] = factory.gpd.GeoDataFrame(
        {"code": ["G1", "G2", "G3"], "name": ["甲", "乙", "丙"], "town_code": ["610330100"] * 3},
        geometry=[
            ring.difference(box(106.510, 33.905, 106.530, 33.915)),
            inner_a,
            box(106.5202, 33.905, 106.530, 33.915),
        ],
        crs="EPSG:4326",
    )
    tables = factory.tables()
    tables["grid_roles"] = [[c, "某网格长", None, "U1"] for c in ("G1", "G2", "G3")]
    tables["grid_leaders"] = [[c, "L01"] for c in ("G1", "G2", "G3")]
    tables["inspectors"] = []
    report = _audit(tmp_path, layers, tables)
    assert len(report.gaps) == 1 and not report.overlaps
    gap = report.gaps[0]
    assert 17 * 1100 < gap["area_m2"] < 19 * 1120
    assert gap["grids"] == ["G1", "G2", "G3"]


def test_items_outside_every_grid_are_unassigned(tmp_path):
    layers = factory.layers()
    geoms = list(layers["points"].geometry)
    geoms[1] = Point(106.60, 33.90)
    layers["points"] = layers["points"].set_geometry(geoms)
    report = _audit(tmp_path, layers)
    assert [u["code"] for u in report.unassigned] == ["P2"]
    assert report.unassigned[0]["kind"] == "outside_grid"
    assert not report.ok


def test_grid_without_leader_is_reported(tmp_path):
    tables = factory.tables()
    tables["grid_leaders"] = [r for r in tables["grid_leaders"] if r[0] != "610330100002"]
    report = _audit(tmp_path, factory.layers(), tables)
    assert [(u["code"], u["kind"]) for u in report.unassigned] == [("610330100002", "no_leader")]
