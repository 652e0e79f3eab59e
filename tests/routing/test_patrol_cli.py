"""`gridmap import-streets`, `gridmap route` on streets and `gridmap patrol-day`, through the real CLI."""

from __future__ import annotations

import json

import gpxpy
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from gridmap.cli import main
from tests.realdata import REALDATA
from tests.routing import town

OSM = REALDATA / "osm"
DAY = "2026-11-27"


def run(settings, *args):
    env = {
        "GRIDMAP_DATABASE_URL": settings["GRIDMAP_DATABASE_URL"],
        "GRIDMAP_INSTANCE_DIR": settings["GRIDMAP_INSTANCE_DIR"],
        "GRIDMAP_PATROL_TIME_LIMIT": "1",
    }
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def refused(done, *words):
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and isinstance(done.exception, SystemExit)
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def need(path):
    if not path.exists():
        pytest.skip(f"real data not here: {path}")
    return path


@pytest.mark.parametrize(
    "name",
    [
        "aguascalientes.osm.pbf",
        "aguascalientes.osm.bz2",
        "West-Oakland.osm.bz2",
        "planet_10.068,48.135_10.071,48.137.osm",
    ],
)
def test_import_streets_from_real_osm_files(store, settings, name):
    done = run(settings, "import-streets", need(OSM / name))
    assert done.exit_code == 0, done.output
    assert "已导入路网" in done.stdout and "公里" in done.stdout
    from gridmap.routing import sources

    imported = sources.current_import(store)
    assert imported["source"] == name and imported["streets"] >= 5  # private driveways are left out
    network = sources.load_network(store)
    assert network.source.endswith(name) and network.crs.startswith("EPSG:326")  # UTM outside China


def test_pbf_and_xml_of_the_same_town_give_the_same_network(store, settings):
    from gridmap.routing.sources import read_osm
    from gridmap.routing.streets import StreetNetwork

    pbf = StreetNetwork.from_lines(read_osm(need(OSM / "aguascalientes.osm.pbf")))
    xml = StreetNetwork.from_lines(read_osm(need(OSM / "aguascalientes.osm.bz2")))
    assert (pbf.nodes, pbf.edges) == (xml.nodes, xml.edges)
    assert pbf.summary()["km"] == pytest.approx(xml.summary()["km"], abs=0.01)
    assert pbf.edges > 1000  # ways split at every shared node


def test_route_over_imported_osm_streets(store, settings, tmp_path):
    need(OSM / "aguascalientes.osm.pbf")
    assert run(settings, "import-streets", OSM / "aguascalientes.osm.pbf").exit_code == 0
    csv = tmp_path / "stops.csv"
    csv.write_text(
        "id,x,y\n市场,-102.2790,21.8700\n教堂,-102.2700,21.8720\n公园,-102.2660,21.8660\n"
        "学校,-102.2750,21.8640\n",
        encoding="utf-8",
    )
    done = run(settings, "route", csv, "--time-limit", "0.5")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    (tour,) = answer["routes"]
    assert sorted(tour["stops"]) == ["公园", "学校", "市场", "教堂"] and tour["stops"][0] == "市场"
    assert tour["length"] > 2000  # along the streets, longer than the straight lines between them
    csv.write_text("id,x,y\n市场,-102.2790,21.8700\n城外,-102.2000,21.8700\n", encoding="utf-8")
    refused(run(settings, "route", csv), "城外", "离最近的道路超过 200 米")
    assert run(settings, "import-streets", "--clear").exit_code == 0


def test_import_streets_refuses_what_is_not_osm(settings, tmp_path):
    bad = tmp_path / "roads.osm"
    bad.write_text("这不是 OSM 文件", encoding="utf-8")
    refused(run(settings, "import-streets", bad), "roads.osm", "OpenStreetMap")
    refused(run(settings, "import-streets", tmp_path / "none.osm.pbf"), "找不到路网文件")
    other = tmp_path / "roads.shp"
    other.write_bytes(b"x")
    refused(run(settings, "import-streets", other), "类型无法识别")


def test_route_on_the_segments_layer(town_store, settings, tmp_path):
    csv = tmp_path / "stops.csv"
    rows = "".join(f"{c},{town.ll(x, y)[0]:.8f},{town.ll(x, y)[1]:.8f}\n" for c, _, x, y in town.POINTS)
    csv.write_text("id,x,y\n" + rows, encoding="utf-8")
    done = run(settings, "route", csv, "--vehicles", "2", "--max-length", "3000", "--time-limit", "0.5")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert all(r["length"] <= 3000 for r in answer["routes"])
    assert sorted(s for r in answer["routes"] for s in r["stops"][1:]) == sorted(
        c for c, *_ in town.POINTS[1:]
    )


def test_patrol_day_prints_the_plan_and_the_dropped_list(town_store, settings, tmp_path):
    done = run(settings, "patrol-day", "--day", DAY, "--hours", "0.5", "--save", "--out", tmp_path / "out")
    assert done.exit_code == 0, done.output
    assert "未安排的可选点位（" in done.stdout and "已保存" in done.stdout
    gpx_files = sorted((tmp_path / "out").glob("*.gpx"))
    assert gpx_files and len(list((tmp_path / "out").glob("*.pdf"))) == len(gpx_files)
    for gpx_file in gpx_files:  # each route as GPX and as its printed sheet, with the same stops
        gpx = gpxpy.parse(gpx_file.read_text(encoding="utf-8"))
        assert gpx.waypoints[0].name.startswith("起点")
        assert [w.name.split(". ", 1)[0] for w in gpx.waypoints[1:]] == [
            str(k) for k in range(1, len(gpx.waypoints))
        ]
        pages = PdfReader(gpx_file.with_suffix(".pdf")).pages
        assert len(pages) >= 2
        first = pages[0].extract_text()
        assert all(w.name.split(". ", 1)[1] in first for w in gpx.waypoints[1:])
    as_json = run(settings, "patrol-day", "--day", DAY, "--json", "--any-grid", "--mode", "bike")
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["options"]["mode"] == "bike" and body["options"]["own_grids"] is False
    assert body["dropped"] == [] and body["visited"] == len(town.POINTS)


def test_patrol_day_bad_input_exits_non_zero(town_store, town_ctx, settings):
    for x, y in ((150, 105), (1050, 495), (900, 105)):
        town.add_problem(town_ctx, x=x, y=y, status="rectified")
    message = refused(run(settings, "patrol-day", "--hours", "0.1", "--any-grid"), "必去点位", "--hours")
    assert "FX" in message and "0.1 小时" in message
    refused(run(settings, "patrol-day", "--inspector", "I99"), "I99", "巡查员")
    refused(run(settings, "patrol-day", "--day", "明天"), "YYYY-MM-DD")


def test_route_without_any_street_network_says_what_to_do(store, settings, tmp_path):
    csv = tmp_path / "stops.csv"
    csv.write_text("id,x,y\nA,106.51,33.90\nB,106.52,33.91\n", encoding="utf-8")
    refused(run(settings, "route", csv), "路网尚未导入", "--planar", "import-streets")
