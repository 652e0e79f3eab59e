"""Real browser: the command-centre dashboard (/dashboard) on the demo county with a month of cases —
every chart drawn, the map with open cases and check-ins, no console error, no request leaving
127.0.0.1, and a refresh that redraws new figures without reloading the page.
Screenshots: /tmp/dashboard-1920.png, /tmp/dashboard-1366.png, /tmp/dashboard-tiles.png."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
from pathlib import Path

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank, external_requests
from tests.browser.test_offline_basemap import _tile_png

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "geodata" / "demo"
PASSWORD = "office-pass-1"
pytestmark = pytest.mark.browser

CHARTS = ("trend", "open", "categories", "status")

CHART_STATE = """
() => Array.from(document.querySelectorAll('[data-chart]')).map((el) => {
  const canvas = el.querySelector('canvas, svg');
  const box = canvas ? canvas.getBoundingClientRect() : {width: 0, height: 0};
  const chart = echarts.getInstanceByDom(el);
  const series = chart ? chart.getOption().series : [];
  const values = series.flatMap((s) => s.data.map((d) => (d !== null && typeof d === 'object') ? d.value : d));
  return {name: el.dataset.chart, width: box.width, height: box.height, series: series.length,
          points: values.length, total: values.reduce((a, b) => a + (Number(b) || 0), 0)};
})
"""


def _seed(env: dict, *, cases: int = 60, seed: int = 13) -> dict:
    """A month of cases over the demo county's grids (reported, dispatched, closed, some overdue,
    some rejected) and one inspector's check-ins today; the office user."""
    from shapely.geometry import Point

    from gridmap import clock
    from gridmap.auth import User, add_user
    from gridmap.problems.context import context_from_settings
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act
    from gridmap.reference import ReferenceCache
    from gridmap.routing import repository as patrol_repository
    from gridmap.settings import load_settings
    from gridmap.store import Store

    store = Store(env["GRIDMAP_DATABASE_URL"])
    ctx = context_from_settings(
        store, ReferenceCache(store, tolerance_m=50.0), load_settings(env, environ={})
    )
    add_user(store, username="office", role="office", password=PASSWORD)
    office = User(id=0, username="office", role="office")
    model = ctx.reference.model()
    rng = random.Random(seed)
    grids = list(model.grids.geometry)
    categories = [c.code for c in ctx.categories][:8]
    now = clock.utcnow()
    made = {"closed": 0, "open": 0}

    def spot():
        shape = rng.choice(grids)
        west, south, east, north = shape.bounds
        while True:
            lon, lat = rng.uniform(west, east), rng.uniform(south, north)
            if shape.contains(Point(lon, lat)):
                return lon, lat

    for i in range(cases):
        at = now - dt.timedelta(days=rng.uniform(0, 28) if i % 6 else rng.uniform(0, 0.2))
        lon, lat = spot()
        rec = report_problem(
            ctx,
            lon=lon,
            lat=lat,
            category=rng.choice(categories),
            description=f"演示问题{i}",
            user=office if i % 9 == 0 else None,
            urgency="urgent" if i % 9 == 0 else None,
            now=at,
        ).record
        no, unit = rec["tracking_no"], (rec["unit"] or {}).get("code") or str(model.units.index[0])
        fate = rng.random()
        if fate < 0.08:
            act(ctx, no, user=office, action="reject", note="不属实", now=at + dt.timedelta(hours=1))
            continue
        if fate < 0.25:
            made["open"] += 1
            continue
        act(ctx, no, user=office, action="dispatch", unit_code=unit, now=at + dt.timedelta(hours=1))
        if fate < 0.45:
            made["open"] += 1
            continue
        worker = User(id=0, username=f"u-{unit}", role="unit", unit_code=unit)
        done = at + dt.timedelta(hours=rng.uniform(2, 60))
        if done > now:
            made["open"] += 1
            continue
        act(ctx, no, user=worker, action="rectify", note="已处理", now=done)
        act(ctx, no, user=office, action="verify", now=done + dt.timedelta(minutes=30))
        act(ctx, no, user=office, action="close", now=done + dt.timedelta(hours=1))
        made["closed"] += 1

    day = clock.today().isoformat()
    first, second = (grids[0].representative_point(), grids[1].representative_point())
    run = {
        "created_at": clock.to_db(now),
        "created_by": None,
        "options": "{}",
        "dropped": "[]",
        "network": "",
    }
    plan = {
        "inspector_code": "I01",
        "inspector_name": "巡查员甲",
        "grid_codes": str(model.grids.index[0]),
        "mode": "walk",
        "length_m": 1000.0,
        "work_m": 1000.0,
        "budget_m": 9000.0,
        "closed": False,
        "route": _line(first, second),
        "turns": "[]",
        "created_at": clock.to_db(now),
    }
    base = {"reason": None, "mandatory": False, "leg_m": 0.0, "ref": None}
    stops = [
        {**base, "seq": 0, "kind": "start", "name": "出发", "lon": first.x, "lat": first.y},
        {**base, "seq": 1, "kind": "point", "name": "农贸市场", "lon": first.x, "lat": first.y},
        {**base, "seq": 2, "kind": "point", "name": "汽车站", "lon": second.x, "lat": second.y},
    ]
    [plan_id] = patrol_repository.replace_day_plans(
        store, day=day, codes=["I01"], run=run, plans=[(plan, stops)]
    )
    for seq, point in ((1, first), (2, second)):
        patrol_repository.record_check_in(
            store,
            plan_id,
            seq,
            at=clock.to_db(now),
            by="I01",
            lon=point.x,
            lat=point.y,
            distance_m=3.0,
            note=None,
        )
    return made


def _line(a, b) -> bytes:
    import shapely

    return shapely.to_wkb(shapely.LineString([(a.x, a.y), (b.x, b.y)]))


@pytest.fixture(scope="module")
def demo_env(module_database):
    """The demo county with a month of cases, once per module and backend (SQLite and PostgreSQL)."""
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    env = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "dashboard-test",
    }
    store = Store(url)
    load_directory(store, DEMO)
    env["seeded"] = json.dumps(_seed(env))
    store.engine.dispose()
    return env


def _env(demo_env: dict, **extra) -> dict:
    return {k: v for k, v in {**demo_env, **extra}.items() if k != "seeded"}


def _log_in(page, url: str) -> None:
    page.goto(f"{url}/login?next=/dashboard")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def _report(server, *, lon: float, lat: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = {"lon": lon, "lat": lat, "category": "garbage", "description": "大屏刷新测试"}
    conn.request("POST", "/api/problems", body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 201, response.read().decode()
    conn.close()


def _grid_mbtiles(path: Path) -> None:
    """An MBTiles file (TMS rows) of generated tiles over the demo county's grids at zooms 13–17."""
    import math
    import sqlite3

    west, south, east, north = 106.49, 33.89, 106.55, 33.93

    def xy(lon: float, lat: float, z: int) -> tuple[int, int]:
        n = 2**z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    rows = []
    for z in range(13, 18):
        (x0, y0), (x1, y1) = xy(west, north, z), xy(east, south, z)
        rows += [
            (z, x, (1 << z) - 1 - y, _tile_png(z, x, y)) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)
        ]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"
        )
        conn.executemany(
            "INSERT INTO metadata VALUES (?, ?)", [("name", "网格区离线底图"), ("format", "png")]
        )
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    conn.close()


def _kpi(page, name: str) -> int:
    return int(page.locator(f'[data-kpi="{name}"]').inner_text())


def _assert_charts_drawn(page) -> None:
    state = {c["name"]: c for c in page.evaluate(CHART_STATE)}
    assert set(state) == set(CHARTS)
    for chart in state.values():
        assert chart["width"] > 100 and chart["height"] > 60, chart
        assert chart["series"] >= 1 and chart["points"] >= 1 and chart["total"] > 0, chart


def test_the_wall_draws_everything_and_refreshes_in_place(
    demo_env, vendored_assets, live_server_factory, page
):
    server = live_server_factory(env=_env(demo_env, GRIDMAP_BASEMAP="none"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    _log_in(page, server.url)
    page.goto(server.url + "/dashboard?refresh=1")
    page.wait_for_function("() => window.gridmapDashboard && window.gridmapDashboard.data !== null")
    page.wait_for_selector("#dash-map path.leaflet-interactive")  # grid outlines and open cases
    page.wait_for_function("() => document.querySelectorAll('#dash-map .dash-checkin').length === 2")
    _assert_charts_drawn(page)

    data = page.evaluate("window.gridmapDashboard.data")
    seeded = json.loads(demo_env["seeded"])
    assert data["counts"]["open"]["total"] >= seeded["open"] > 0
    assert _kpi(page, "open.total") == data["counts"]["open"]["total"]
    assert _kpi(page, "checkins") == 2
    assert page.locator("#rank-towns tbody tr").count() == len(data["ranking"]["towns"]) >= 2
    assert page.locator("#rank-grids tbody tr").count() == len(data["ranking"]["grids"]) >= 2
    assert page.locator("#overdue tbody tr").count() >= 1
    assert "结案率" in page.locator("#dash-definitions").inner_text()
    page.wait_for_timeout(1500)  # the charts' opening animation
    png = page.screenshot(path="/tmp/dashboard-1920.png")
    assert_not_blank(png)

    # a case reported meanwhile shows within a refresh, without a reload
    page.evaluate("window.__kept = 'no reload'")
    before_today, before_open = _kpi(page, "today.reported"), _kpi(page, "open.total")
    refreshes = page.evaluate("window.gridmapDashboard.refreshes")
    spot = data["map"][0]
    _report(server, lon=spot["lon"], lat=spot["lat"])  # a citizen's report, not the office's session
    page.wait_for_function(
        "(n) => document.querySelector('[data-kpi=\"today.reported\"]').textContent === String(n)",
        arg=before_today + 1,
        timeout=15000,
    )
    assert _kpi(page, "open.total") == before_open + 1
    assert page.evaluate("window.__kept") == "no reload"
    assert page.evaluate("window.gridmapDashboard.refreshes") > refreshes
    assert page.evaluate("window.gridmapDashboard.data.map.length") == len(data["map"]) + 1
    _assert_charts_drawn(page)

    # a laptop or a smaller wall: still fits, nothing scrolls sideways
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_timeout(600)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    _assert_charts_drawn(page)
    assert_not_blank(page.screenshot(path="/tmp/dashboard-1366.png"))

    assert all(u.startswith(server.url + "/") for u in page.gridmap_requests), external_requests(page)
    assert any("/echarts@" in u for u in page.gridmap_requests)
    assert_clean(page)


def test_local_tiles_under_the_map_come_from_our_server(
    demo_env, vendored_assets, live_server_factory, page, tmp_path
):
    tiles = tmp_path / "county.mbtiles"
    _grid_mbtiles(tiles)
    server = live_server_factory(env=_env(demo_env, GRIDMAP_BASEMAP=str(tiles)))
    page.set_viewport_size({"width": 1920, "height": 1080})
    _log_in(page, server.url)
    page.goto(server.url + "/dashboard")
    page.wait_for_function(
        "() => document.querySelectorAll('#dash-map img.leaflet-tile-loaded').length >= 4", timeout=15000
    )
    _assert_charts_drawn(page)
    tile_requests = [u for u in page.gridmap_requests if "/tiles/" in u]
    assert tile_requests and all(u.startswith(server.url + "/tiles/") for u in tile_requests)
    page.screenshot(path="/tmp/dashboard-tiles.png")
    assert_clean(page)
