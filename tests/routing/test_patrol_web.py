"""The /patrol pages and API: login, plan, view the map, download GPX/KML/PDF, check in, CSRF."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import gpxpy
import pytest
from pypdf import PdfReader

from gridmap.auth import add_user
from gridmap.routing.routefiles import KML_NS

DAY = "2026-11-27"


@pytest.fixture
def web(town_store, town_settings):
    from web import create_app

    app = create_app(town_settings)
    for name, role in (
        ("office", "office"),
        ("I01", "inspector"),
        ("I02", "inspector"),
        ("I03", "inspector"),
    ):
        add_user(town_store, username=name, role=role, password="secret-pass-1")
    add_user(town_store, username="u1", role="unit", unit_code="U1", password="secret-pass-1")
    return app.test_client()


def token(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, name):
    client.post("/logout", data={"csrf_token": token(client)})
    done = client.post(
        "/login", data={"username": name, "password": "secret-pass-1", "csrf_token": token(client)}
    )
    assert done.status_code == 302


def plan_day(client, **form):
    data = {
        "csrf_token": token(client, f"/patrol?day={DAY}"),
        "day": DAY,
        "form": "1",
        "own_grids": "1",
        "mode": "walk",
        "hours": "6",
        "stop_minutes": "10",
        **form,
    }
    return client.post("/patrol/plan", data=data)


def test_patrol_pages_need_a_login(web):
    assert web.get("/patrol").status_code == 302
    assert web.get("/api/patrols").status_code == 401
    login(web, "u1")
    assert web.get("/patrol").status_code == 403  # units do not patrol


def test_office_plans_views_and_downloads(web):
    login(web, "office")
    done = plan_day(web)
    assert done.status_code == 302
    page = web.get(f"/patrol?day={DAY}").get_data(as_text=True)
    ids = re.findall(r'href="/patrol/(\d+)"', page)
    assert ids
    view = web.get(f"/patrol/{ids[0]}")
    html = view.get_data(as_text=True)
    assert view.status_code == 200 and "巡查路线" in html and "行走指引" in html
    assert not re.search(r'(src|href)="https?://', html)  # folium's assets are served by us, not a CDN
    assert "/report?lon=" in html  # report a problem from a stop
    api = web.get(f"/api/patrols/{ids[0]}").get_json()
    gpx = web.get(f"/patrol/{ids[0]}.gpx")
    assert gpx.status_code == 200 and gpx.mimetype == "application/gpx+xml"
    assert "filename*=UTF-8''" in gpx.headers["Content-Disposition"]
    names = [w.name for w in gpxpy.parse(gpx.get_data(as_text=True)).waypoints]
    assert names[1:] == [f"{s['seq']}. {s['name']}" for s in api["stops"][1:]]
    assert [(w.longitude, w.latitude) for w in gpxpy.parse(gpx.get_data(as_text=True)).waypoints] == [
        (s["lon"], s["lat"]) for s in api["stops"]
    ]
    kml = web.get(f"/patrol/{ids[0]}.kml")
    assert kml.status_code == 200
    root = ET.fromstring(kml.data)
    ns = {"k": KML_NS}
    stops = [e.findtext("k:name", namespaces=ns) for e in root.iterfind(".//k:Folder/k:Placemark", ns)]
    assert stops[1:] == [f"{s['seq']}. {s['name']}" for s in api["stops"][1:]]
    line = root.findtext(".//k:LineString/k:coordinates", namespaces=ns).split()
    assert len(line) >= len(api["stops"])  # the walk along the streets, through every stop
    pdf = web.get(f"/patrol/{ids[0]}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(pdf.data)).pages
    assert len(pages) >= 2  # the map with the stop list, then the directions
    assert all((round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (595, 842) for p in pages)
    first = pages[0].extract_text()
    assert api["inspector"]["name"] in first and api["stops"][1]["name"] in first
    assert "到达第 1 站" in "".join(p.extract_text() for p in pages[1:])
    assert web.get(f"/patrol/{ids[0]}.docx").status_code == 400
    assert web.get("/patrol/9999").status_code == 404


def test_inspector_plans_and_checks_in_only_for_themselves(web):
    login(web, "I03")
    assert plan_day(web, inspector="I01").status_code == 403
    assert plan_day(web, inspector="I03").status_code == 302
    listed = web.get(f"/api/patrols?day={DAY}").get_json()
    (mine,) = listed["plans"]
    assert mine["inspector"]["code"] == "I03"
    stop = web.get(f"/api/patrols/{mine['id']}").get_json()["stops"][1]
    form = {"csrf_token": token(web, f"/patrol/{mine['id']}"), "lon": stop["lon"], "lat": stop["lat"]}
    done = web.post(f"/patrol/{mine['id']}/stops/1/checkin", data=form)
    assert done.status_code == 302 and "error=" not in done.headers["Location"]
    plan = web.get(f"/api/patrols/{mine['id']}").get_json()
    assert plan["stops"][1]["checked_in_by"] == "I03" and plan["stops"][1]["checkin_distance_m"] is not None
    again = web.post(f"/patrol/{mine['id']}/stops/1/checkin", data=form)
    assert again.status_code == 302 and "error=" in again.headers["Location"]  # told, not crashed
    login(web, "I01")
    form["csrf_token"] = token(web, f"/patrol/{mine['id']}")
    assert web.post(f"/patrol/{mine['id']}/stops/2/checkin", data=form).status_code == 403


def test_writes_need_the_csrf_token(web):
    login(web, "office")
    assert web.post("/patrol/plan", data={"day": DAY}).status_code == 403
    done = web.post("/api/patrols", json={"day": DAY})
    assert done.status_code == 403  # a session-authenticated API call needs the token too


def test_api_plans_and_explains_bad_input(web):
    login(web, "office")
    headers = {"X-CSRF-Token": token(web, f"/patrol?day={DAY}")}
    done = web.post("/api/patrols", json={"day": DAY, "inspectors": ["I02"], "mode": "bike"}, headers=headers)
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert [p["inspector"]["code"] for p in body["plans"]] == ["I02"] and body["plans"][0]["mode"] == "bike"
    bad = web.post("/api/patrols", json={"day": "明天"}, headers=headers)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["message"]
    bad = web.post("/api/patrols", json={"day": DAY, "inspectors": ["I99"]}, headers=headers)
    assert bad.status_code == 400 and "I99" in bad.get_json()["message"]
    page = plan_day(web, hours="abc")
    assert page.status_code == 400 and "hours" in page.get_data(as_text=True)


def near(stop: dict, *, east: float) -> dict:
    from tests.routing import town

    x, y = town.xy(stop["lon"], stop["lat"])
    lon, lat = town.ll(x + east, y)
    return {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}"}


def test_a_check_in_far_from_the_stop_is_refused_on_the_page_with_the_distance(web):
    login(web, "I01")
    assert plan_day(web, inspector="I01").status_code == 302
    (mine,) = web.get(f"/api/patrols?day={DAY}").get_json()["plans"]
    stop = web.get(f"/api/patrols/{mine['id']}").get_json()["stops"][1]
    form = {"csrf_token": token(web, f"/patrol/{mine['id']}"), **near(stop, east=300)}
    far = web.post(f"/patrol/{mine['id']}/stops/1/checkin", data=form)
    assert far.status_code == 302 and far.headers["Location"].endswith("#stop-1")
    page = web.get(far.headers["Location"]).get_data(as_text=True)
    assert "距该点位 300 米，需在 50 米内签到" in page
    assert web.get(f"/api/patrols/{mine['id']}").get_json()["stops"][1]["checked_in_at"] is None
    headers = {"X-CSRF-Token": token(web, f"/patrol/{mine['id']}")}
    api = web.post(f"/api/patrols/{mine['id']}/stops/1/checkin", json=near(stop, east=300), headers=headers)
    assert api.status_code == 400 and "300 米" in api.get_json()["message"]
    ok = web.post(f"/api/patrols/{mine['id']}/stops/1/checkin", json=near(stop, east=20), headers=headers)
    assert ok.status_code == 200 and round(ok.get_json()["checkin_distance_m"]) == 20


def test_the_check_in_distance_comes_from_the_setting(town_store, town_settings):
    from web import create_app

    app = create_app(town_settings.but(patrol_checkin_m=400.0))
    add_user(town_store, username="I01", role="inspector", password="secret-pass-1")
    client = app.test_client()
    login(client, "I01")
    assert plan_day(client, inspector="I01").status_code == 302
    (mine,) = client.get(f"/api/patrols?day={DAY}").get_json()["plans"]
    stop = client.get(f"/api/patrols/{mine['id']}").get_json()["stops"][1]
    headers = {"X-CSRF-Token": token(client, f"/patrol/{mine['id']}")}
    done = client.post(
        f"/api/patrols/{mine['id']}/stops/1/checkin", json=near(stop, east=300), headers=headers
    )
    assert done.status_code == 200, done.get_json()


def test_a_problem_far_from_every_road_is_listed_and_the_day_is_planned(web, town_ctx):
    from tests.routing import town

    far = town.add_problem(town_ctx, x=600, y=4300, status="rectified")  # 3.8 km from the streets
    login(web, "office")
    assert plan_day(web).status_code == 302
    listed = web.get(f"/api/patrols?day={DAY}").get_json()
    assert listed["plans"] and [u["id"] for u in listed["unreachable"]] == [far]
    assert "距最近道路 3.8 公里" in listed["unreachable"][0]["left_out"]
    index = web.get(f"/patrol?day={DAY}").get_data(as_text=True)
    assert far in index and "距最近道路 3.8 公里，超过 GRIDMAP_PATROL_MAX_SNAP_M" in index
    pages = [web.get(f"/patrol/{p['id']}").get_data(as_text=True) for p in listed["plans"]]
    assert any("距最近道路 3.8 公里" in html and far in html for html in pages)


def test_an_old_plan_link_leads_to_the_replanned_plan(web):
    login(web, "I03")
    assert plan_day(web, inspector="I03").status_code == 302
    (old,) = web.get(f"/api/patrols?day={DAY}").get_json()["plans"]
    assert plan_day(web, inspector="I03").status_code == 302
    (new,) = web.get(f"/api/patrols?day={DAY}").get_json()["plans"]
    assert new["id"] != old["id"]
    moved = web.get(f"/patrol/{old['id']}")
    assert moved.status_code == 302 and moved.headers["Location"].startswith(f"/patrol/{new['id']}?")
    page = web.get(moved.headers["Location"]).get_data(as_text=True)
    assert f"原计划 {old['id']} 已被重新规划" in page
    api = web.get(f"/api/patrols/{old['id']}")
    assert api.status_code == 302 and api.headers["Location"] == f"/api/patrols/{new['id']}"
    assert web.get("/patrol/99999").status_code == 404


def test_the_plan_page_offers_navigation_report_and_the_problem_page(web, town_ctx):
    from tests.routing import town

    number = town.add_problem(town_ctx, x=250, y=95, status="rectified")
    login(web, "I01")
    assert plan_day(web, inspector="I01").status_code == 302
    (mine,) = web.get(f"/api/patrols?day={DAY}").get_json()["plans"]
    html = web.get(f"/patrol/{mine['id']}").get_data(as_text=True)
    assert 'id="gm-nav-next" href="geo:' in html and "导航到下一站" in html
    assert html.count('class="gm-btn gm-btn-report gm-report" href="/report?lon=') == mine["stops"]
    assert f'href="/problems/{number}"' in html and "核查 / 返工" in html
