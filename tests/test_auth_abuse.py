"""Logins under attack: throttling (shared by every worker), equal timing, revocable sessions and tokens."""

from __future__ import annotations

import datetime as dt
import http.client
import re
import statistics
import time
from urllib.parse import urlencode

import pytest

from gridmap import auth
from gridmap.clock import from_db, utcnow
from gridmap.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized

PASSWORD = "secret-pass-1"


def csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, name, password=PASSWORD, **kw):
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf(client)}, **kw
    )


@pytest.fixture
def db(app):
    return app.extensions["gridmap.store"]


@pytest.fixture
def office(db):
    return auth.add_user(db, username="boss", role="office", password=PASSWORD)


# --- throttling ---------------------------------------------------------------------------
def test_twenty_wrong_passwords_are_throttled_and_the_right_one_then_fails(client, office):
    statuses = [login(client, "boss", f"wrong-{i}").status_code for i in range(20)]
    assert statuses[:10] == [401] * 10  # GRIDMAP_LOGIN_MAX_FAILURES defaults to 10
    assert set(statuses[10:]) == {429}
    throttled = login(client, "boss", PASSWORD)
    assert throttled.status_code == 429
    assert 60 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    page = throttled.get_data(as_text=True)
    assert "登录失败次数过多" in page and "<form" in page  # the login page, with the message
    assert client.get("/api/me").status_code == 401


def test_throttle_ends_after_the_window_and_success_clears_failures(db, office):
    rules = auth.LoginLimits(per_user=3, per_address=100, window=dt.timedelta(minutes=15))
    start = dt.datetime(2026, 11, 27, 8, 0)
    for i in range(3):
        with pytest.raises(Unauthorized):
            auth.login(
                db,
                username="boss",
                password="nope",
                address="10.0.0.1",
                rules=rules,
                now=start + dt.timedelta(seconds=i),
            )
    with pytest.raises(TooManyRequests) as caught:
        auth.login(
            db,
            username="boss",
            password=PASSWORD,
            address="10.0.0.2",
            rules=rules,
            now=start + dt.timedelta(minutes=1),
        )
    assert 13 * 60 <= caught.value.retry_after <= 14 * 60 + 1
    later = start + dt.timedelta(minutes=16)
    assert (
        auth.login(
            db, username="boss", password=PASSWORD, address="10.0.0.2", rules=rules, now=later
        ).username
        == "boss"
    )
    # a success forgets the name's failures: two more wrong ones are not yet throttled
    for i in range(2):
        with pytest.raises(Unauthorized):
            auth.login(
                db,
                username="boss",
                password="nope",
                address="10.0.0.2",
                rules=rules,
                now=later + dt.timedelta(seconds=i + 1),
            )


def test_throttle_per_address_covers_every_name(db, office):
    rules = auth.LoginLimits(per_user=100, per_address=5, window=dt.timedelta(minutes=15))
    for i in range(5):
        with pytest.raises(Unauthorized):
            auth.login(db, username=f"guess{i}", password="nope", address="10.9.9.9", rules=rules)
    with pytest.raises(TooManyRequests, match="本机地址"):
        auth.login(db, username="boss", password=PASSWORD, address="10.9.9.9", rules=rules)
    assert auth.login(db, username="boss", password=PASSWORD, address="10.9.9.10", rules=rules)


def test_unknown_and_known_names_take_about_as_long(app, client, office):
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(login_max_failures=1000)
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(
        login_max_failures_per_address=1000
    )
    token = csrf(client)
    login(client, "nobody-warmup", "x")  # the dummy hash is made once, on first use

    def timed(name: str) -> float:
        start = time.perf_counter()
        r = client.post("/login", data={"username": name, "password": "wrong-pass", "csrf_token": token})
        assert r.status_code == 401
        return time.perf_counter() - start

    known, unknown = [], []
    for _ in range(7):
        known.append(timed("boss"))
        unknown.append(timed("no-such-user"))
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2.0, (statistics.median(known), statistics.median(unknown))


def test_address_behind_trusted_proxies(app, client, office):
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(login_max_failures=1000)
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(
        login_max_failures_per_address=3
    )
    # no trusted proxy: a forged X-Forwarded-For does not change the address counted
    for i in range(3):
        login(client, f"g{i}", "x", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    assert login(client, "boss", headers={"X-Forwarded-For": "10.0.0.99"}).status_code == 429


def test_trusted_proxy_setting_reads_the_forwarded_address(settings, loaded_store):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_TRUSTED_PROXIES": 1, "GRIDMAP_LOGIN_MAX_FAILURES_PER_ADDRESS": 3})
    auth.add_user(app.extensions["gridmap.store"], username="boss", role="office", password=PASSWORD)
    client = app.test_client()
    for i in range(3):
        login(client, f"g{i}", "x", headers={"X-Forwarded-For": "10.0.0.1"})
    assert login(client, "boss", headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 429
    assert login(client, "boss", headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 302


# --- the same over a real server with several worker processes ---------------------------------
from tests.problems.test_concurrency import server  # noqa: E402,F401  (`gridmap serve`, 4 workers)


def _http_login(port: int, password: str) -> http.client.HTTPResponse:
    """A fresh connection each time, so the tries spread over the worker processes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/login",
        body=urlencode({"username": "boss", "password": password, "csrf_token": token}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_throttling_holds_across_worker_processes(server, loaded_store):  # noqa: F811 (fixture)
    auth.add_user(loaded_store, username="boss", role="office", password=PASSWORD)
    statuses = [_http_login(server, f"wrong-{i}").status for i in range(20)]
    assert statuses.count(401) == 10 and statuses[10:] == [429] * 10
    right = _http_login(server, PASSWORD)
    assert right.status == 429 and int(right.getheader("Retry-After")) > 0


# --- sessions ---------------------------------------------------------------------------------
def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_copied_session_cookie_stops_working_after_logout(app, client, office):
    assert login(client, "boss").status_code == 302
    kept = _session_cookie(client)
    assert client.get("/api/me").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/tasks")})
    other = app.test_client()
    other.set_cookie("session", kept)
    assert other.get("/api/me").status_code == 401


@pytest.mark.parametrize("how", ["password", "disable", "revoke"])
def test_password_change_disable_and_revoke_end_sessions_and_tokens(app, client, db, office, how):
    assert login(client, "boss").status_code == 302
    token = auth.issue_token(db, username="boss", days=90)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me").status_code == 200
    assert app.test_client().get("/api/me", headers=bearer).status_code == 200
    if how == "password":
        auth.set_password(db, username="boss", password="another-pass-2")
    elif how == "disable":
        auth.set_active(db, username="boss", active=False)
    else:
        assert auth.revoke(db, username="boss") == (1, 1)
    assert client.get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers=bearer).status_code == 401
    if how == "disable":
        assert login(app.test_client(), "boss").status_code == 401
        auth.set_active(db, username="boss", active=True)
    fresh = app.test_client()
    password = "another-pass-2" if how == "password" else PASSWORD
    assert login(fresh, "boss", password).status_code == 302
    assert fresh.get("/api/me").get_json()["username"] == "boss"


def test_sessions_expire(app, client, db, office):
    app.extensions["gridmap.settings"] = app.extensions["gridmap.settings"].but(
        session_hours=0.0001
    )  # about a third of a second
    assert login(client, "boss").status_code == 302
    time.sleep(0.6)
    assert client.get("/api/me").status_code == 401


# --- tokens and api keys ------------------------------------------------------------------------
def test_tokens_expire(client, db, office):
    now = utcnow()
    old = auth.issue_token(db, username="boss", days=1, now=now - dt.timedelta(days=2))
    r = client.get("/api/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and "过期" in r.get_json()["message"]
    new = auth.issue_token(db, username="boss", days=1)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    with pytest.raises(InvalidInput, match="有效期应为 1 到 3650 天"):
        auth.issue_token(db, username="boss", days=0)


def test_api_keys_expire_and_can_be_revoked(db):
    now = utcnow()
    old = auth.add_api_key(db, name="old", days=1, now=now - dt.timedelta(days=2))
    with pytest.raises(Forbidden, match="过期"):
        auth.api_key(db, old)
    key = auth.add_api_key(db, name="12345热线", source="citizen", days=365)
    assert auth.api_key(db, key).source == "citizen"
    auth.revoke_api_key(db, name="12345热线")
    with pytest.raises(Forbidden, match="无效或已吊销"):
        auth.api_key(db, key)


# --- the commands ---------------------------------------------------------------------------------
def test_user_and_apikey_commands(settings, loaded_store, monkeypatch):
    from click.testing import CliRunner

    from gridmap.cli import main

    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))

    def run(*args):
        return CliRunner().invoke(main, list(args))

    assert run("user", "add", "li", "--role", "inspector", "--password", PASSWORD).exit_code == 0
    token = run("user", "token", "li", "--days", "7").stdout.strip()
    assert auth.user_for_token(loaded_store, token).username == "li"
    done = run("user", "revoke", "li")
    assert done.exit_code == 0 and "1 个接口令牌" in done.stdout
    with pytest.raises(Unauthorized):
        auth.user_for_token(loaded_store, token)
    assert run("user", "disable", "li").exit_code == 0
    assert "已停用" in run("user", "list").stdout
    with pytest.raises(Unauthorized):
        auth.authenticate(loaded_store, username="li", password=PASSWORD)
    assert run("user", "enable", "li").exit_code == 0
    assert auth.authenticate(loaded_store, username="li", password=PASSWORD).role == "inspector"
    missing = run("user", "disable", "nobody")
    assert missing.exit_code != 0 and "nobody" in missing.output

    key = run("apikey", "add", "测评系统", "--source", "assessment", "--days", "30").stdout.strip()
    found = auth.api_key(loaded_store, key)
    assert found.source == "assessment"
    assert 29 <= (from_db(found.expires_at) - utcnow()).days <= 30
    assert "assessment" in run("apikey", "list").stdout
    assert run("apikey", "add", "x", "--source", "robot").exit_code != 0
    assert run("apikey", "revoke", "测评系统").exit_code == 0
    with pytest.raises(Forbidden):
        auth.api_key(loaded_store, key)


# --- the schema migration ----------------------------------------------------------------------------
def test_schema_1_database_is_migrated(settings):
    from sqlalchemy import create_engine, inspect, text

    from gridmap.store import SCHEMA_VERSION, Store

    url = settings["GRIDMAP_DATABASE_URL"]
    store = Store(url)
    auth.add_user(store, username="old", role="office", password=PASSWORD)
    token = auth.issue_token(store, username="old", days=90)
    key = auth.add_api_key(store, name="partner", source="media", days=365)
    store.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to what schema 1 had
        conn.execute(text("UPDATE api_tokens SET expires_at = NULL"))
        conn.execute(text("ALTER TABLE api_tokens DROP COLUMN expires_at"))
        conn.execute(text("ALTER TABLE open311_keys DROP COLUMN source"))
        conn.execute(text("ALTER TABLE open311_keys DROP COLUMN expires_at"))
        conn.execute(text("DROP TABLE user_sessions"))
        conn.execute(text("DROP TABLE rate_hits"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()
    migrated = Store(url)
    assert migrated.get_meta("schema_version") == str(SCHEMA_VERSION)
    columns = {c["name"] for c in inspect(migrated.engine).get_columns("open311_keys")}
    assert {"source", "expires_at"} <= columns
    assert auth.user_for_token(migrated, token).username == "old"
    partner = auth.api_key(migrated, key)
    assert partner.source == "citizen"  # keys from before schema 2 file reports as citizens
    assert 364 <= (from_db(partner.expires_at) - utcnow()).days <= 365
    with pytest.raises(Unauthorized, match="过期"):
        auth.user_for_token(migrated, token, now=utcnow() + dt.timedelta(days=91))
