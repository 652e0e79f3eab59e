"""Every route through the Flask test client over a fresh app and a temporary database."""

from __future__ import annotations

import json
import re

import pytest


def test_county_map_page(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "全县网格责任图" in html and "滨江网格" in html
    assert "此处由谁负责" in html  # the click-anywhere whois script
    for url in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url


def test_map_popups_escape_names(client, tmp_path, settings):
    """A hostile name in the data shows as text in map popups, never as markup."""
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from tests import factory
    from web import create_app

    tables = factory.tables()
    tables["units"][0][1] = '<img src=x onerror="alert(1)">住建局'
    tables["leaders"][0][1] = "<script>alert(2)</script>"
    directory = factory.write_dataset(tmp_path / "evil", tables_=tables)
    load_directory(Store(settings["GRIDMAP_DATABASE_URL"]), directory)
    app = create_app(settings)
    for path in ("/", "/grids/610330100001", "/units/U1", "/leaders/L01", "/units", "/leaders"):
        html = app.test_client().get(path).get_data(as_text=True)
        assert "<img src=x" not in html and "<script>alert(2)" not in html, path
    html = app.test_client().get("/").get_data(as_text=True)
    assert "&lt;img src=x onerror=" in html.replace("\\u0026", "&").replace("\\u003c", "<")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/grids", "新建路网格"),
        ("/grids/610330100001", "周网格长"),
        ("/units", "县供电分公司"),
        ("/units/U3", "汉中路"),
        ("/leaders", "张华"),
        ("/leaders/L03", "新建路网格"),
    ],
)
def test_pages(client, path, text):
    r = client.get(path)
    assert r.status_code == 200
    assert text in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/grids/nope", "/units/nope", "/leaders/nope", "/no/such/page"])
def test_unknown_things_are_404_pages_in_chinese(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "出错了" in r.get_data(as_text=True)


def test_whois_api(client):
    d = client.get("/api/whois?lon=106.5151&lat=33.9101").get_json()
    assert d["grid"]["code"] == "610330100001" and d["fallback"] is False
    assert d["segment"]["road_name"] == "滨江路"
    out = client.get("/api/whois?lon=106.60&lat=33.90").get_json()
    assert out["grid"] is None and out["fallback"] is True and out["town"]["name"] == "凤州镇"


@pytest.mark.parametrize(
    "query", ["", "?lon=106.5", "?lon=abc&lat=33.9", "?lon=106.5&lat=95", "?lon=1e400&lat=3"]
)
def test_whois_bad_input_is_400_with_message(client, query):
    r = client.get(f"/api/whois{query}")
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "invalid_input" and body["message"]


@pytest.mark.parametrize(
    ("name", "count"),
    [("towns", 2), ("grids", 2), ("segments", 3), ("points", 2), ("communities", 1), ("rivers", 1)],
)
def test_layers_as_geojson(client, name, count):
    r = client.get(f"/api/layers/{name}.geojson")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    data = json.loads(r.get_data(as_text=True))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == count
    lon, lat = _first_coordinate(data["features"][0]["geometry"]["coordinates"])
    assert 106 < lon < 107 and 33 < lat < 35  # RFC 7946: longitude first


def _first_coordinate(coords):
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords


def test_grid_geojson_carries_responsibility(client):
    data = client.get("/api/layers/grids.geojson").get_json(force=True)
    props = data["features"][0]["properties"]
    assert props["name"] == "滨江网格"
    assert props["lead_department"] == "县住建局"
    assert "王建国（县委书记）" in props["leaders"]


def test_unknown_layer(client):
    r = client.get("/api/layers/nothing.geojson")
    assert r.status_code == 404 and "towns" in r.get_json()["message"]


def test_grid_unit_leader_json(client):
    g = client.get("/api/grids/610330100002").get_json()
    assert g["grid_head"]["name"] == "吴网格长"
    assert [u["name"] for u in g["units"]] == ["县城管执法局", "县供电分公司"]
    assert g["units"][1]["segments"][0]["road_name"] == "汉中路"
    assert len(client.get("/api/grids").get_json()["grids"]) == 2
    units = client.get("/api/units").get_json()["units"]
    assert [u["code"] for u in units] == ["U1", "U2", "U3"]
    assert client.get("/api/units/U2").get_json()["lead_of"] == [
        {"code": "610330100002", "name": "新建路网格"}
    ]
    leaders = client.get("/api/leaders").get_json()["leaders"]
    assert len(leaders) == 3
    assert client.get("/api/leaders/L01").get_json()["towns"] == [{"code": "610330100", "name": "双石铺镇"}]
    assert client.get("/api/grids/x").status_code == 404


def test_search(client):
    hits = client.get("/api/search?q=新建路").get_json()["results"]
    kinds = {(h["kind"], h["name"]) for h in hits}
    assert ("grid", "新建路网格") in kinds and ("segment", "新建路") in kinds
    assert client.get("/api/search?q=").get_json()["results"] == []


def test_status_counts(client):
    counts = client.get("/api/status").get_json()["counts"]
    assert counts["grids"] == 2 and counts["units"] == 3 and counts["categories"] == 2


def test_empty_store_explains_what_to_do(settings):
    from web import create_app

    client = create_app(settings).test_client()
    r = client.get("/api/grids")
    assert r.status_code == 404 and "gridmap load" in r.get_json()["message"]
    assert "gridmap load" in client.get("/").get_data(as_text=True)


def test_reload_is_seen_without_restart(client, settings, tmp_path):
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from tests import factory

    assert client.get("/api/grids/610330100001").get_json()["name"] == "滨江网格"
    layers = factory.layers()
    layers["grids"]["name"] = ["江滨网格", "新建路网格"]
    load_directory(
        Store(settings["GRIDMAP_DATABASE_URL"]), factory.write_dataset(tmp_path / "v2", layers_=layers)
    )
    assert client.get("/api/grids/610330100001").get_json()["name"] == "江滨网格"
    assert "江滨网格" in client.get("/").get_data(as_text=True)


def test_amap_basemap_shifts_overlays_to_gcj02(settings, loaded_store):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_BASEMAP": "amap"})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "autonavi" in html and '"gcj02"' in html
    from gridmap.crs import gcj02_from_wgs84

    # grid A's south-west corner is drawn where Amap puts it: hundreds of metres away.
    lon, lat = gcj02_from_wgs84(106.510, 33.905)
    assert f"[{round(lon, 7)}, {round(lat, 7)}]" in html
    assert "[106.51, 33.905]" not in html


def test_local_tile_folder_basemap(settings, loaded_store, tmp_path):
    from web import create_app

    tiles = tmp_path / "tiles"
    (tiles / "14" / "13038").mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    (tiles / "14" / "13038" / "6520.png").write_bytes(png)
    app = create_app({**settings, "GRIDMAP_BASEMAP": str(tiles)})
    client = app.test_client()
    assert "/tiles/{z}/{x}/{y}.png" in client.get("/").get_data(as_text=True)
    r = client.get("/tiles/14/13038/6520.png")
    assert r.status_code == 200 and r.data == png
    assert client.get("/tiles/14/13038/9999.png").status_code == 404
    assert client.get("/tiles/14/13038/..%2F..%2Fsecret.png").status_code == 404


def test_tiles_are_not_served_without_a_tile_folder(client):
    assert client.get("/tiles/1/0/0.png").status_code == 404


def test_tianditu_basemap_carries_the_token(settings, loaded_store):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_BASEMAP": "tianditu", "GRIDMAP_TIANDITU_TOKEN": "abc123"})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "tianditu.gov.cn/vec_w" in html and "tk=abc123" in html and "cva_w" in html


def test_the_office_menu_leads_to_its_workbench_and_from_there_to_every_office_page(
    app, client, loaded_store
):
    import re

    from gridmap.auth import add_user

    add_user(loaded_store, username="clerk", role="office", password="secret-pass-1")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "clerk", "password": "secret-pass-1", "csrf_token": token})
    nav = client.get("/tasks", follow_redirects=True).get_data(as_text=True)
    assert 'href="/office">工作台</a>' in nav
    desk = client.get("/office").get_data(as_text=True)
    entries = client.get("/api/office").get_json()["entries"]
    assert len(entries) >= 9
    for entry in entries:  # every page the header has no room for is one tap away, and opens
        assert f'href="{entry["url"]}"><b>{entry["title"]}</b>' in desk, entry
        assert client.get(entry["url"]).status_code == 200, entry
    for href in ("/import", "/export/atlas", "/admin/users", "/tasks", "/dashboard", "/notices", "/rewards"):
        assert any(e["url"] == href for e in entries), href
