"""The problem page over the Flask test client: dispatch choice, action buttons, map, actors, photo labels."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.factory import csrf_token
from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes

_csrf = csrf_token  # older name, imported by other test modules


def _report(client, spot=NEAR_HOSPITAL, **extra) -> str:
    body = {
        "lon": str(spot[0]),
        "lat": str(spot[1]),
        "category": "garbage",
        "description": "医院门口垃圾",
        **extra,
    }
    r = client.post("/api/problems", data=body, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["tracking_no"]


def _act(client, no, **form):
    return client.post(f"/problems/{no}/act", data={"csrf_token": _csrf(client, f"/problems/{no}"), **form})


def test_dispatch_starts_with_no_unit_and_offers_the_suggestion_first(client, login):
    office = login("boss", "office")
    no = _report(client)  # point P2: 县城管执法局 (U2) answers for the spot
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    select = re.search(r'<select name="unit"[^>]*>(.*?)</select>', page, re.S)
    assert select and "required" in select.group(0)
    options = re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(1))
    assert options[0][0] == "" and "selected" in options[0][1] and options[0][2] == "请选择责任单位"
    assert options[1][0] == "U2" and "建议" in options[1][2]
    assert not any("selected" in attrs for _code, attrs, _label in options[1:])
    assert sum("建议" in label for _c, _a, label in options) == 1
    # a form sent without a choice (the HTML rule bypassed) is refused by the server
    r = _act(office, no, action="dispatch", unit="")
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "明确选择责任单位" in text and "县城管执法局" in text
    assert office.get(f"/api/problems/{no}").get_json()["status"] == "reported"
    r = _act(office, no, action="dispatch", unit="U1")
    assert r.status_code == 302
    assert office.get(f"/api/problems/{no}").get_json()["unit"]["code"] == "U1"


def _json_island(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="gm-problem-spot">(.*?)</script>', page, re.S)
    assert found, "no map data on the page"
    return json.loads(found.group(1))


def test_actions_look_different_and_refusing_asks_first(client, login):
    office = login("boss", "office")
    no = _report(client)
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    buttons = re.findall(r'<button type="submit" class="gm-btn gm-btn-(\w+)"[^>]*>([^<]+)</button>', page)
    by_label = {label: style for style, label in buttons}
    assert set(by_label) >= {"派遣（交办）", "不予立案", "延期"}
    assert len({by_label["派遣（交办）"], by_label["不予立案"], by_label["延期"]}) == 3
    reject = re.search(r"<button[^>]*>不予立案</button>", page).group(0)
    assert "gm-btn-danger" in reject and 'data-confirm="确定“不予立案”' in reject
    dispatch = re.search(r"<button[^>]*>派遣（交办）</button>", page).group(0)
    assert "data-confirm" not in dispatch
    # the main step comes first and open; the others are folded
    details = re.findall(r'<details class="gm-action gm-action-(\w+)"\s*(open)?', page)
    assert details[0] == ("dispatch", "open") and all(not opened for _a, opened in details[1:])
    assert details[-1][0] == "reject"
    assert '<script src="/static/js/office.js' in page and "onclick" not in page


def test_the_page_maps_the_spot_with_the_streets_around_it(client):
    no = _report(client)
    page = client.get(f"/problems/{no}").get_data(as_text=True)
    spot = _json_island(page)
    assert (spot["lon"], spot["lat"]) == pytest.approx(NEAR_HOSPITAL)
    kinds = {(f["properties"]["kind"], f["properties"].get("name")) for f in spot["around"]["features"]}
    assert ("street", "汉中路") in kinds and ("grid", None) in kinds
    assert spot["tiles"] is None  # no tiles configured: the streets are the base
    assert 'id="gm-problem-map"' in page and "leaflet" in page


def test_actors_by_name_and_unit_and_photos_by_stage(client, login):
    office = login("boss", "office")
    unit = login("zhaoke", "unit", unit_code="U2")
    inspector = login("I01", "inspector")
    no = _report(client, photos=(io.BytesIO(jpeg_bytes(color=(200, 0, 0))), "a.jpg"))
    assert _act(office, no, action="dispatch", unit="U2").status_code == 302
    r = unit.post(
        f"/problems/{no}/act",
        data={
            "csrf_token": _csrf(unit, f"/problems/{no}"),
            "action": "rectify",
            "note": "已清理",
            "photos": (io.BytesIO(jpeg_bytes(color=(0, 200, 0))), "b.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    # the inspector's form offers a photo for verifying and for sending back
    page = inspector.get(f"/problems/{no}").get_data(as_text=True)
    for action in ("verify", "rework"):
        form = re.search(rf'value="{action}">(.*?)</form>', page, re.S).group(1)
        assert 'type="file" name="photos"' in form and "核查照片" in form, action
    r = inspector.post(
        f"/problems/{no}/act",
        data={
            "csrf_token": _csrf(inspector, f"/problems/{no}"),
            "action": "rework",
            "note": "还有垃圾",
            "photos": (io.BytesIO(jpeg_bytes(color=(0, 0, 200))), "c.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    rec = office.get(f"/api/problems/{no}").get_json()
    assert [p["stage_label"] for p in rec["photos"]] == ["上报", "整改", "核查"]
    names = [h["actor_name"] for h in rec["history"]]
    assert names == [None, "创建办（boss）", "县城管执法局（zhaoke）", "巡查员 冯巡查（I01）"]
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert "县城管执法局（zhaoke）" in page and "巡查员 冯巡查（I01）" in page
    tags = re.findall(r'<span class="gm-photo-tag gm-tag-(\w+)">([^<]+)</span>', page)
    assert tags == [("report", "上报"), ("rectify", "整改"), ("verify", "核查")]
    # the public sees roles, not who
    public = client.get(f"/problems/{no}").get_data(as_text=True)
    assert "zhaoke" not in public and "冯巡查" not in public and "上报" in public
    assert all(h["actor_name"] is None for h in client.get(f"/api/problems/{no}").get_json()["history"])
