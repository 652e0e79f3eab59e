"""Assessment pages and API over the Flask test client: roles (403), CSRF, the checklist form with
photos, a fail without a photo refused in plain Chinese with nothing written, the coverage twin."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from gridmap.assessment.schema import assessments
from gridmap.clock import today
from gridmap.problems.schema import problem_photos, problems
from tests.problems.conftest import jpeg_bytes
from tests.problems.test_page import _csrf

START = (today() - dt.timedelta(days=3)).isoformat()
END = (today() + dt.timedelta(days=10)).isoformat()


@pytest.fixture
def office(login):
    return login("boss", "office")


@pytest.fixture
def round_id(office):
    r = office.post(
        "/assessment/rounds",
        data={
            "name": "本月第1次测评",
            "starts_on": START,
            "ends_on": END,
            "csrf_token": _csrf(office, "/assessment"),
        },
    )
    assert r.status_code == 302
    return int(r.headers["Location"].rsplit("/", 1)[1])


def _count(store, table) -> int:
    with store.reading() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_inspector_fills_a_checklist_with_photos_and_the_coverage_twin_follows(login, round_id, loaded_store):
    insp = login("insp", "inspector")
    page = insp.get(f"/assessment/rounds/{round_id}/points/P1").get_data(as_text=True)
    assert "划行归市" in page and "县住建局" in page and 'capture="environment"' in page
    data = {
        "csrf_token": _csrf(insp, f"/assessment/rounds/{round_id}/points/P1"),
        "result[农贸市场-1]": "fail",
        "result[农贸市场-2]": "pass",
        "result[农贸市场-3]": "fail",
        "result[农贸市场-4]": "pass",
        "photo[农贸市场-1]": (io.BytesIO(jpeg_bytes()), "a.jpg"),
        "photo[农贸市场-3]": (io.BytesIO(jpeg_bytes()), "b.jpg"),
    }
    r = insp.post(f"/assessment/rounds/{round_id}/points/P1", data=data, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    result = insp.get(r.headers["Location"]).get_data(as_text=True)
    assert "已当场交办给" in result and result.count('class="gm-filed"') == 2
    with loaded_store.reading() as conn:
        assert (
            conn.execute(select(problems.c.unit_code, problems.c.status)).all() == [("U1", "dispatched")] * 2
        )
    assert _count(loaded_store, problem_photos) == 2
    cov = insp.get(f"/api/assessment/rounds/{round_id}/coverage").get_json()
    assert (cov["assessed"], cov["due"]) == (1, 1)
    assert [p["score"] for p in cov["points"] if p["code"] == "P1"] == [pytest.approx(5 / 10)]
    again = insp.get(f"/assessment/rounds/{round_id}/points/P1").get_data(as_text=True)
    assert "本轮已测评过这个点位" in again and 'id="gm-assess-form"' not in again


def test_a_fail_without_photo_is_refused_in_chinese_and_nothing_is_written(login, round_id, loaded_store):
    insp = login("insp", "inspector")
    data = {
        "csrf_token": _csrf(insp, f"/assessment/rounds/{round_id}/points/P2"),
        "result[医院-1]": "fail",
        "result[医院-2]": "pass",
        "result[医院-3]": "na",
    }
    r = insp.post(f"/assessment/rounds/{round_id}/points/P2", data=data, content_type="multipart/form-data")
    assert r.status_code == 400
    assert "不合格项必须拍照：请为第 1 条“院内及门前车辆停放有序”各拍一张照片" in r.get_data(as_text=True)
    api = insp.post(
        f"/api/assessment/rounds/{round_id}/points/P2",
        json={"results": {"医院-1": "fail", "医院-2": "pass", "医院-3": "na"}},
        headers={"X-CSRF-Token": _csrf(insp, "/assessment")},
    )
    assert api.status_code == 400 and "不合格项必须拍照" in api.get_json()["message"]
    assert (_count(loaded_store, problems), _count(loaded_store, assessments)) == (0, 0)


def test_roles_and_csrf(login, office, round_id):
    unit = login("u1", "unit", unit_code="U1")
    assert unit.get("/assessment").status_code == 403
    assert unit.get(f"/api/assessment/rounds/{round_id}/coverage").status_code == 403
    assert unit.get(f"/assessment/rounds/{round_id}/points/P1").status_code == 403
    insp = login("insp", "inspector")
    made = insp.post(
        "/api/assessment/rounds",
        json={"name": "x", "starts_on": START, "ends_on": END},
        headers={"X-CSRF-Token": _csrf(insp, "/assessment")},
    )
    assert made.status_code == 403
    assert "新建测评轮次" not in insp.get("/assessment").get_data(as_text=True)
    # no CSRF token: refused before anything is read
    r = insp.post(f"/assessment/rounds/{round_id}/points/P2", data={"result[医院-1]": "pass"})
    assert r.status_code == 403 and "CSRF" in r.get_data(as_text=True)
    anonymous = office.application.test_client()
    assert anonymous.get("/api/assessment/rounds").status_code == 401
    assert anonymous.get("/assessment").status_code == 302


def test_round_form_errors_stay_on_the_page(office, round_id):
    token = _csrf(office, "/assessment")
    r = office.post(
        "/assessment/rounds",
        data={"name": "本月第1次测评", "starts_on": START, "ends_on": END, "csrf_token": token},
    )
    assert r.status_code == 409 and "已有名为“本月第1次测评”的测评轮次" in r.get_data(as_text=True)
    r = office.post(
        "/assessment/rounds",
        data={"name": "y", "starts_on": "2026-13-01", "ends_on": END, "csrf_token": token},
    )
    assert r.status_code == 400 and "开始日期" in r.get_data(as_text=True)
    listed = office.get("/api/assessment/rounds").get_json()["rounds"]
    assert [(x["name"], x["assessed"]) for x in listed] == [("本月第1次测评", 0)]
    page = office.get(f"/assessment/rounds/{round_id}").get_data(as_text=True)
    assert 'id="gm-coverage-map"' in page and "待测评 2 个" in page
