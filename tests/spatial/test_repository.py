"""Whois in PostGIS answers as the in-memory WhoisIndex does, on the demo county."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from gridmap.errors import ConfigError
from gridmap.reference import load_directory
from gridmap.responsibility import build_model
from gridmap.spatial import repository
from gridmap.store import Store
from gridmap.whois import POINT_RADIUS_M, WhoisIndex

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
TOLERANCE_M = 50.0


@pytest.fixture(scope="module")
def demo(pg_cluster):
    name = pg_cluster.create_database()
    store = Store(pg_cluster.url(name))
    load_directory(store, DEMO)
    model = build_model(store.read_dataset())
    yield store, model, WhoisIndex(model, tolerance_m=TOLERANCE_M)
    store.engine.dispose()
    pg_cluster.drop_database(name)


def _spots(model) -> tuple[np.ndarray, np.ndarray]:
    """Random spots over the county, spots inside every grid and community, next to every point and road."""
    rng = np.random.default_rng(14)
    x0, y0, x1, y1 = model.grids.total_bounds
    pad = 0.01
    lon = list(rng.uniform(x0 - pad, x1 + pad, 400))
    lat = list(rng.uniform(y0 - pad, y1 + pad, 400))
    for frame in (model.grids, model.communities, model.towns):
        inside = shapely.point_on_surface(frame.geometry.to_numpy())
        lon += list(shapely.get_x(inside))
        lat += list(shapely.get_y(inside))
    for frame, metres in ((model.points, 12.0), (model.segments, 20.0)):
        at = shapely.point_on_surface(frame.geometry.to_numpy())
        lon += list(shapely.get_x(at) + metres / 92_000)  # ~metres east at 34° N
        lat += list(shapely.get_y(at))
    return np.asarray(lon), np.asarray(lat)


def _code(frame, position: int) -> str | None:
    return None if position < 0 else str(frame.index[position])


def test_database_whois_gives_the_in_memory_answers_on_the_demo(demo):
    store, model, index = demo
    lon, lat = _spots(model)
    found = index.locate(lon, lat)
    spots = repository.locate_many(store, lon, lat, tolerance_m=TOLERANCE_M)
    assert len(spots) == len(lon) > 500
    hits = {"grid": 0, "segment": 0, "point": 0, "community": 0}
    for i, spot in enumerate(spots):
        assert spot.town == _code(model.towns, found.town[i]), (lon[i], lat[i])
        assert spot.grid == _code(model.grids, found.grid[i]), (lon[i], lat[i])
        assert spot.community == _code(model.communities, found.community[i]), (lon[i], lat[i])
        memory_distance = found.segment_distance[i]
        if not (np.isfinite(memory_distance) and abs(memory_distance - TOLERANCE_M) < 0.5):
            assert spot.segment == _code(model.segments, found.segment[i]), (lon[i], lat[i])
        if spot.segment is not None and np.isfinite(memory_distance):
            assert spot.segment_distance == pytest.approx(memory_distance, abs=0.5)
        near_edge = False
        if found.point[i] < 0 and spot.point is not None:  # the index's disc is a 16-gon: 0.6 m short
            near_edge = True
        if not near_edge:
            assert spot.point == _code(model.points, found.point[i]), (lon[i], lat[i])
        for layer in hits:
            hits[layer] += getattr(spot, layer) is not None
    assert all(n >= 10 for n in hits.values()), hits  # the spots do reach every layer


def test_one_spot_and_grids_at(demo):
    store, model, index = demo
    inside = shapely.point_on_surface(model.grids.geometry.iloc[0])
    spot = repository.locate(store, inside.x, inside.y, tolerance_m=TOLERANCE_M)
    assert spot.grid == model.grids.index[0]
    assert spot.town == index.lookup(inside.x, inside.y)["town"]["code"]
    assert repository.grids_at(store, [inside.x, 0.0], [inside.y, 0.0]) == [model.grids.index[0], None]
    assert POINT_RADIUS_M == 30.0


def test_sqlite_stores_say_that_whois_in_the_database_needs_postgis(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with pytest.raises(ConfigError, match="PostgreSQL/PostGIS"):
        repository.locate(store, 106.5, 33.9, tolerance_m=TOLERANCE_M)
