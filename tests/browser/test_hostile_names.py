"""Real browser (issue 9, item 1): names that would run script, in every named layer and table,
loaded with `gridmap import`; the pages draw every feature, run nothing and pass the CSP.

Every name holds ``${alert(1)}``, a backtick (王记`小吃), ``</script>``, both quotes and HTML
(``<img src=x onerror=alert(1)>``). The county map, a grid, a unit, a leader, a patrol plan, the
report page, a problem page, the login page and the import page (with a preview map of a
hostile file) are opened in Debian's chromium with the security headers on. Set
GRIDMAP_SCREENSHOTS=<folder> to keep screenshots of the county map (desktop and 390×844).
"""

from __future__ import annotations

import csv
import http.client
import json
import os
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from tests import factory
from tests.browser.conftest import assert_clean, assert_not_blank

pytestmark = pytest.mark.browser

EVIL = "王记`小吃${alert(1)}</script><img src=x onerror=alert(1)><i class=gm-pwned>'\"&amp;"
PASSWORD = "secret-pass-1"
DAY = "2026-11-27"
GRID_A, GRID_B = "610330100001", "610330100002"


def evil(tag: str) -> str:
    """A hostile name that still says which thing it is."""
    return f"{tag}{EVIL}"


# ---------------------------------------------------------------- the hostile county


def _layers():
    layers = factory.layers()
    for kind, gdf in layers.items():
        column = "road_name" if kind == "segments" else "name"
        gdf[column] = [evil(f"{kind}{i}") for i in range(len(gdf))]
    # roads that meet at their ends (a street network for the patrol plan), points beside them
    layers["segments"] = gpd.GeoDataFrame(
        {
            "code": ["S1", "S2", "S3", "S4"],
            "road_name": [evil(f"路{i}") for i in range(1, 5)],
            "from_name": [evil("起点")] * 4,
            "to_name": [evil("终点")] * 4,
            "unit_code": ["U1", "U2", "U3", "U2"],
        },
        geometry=[
            LineString([(106.511, 33.910), (106.521, 33.910)]),
            LineString([(106.521, 33.910), (106.525, 33.910)]),
            LineString([(106.525, 33.910), (106.525, 33.914)]),
            LineString([(106.525, 33.910), (106.529, 33.910)]),
        ],
        crs="EPSG:4326",
    )
    points = layers["points"]
    points["category"] = [evil("类别"), "医院"]
    points["address"] = [evil("地址"), evil("地址")]
    points.geometry = [Point(106.515, 33.9104), Point(106.523, 33.9096)]
    layers["communities"]["property_company"] = [evil("物业")]
    return layers


def _tables():
    tables = factory.tables()
    for row in tables["leaders"]:
        row[1], row[2] = evil(f"领导{row[0]}"), evil("职务")
    for row in tables["units"]:
        row[1], row[2], row[3] = evil(f"单位{row[0]}"), evil("类型"), evil("联系人")
    for row in tables["grid_roles"]:
        row[1] = evil("网格长")
    for row in tables["household_heads"]:
        row[1], row[4] = evil("中心户长"), evil("楼栋")
    for row in tables["inspectors"]:
        row[1] = evil("巡查员")
    return tables


ORDER = [
    "towns",
    "units",
    "leaders",
    "grids",
    "segments",
    "points",
    "communities",
    "rivers",
    "grid_roles",
    "grid_leaders",
    "town_leaders",
    "household_heads",
    "inspectors",
]


def _write_files(folder: Path) -> dict[str, Path]:
    """One file per layer (GeoJSON) and per table (CSV with Chinese headers)."""
    from gridmap.model import TABLE_BY_NAME

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, gdf in _layers().items():
        files[kind] = folder / f"{kind}.geojson"
        gdf.to_file(files[kind], driver="GeoJSON", engine="pyogrio")
    for kind, rows in _tables().items():
        files[kind] = folder / f"{kind}.csv"
        with open(files[kind], "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.label for c in TABLE_BY_NAME[kind].columns])
            writer.writerows(rows)
    return files


def _gridmap(env: dict, *args: str) -> str:
    """Run one `gridmap` command in this process (the real click command, its real settings)."""
    from click.testing import CliRunner

    from gridmap.cli import main

    result = CliRunner().invoke(
        main, list(args), env={k: str(v) for k, v in env.items()}, catch_exceptions=False
    )
    assert result.exit_code == 0, f"gridmap {' '.join(args)}:\n{result.output}"
    return result.output


@pytest.fixture(scope="module")
def hostile_env(module_database):
    """The hostile county imported by the CLI, once per module and backend (SQLite and PostgreSQL)."""
    folder, url = module_database
    categories = folder / "categories.csv"
    with open(categories, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "group", "deadline_hours"])
        writer.writerow(["evil", evil("问题类别"), evil("分组"), 24])
        writer.writerow(["garbage", "垃圾暴露", "市容环境", 24])
    env = {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test-secret",
        "GRIDMAP_BASEMAP": "none",
        "GRIDMAP_PROBLEM_CATEGORIES": str(categories),
        "GRIDMAP_PATROL_TIME_LIMIT": "0.5",
    }
    files = _write_files(folder / "files")
    for kind in ORDER:
        _gridmap(env, "import", str(files[kind]), "--as", kind, "--replace")
    _gridmap(env, "user", "add", "office", "--role", "office", "--password", PASSWORD)
    env["files"] = files
    return env


@pytest.fixture(scope="module")
def server(hostile_env, vendored_assets, tmp_path_factory):
    from tests.browser.conftest import start_live_server

    env = {k: v for k, v in hostile_env.items() if k != "files"}
    live = start_live_server(env=env, log_dir=tmp_path_factory.mktemp("hostile-server"))
    # a problem of the hostile category, with a hostile description, then the day's patrol plan
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request(
        "POST",
        "/api/problems",
        headers={"Content-Type": "application/json"},
        body=json.dumps(
            {"lon": 106.5165, "lat": 33.9101, "category": "evil", "description": evil("描述")}
        ).encode(),
    )
    response = conn.getresponse()
    live.problem = json.loads(response.read())
    assert response.status == 201, live.problem
    (live.plan_id,) = json.loads(_gridmap(env, "patrol-day", "--day", DAY, "--save", "--json"))["saved"]
    yield live
    live.stop()


# ---------------------------------------------------------------- the page checks

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function(e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""

COUNT = """
() => {
  const map = window.gridmapMap;
  const out = {features: 0, drawn: 0, points: 0, labels: document.querySelectorAll('.gm-grid-label').length};
  map.eachLayer(function(layer) {
    if (layer instanceof L.GeoJSON) {
      layer.getLayers().forEach(function(f) {
        out.features += 1;
        if (f._path && f._path.isConnected && f._path.getAttribute('d')) out.drawn += 1;
      });
    } else if (L.MarkerClusterGroup && layer instanceof L.MarkerClusterGroup && layer !== window.gridmapProblemLayer) {
      out.points += layer.getLayers().length;
    }
  });
  out.problems = window.gridmapProblemLayer ? window.gridmapProblemLayer.getLayers().length : -1;
  return out;
}
"""

OPEN_POINT_POPUP = """
() => new Promise(function(resolve) {
  const map = window.gridmapMap;
  let cluster = null;
  map.eachLayer(function(l) {
    if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup && l !== window.gridmapProblemLayer) cluster = l;
  });
  const marker = cluster.getLayers()[0];
  map.setView(marker.getLatLng(), 18, {animate: false});
  setTimeout(function() { marker.openPopup(); resolve(!!marker._icon); }, 300);
})
"""

SEGMENT_SPOT = """
(code) => {
  const map = window.gridmapMap;
  map.closePopup();
  let spot = null;
  map.eachLayer(function(layer) {
    if (layer instanceof L.GeoJSON) layer.getLayers().forEach(function(f) {
      if (f.feature.properties.code === code && f.feature.properties.popup) {
        map.setView(f.getCenter(), 17, {animate: false});
        spot = map.latLngToContainerPoint(f.getCenter());
      }
    });
  });
  return spot && [spot.x, spot.y];
}
"""

PREVIEW_COUNT = """
() => {
  const key = Object.keys(window).find(function(k) { return /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map; });
  const map = window[key];
  const out = {features: 0, drawn: 0, spot: null};
  map.eachLayer(function(layer) {
    if (layer instanceof L.GeoJSON) layer.getLayers().forEach(function(f) {
      out.features += 1;
      if (f._map) out.drawn += 1;
      if (!out.spot) { const p = map.latLngToContainerPoint(f.getLatLng()); out.spot = [p.x, p.y]; }
    });
  });
  return out;
}
"""


def _watch(page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH)
    return dialogs


def _nothing_ran(page, dialogs, where: str) -> None:
    assert dialogs == [], (where, dialogs)
    assert page.evaluate("document.querySelectorAll('.gm-pwned, img[src=\"x\"], [onerror]').length") == 0, (
        where
    )
    assert page.evaluate("window.__csp") == [], where
    assert_clean(page)  # no JS errors (CSP reports too), no failed requests (an <img src=x> would ask for /x)


def _map_ready(page) -> None:
    page.wait_for_selector(".leaflet-container")
    page.wait_for_selector("html[data-problems-loaded]")
    page.wait_for_load_state("networkidle")


# county: 2 towns + 1 river + 2 grids + 4 roads + 1 community; grid A (and leader L01, unit U1): 1 road
EXPECTED = {
    "/": {"features": 10, "points": 2, "labels": 2},
    f"/grids/{GRID_A}": {"features": 7, "points": 1, "labels": 2},
    "/units/U1": {"features": 7, "points": 1, "labels": 2},
    "/leaders/L01": {"features": 7, "points": 1, "labels": 2},
}


def test_maps_with_hostile_names_draw_everything_and_run_nothing(server, page):
    dialogs = _watch(page)
    for path, expected in EXPECTED.items():
        page.goto(server.url + path)
        _map_ready(page)
        counts = page.evaluate(COUNT)
        assert counts == {**expected, "drawn": expected["features"], "problems": 1}, (path, counts)
        assert EVIL in page.inner_text("main"), path  # tables show names as text
        _nothing_ran(page, dialogs, path)

    # a point's popup and a road's tooltip show the names literally
    page.goto(server.url + "/")
    _map_ready(page)
    assert page.evaluate(OPEN_POINT_POPUP)  # the marker is drawn (not in a cluster) and its popup open
    popup = page.locator(".leaflet-popup-content .gm-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert evil("points0") in text and evil("类别") in text and evil("单位U1") in text
    x, y = page.evaluate(SEGMENT_SPOT, "S1")
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.move(box["x"] + x - 3, box["y"] + y)
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator(".leaflet-tooltip .gm-tip")
    tooltip.wait_for()
    assert tooltip.inner_text() == evil("路1")
    page.mouse.click(box["x"] + x, box["y"] + y)  # the road's own popup
    road = page.locator(".leaflet-popup-content h4", has_text="路1")
    road.wait_for()
    assert road.inner_text() == evil("路1")
    _nothing_ran(page, dialogs, "popups")

    shots = os.environ.get("GRIDMAP_SCREENSHOTS")
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page.set_viewport_size(viewport)
        page.goto(server.url + "/")
        _map_ready(page)
        png = page.screenshot(full_page=viewport["width"] < 500)
        assert_not_blank(png)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            (Path(shots) / f"county-hostile-{viewport['width']}x{viewport['height']}.png").write_bytes(png)
        _nothing_ran(page, dialogs, f"/ at {viewport}")


def _login(page, server, then: str) -> None:
    page.goto(f"{server.url}/login?next={then}")
    assert page.evaluate("window.__csp") == [], "login page"
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")


def test_patrol_report_problem_login_and_import_pages(server, hostile_env, page):
    dialogs = _watch(page)
    page.goto(f"{server.url}/problems/{server.problem['tracking_no']}")
    assert evil("描述") in page.locator(".gm-desc").inner_text()
    _nothing_ran(page, dialogs, "problem page")

    page.goto(f"{server.url}/report")
    page.wait_for_selector("#gm-report-map .leaflet-overlay-pane path")  # the grid outlines, fetched
    assert page.locator("#gm-report-map .leaflet-overlay-pane path").count() == 2
    assert evil("问题类别") in page.locator("#gm-category").inner_text()
    _nothing_ran(page, dialogs, "report page")

    _login(page, server, f"/patrol/{server.plan_id}")
    page.wait_for_selector(".leaflet-container path.leaflet-interactive", state="attached")  # the route
    plan = page.request.get(f"{server.url}/api/patrols/{server.plan_id}").json()  # as the office user
    names = [s["name"] for s in plan["stops"]]
    assert evil("points0") in names and evil("巡查员") in page.inner_text("h1")
    shown = page.locator(".leaflet-marker-pane .gm-stop")
    assert shown.count() == len(
        {(s["lon"], s["lat"], s["kind"] == "end") for s in plan["stops"]}
    ) or shown.count() == len(plan["stops"]), (shown.count(), plan["stops"])
    seq = next(s["seq"] for s in plan["stops"] if s["name"] == evil("points0"))
    stop = page.locator(".leaflet-marker-pane .gm-stop", has_text=str(seq)).first
    stop.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert f"{seq}. {evil('points0')}" in popup.inner_text()
    stop.hover()
    tooltip = page.locator(".leaflet-tooltip .gm-tip")
    tooltip.wait_for()
    assert tooltip.inner_text() == f"{seq}. {evil('points0')}"
    _nothing_ran(page, dialogs, "patrol plan")

    page.goto(f"{server.url}/import")
    page.set_input_files("input[name=file]", str(hostile_env["files"]["points"]))
    page.select_option("select[name=kind]", "points")
    page.click(".gm-import-form button[type=submit]")
    page.wait_for_selector(".gm-map .leaflet-container canvas")  # the preview map (drawn on a canvas)
    page.locator(".gm-map .leaflet-container").scroll_into_view_if_needed()
    preview = page.evaluate(PREVIEW_COUNT)
    assert preview["features"] == preview["drawn"] == 2, preview
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    page.mouse.move(box["x"] + preview["spot"][0] - 2, box["y"] + preview["spot"][1])
    page.mouse.move(box["x"] + preview["spot"][0], box["y"] + preview["spot"][1])
    tip = page.locator(".leaflet-tooltip .gm-tip")
    tip.wait_for()
    assert f"名称：{evil('points0')}" in tip.inner_text()
    _nothing_ran(page, dialogs, "import preview")


@pytest.mark.parametrize("basemap", ["osm", "amap", "tianditu"])
def test_basemap_tiles_pass_the_csp(hostile_env, vendored_assets, live_server_factory, basemap, page):
    """Tile images of the configured basemap are allowed by img-src (the harness then stops them
    from leaving 127.0.0.1); nothing else is reported as a CSP violation."""
    env = {k: v for k, v in hostile_env.items() if k != "files"}
    server = live_server_factory(env={**env, "GRIDMAP_BASEMAP": basemap, "GRIDMAP_TIANDITU_TOKEN": "token"})
    page.add_init_script(WATCH)
    for path in ("/", "/report") if basemap == "osm" else ("/",):  # the report page draws osm tiles only
        page.goto(server.url + path)
        page.wait_for_selector(".leaflet-tile", state="attached")
        page.wait_for_load_state("networkidle")
        tiles = [u for u in page.gridmap_requests if not u.startswith(server.url)]
        assert tiles, f"{basemap} {path}: the page asked for its tiles"
        assert page.evaluate("window.__csp") == [], (basemap, path)
        assert not [e for e in page.gridmap_errors if "Content Security Policy" in e], page.gridmap_errors
