"""Search hits say what and where they are, so that hits of one name can be told apart."""

from __future__ import annotations

from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "geodata" / "demo"


@pytest.fixture(scope="module")
def demo_model():
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    return build_model(read_dataset(DEMO))


def test_sections_of_one_road_are_told_apart_by_their_ends_unit_and_grid(demo_model):
    segments = demo_model.segments
    road = segments["road_name"].value_counts().index[0]  # the road with the most sections
    assert (segments["road_name"] == road).sum() >= 2
    hits = [h for h in demo_model.search(road, limit=500) if h["kind"] == "segment" and h["name"] == road]
    assert len(hits) == (segments["road_name"] == road).sum()
    labels = [(h["detail"], h["where"]) for h in hits]
    assert len(set(labels)) == len(labels), labels  # no two read the same
    first = segments.loc[hits[0]["code"]]
    assert first["from_name"] in hits[0]["detail"] and first["to_name"] in hits[0]["detail"]
    unit = demo_model.units.loc[first["unit_code"], "name"]
    assert f"{unit}包段" in hits[0]["detail"]
    grid = demo_model.grids.loc[first["grid_code"]]
    assert hits[0]["where"] == f"{grid['name']} · {grid['town_name']}"


def test_points_and_leaders_say_their_category_and_post(demo_model):
    point = demo_model.points.iloc[0]
    hit = next(h for h in demo_model.search(point["name"], limit=500) if h["code"] == point.name)
    assert hit["detail"] == point["category"] and hit["grid_name"] and hit["town_name"]
    leader = demo_model.leaders.iloc[0]
    hit = next(h for h in demo_model.search(leader["name"], limit=500) if h["kind"] == "leader")
    assert hit["detail"] == leader["title"] and "where" not in hit
