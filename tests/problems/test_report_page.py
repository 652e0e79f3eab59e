"""The citizen's report page over the Flask test client: opens on the town, one key per form load,
the tracking-number lookup, human times and plain messages (issue 11)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.problems.conftest import ON_BINJIANG_ROAD


def _page_value(html: str, name: str):
    found = re.search(rf"var {name} = (.*?);\n", html)
    assert found, name
    return json.loads(found.group(1))


def _report(client, **kw):
    body = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": "garbage",
        "description": "垃圾堆放",
        **kw,
    }
    r = client.post("/api/problems", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_opening_bounds_are_the_town_not_the_county(ctx):
    from gridmap.problems.reportform import opening_bounds

    model = ctx.reference.model()
    (south, west), (north, east) = opening_bounds(grids=model.grids, towns=model.towns)
    gx0, gy0, gx1, gy1 = model.grids.total_bounds
    tx0, ty0, tx1, ty1 = model.towns.total_bounds
    assert (west, south, east, north) == pytest.approx((gx0, gy0, gx1, gy1))
    # the county's towns reach well beyond the grids of the county town
    assert (east - west) * (north - south) < 0.5 * (tx1 - tx0) * (ty1 - ty0)
    # no grids yet: the towns
    (s2, w2), (n2, e2) = opening_bounds(grids=model.grids.iloc[0:0], towns=model.towns)
    assert (w2, s2, e2, n2) == pytest.approx((tx0, ty0, tx1, ty1))
    assert opening_bounds(grids=model.grids.iloc[0:0], towns=model.towns.iloc[0:0]) is None


def test_report_page_opens_on_the_grids_with_a_fresh_key_per_load(client, ctx):
    first = client.get("/report").get_data(as_text=True)
    second = client.get("/report").get_data(as_text=True)
    bounds = _page_value(first, "BOUNDS")
    gx0, gy0, gx1, gy1 = ctx.reference.model().grids.total_bounds
    assert bounds[0] + bounds[1] == pytest.approx([gy0, gx0, gy1, gx1])
    key = re.search(r"var FORM_KEY = (\"[^\"]+\")", first)
    other = re.search(r"var FORM_KEY = (\"[^\"]+\")", second)
    assert key and other and key.group(1) != other.group(1)
    # the page promises a lookup and has one
    assert 'action="/report/lookup"' in first and 'name="no"' in first


def test_report_page_keeps_a_valid_spot_from_the_link(client):
    html = client.get(f"/report?lon={ON_BINJIANG_ROAD[0]}&lat={ON_BINJIANG_ROAD[1]}").get_data(as_text=True)
    assert _page_value(html, "START") == pytest.approx(list(ON_BINJIANG_ROAD))
    assert _page_value(client.get("/report?lon=abc&lat=1").get_data(as_text=True), "START") is None


@pytest.mark.parametrize("typed", ["{no}", "  {low}  ", "{wide}"])
def test_lookup_opens_the_problem_page(client, typed):
    no = _report(client)["tracking_no"]
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in no.lower())  # ｆｘ２０…
    r = client.get("/report/lookup", query_string={"no": typed.format(no=no, low=no.lower(), wide=wide)})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/problems/{no}")


@pytest.mark.parametrize(
    ("typed", "status", "text"),
    [
        ("FX20261130-9999", 404, "没有找到受理编号为 FX20261130-9999 的问题，请核对编号"),
        ("hello", 400, "“hello”不是受理编号"),
        ("", 400, "请输入受理编号"),
    ],
)
def test_lookup_of_a_wrong_number_says_so_on_the_report_page(client, typed, status, text):
    r = client.get("/report/lookup", query_string={"no": typed})
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert text in html
    assert 'id="gm-lookup-error"' in html and 'id="gm-report-form"' in html  # still the report page
    assert f'value="{typed}"' in html  # what was typed stays in the box


def test_report_answer_carries_a_human_deadline(app, client):
    moment = dt.datetime(2026, 11, 30, 12, 19, 31, tzinfo=dt.UTC)  # 20:19 in China
    app.extensions["gridmap.clock"] = lambda: moment
    body = _report(client)  # garbage: 24 working hours, counted from Tuesday 08:30 (7 a day)
    assert body["created_at_text"] == "11月30日 20:19"
    assert body["deadline_text"] == "12月4日 11:30"
    assert body["deadline"] == "2026-12-04T11:30:00+08:00"  # the API keeps ISO
    shown = client.get(f"/api/problems/{body['tracking_no']}").get_json()
    assert shown["history"][0]["at_text"] == "11月30日 20:19"
    assert shown["history"][0]["deadline_text"] is None


def test_missing_category_is_plain_for_people_and_named_for_programs(client):
    r = client.post(
        "/api/problems",
        json={"lon": ON_BINJIANG_ROAD[0], "lat": ON_BINJIANG_ROAD[1], "description": "垃圾"},
    )
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "invalid_input"
    assert body["message"] == "请选择问题类别"
    assert body["findings"][0]["field"] == "category"
    assert "/api/categories" in body["findings"][0]["hint"]


def test_same_form_key_from_a_double_tap_files_one_report(client):
    form = {
        "lon": str(ON_BINJIANG_ROAD[0]),
        "lat": str(ON_BINJIANG_ROAD[1]),
        "category": "garbage",
        "description": "垃圾",
    }
    headers = {"Idempotency-Key": "form-abc-0"}
    first = client.post("/api/problems", data=form, headers=headers)
    second = client.post("/api/problems", data=form, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["tracking_no"] == second.get_json()["tracking_no"]
    # the next report from the same page load uses the next key: a new problem
    third = client.post(
        "/api/problems", data={**form, "description": "另一处"}, headers={"Idempotency-Key": "form-abc-1"}
    )
    assert third.status_code == 201 and third.get_json()["tracking_no"] != first.get_json()["tracking_no"]
    # a changed report under a used key is refused in plain words
    changed = client.post("/api/problems", data={**form, "description": "改了"}, headers=headers)
    assert changed.status_code == 409
    assert "请刷新页面后重新填写" in changed.get_json()["message"]
    assert changed.get_json()["findings"][0]["field"] == "Idempotency-Key"
