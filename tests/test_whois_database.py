"""GRIDMAP_WHOIS_SOURCE=database: whois and report assignment from PostGIS answer as the in-memory index does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap import reference as reference_module
from gridmap.errors import ConfigError
from gridmap.problems import repository as problems_repository
from gridmap.reference import ReferenceCache, load_directory
from gridmap.settings import load_settings
from gridmap.spatial.dbwhois import DatabaseWhois
from gridmap.store import Store
from gridmap.whois import WhoisIndex, code_positions
from web import create_app

DEMO = Path(__file__).resolve().parent.parent / "geodata" / "demo"


@pytest.fixture(scope="module")
def demo_url(pg_cluster):
    """A PostgreSQL database holding the demo county."""
    name = pg_cluster.create_database()
    store = Store(pg_cluster.url(name))
    load_directory(store, DEMO)
    store.engine.dispose()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def _config(url: str, folder: Path, source: str) -> dict:
    return {
        "GRIDMAP_INSTANCE_DIR": str(folder / source),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test-secret",
        "GRIDMAP_WHOIS_SOURCE": source,
        "GRIDMAP_REPORTS_PER_HOUR": 0,
    }


@pytest.fixture(scope="module")
def apps(demo_url, tmp_path_factory):
    """{"memory": app, "database": app}: two apps over the same demo database."""
    folder = tmp_path_factory.mktemp("whois-source")
    return {source: create_app(_config(demo_url, folder, source)) for source in ("memory", "database")}


def _spots(model) -> list[tuple[float, float]]:
    """300 random spots over the county and around it, plus one inside every grid, community and
    town and one next to every point and road segment."""
    rng = np.random.default_rng(1414)
    x0, y0, x1, y1 = model.towns.total_bounds
    pad = 0.02
    lon = list(rng.uniform(x0 - pad, x1 + pad, 300))
    lat = list(rng.uniform(y0 - pad, y1 + pad, 300))
    for frame in (model.grids, model.communities, model.towns):
        inside = shapely.point_on_surface(frame.geometry.to_numpy())
        lon += list(shapely.get_x(inside))
        lat += list(shapely.get_y(inside))
    for frame, metres in ((model.points, 12.0), (model.segments, 20.0)):
        at = shapely.point_on_surface(frame.geometry.to_numpy())
        lon += list(shapely.get_x(at) + metres / 92_000)  # ~metres east at 34° N
        lat += list(shapely.get_y(at))
    return [(round(float(x), 7), round(float(y), 7)) for x, y in zip(lon, lat)]


def _reference(app) -> ReferenceCache:
    return app.extensions["gridmap.reference"]


def test_database_mode_answers_api_whois_exactly_as_memory_mode(apps):
    memory, database = (apps[s].test_client() for s in ("memory", "database"))
    spots = _spots(_reference(apps["memory"]).model())
    assert len(spots) > 500
    seen = {"grid": 0, "fallback": 0, "outside": 0, "segment": 0, "point": 0, "community": 0}
    for lon, lat in spots:
        path = f"/api/whois?lon={lon}&lat={lat}"
        expected, got = memory.get(path), database.get(path)
        assert got.status_code == expected.status_code == 200
        assert got.get_json() == expected.get_json(), (lon, lat)
        answer = got.get_json()
        seen["grid"] += answer["grid"] is not None
        seen["fallback"] += answer["fallback"]
        seen["outside"] += not answer["in_county"]
        for layer in ("segment", "point", "community"):
            seen[layer] += answer[layer] is not None
    assert min(seen.values()) >= 5, seen  # every kind of answer was compared, the town fallback too
    assert isinstance(_reference(apps["database"]).whois(), DatabaseWhois)
    assert isinstance(_reference(apps["memory"]).whois(), WhoisIndex)


def test_database_mode_takes_gcj02_and_refuses_bad_input_as_memory_mode(apps):
    memory, database = (apps[s].test_client() for s in ("memory", "database"))
    model = _reference(apps["memory"]).model()
    inside = shapely.point_on_surface(model.grids.geometry.iloc[0])
    for query in (
        f"lon={inside.x + 0.0057}&lat={inside.y - 0.0015}&crs=gcj02",
        "lon=abc&lat=33.9",
        "lat=33.9",
        "lon=106.5&lat=95",
        "lon=106.5&lat=33.9&crs=mars",
    ):
        expected, got = memory.get(f"/api/whois?{query}"), database.get(f"/api/whois?{query}")
        assert got.status_code == expected.status_code, query
        assert got.get_json() == expected.get_json(), query


def test_batch_locate_for_history_imports_gives_the_same_positions(apps):
    index = _reference(apps["memory"]).whois()
    db = _reference(apps["database"]).whois()
    lon, lat = (np.array(v) for v in zip(*_spots(index.model)))
    want, got = index.locate(lon, lat), db.locate(lon, lat)
    for layer in ("town", "grid", "segment", "point", "community"):
        np.testing.assert_array_equal(getattr(got, layer), getattr(want, layer), err_msg=layer)
    np.testing.assert_allclose(got.segment_distance, want.segment_distance, atol=1e-6)
    empty = db.locate(np.array([]), np.array([]))
    assert len(empty.grid) == len(empty.segment_distance) == 0


def test_a_report_in_database_mode_goes_to_the_grid_and_unit_memory_mode_gives(apps):
    model = _reference(apps["memory"]).model()
    spots = _spots(model)[300::7][:20]  # inside grids, communities, towns; at points and roads
    office = {}
    for source, app in apps.items():
        client = app.test_client()
        filed = []
        for lon, lat in spots:
            body = {"lon": lon, "lat": lat, "category": "garbage", "description": "垃圾堆放"}
            response = client.post("/api/problems", json=body)
            assert response.status_code == 201, response.get_json()
            filed.append(response.get_json()["tracking_no"])
        office[source] = filed
    store = Store(apps["database"].extensions["gridmap.settings"].database_url)
    try:
        assigned = {source: [_assignment(store, no) for no in numbers] for source, numbers in office.items()}
    finally:
        store.engine.dispose()
    assert assigned["database"] == assigned["memory"]
    assert sum(a["grid_code"] is not None for a in assigned["database"]) >= 10
    assert sum(a["unit_code"] is not None for a in assigned["database"]) >= 10


def _assignment(store: Store, tracking_no: str) -> dict:
    row = problems_repository.find_problem(store, tracking_no=tracking_no)
    assert row is not None, tracking_no
    return {k: getattr(row, k) for k in ("town_code", "grid_code", "unit_code", "leader_codes", "fallback")}


def test_database_mode_builds_no_index_and_no_metric_copies(demo_url, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        msg = "the in-memory whois index must not be built with GRIDMAP_WHOIS_SOURCE=database"
        raise AssertionError(msg)

    monkeypatch.setattr(reference_module, "WhoisIndex", refuse)
    app = create_app(_config(demo_url, tmp_path, "database"))
    client = app.test_client()
    model = _reference(app).model()
    inside = shapely.point_on_surface(model.grids.geometry.iloc[0])
    answer = client.get(f"/api/whois?lon={inside.x}&lat={inside.y}").get_json()
    assert answer["grid"]["code"] == model.grids.index[0]
    assert "_metric_geometries" not in model.__dict__  # the projected copies are freed too
    memory = create_app(_config(demo_url, tmp_path, "memory"))
    with pytest.raises(AssertionError, match="must not be built"):  # the guard does catch a build
        _reference(memory).whois()


def test_database_mode_on_sqlite_stops_start_up_with_what_to_do(settings, backend):
    settings = {**settings, "GRIDMAP_WHOIS_SOURCE": "database"}
    if backend == "sqlite":
        with pytest.raises(ConfigError, match="GRIDMAP_WHOIS_SOURCE=database") as refused:
            create_app(settings)
        assert "postgresql+psycopg://" in str(refused.value) and "memory" in str(refused.value)
        store = Store(settings["GRIDMAP_DATABASE_URL"])
        with pytest.raises(ConfigError, match="PostgreSQL/PostGIS"):
            ReferenceCache(store, tolerance_m=50.0, whois_source="database")
    else:
        app = create_app(settings)
        assert _reference(app).whois_source == "database"


def test_the_setting_is_parsed_and_checked(tmp_path):
    env = {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path),
        "GRIDMAP_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/g",
    }
    assert load_settings(environ=env).whois_source == "memory"
    assert load_settings(environ={**env, "GRIDMAP_WHOIS_SOURCE": " Database "}).whois_source == "database"
    with pytest.raises(ConfigError, match=r"memory.*database"):
        load_settings(environ={**env, "GRIDMAP_WHOIS_SOURCE": "disk"})
    with pytest.raises(ConfigError, match="sqlite"):
        load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), "GRIDMAP_WHOIS_SOURCE": "database"})


def test_code_positions_give_the_first_position_of_each_code():
    text = pd.Index(["g1", "g2", "g3"], dtype="str")
    assert code_positions(text, ["g3", None, "gx", "g1"]).tolist() == [2, -1, -1, 0]
    repeated = pd.Index(["a", "b", "a"], dtype=object)
    assert code_positions(repeated, ["a", "b", None]).tolist() == [0, 1, -1]


def test_the_whois_command_asks_the_database_too(demo_url, tmp_path, monkeypatch, apps):
    from click.testing import CliRunner

    from gridmap.cli import main

    model = _reference(apps["memory"]).model()
    spots = _spots(model)[300::40]
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path), "GRIDMAP_DATABASE_URL": demo_url}
    runner = CliRunner()

    def ask(source: str) -> list:
        out = []
        for lon, lat in spots:
            done = runner.invoke(
                main, ["whois", str(lon), str(lat)], env={**env, "GRIDMAP_WHOIS_SOURCE": source}
            )
            assert done.exit_code == 0, done.output
            out.append(json.loads(done.output))
        return out

    expected = ask("memory")
    monkeypatch.setattr(reference_module, "WhoisIndex", None)  # calling it would fail the command
    assert ask("database") == expected
    assert sum(answer["grid"] is not None for answer in expected) >= 5
