"""Problems as vector tiles (/vt/problems/...): the JSON layer's problems and popups, nothing personal,
the same scope and filters, a new version with every report."""

from __future__ import annotations

import gzip
import math

import mapbox_vector_tile
import pytest

from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD

PHONE = "13912345678"
XSS = "<img src=x onerror=alert(1)>"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _path(z: int, spot=ON_BINJIANG_ROAD, query: str = "") -> str:
    x, y = _tile_of(*spot, z)
    return f"/vt/problems/{z}/{x}/{y}.pbf" + (f"?{query}" if query else "")


def report(client, spot=ON_BINJIANG_ROAD, **kw):
    body = {"lon": spot[0], "lat": spot[1], "category": "garbage", "description": "垃圾堆放", **kw}
    response = client.post("/api/problems", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _features(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.data).get("problems", {}).get("features", [])


@pytest.fixture
def reported(client):
    """Four reports: two on Binjiang road (grid 001, unit U1), one near the hospital, one on Xinjian road
    (grid 002); with a reporter's name and phone, and a description that is markup."""
    report(client, reporter_name="张三", reporter_phone=PHONE, description=XSS)
    report(client, category="manhole", description="井盖缺失")
    report(client, spot=NEAR_HOSPITAL)
    report(client, spot=ON_XINJIAN_ROAD, reporter_phone=PHONE)
    return client


def test_a_tile_holds_the_json_layers_problems_statuses_and_popups(reported):
    client = reported
    by_id = {f["id"]: f for f in client.get("/api/problems/map.json").get_json()["features"]}
    assert len(by_id) == 4
    tiled = _features(client, _path(15))
    assert tiled, "the county's problems lie in this tile"
    for feature in tiled:
        want = by_id[feature["id"]]
        props = feature["properties"]
        for key in ("tracking_no", "status", "overdue", "color", "category", "source", "date", "popup"):
            assert props[key] == want[key], key
    x, y = _tile_of(*ON_BINJIANG_ROAD, 15)
    size = 2 * 20037508.342789244 / (1 << 15)
    inside = set()
    for fid, f in by_id.items():  # which JSON problems fall in the tile, by their own position
        mx = math.radians(f["lon"]) * 6378137.0
        my = math.log(math.tan(math.pi / 4 + math.radians(f["lat"]) / 2)) * 6378137.0
        tx, ty = (mx + 20037508.342789244) / size, (20037508.342789244 - my) / size
        if x <= tx < x + 1 and y <= ty < y + 1:
            inside.add(fid)
    assert inside and inside <= {f["id"] for f in tiled}


def test_no_reporter_data_in_any_tile_and_popups_are_escaped(reported):
    client = reported
    for z in (10, 13, 15, 17):
        for spot in (ON_BINJIANG_ROAD, ON_XINJIAN_ROAD):
            raw = client.get(_path(z, spot)).data
            assert PHONE.encode() not in raw and "张三".encode() not in raw, z
            assert XSS.encode() not in raw
            for f in mapbox_vector_tile.decode(raw).get("problems", {}).get("features", []):
                assert not {k for k in f["properties"] if "reporter" in k or "phone" in k}
    popups = [f["properties"]["popup"] for f in _features(client, _path(15))]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in p for p in popups)


def test_below_the_popup_zoom_features_are_slim(reported):
    slim = _features(reported, _path(11))
    assert len(slim) == 4
    assert all("popup" not in f["properties"] and f["properties"]["status"] for f in slim)


def test_scope_and_filters_match_the_json_layer(reported):
    client = reported

    def ids(query: str) -> set[int]:
        return {f["id"] for f in _features(client, _path(11, query=query))}

    def json_ids(query: str) -> set[int]:
        return {f["id"] for f in client.get(f"/api/problems/map.json?{query}").get_json()["features"]}

    for query in ("grid=610330100001", "grid=610330100002", "grid=", "unit=U1", "unit=U2"):
        assert ids(query) == json_ids(query), query
    assert ids("grid=") == set()
    everything = client.get("/api/problems/map.json").get_json()["features"]
    manhole = {f["id"] for f in everything if f["category"] == "manhole"}
    assert ids("category=manhole") == manhole and len(manhole) == 1
    today = everything[0]["date"]
    assert len(ids(f"from={today}&to={today}")) == 4
    assert ids("to=2000-01-01") == set() and ids("status=overdue") == set()
    assert len(ids(f"status={everything[0]['status']}")) == 4


def test_bad_filters_and_tiles_say_what_is_wrong(client):
    response = client.get(_path(15, query="status=lost"))
    assert response.status_code == 400 and "状态 status 无效" in response.get_data(as_text=True)
    response = client.get(_path(15, query="from=30/11/2026"))
    assert response.status_code == 400 and "起始日期 from 无效" in response.get_data(as_text=True)
    assert client.get("/vt/problems/3/9/0.pbf").status_code == 400
    assert client.get(_path(15, query="crs=bd09")).status_code == 400


def test_a_new_report_changes_the_tile_and_its_etag(reported):
    client = reported
    path = _path(15)
    first = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert (
        first.headers["Content-Encoding"] == "gzip" and first.headers["Cache-Control"] == "public, no-cache"
    )
    etag = first.headers["ETag"]
    assert client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}).status_code == 304
    before = {f["id"] for f in mapbox_vector_tile.decode(gzip.decompress(first.data))["problems"]["features"]}
    new = report(client, description="新的一条")
    again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    after = {f["id"] for f in mapbox_vector_tile.decode(gzip.decompress(again.data))["problems"]["features"]}
    assert after == before | {new["id"]}


def test_an_action_changes_the_tile(reported, app):
    from gridmap.auth import add_user, issue_token

    client = reported
    store = app.extensions["gridmap.store"]
    add_user(store, username="office1", role="office", password="secret-pass-1")
    headers = {"Authorization": f"Bearer {issue_token(store, username='office1', days=1)}"}
    before = {f["id"]: f["properties"] for f in _features(client, _path(15))}
    mine = next(iter(before.values()))
    response = client.post(
        f"/api/problems/{mine['tracking_no']}/actions",
        json={"action": "dispatch", "unit": "U2"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    after = {f["id"]: f["properties"] for f in _features(client, _path(15))}
    changed = [i for i in after if after[i]["status"] != before[i]["status"]]
    assert len(changed) == 1 and after[changed[0]]["tracking_no"] == mine["tracking_no"]
    assert after[changed[0]]["status"] == response.get_json()["status"]


def test_above_the_threshold_maps_draw_problems_from_tiles(settings, loaded_store):
    from web import create_app

    client = create_app({**settings, "GRIDMAP_EMBED_MAX_FEATURES": 3}).test_client()
    for path, scope in (("/", ""), ("/grids/610330100001", "?grid=610330100001"), ("/units/U1", "?unit=U1")):
        html = client.get(path).get_data(as_text=True)
        assert f'"/vt/problems/{{z}}/{{x}}/{{y}}.pbf{scope}"' in html, path
        assert "L.vectorGrid.protobuf" in html and "gmProblems" in html
        assert "L.heatLayer" not in html and "/api/problems/map.json" in html  # the JSON is not fetched
        assert "gm-problem-filter" in html  # the same filter box, sent to the server by setUrl


def test_below_the_threshold_maps_keep_the_json_layer(client):
    html = client.get("/").get_data(as_text=True)
    assert "L.heatLayer" in html and "/vt/problems/" not in html


@pytest.fixture
def ctx(loaded_store, settings):
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings

    return context_from_settings(
        loaded_store, ReferenceCache(loaded_store, tolerance_m=50.0), load_settings(settings, environ={})
    )


def test_many_problems_alone_switch_to_tiles(ctx):
    from gridmap.problems.service import report_problem
    from gridmap.problems.tiles import use_tiles

    model = ctx.reference.model()
    small = len(model.grids) + len(model.segments) + len(model.points) + len(model.communities)
    assert use_tiles(ctx, model, embed_max_features=small - 1)  # the reference layers are tiled
    assert not use_tiles(ctx, model, embed_max_features=small)
    assert not use_tiles(ctx, model, embed_max_features=None)
    for i in range(small + 1):
        report_problem(
            ctx,
            lon=ON_BINJIANG_ROAD[0],
            lat=ON_BINJIANG_ROAD[1],
            category="garbage",
            description=f"垃圾{i}",
            client=f"10.0.0.{i}",
            notify=False,
        )
    assert use_tiles(ctx, model, embed_max_features=small)  # more problems than the threshold
