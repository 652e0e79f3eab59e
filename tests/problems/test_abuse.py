"""Reports under abuse: one support per client, a rate limit on anonymous reports, the server decides
the source, and an Idempotency-Key never silently drops what differs."""

from __future__ import annotations

import pytest

from gridmap import auth
from tests.problems.conftest import ON_BINJIANG_ROAD, jpeg_bytes

BODY = {
    "lon": ON_BINJIANG_ROAD[0],
    "lat": ON_BINJIANG_ROAD[1],
    "category": "garbage",
    "description": "垃圾堆放",
}


def report(client, address="198.51.100.7", headers=None, **kw):
    return client.post(
        "/api/problems", json={**BODY, **kw}, headers=headers or {}, environ_base={"REMOTE_ADDR": address}
    )


def bearer(app, username, role, **kw):
    store = app.extensions["gridmap.store"]
    auth.add_user(store, username=username, role=role, password="secret-pass-1", **kw)
    return {"Authorization": f"Bearer {auth.issue_token(store, username=username, days=90)}"}


# --- 附议 ------------------------------------------------------------------------------------------
def support(client, ref, address):
    return client.post(
        f"/api/problems/{ref}/support", json={"note": "我也看到了"}, environ_base={"REMOTE_ADDR": address}
    )


def test_one_support_per_client_and_problem(client):
    ref = report(client).get_json()["tracking_no"]
    first = support(client, ref, "203.0.113.1")
    assert first.status_code == 200 and first.get_json()["counted"] is True
    for _ in range(5):
        again = support(client, ref, "203.0.113.1")
        assert again.status_code == 200  # a polite answer, not an error
        body = again.get_json()
        assert body["counted"] is False and "已经附议过" in body["message"]
        assert body["supporters"] == 1
    other = support(client, ref, "203.0.113.2")
    assert other.get_json()["supporters"] == 2
    shown = client.get(f"/api/problems/{ref}").get_json()
    assert shown["supporters"] == 2
    assert [h["action"] for h in shown["history"]].count("support") == 2


def test_support_window_passes(ctx):
    import datetime as dt

    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import support as support_problem

    now = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
    ref = report_problem(ctx, **BODY, now=now).record["tracking_no"]
    assert support_problem(ctx, ref, client="a", now=now)["counted"]
    assert not support_problem(ctx, ref, client="a", now=now + dt.timedelta(hours=23))["counted"]
    later = support_problem(ctx, ref, client="a", now=now + dt.timedelta(hours=25))
    assert later["counted"] and later["supporters"] == 2


# --- the rate limit on anonymous reports -----------------------------------------------------------
def test_anonymous_reports_are_limited_per_address(app, client):
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(reports_per_hour=3)
    app.extensions.pop("gridmap.problems", None)  # the problem context reads settings once
    for i in range(3):
        assert report(client, description=f"第 {i} 条").status_code == 201
    refused = report(client, description="第 4 条")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "每小时最多匿名上报 3 条" in refused.get_json()["message"]
    # another address, and logged-in staff, are not held back by it
    assert report(client, address="198.51.100.8").status_code == 201
    inspector = bearer(app, "insp", "inspector")
    assert report(client, headers=inspector).status_code == 201
    # a replay of an accepted report is not a new report
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(reports_per_hour=1)
    app.extensions.pop("gridmap.problems", None)
    key = {"Idempotency-Key": "same"}
    assert report(client, address="198.51.100.9", headers=key).status_code == 201
    assert report(client, address="198.51.100.9", headers=key).status_code == 200


def test_report_limit_setting_is_parsed(tmp_path):
    from gridmap.errors import ConfigError
    from gridmap.settings import load_settings

    base = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(environ=base)["GRIDMAP_REPORTS_PER_HOUR"] == 60
    assert load_settings(environ={**base, "GRIDMAP_REPORTS_PER_HOUR": "0"})["GRIDMAP_REPORTS_PER_HOUR"] == 0
    with pytest.raises(ConfigError, match="GRIDMAP_REPORTS_PER_HOUR"):
        load_settings(environ={**base, "GRIDMAP_REPORTS_PER_HOUR": "-5"})


# --- the source is decided by the server --------------------------------------------------------------
def test_source_follows_who_reports(app, client):
    office = bearer(app, "office1", "office")
    listed = lambda ref: client.get(f"/api/problems/{ref}").get_json()["source"]  # noqa: E731
    anonymous = report(client, source="inspector").get_json()
    assert anonymous["source"] == "citizen" and listed(anonymous["tracking_no"]) == "citizen"
    inspector = bearer(app, "insp", "inspector")
    assert report(client, headers=inspector, source="media").get_json()["source"] == "inspector"
    unit = bearer(app, "unit1", "unit", unit_code="U1")
    assert report(client, headers=unit, source="inspector").get_json()["source"] == "citizen"
    assert report(client, headers=office, source="media").get_json()["source"] == "media"
    bad = report(client, headers=office, source="robot")
    assert bad.status_code == 400 and "来源" in bad.get_json()["message"]


def test_open311_keys_carry_their_source(app, client):
    store = app.extensions["gridmap.store"]
    key = auth.add_api_key(store, name="测评系统", source="assessment", days=365)
    form = {
        "api_key": key,
        "service_code": "garbage",
        "lat": ON_BINJIANG_ROAD[1],
        "long": ON_BINJIANG_ROAD[0],
        "description": "测评发现垃圾",
    }
    done = client.post("/open311/v2/requests.json", data=form)
    assert done.status_code == 200, done.get_json()
    ref = done.get_json()[0]["service_request_id"]
    assert client.get(f"/api/problems/{ref}").get_json()["source"] == "assessment"
    assert client.post("/open311/v2/requests.json", data={**form, "source": "assessment"}).status_code == 200
    claimed = client.post("/open311/v2/requests.json", data={**form, "source": "inspector"})
    assert claimed.status_code == 403
    assert "assessment" in claimed.get_json()[0]["description"]


# --- Idempotency-Key --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [{"reporter_phone": "13900000000"}, {"reporter_name": "李四"}, {"description": "别的问题"}],
    ids=["phone", "name", "description"],
)
def test_idempotency_key_with_other_details_is_a_conflict(app, client, change):
    office = bearer(app, "office1", "office")
    key = {"Idempotency-Key": "retry-1"}
    first = report(client, headers=key, reporter_name="张三", reporter_phone="13800000000")
    assert first.status_code == 201
    same = report(client, headers=key, reporter_name="张三", reporter_phone="13800000000")
    assert same.status_code == 200 and same.get_json()["tracking_no"] == first.get_json()["tracking_no"]
    assert same.headers["Idempotent-Replayed"] == "true"
    other = report(
        client, headers=key, **{"reporter_name": "张三", "reporter_phone": "13800000000", **change}
    )
    assert other.status_code == 409
    assert "内容不同" in other.get_json()["message"]  # plain words for the person...
    assert other.get_json()["findings"][0]["field"] == "Idempotency-Key"  # ...the header named for programs
    stored = client.get(f"/api/problems/{first.get_json()['tracking_no']}", headers=office).get_json()
    assert stored["reporter"]["phone"] == "13800000000"
    assert client.get("/api/problems?scope=all", headers=office).get_json()["count"] == 1


def test_idempotency_key_covers_photos(client):
    def send(photo):
        return client.post(
            "/api/problems",
            data={**BODY, "photos": (photo, "a.jpg")},
            headers={"Idempotency-Key": "with-photo"},
            content_type="multipart/form-data",
        )

    import io

    assert send(io.BytesIO(jpeg_bytes(color=(1, 2, 3)))).status_code == 201
    assert send(io.BytesIO(jpeg_bytes(color=(1, 2, 3)))).status_code == 200
    assert send(io.BytesIO(jpeg_bytes(color=(200, 2, 3)))).status_code == 409
