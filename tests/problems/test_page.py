"""The problem page over the Flask test client: dispatch choice, action buttons, map, actors, photo labels."""

from __future__ import annotations

import re

import pytest

from tests.problems.conftest import NEAR_HOSPITAL

PASSWORD = "secret-pass-1"


def _csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def login(app, loaded_store):
    """``login(username, role, **binding)`` -> a test client with that user's session."""
    from gridmap.auth import add_user

    def make(username, role, **kw):
        add_user(loaded_store, username=username, role=role, password=PASSWORD, **kw)
        client = app.test_client()
        r = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
        )
        assert r.status_code == 302
        return client

    return make


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
