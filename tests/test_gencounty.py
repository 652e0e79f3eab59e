"""Tests for scripts/gencounty.py: a generated county is a valid dataset that loads, audits clean and answers whois."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.audit import audit_model
from gridmap.io.read import read_dataset
from gridmap.responsibility import build_model
from gridmap.whois import WhoisIndex

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gencounty.py"
SETTINGS = {
    "GRIDMAP_COVERAGE_TOLERANCE_M2": 1.0,
    "GRIDMAP_COVERAGE_MIN_WIDTH_M": 0.05,
    "GRIDMAP_COVERAGE_SLIVER_WIDTH_M": 0.5,
    "GRIDMAP_AUDIT_FRONTAGE_MAX_M": 30.0,
}


@pytest.fixture(scope="module")
def gencounty():
    spec = importlib.util.spec_from_file_location("gencounty", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gencounty"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def county(gencounty, tmp_path_factory):
    folder = tmp_path_factory.mktemp("county")
    counts = gencounty.write_county(folder, grids=137, seed=5)
    return folder, counts


def test_written_county_reads_through_gdal_and_the_workbook_reader(county):
    folder, counts = county
    assert counts["grids"] == 137
    dataset = read_dataset(folder)  # DataError on any invalid value, geometry or dangling code
    assert {name: len(f) for name, f in dataset.layers.items()} == {
        k: counts[k] for k in ("towns", "grids", "segments", "points", "communities", "rivers")
    }
    for name in (
        "leaders",
        "units",
        "grid_roles",
        "grid_leaders",
        "town_leaders",
        "household_heads",
        "inspectors",
    ):
        assert len(dataset.tables[name]) == counts[name], name
    assert counts["segments"] == 2 * 137 and counts["household_heads"] == 2 * 137
    grids = dataset.layers["grids"]
    assert grids.crs.to_epsg() == 4326
    assert grids["code"].is_unique and grids["town_code"].isin(dataset.layers["towns"]["code"]).all()
    west, south, east, north = grids.total_bounds
    assert 106 < west < east < 108 and 33.5 < south < north < 35  # near Baoji, Shaanxi
    heads = dataset.tables["grid_roles"].set_index("grid_code")["grid_head_phone"]
    assert heads.str.fullmatch(r"1\d{10}").all()  # phones stay text, as typed in Excel


def test_grids_tile_without_gaps_or_overlaps_and_every_item_has_its_grid(county):
    folder, _ = county
    model = build_model(read_dataset(folder))
    geoms = model.grids.geometry.to_numpy()
    assert shapely.coverage_is_valid(geoms)
    union = shapely.coverage_union_all(geoms)
    assert union.geom_type == "Polygon" and not list(union.interiors)
    report = audit_model(model, settings=SETTINGS)
    assert report.ok, report.to_text()
    assert not report.warnings
    for name in ("segments", "points", "communities"):
        assert model.layer(name)["grid_code"].notna().all(), name
    # the two segments of the n-th grid lie in the n-th grid (drawn inside it)
    seg_grids = model.segments["grid_code"].to_numpy()
    assert (seg_grids[:137] == model.grids.index.to_numpy()).all()
    assert (seg_grids[137:] == model.grids.index.to_numpy()).all()
    # every town's outline holds its grids
    towns = model.towns.geometry
    inside = [towns.loc[t].buffer(1e-9).contains(g) for t, g in zip(model.grids["town_code"], geoms)]
    assert all(inside)


def test_whois_answers_a_generated_grid_with_its_people(county):
    folder, _ = county
    model = build_model(read_dataset(folder))
    index = WhoisIndex(model, tolerance_m=30.0)
    grid = model.grids.iloc[42]
    spot = grid.geometry.representative_point()
    answer = index.lookup(spot.x, spot.y)
    assert answer["grid"]["code"] == grid.name
    assert answer["town"]["code"] == grid["town_code"]
    assert answer["leaders"] and answer["grid_head"]["name"]
    assert answer["lead_department"]["code"] == grid["lead_unit_code"]
    community = model.communities[model.communities["grid_code"] == grid.name].iloc[0]
    c = community.geometry.representative_point()
    at_home = index.lookup(c.x, c.y)
    assert at_home["community"]["code"] == community.name
    assert len(at_home["community"]["household_heads"]) == 2


def test_same_seed_same_county_other_seed_other_people(gencounty):
    a_layers, a_tables = gencounty.build_county(50, seed=1)
    b_layers, b_tables = gencounty.build_county(50, seed=1)
    _, c_tables = gencounty.build_county(50, seed=2)
    assert shapely.equals(a_layers["grids"].geometry.to_numpy(), b_layers["grids"].geometry.to_numpy()).all()
    pd.testing.assert_frame_equal(a_tables["grid_roles"], b_tables["grid_roles"])
    assert not a_tables["grid_roles"]["grid_head"].equals(c_tables["grid_roles"]["grid_head"])
    assert np.array_equal(a_layers["grids"]["code"], gencounty.build_county(50, seed=2)[0]["grids"]["code"])


def test_csv_tables_load_as_the_workbook_does(gencounty, tmp_path):
    counts = gencounty.write_county(tmp_path, grids=30, seed=5, tables="csv")
    assert not (tmp_path / "responsibility.xlsx").exists()
    assert (
        (tmp_path / "中心户长.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    )  # UTF-8 with BOM, Excel-friendly
    dataset = read_dataset(tmp_path)
    for name in (
        "leaders",
        "units",
        "grid_roles",
        "grid_leaders",
        "town_leaders",
        "household_heads",
        "inspectors",
    ):
        assert len(dataset.tables[name]) == counts[name], name
    assert dataset.tables["grid_roles"]["grid_head_phone"].str.fullmatch(r"1\d{10}").all()
    assert audit_model(build_model(dataset), settings=SETTINGS).ok
