"""The problem API and pages over the Flask test client: report, roles, lists, exports, escaping."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD, jpeg_bytes

XSS = "<img src=x onerror=alert(1)>"


def report(client, spot=ON_BINJIANG_ROAD, **kw):
    body = {"lon": spot[0], "lat": spot[1], "category": "garbage", "description": "垃圾堆放", **kw}
    return client.post("/api/problems", json=body)


def bearer(client_app, username, role, **kw):
    from gridmap.auth import add_user, issue_token

    store = client_app.extensions["gridmap.store"]
    add_user(store, username=username, role=role, password="secret-pass-1", **kw)
    return {"Authorization": f"Bearer {issue_token(store, username=username, days=90)}"}


@pytest.fixture
def staff(app):
    return {
        "office": bearer(app, "office1", "office"),
        "u1": bearer(app, "unit1", "unit", unit_code="U1"),
        "u2": bearer(app, "unit2", "unit", unit_code="U2"),
        "inspector": bearer(app, "insp", "inspector"),
        "leader": bearer(app, "leader1", "leader", leader_code="L01"),
    }


def test_report_inside_a_grid_is_assigned_as_whois_says(client):
    r = report(client)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert re.fullmatch(r"FX\d{8}-\d{4}", body["tracking_no"])
    assert body["status"] == "reported"
    who = client.get(f"/api/whois?lon={ON_BINJIANG_ROAD[0]}&lat={ON_BINJIANG_ROAD[1]}").get_json()
    assert body["grid"] == who["grid"]
    assert body["unit"]["code"] == who["responsible_unit"]["code"]
    assert body["deadline"].endswith("+08:00")
    assert set(body) >= {"id", "tracking_no", "status", "grid", "unit", "deadline"}


def test_urgency_is_staff_s_choice_and_the_category_s_default(client, staff):
    def post(headers=None, **kw):
        body = {
            "lon": ON_BINJIANG_ROAD[0],
            "lat": ON_BINJIANG_ROAD[1],
            "category": "garbage",
            "description": "d",
        }
        return client.post("/api/problems", json={**body, **kw}, headers=headers or {})

    citizen = post(urgency="urgent").get_json()  # garbage: normal, whatever a citizen claims
    office = post(staff["office"], urgency="urgent").get_json()
    manhole = post(category="manhole").get_json()  # urgent by default
    assert (citizen["urgency"], office["urgency"], manhole["urgency"]) == ("normal", "urgent", "urgent")
    assert office["deadline"] < citizen["deadline"]  # 4 working hours against 24 (same China offset)
    bad = post(staff["office"], urgency="high")
    assert bad.status_code == 400 and "urgency" in bad.get_json()["message"]


def test_idempotency_key_twice_gives_one_problem(client, staff):
    headers = {"Idempotency-Key": "k-1"}
    body = {"lon": ON_BINJIANG_ROAD[0], "lat": ON_BINJIANG_ROAD[1], "category": "garbage", "description": "d"}
    first = client.post("/api/problems", json=body, headers=headers)
    second = client.post("/api/problems", json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["tracking_no"] == second.get_json()["tracking_no"]
    listed = client.get("/api/problems?scope=all", headers=staff["office"]).get_json()
    assert listed["count"] == 1


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"lon": 181}, "经度"),
        ({"lat": 91}, "纬度"),
        ({"category": "flying_saucer"}, "不存在"),
        ({"description": None}, "请填写问题描述"),
        ({"lon": None, "lat": None}, "请在地图上点选问题位置"),
    ],
)
def test_bad_json_is_400_with_a_chinese_message(client, body, text):
    full = {"lon": ON_BINJIANG_ROAD[0], "lat": ON_BINJIANG_ROAD[1], "category": "garbage", "description": "d"}
    full.update(body)
    full = {k: v for k, v in full.items() if v is not None}
    r = client.post("/api/problems", json=full)
    assert r.status_code == 400
    assert text in r.get_json()["message"]


@pytest.mark.parametrize(
    ("upload", "text"),
    [
        ((b"MZ\x90\x00 not an image", "evil.jpg"), "不是可识别的图片"),
        ((b"\xff" * 9_000_001, "huge.jpg"), "太大"),
    ],
)
def test_bad_photo_is_400(client, upload, text):
    content, filename = upload  # a fresh file per run: the client closes it, and each backend runs this once
    data = {
        "lon": str(ON_BINJIANG_ROAD[0]),
        "lat": str(ON_BINJIANG_ROAD[1]),
        "category": "garbage",
        "description": "d",
        "photos": (io.BytesIO(content), filename),
    }
    r = client.post("/api/problems", data=data, content_type="multipart/form-data")
    assert r.status_code == 400
    assert text in r.get_json()["message"]


def test_non_object_json_is_400(client):
    r = client.post("/api/problems", data="[1,2]", content_type="application/json")
    assert r.status_code == 400 and "JSON 对象" in r.get_json()["message"]


def test_multipart_report_with_photo_shows_thumbnail(client):
    data = {
        "lon": str(NEAR_HOSPITAL[0]),
        "lat": str(NEAR_HOSPITAL[1]),
        "category": "stall",
        "description": "占道",
        "reporter_name": "张三",
        "reporter_phone": "13800000000",
        "photos": (io.BytesIO(jpeg_bytes()), "a.jpg"),
    }
    r = client.post("/api/problems", data=data, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert "reporter" not in body and "张三" not in r.get_data(as_text=True)
    thumb = client.get(body["photos"][0]["thumb_url"])
    assert thumb.status_code == 200 and thumb.data[:3] == b"\xff\xd8\xff"


def test_public_views_hold_no_personal_data(client, staff):
    no = report(client, reporter_name="李四", reporter_phone="13912345678").get_json()["tracking_no"]
    for path in (
        f"/api/problems/{no}",
        f"/problems/{no}",
        "/open311/v2/requests.json",
        f"/open311/v2/requests/{no}.json",
        "/api/problems/map.json",
    ):
        text = client.get(path).get_data(as_text=True)
        assert "李四" not in text and "13912345678" not in text, path
    for who in ("u1", "inspector", "leader"):
        text = client.get(f"/api/problems/{no}", headers=staff[who]).get_data(as_text=True)
        assert "13912345678" not in text, who
    office = client.get(f"/api/problems/{no}", headers=staff["office"]).get_json()
    assert office["reporter"]["phone"] == "13912345678"


def test_role_loop_over_http(app, client, staff):
    no = report(client).get_json()["tracking_no"]  # unit U1 answers for Binjiang road
    other = report(client, spot=NEAR_HOSPITAL).get_json()["tracking_no"]  # unit U2

    def act(who, ref, action, **extra):
        return client.post(
            f"/api/problems/{ref}/actions", json={"action": action, **extra}, headers=staff[who]
        )

    assert client.post(f"/api/problems/{no}/actions", json={"action": "accept"}).status_code == 401
    assert act("u1", no, "accept").status_code == 403
    assert act("office", no, "dispatch").status_code == 400  # the office names the unit
    assert act("office", no, "dispatch", unit="U1").status_code == 200
    assert act("u2", no, "rectify").status_code == 403  # another unit's problem
    assert act("u1", other, "rectify").status_code == 403
    r = act("u1", no, "rectify", note="已清理")
    assert r.status_code == 200 and r.get_json()["status"] == "rectified"
    assert act("u1", no, "verify").status_code == 403  # a unit cannot verify
    assert act("u1", no, "close").status_code == 403  # nor close
    assert act("leader", no, "verify").status_code == 403
    r = act("inspector", no, "rework")
    assert r.status_code == 400 and "返工的原因" in r.get_json()["message"]
    r = act("inspector", no, "rework", note="还有垃圾")
    assert r.get_json()["status"] == "dispatched" and r.get_json()["reworks"] == 1
    tasks = client.get("/api/problems?scope=tasks&status=dispatched", headers=staff["u1"]).get_json()
    assert [p["tracking_no"] for p in tasks["problems"]] == [no]  # back with the unit
    assert act("u1", no, "close").status_code == 403
    assert act("office", no, "close").status_code == 409  # not yet verified
    act("u1", no, "rectify", note="清理干净")
    assert act("inspector", no, "verify").get_json()["status"] == "verified"
    final = act("inspector", no, "close")
    assert final.get_json()["status"] == "closed"
    actions = [h["action"] for h in final.get_json()["history"]]
    assert actions == ["report", "dispatch", "rectify", "rework", "rectify", "verify", "close"]
    assert all(h["at"] for h in final.get_json()["history"])


def test_chase_list_with_injected_time(app, client, staff):
    no = report(client, category="manhole").get_json()["tracking_no"]  # urgent: 2 working hours
    fresh = client.get("/api/problems?scope=chase", headers=staff["office"]).get_json()
    assert fresh["count"] == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=14)  # past 2 working hours, holidays or not
    app.extensions["gridmap.clock"] = lambda: later
    chase = client.get("/api/problems?scope=chase", headers=staff["office"]).get_json()
    assert [p["tracking_no"] for p in chase["problems"]] == [no]
    assert chase["problems"][0]["overdue"] is True
    assert client.get("/api/problems?scope=chase", headers=staff["u1"]).status_code == 403
    # an extension takes it off the chase list
    r = client.post(
        f"/api/problems/{no}/actions",
        json={"action": "extend", "deadline": (later + dt.timedelta(days=1)).isoformat(), "note": "井盖"},
        headers=staff["office"],
    )
    assert r.status_code == 200 and r.get_json()["extensions"] == 1
    assert client.get("/api/problems?scope=chase", headers=staff["office"]).get_json()["count"] == 0
    page = client.get("/chase", headers=staff["office"])
    assert page.status_code == 200


def test_without_an_injected_clock_the_routes_read_gridmap_clock(app, client, staff, monkeypatch):
    from gridmap import clock

    no = report(client, category="manhole").get_json()["tracking_no"]  # urgent: 2 working hours
    assert "gridmap.clock" not in app.extensions
    later = clock.utcnow() + dt.timedelta(days=14)  # past 2 working hours, holidays or not
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    chase = client.get("/api/problems?scope=chase", headers=staff["office"]).get_json()
    assert [p["tracking_no"] for p in chase["problems"]] == [no]
    assert client.get(f"/api/problems/{no}").get_json()["overdue"] is True
    stamp = clock.china(later).strftime("%Y%m%d-%H%M")
    export = client.get("/chase?format=csv", headers=staff["office"])
    assert f"chase-{stamp}.csv" in export.headers["Content-Disposition"]


def test_problem_page_offers_the_library_s_actions(client, staff):
    no = report(client).get_json()["tracking_no"]
    office = client.get(f"/problems/{no}", headers=staff["office"]).get_data(as_text=True)
    unit = client.get(f"/problems/{no}", headers=staff["u1"]).get_data(as_text=True)
    assert 'value="dispatch"' in office and 'value="accept"' in office
    assert 'value="dispatch"' not in unit and 'value="rectify"' not in unit


def test_lists_export_csv_and_xlsx(client, staff):
    report(client, description="第一条")
    report(client, spot=ON_XINJIAN_ROAD, category="stall", description="=HYPERLINK(1)")
    r = client.get("/problems?format=csv", headers=staff["office"])
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.data.decode("utf-8-sig")
    assert "受理编号" in text and "第一条" in text and "'=HYPERLINK(1)" in text
    r = client.get("/problems?format=xlsx&category=stall", headers=staff["office"])
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(r.data))
    rows = list(book.active.values)
    assert rows[0][0] == "受理编号" and len(rows) == 2
    r = client.get("/tasks?format=csv", headers=staff["u1"])
    assert "第一条" in r.data.decode("utf-8-sig") and "HYPERLINK" not in r.data.decode("utf-8-sig")


def test_town_queue_filter(client, staff):
    from tests.problems.conftest import OUTSIDE_GRIDS

    report(client, description="网格内")
    report(client, spot=OUTSIDE_GRIDS, description="网格外")
    listed = client.get("/api/problems?fallback=1", headers=staff["office"]).get_json()
    assert [p["description"] for p in listed["problems"]] == ["网格外"]
    assert listed["problems"][0]["fallback"] is True and listed["problems"][0]["town"]["name"] == "双石铺镇"


def test_leader_sees_own_grids_only(client, staff):
    report(client, description="滨江")  # grid 610330100001, leader L01
    report(client, spot=ON_XINJIAN_ROAD, description="新建")  # grid 610330100002, leader L03
    r = client.get("/api/problems", headers=staff["leader"]).get_json()
    assert [p["description"] for p in r["problems"]] == ["滨江"]


def test_pages_redirect_to_login_and_forms_need_csrf(app, client):
    r = client.get("/tasks")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    from gridmap.auth import add_user

    add_user(
        app.extensions["gridmap.store"], username="u", role="unit", unit_code="U1", password="secret-pass-1"
    )
    assert client.post("/login", data={"username": "u", "password": "secret-pass-1"}).status_code == 403
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post("/login", data={"username": "u", "password": "wrong-pass", "csrf_token": token})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    ok = client.post("/login", data={"username": "u", "password": "secret-pass-1", "csrf_token": token})
    assert ok.status_code == 302
    tasks = client.get("/tasks")
    assert tasks.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', tasks.get_data(as_text=True)).group(1)
    # with a session, API writes need the CSRF header too
    no = report(client).status_code
    assert no == 403
    assert (
        client.post(
            "/api/problems",
            json={
                "lon": ON_BINJIANG_ROAD[0],
                "lat": ON_BINJIANG_ROAD[1],
                "category": "garbage",
                "description": "d",
            },
            headers={"X-CSRF-Token": token},
        ).status_code
        == 201
    )


def test_xss_description_is_text_on_pages_and_popups(client, staff):
    no = report(client, description=XSS).get_json()["tracking_no"]
    for path in (f"/problems/{no}", "/problems", "/chase", "/tasks"):
        html = client.get(path, headers=staff["office"]).get_data(as_text=True)
        assert XSS not in html, path
    html = client.get(f"/problems/{no}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    features = client.get("/api/problems/map.json").get_json()["features"]
    assert XSS not in features[0]["popup"] and "&lt;img src=x" in features[0]["popup"]


def test_maps_carry_the_problem_layer(client):
    for path in ("/", "/grids/610330100001", "/units/U1", "/leaders/L01"):
        html = client.get(path).get_data(as_text=True)
        assert "gridmapProblemLayer" in html and "L.heatLayer" in html, path
        assert "\\u95ee\\u9898\\u70ed\\u529b\\u56fe" in html  # "问题热力图" in the layer control
        assert "/api/problems/map.json" in html
    report(client)  # in grid 610330100001
    assert client.get("/api/problems/map.json?grid=610330100002").get_json()["features"] == []
    assert client.get("/api/problems/map.json?grid=").get_json()["features"] == []
    assert len(client.get("/api/problems/map.json?grid=610330100001").get_json()["features"]) == 1
    assert len(client.get("/api/problems/map.json?unit=U1").get_json()["features"]) == 1
    assert len(client.get("/api/problems/map.json").get_json()["features"]) == 1


def test_duplicates_offered_and_support(client):
    first = report(client).get_json()
    near = client.get(
        f"/api/problems/nearby?lon={ON_BINJIANG_ROAD[0] + 0.0002}&lat={ON_BINJIANG_ROAD[1]}&category=garbage"
    ).get_json()
    assert [p["tracking_no"] for p in near["problems"]] == [first["tracking_no"]]
    assert 10 < near["problems"][0]["distance_m"] < 30
    assert (
        client.get(
            f"/api/problems/nearby?lon={ON_BINJIANG_ROAD[0]}&lat={ON_BINJIANG_ROAD[1]}&category=stall"
        ).get_json()["problems"]
        == []
    )
    far = client.get(
        f"/api/problems/nearby?lon={ON_BINJIANG_ROAD[0] + 0.002}&lat={ON_BINJIANG_ROAD[1]}&category=garbage"
    ).get_json()
    assert far["problems"] == []  # about 185 m away
    r = client.post(f"/api/problems/{first['tracking_no']}/support", json={"note": "我也看到了"})
    assert r.status_code == 200 and r.get_json()["supporters"] == 1


def test_report_page_and_problem_page(client):
    html = client.get("/report").get_data(as_text=True)
    assert "随手拍" in html and "垃圾暴露" in html and "用我的位置" in html
    for url in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url
    assert client.get("/problems/FX20000101-9999").status_code == 404


def test_report_page_takes_the_spot_from_the_link(client):
    html = client.get("/report?lon=106.5151&lat=33.9101").get_data(as_text=True)
    assert "var START = [106.5151, 33.9101];" in html
    for bad in ("/report", "/report?lon=abc&lat=33.9", "/report?lon=106.5&lat=95"):
        assert "var START = null;" in client.get(bad).get_data(as_text=True), bad
