"""The in-app inbox: /inbox and /api/inbox, marking read with CSRF, the header's unread count, the office's failed deliveries."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from gridmap.notify import repository
from gridmap.notify.notice import Notice

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
PASSWORD = "secret-pass-1"


def _csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def login(app, people):
    def make(username):
        client = app.test_client()
        r = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
        )
        assert r.status_code == 302
        return client

    return make


def send(store, n, to=("unit1",), event="dispatched", at=T0):
    repository.add(
        store,
        [
            Notice(
                event=event,
                message=f"问题 2026120{n} 已交办给县住建局。",
                recipients=to,
                tracking_no=f"2026120{n}",
            )
            for n in range(1, n + 1)
        ],
        now=at,
    )


def test_inbox_newest_first_unread_bold_and_the_header_count(people, login):
    send(people, 2)
    send(people, 1, to=("office1",), event="returned", at=T0 + dt.timedelta(hours=1))
    client = login("unit1")
    page = client.get("/inbox").get_data(as_text=True)
    assert "2 条未读" in page
    assert page.index("20261202") < page.index("20261201")  # newest first
    assert page.count('class="gm-inbox-entry gm-unread"') == 2
    assert '<span class="gm-badge" id="gm-unread">2</span>' in page
    assert "12月1日 09:00" in page and "查看问题 20261201" in page and 'href="/problems/20261201"' in page
    other = client.get("/grids").get_data(as_text=True)  # every page's header
    assert '<span class="gm-badge" id="gm-unread">2</span>' in other
    data = client.get("/api/inbox").get_json()
    assert data["unread"] == 2 and [e["tracking_no"] for e in data["entries"]] == ["20261202", "20261201"]
    assert (
        data["entries"][0]["event_label"] == "新交办"
        and data["entries"][0]["at"] == "2026-12-01T09:00:00+08:00"
    )
    assert "deliveries" not in data  # only the office sees the delivery record


def test_mark_one_then_all_read_needs_csrf_and_touches_only_ones_own(people, login):
    send(people, 3)
    send(people, 1, to=("unit1b",))
    client = login("unit1")
    entries = client.get("/api/inbox").get_json()["entries"]
    assert client.post("/inbox/read", data={"id": entries[0]["id"]}).status_code == 403  # no CSRF token
    token = _csrf(client, "/inbox")
    r = client.post("/inbox/read", data={"id": entries[0]["id"], "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    data = client.get("/api/inbox").get_json()
    assert data["unread"] == 2 and [e["read"] for e in data["entries"]] == [True, False, False]
    theirs = repository.inbox(people, "unit1b")[0].id
    r = client.post("/api/inbox/read", json={"ids": [theirs]}, headers={"X-CSRF-Token": token})
    assert r.get_json() == {"marked": 0, "unread": 2}
    assert repository.unread_count(people, "unit1b") == 1
    bad = client.post("/api/inbox/read", json={"ids": ["x1"]}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and "消息编号 id 应为正整数" in bad.get_json()["message"]
    r = client.post("/inbox/read", data={"all": "1", "csrf_token": token})
    assert r.status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert "没有未读消息" in page and "gm-unread" not in page and 'id="gm-unread"' not in page


def test_the_office_sees_deliveries_given_up(people, login):
    send(people, 1)
    repository.plan(people, channels=lambda row: ["webhook"], now=T0)
    (item,) = repository.claim(people, worker="w", now=T0, lease_s=60)
    repository.finish(
        people,
        item.id,
        worker="w",
        ok=False,
        now=T0,
        max_attempts=1,
        retry_s=1,
        error="webhook 返回 HTTP 502",
    )
    client = login("office1")
    data = client.get("/api/inbox").get_json()
    assert data["deliveries"]["dead"] == 1
    assert data["deliveries"]["failed"][0]["last_error"] == "webhook 返回 HTTP 502"
    page = client.get("/inbox").get_data(as_text=True)
    assert "放弃发送 1 条" in page and "webhook 返回 HTTP 502" in page
    assert login("unit1").get("/inbox").status_code == 200


def test_the_inbox_needs_a_login(client):
    assert client.get("/inbox").status_code == 302
    assert client.get("/api/inbox").status_code == 401
    assert 'class="gm-inbox"' not in client.get("/grids").get_data(as_text=True)
