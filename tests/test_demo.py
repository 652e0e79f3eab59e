"""The demo county through the API: the reference county's numbers, audit, whois."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

DEMO = Path(__file__).resolve().parent.parent / "geodata" / "demo"


@pytest.fixture(scope="module")
def demo_client(module_database):
    """The demo county loaded once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from web import create_app

    folder, url = module_database
    settings = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test",
    }
    store = Store(url)
    result = load_directory(store, DEMO)
    assert result.audit.ok, result.audit.to_text()
    yield create_app(settings).test_client()
    store.engine.dispose()


def _features(client, name):
    return json.loads(client.get(f"/api/layers/{name}.geojson").get_data(as_text=True))["features"]


def test_the_reference_county_numbers(demo_client):
    assert len(_features(demo_client, "towns")) == 9
    assert len(_features(demo_client, "grids")) == 12
    points = _features(demo_client, "points")
    assert len(points) == 139
    assert len({f["properties"]["category"] for f in points}) == 28
    assert len(_features(demo_client, "communities")) == 112
    assert len(demo_client.get("/api/units").get_json()["units"]) == 132
    assert len(demo_client.get("/api/leaders").get_json()["leaders"]) == 27
    grids = demo_client.get("/api/grids").get_json()["grids"]
    assert all(2 <= len(g["leaders"]) <= 3 for g in grids)
    assert len({g["lead_department"] for g in grids}) == 12
    assert all(g["code"].startswith("610330100") and len(g["code"]) == 12 for g in grids)


def test_audit_of_the_demo_is_clean():
    from gridmap.audit import audit_model
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    report = audit_model(build_model(read_dataset(DEMO)))
    counts = report.as_dict()["counts"]
    assert (counts["gaps"], counts["overlaps"], counts["unassigned"], counts["references"]) == (0, 0, 0, 0)


def test_whois_at_random_spots_names_the_containing_grid(demo_client):
    grids = _features(demo_client, "grids")
    shapes = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in grids}
    union = shapely.union_all(list(shapes.values()))
    minx, miny, maxx, maxy = union.bounds
    rng = np.random.default_rng(2026)
    inside = outside = 0
    for lon, lat in zip(
        rng.uniform(minx - 0.01, maxx + 0.01, 300), rng.uniform(miny - 0.01, maxy + 0.01, 300)
    ):
        p = shapely.Point(lon, lat)
        d = demo_client.get(f"/api/whois?lon={lon}&lat={lat}").get_json()
        containing = [code for code, shape in shapes.items() if shape.contains(p)]
        if containing:
            inside += 1
            assert d["grid"]["code"] == containing[0]
            assert d["fallback"] is False and d["leaders"]
        elif not union.intersects(p.buffer(1e-6)):
            outside += 1
            assert d["grid"] is None and d["fallback"] is True
            assert d["town"]["name"]
            assert d["leaders"], "the town's liaison leader answers outside the grids"
    assert inside > 50 and outside > 50


def test_every_town_answers_outside_the_grids(demo_client):
    towns = _features(demo_client, "towns")
    for f in towns:
        p = shapely.geometry.shape(f["geometry"]).representative_point()
        d = demo_client.get(f"/api/whois?lon={p.x}&lat={p.y}").get_json()
        assert d["town"]["code"] == f["id"]
        if d["grid"] is None:
            assert d["fallback"] is True
