"""The coverage rule on tiny hand-made polygons: gaps and overlaps in metres, thresholds from settings."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from gridmap.audit import audit_model
from gridmap.coverage import CoverageRule, find_gaps_and_overlaps
from gridmap.io.read import read_dataset
from gridmap.responsibility import build_model
from gridmap.settings import load_settings
from tests import factory

METRIC = "EPSG:4545"  # CGCS2000 3-degree Gauss-Krüger CM 108°E, the local zone of the test county
X0, Y0 = 361_000.0, 3_754_000.0  # near 106.5°E, 33.9°N
RULE = CoverageRule(tolerance_m2=1.0, min_width_m=0.05, sliver_width_m=1.0)


def _lonlat(polys) -> np.ndarray:
    """Polygons drawn in metres (EPSG:4545), stored as lon/lat like every layer."""
    return gpd.GeoSeries(polys, crs=METRIC).to_crs("EPSG:4326").to_numpy()


def _frame_with_seam(seam_m: float) -> list[Polygon]:
    """Two 100 m x 100 m squares `seam_m` apart, between a strip below and a strip above.

    The strips carry the squares' corners as vertices, so every edge is shared exactly.
    """
    left, right = X0 + 100, X0 + 100 + seam_m
    end = right + 100
    below = Polygon([(X0, Y0 - 50), (end, Y0 - 50), (end, Y0), (right, Y0), (left, Y0), (X0, Y0)])
    above = Polygon(
        [
            (X0, Y0 + 100),
            (left, Y0 + 100),
            (right, Y0 + 100),
            (end, Y0 + 100),
            (end, Y0 + 150),
            (X0, Y0 + 150),
        ]
    )
    return [below, box(X0, Y0, left, Y0 + 100), box(right, Y0, end, Y0 + 100), above]


def test_a_ten_metre_gap_is_found_with_its_area_place_and_neighbours():
    gaps, overlaps = find_gaps_and_overlaps(_lonlat(_frame_with_seam(10.0)), rule=RULE)
    assert not overlaps
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.area_m2 == pytest.approx(1000.0, abs=0.5)  # 10 m x 100 m
    assert gap.width_m == pytest.approx(2 * 1000 / 220, abs=0.01)  # 2 * area / perimeter
    assert not gap.sliver
    assert gap.neighbours == (0, 1, 2, 3)
    centre = gpd.GeoSeries([shapely.Point(X0 + 105, Y0 + 50)], crs=METRIC).to_crs("EPSG:4326").iloc[0]
    assert (gap.lon, gap.lat) == pytest.approx((centre.x, centre.y), abs=1e-6)


def test_an_overlap_is_measured_in_square_metres():
    a = box(X0, Y0, X0 + 100, Y0 + 100)
    b = box(X0 + 94, Y0, X0 + 194, Y0 + 100)  # 6 m x 100 m in common
    far = box(X0 + 500, Y0, X0 + 600, Y0 + 100)
    gaps, overlaps = find_gaps_and_overlaps(_lonlat([a, b, far]), rule=RULE)
    assert not gaps
    assert [(o.first, o.second) for o in overlaps] == [(0, 1)]
    assert overlaps[0].area_m2 == pytest.approx(600.0, abs=0.5)
    assert not overlaps[0].sliver


def test_thresholds_tolerance_noise_and_slivers():
    polys = _lonlat(_frame_with_seam(10.0))
    assert find_gaps_and_overlaps(polys, rule=CoverageRule(1000.5, 0.05, 1.0)) == ([], [])
    assert len(find_gaps_and_overlaps(polys, rule=CoverageRule(999.5, 0.05, 1.0))[0]) == 1
    # A 0.5 m seam is a sliver; a 1 cm one is rounding noise below min_width_m.
    seam = find_gaps_and_overlaps(_lonlat(_frame_with_seam(0.5)), rule=RULE)[0]
    assert len(seam) == 1 and seam[0].sliver and seam[0].area_m2 == pytest.approx(50.0, abs=0.1)
    assert find_gaps_and_overlaps(_lonlat(_frame_with_seam(0.01)), rule=RULE) == ([], [])
    assert (
        len(find_gaps_and_overlaps(_lonlat(_frame_with_seam(0.01)), rule=CoverageRule(0.1, 0.001, 1.0))[0])
        == 1
    )


def test_edges_with_unshared_vertices_are_not_projection_slivers():
    # A 4 km wide strip whose top edge is one straight lon/lat segment, and four neighbours
    # above it whose corners lie on that edge. Projected, the straight edge and the bent
    # chain of corners part by up to ~0.2 m; cut in lon/lat there is nothing between them.
    bottom = box(106.50, 33.90, 106.54, 33.91)
    tops = [box(106.50 + 0.01 * i, 33.91, 106.51 + 0.01 * i, 33.92) for i in range(4)]
    assert find_gaps_and_overlaps(np.array([bottom, *tops], dtype=object), rule=RULE) == ([], [])


def test_the_rule_comes_from_the_settings_registry():
    defaults = CoverageRule.from_settings(load_settings(environ={}))
    assert defaults == CoverageRule(tolerance_m2=1.0, min_width_m=0.05, sliver_width_m=1.0)
    chosen = CoverageRule.from_settings(
        load_settings(
            {
                "GRIDMAP_COVERAGE_TOLERANCE_M2": "5",
                "GRIDMAP_COVERAGE_MIN_WIDTH_M": "0.2",
                "GRIDMAP_COVERAGE_SLIVER_WIDTH_M": "2",
            },
            environ={},
        )
    )
    assert chosen == CoverageRule(tolerance_m2=5.0, min_width_m=0.2, sliver_width_m=2.0)
    assert CoverageRule.from_settings(load_settings(environ={}), tolerance_m2=7.0).tolerance_m2 == 7.0


def _seam_dataset(tmp_path):
    layers = factory.layers()
    # The two grids 0.0002 degrees (about 18 m) apart, inside a frame grid: an ~18 m x 1110 m gap.
    ring = box(106.508, 33.903, 106.532, 33.917)
    layers["grids"] = gpd.GeoDataFrame(
        {"code": ["G1", "G2", "G3"], "name": ["甲", "乙", "丙"], "town_code": ["610330100"] * 3},
        geometry=[
            ring.difference(box(106.510, 33.905, 106.530, 33.915)),
            box(106.510, 33.905, 106.520, 33.915),
            box(106.5202, 33.905, 106.530, 33.915),
        ],
        crs="EPSG:4326",
    )
    tables = factory.tables()
    tables["grid_roles"] = [[c, "某网格长", None, "U1"] for c in ("G1", "G2", "G3")]
    tables["grid_leaders"] = [[c, "L01"] for c in ("G1", "G2", "G3")]
    tables["inspectors"] = []
    return factory.write_dataset(tmp_path, layers_=layers, tables_=tables)


def test_audit_and_cli_read_the_tolerance_setting(tmp_path):
    directory = _seam_dataset(tmp_path)
    model = build_model(read_dataset(directory))
    assert len(audit_model(model, settings=load_settings(environ={})).gaps) == 1
    wide = load_settings({"GRIDMAP_COVERAGE_TOLERANCE_M2": 50_000.0}, environ={})
    assert audit_model(model, settings=wide).gaps == []
    assert len(audit_model(model, settings=wide, tolerance_m2=1.0).gaps) == 1  # the option wins
    env = {
        **os.environ,
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_COVERAGE_TOLERANCE_M2": "50000",
    }
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "audit", str(directory)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "缝隙 0 处" in run.stdout, run.stdout + run.stderr
    env["GRIDMAP_COVERAGE_TOLERANCE_M2"] = "1"
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "audit", str(directory)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "缝隙 1 处" in run.stdout, run.stdout + run.stderr
