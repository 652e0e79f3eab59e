"""The exposure page and rewards over the Flask test client: the office's forms with CSRF, roles
refused, outside text escaped, the JSON twins, the lookup and the XLSX export."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes
from tests.problems.test_page import _csrf

XSS = '<img src=x onerror=alert(1)>"'


@pytest.fixture
def office(login):
    return login("boss", "office")


def _dispatched(client, office, **extra) -> str:
    body = {
        "lon": str(NEAR_HOSPITAL[0]),
        "lat": str(NEAR_HOSPITAL[1]),
        "category": "garbage",
        "description": "医院门口垃圾",
        "reporter_phone": "13812345678",
        "reporter_name": "王五",
        "photos": (io.BytesIO(jpeg_bytes()), "a.jpg"),
        **extra,
    }
    r = client.post("/api/problems", data=body, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    no = r.get_json()["tracking_no"]
    token = _csrf(office, f"/problems/{no}")
    r = office.post(f"/problems/{no}/act", data={"csrf_token": token, "action": "dispatch", "unit": "U2"})
    assert r.status_code == 302
    return no


def test_the_office_publishes_from_the_problem_page_and_the_public_page_escapes_it(client, office):
    no = _dispatched(client, office, address=XSS)
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert "发布到曝光台" in page
    token = _csrf(office, f"/problems/{no}")
    assert office.post(f"/problems/{no}/exposure", data={"title": "x"}).status_code == 403  # no CSRF token
    r = office.post(f"/problems/{no}/exposure", data={"csrf_token": token, "title": XSS, "comment": XSS})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/problems/{no}")
    assert "从曝光台撤下" in office.get(f"/problems/{no}").get_data(as_text=True)
    public = client.get("/exposure")
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and no in text
    assert XSS not in text and "&lt;img src=x onerror=alert(1)&gt;&#34;" in text
    for private in ("王五", "13812345678", "boss", "医院门口垃圾"):
        assert private not in text
    thumbs = re.findall(r'<img src="([^"]+)"', text)
    assert len(thumbs) == 1 and client.get(thumbs[0]).status_code == 200
    api = client.get("/api/exposure").get_json()
    assert api["count"] == 1 and api["problems"][0]["title"] == XSS
    r = office.post(f"/problems/{no}/exposure", data={"csrf_token": token, "remove": "1"})
    assert r.status_code == 302 and client.get("/api/exposure").get_json()["count"] == 0


def test_others_may_not_publish(client, office, login):
    no = _dispatched(client, office)
    unit = login("u2", "unit", unit_code="U2")
    token = _csrf(unit, f"/problems/{no}")
    assert "发布到曝光台" not in unit.get(f"/problems/{no}").get_data(as_text=True)
    assert unit.post(f"/problems/{no}/exposure", data={"csrf_token": token, "title": "x"}).status_code == 403
    assert unit.post(f"/api/problems/{no}/exposure", json={"title": "x"}).status_code == 403
    assert client.post(f"/api/problems/{no}/exposure", json={"title": "x"}).status_code == 401
    r = office.post(f"/api/problems/{no}/exposure", json={"title": "好"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403  # the office's session without its own token
    office_token = _csrf(office, f"/problems/{no}")
    r = office.post(
        f"/api/problems/{no}/exposure", json={"title": "好"}, headers={"X-CSRF-Token": office_token}
    )
    assert r.status_code == 200 and r.get_json()["exposure"]["published"]
    r = office.post(
        f"/api/problems/{no}/exposure", json={"published": False}, headers={"X-CSRF-Token": office_token}
    )
    assert r.status_code == 200 and r.get_json()["exposure"]["published"] is False


def test_rewards_list_pay_export_and_lookup(client, office, login):
    no = _dispatched(client, office)
    month = no[2:6] + "-" + no[6:8]
    found = client.get(f"/api/rewards/lookup?no={no}").get_json()
    assert found["valid"] and found["points"] == 10 and "13812345678" not in str(found)
    page = client.get(f"/rewards/lookup?no={no.lower()}").get_data(as_text=True)
    assert "待发放" in page and "13812345678" not in page
    bad = client.get("/rewards/lookup?no=" + XSS)
    assert bad.status_code == 400 and XSS not in bad.get_data(as_text=True)
    assert client.get("/rewards").status_code == 302  # to the login page
    assert client.get("/api/rewards").status_code == 401
    assert login("u2", "unit", unit_code="U2").get("/api/rewards").status_code == 403
    listing = office.get(f"/api/rewards?month={month}").get_json()
    assert listing["people"][0]["phone"] == "13812345678" and listing["unpaid_points"] == 10
    page = office.get(f"/rewards?month={month}").get_data(as_text=True)
    assert "13812345678" in page and "王五" in page and "标记已发放" in page
    xlsx = office.get(f"/rewards?month={month}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("13812345678", "王五", 1, 10)
    assert office.post("/rewards/paid", data={"month": month}).status_code == 403  # no CSRF token
    token = _csrf(office, f"/rewards?month={month}")
    r = office.post("/rewards/paid", data={"csrf_token": token, "month": month, "phone": "13812345678"})
    assert r.status_code == 302
    assert office.get(f"/api/rewards?month={month}").get_json()["unpaid_points"] == 0
    assert client.get(f"/api/rewards/lookup?no={no}").get_json()["paid"] is True
    assert office.get("/rewards?month=2026-13").status_code == 400


def test_the_header_links_the_exposure_page_and_the_tracking_page_the_points(client, office):
    assert 'href="/exposure"' in client.get("/report").get_data(as_text=True)
    assert 'href="/rewards"' not in client.get("/report").get_data(as_text=True)
    assert 'href="/rewards"' in office.get("/office").get_data(as_text=True)  # on the office's workbench
    body = {"lon": NEAR_HOSPITAL[0], "lat": NEAR_HOSPITAL[1], "category": "garbage", "description": "垃圾"}
    made = client.post("/api/problems", json={**body, "reporter_phone": "13812345678"}).get_json()
    page = client.get(made["followup_url"]).get_data(as_text=True)
    assert f'href="/rewards/lookup?no={made["tracking_no"]}"' in page
