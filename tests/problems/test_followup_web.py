"""Follow-up, merge and response templates over the Flask test client: the reporter's link and page,
the office's forms and phrase page, the roles refused, escaping of outside text."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes
from tests.problems.test_page import _csrf, _report

XSS = '<img src=x onerror=alert(1)>"'


@pytest.fixture
def staff(login):
    return {
        "office": login("boss", "office"),
        "unit": login("u2", "unit", unit_code="U2"),
        "inspector": login("insp", "inspector"),
        "leader": login("lead", "leader", leader_code="L01"),
    }


def _act(client, no, **form):
    r = client.post(f"/problems/{no}/act", data={"csrf_token": _csrf(client, f"/problems/{no}"), **form})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def _close(staff, no):
    _act(staff["office"], no, action="dispatch", unit="U2")
    _act(staff["unit"], no, action="rectify", note="已清理")
    _act(staff["inspector"], no, action="verify")
    _act(staff["inspector"], no, action="close")


def _reported(client, **extra):
    body = {
        "lon": NEAR_HOSPITAL[0],
        "lat": NEAR_HOSPITAL[1],
        "category": "garbage",
        "description": "医院门口垃圾",
    }
    r = client.post("/api/problems", json={**body, **extra})
    assert r.status_code == 201
    return r.get_json()


def test_only_the_reporters_own_answer_carries_the_key(client, staff):
    body = _reported(client)
    no, link = body["tracking_no"], body["followup_url"]
    key = parse_qs(urlsplit(link).query)["key"][0]
    assert urlsplit(link).path == f"/track/{no}" and len(key) >= 20
    public = client.get(f"/api/problems/{no}").get_data(as_text=True)
    office_view = staff["office"].get(f"/api/problems/{no}").get_data(as_text=True)
    listed = staff["office"].get("/api/problems?scope=all").get_data(as_text=True)
    csv = staff["office"].get("/problems?format=csv").get_data(as_text=True)
    page = client.get(f"/problems/{no}").get_data(as_text=True)
    for text in (public, office_view, listed, csv, page):
        assert key not in text and "followup_url" not in text
    r = client.get(link)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert client.get(f"/track/{no}").status_code == 302  # no key: the public page
    assert client.get(f"/track/{no}?key={key[:-2]}xx").status_code == 403
    assert client.get(f"/api/problems/{no}/track?key=nope").status_code == 403


def test_the_reporter_answers_not_fixed_on_the_page_and_the_case_reopens(client, staff):
    body = _reported(client, description=XSS)
    no, link = body["tracking_no"], body["followup_url"]
    page = client.get(link).get_data(as_text=True)
    assert "解决了吗" not in page and XSS not in page and html.escape(XSS) in page.replace("&#34;", "&quot;")
    _close(staff, no)
    page = client.get(link).get_data(as_text=True)
    assert "解决了吗？" in page and "满意，已解决" in page and "不满意，没解决" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = parse_qs(urlsplit(link).query)["key"][0]
    # another person's browser without the key cannot answer
    r = client.post(
        f"/track/{no}", data={"csrf_token": token, "key": "guess", "result": "unsatisfied", "note": "x"}
    )
    assert r.status_code == 403
    r = client.post(
        f"/track/{no}", data={"csrf_token": token, "key": key, "result": "unsatisfied", "note": ""}
    )
    assert r.status_code == 400 and "哪里没解决" in r.get_data(as_text=True)
    r = client.post(
        f"/track/{no}", data={"csrf_token": token, "key": key, "result": "unsatisfied", "note": XSS}
    )
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "重新交办" in text and "解决了吗？" not in text
    rec = staff["office"].get(f"/api/problems/{no}").get_json()
    assert rec["status"] == "dispatched" and rec["reopens"] == 1 and rec["unit"]["code"] == "U2"
    assert [h["action"] for h in rec["history"]][-2:] == ["followup", "reopen"]
    assert rec["history"][-2]["action_label"] == "回访：不满意（没解决）"
    assert rec["satisfaction"]["note"] == XSS.strip()
    public = client.get(f"/api/problems/{no}").get_json()  # the reporter's words are for staff only
    assert "satisfaction" not in public and [
        h["note"] for h in public["history"] if h["action"] == "followup"
    ] == [None]
    office_page = staff["office"].get(f"/problems/{no}").get_data(as_text=True)
    assert XSS not in office_page and "回访后重新打开 1 次" in office_page


def test_the_json_answer_needs_no_session_but_the_key(client, staff):
    body = _reported(client)
    no = body["tracking_no"]
    key = parse_qs(urlsplit(body["followup_url"]).query)["key"][0]
    _close(staff, no)
    r = client.post(f"/api/problems/{no}/followup", json={"key": key + "x", "result": "satisfied"})
    assert r.status_code == 403
    r = client.post(f"/api/problems/{no}/followup", json={"key": key, "result": "satisfied"})
    assert r.status_code == 200 and r.get_json()["outcome"]["result"] == "satisfied"
    r = client.post(f"/api/problems/{no}/followup", json={"key": key, "result": "satisfied"})
    assert r.status_code == 409
    assert client.post(f"/api/problems/{no}/followup", json={"result": "satisfied"}).status_code == 401


def test_phone_follow_up_and_merge_forms_are_the_offices(client, staff):
    no = _report(client)
    _close(staff, no)
    office = staff["office"]
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert "电话回访" in page and f'action="/problems/{no}/followup"' in page
    for role in ("unit", "inspector", "leader"):
        who = staff[role]
        assert "记录回访" not in who.get(f"/problems/{no}").get_data(as_text=True)
        r = who.post(f"/problems/{no}/followup", data={"csrf_token": _csrf(who, "/"), "result": "satisfied"})
        assert r.status_code == 403
    r = office.post(
        f"/problems/{no}/followup",
        data={"csrf_token": _csrf(office, "/"), "result": "satisfied", "note": "电话回访，群众表示满意"},
    )
    assert r.status_code == 302
    rec = office.get(f"/api/problems/{no}").get_json()
    assert rec["satisfaction"]["result"] == "satisfied" and rec["history"][-1]["action"] == "followup"
    assert rec["history"][-1]["actor"] == "boss"
    assert rec["history"][-1]["action_label"] == "电话回访：满意（已解决）"
    assert "记录回访" not in office.get(f"/problems/{no}").get_data(as_text=True)  # one answer per closure
    # merge: a duplicate with a photo into a kept open case
    kept = _report(client)
    r = client.post(
        "/api/problems",
        data={
            "lon": str(NEAR_HOSPITAL[0]),
            "lat": str(NEAR_HOSPITAL[1]),
            "category": "garbage",
            "description": "同一处",
            "photos": [(__import__("io").BytesIO(jpeg_bytes()), "a.jpg")],
        },
        content_type="multipart/form-data",
    )
    dup = r.get_json()["tracking_no"]
    for role in ("unit", "inspector", "leader"):
        who = staff[role]
        r = who.post(f"/problems/{dup}/merge", data={"csrf_token": _csrf(who, "/"), "into": kept})
        assert r.status_code == 403
        r = who.post(
            f"/api/problems/{dup}/merge", json={"into": kept}, headers={"X-CSRF-Token": _csrf(who, "/")}
        )
        assert r.status_code == 403
    page = office.get(f"/problems/{dup}").get_data(as_text=True)
    assert "合并重复问题" in page and f'<option value="{kept}">' in page  # the nearby case is suggested
    r = office.post(f"/problems/{dup}/merge", data={"csrf_token": _csrf(office, "/"), "into": kept})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/problems/{kept}")
    public = client.get(f"/problems/{dup}").get_data(as_text=True)
    assert f'已合并到 <a href="/problems/{kept}">{kept}</a>' in public
    k = client.get(f"/api/problems/{kept}").get_json()
    assert k["supporters"] == 1 and len(k["photos"]) == 1
    r = office.post(f"/problems/{dup}/merge", data={"csrf_token": _csrf(office, "/"), "into": kept})
    assert r.status_code == 409


def test_the_phrase_page_and_the_pickers(client, staff):
    office = staff["office"]
    page = office.get("/admin/phrases").get_data(as_text=True)
    assert "经核实，不属于城市管理问题，不予立案" in page
    for role in ("unit", "inspector", "leader"):
        assert staff[role].get("/admin/phrases").status_code == 403
        r = staff[role].post(
            "/admin/phrases", data={"csrf_token": _csrf(staff[role], "/"), "action": "reject", "text": "x"}
        )
        assert r.status_code == 403
    assert client.get("/admin/phrases").status_code == 302  # to the login page
    token = _csrf(office, "/admin/phrases")
    assert office.post("/admin/phrases", data={"action": "reject", "text": "无 CSRF"}).status_code == 403
    r = office.post("/admin/phrases", data={"csrf_token": token, "action": "reject", "text": XSS})
    assert r.status_code == 302
    assert "已添加惯用语" in office.get(r.headers["Location"]).get_data(as_text=True)
    r = office.post("/admin/phrases", data={"csrf_token": token, "action": "reject", "text": ""})
    assert r.status_code == 400 and "不能为空" in r.get_data(as_text=True)
    page = office.get("/admin/phrases").get_data(as_text=True)
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;&#34;" in page
    found = office.get("/api/phrases").get_json()["phrases"]["reject"]
    added = next(p for p in found if p["text"] == XSS.strip())
    # the picker of the problem page's reject form offers it, escaped inside the attribute and the text
    no = _report(client)
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert 'class="gm-phrase-pick"' in page and "js/phrases.js" in page and XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;" in page
    r = office.post(f"/admin/phrases/{added['id']}/move", data={"csrf_token": token, "direction": "up"})
    assert r.status_code == 302
    moved = [p["id"] for p in office.get("/api/phrases").get_json()["phrases"]["reject"]]
    assert moved.index(added["id"]) == len(moved) - 2
    r = office.post(f"/admin/phrases/{added['id']}", data={"csrf_token": token, "text": "改过的"})
    assert r.status_code == 302
    r = office.post(f"/admin/phrases/{added['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 302
    texts = [p["text"] for p in office.get("/api/phrases").get_json()["phrases"]["reject"]]
    assert "改过的" not in texts and XSS.strip() not in texts
    r = office.post(f"/admin/phrases/{added['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 404
