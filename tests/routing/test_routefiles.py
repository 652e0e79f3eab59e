"""Plans as files: GPX read back by gpxpy in order, KML with Chinese names, the A4 route sheet PDF."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import gpxpy
import numpy as np
import pytest

from gridmap.routing import daily, routefiles
from gridmap.routing.day import DayStop, Inspector
from gridmap.routing.streets import StreetNetwork
from tests.routing import town


@pytest.fixture(scope="module")
def record():
    network = StreetNetwork.from_lines(town.street_lines())
    crew = [
        Inspector(
            code="I03",
            name="褚巡查",
            grids=(town.GRID_A, town.GRID_B),
            start=town.ll(100, 100),
            start_name="西关网格出发点",
        )
    ]
    stops = [
        DayStop(
            id=code,
            kind="point",
            name=name,
            lon=town.ll(x, y)[0],
            lat=town.ll(x, y)[1],
            grid_code=town.GRID_A if x < town.SPLIT_X else town.GRID_B,
            mandatory=code == "P5",
            prize_m=3000.0,
            reason="考察点位（农贸市场）",
        )
        for code, name, x, y in town.POINTS
    ]
    plan = daily.plan_day(network, crew, stops, options=town.options(time_limit=0.5), day="2026-11-27")
    return plan.routes[0].record(day=plan.day, mode="walk")


def test_gpx_reads_back_with_the_stops_in_order_and_the_track_on_the_streets(record):
    gpx = gpxpy.parse(routefiles.to_gpx(record).decode("utf-8"))
    names = [w.name for w in gpx.waypoints]
    expected = [f"起点 {record['stops'][0]['name']}"] + [
        f"{s['seq']}. {s['name']}" for s in record["stops"][1:]
    ]
    assert names == expected
    assert [p.name for p in gpx.routes[0].points] == expected
    assert [(w.longitude, w.latitude) for w in gpx.waypoints] == [
        (s["lon"], s["lat"]) for s in record["stops"]
    ]
    track = np.array([[p.longitude, p.latitude] for p in gpx.tracks[0].segments[0].points])
    assert np.allclose(track, record["line"])
    assert town.on_streets(track, town.street_lines()) < 0.05  # 7 decimals of a degree: about 1 cm
    assert "褚巡查" in gpx.name


def test_kml_keeps_chinese_names(record):
    data = routefiles.to_kml(record)
    assert data.startswith(b"<?xml") and "褚巡查".encode() in data
    root = ET.fromstring(data)
    ns = {"k": routefiles.KML_NS}
    names = [e.text for e in root.iterfind(".//k:Folder/k:Placemark/k:name", ns)]
    assert names[1] == f"1. {record['stops'][1]['name']}"
    coords = root.find(".//k:LineString/k:coordinates", ns).text.split()
    assert len(coords) == len(record["line"])


def test_route_sheet_is_an_a4_pdf_with_the_cjk_font_embedded(record):
    network = StreetNetwork.from_lines(town.street_lines())
    pdf = routefiles.route_sheet(record, streets=network.geoms, crs=network.crs)
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)
    assert len(boxes) >= 2  # the map page and the directions
    assert all(
        float(w) == pytest.approx(595.28, abs=0.1) and float(h) == pytest.approx(841.89, abs=0.1)
        for w, h in boxes
    )  # A4 portrait, in points
    assert re.search(rb"/BaseFont /[A-Z]{6}\+NotoSansSC", pdf)  # Chinese stays text, in an embedded CJK font
    pypdf = pytest.importorskip("pypdf")
    import io

    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    assert "褚巡查" in pages[0] and record["stops"][1]["name"] in pages[0]
    assert "到达第 1 站" in "".join(pages[1:])


def test_file_names_are_chinese_and_safe(record):
    name = routefiles.filename(dict(record, inspector={"code": "I/03", "name": "褚 巡查"}), "gpx")
    assert name == "巡查路线_2026-11-27_I_03_褚_巡查.gpx"
