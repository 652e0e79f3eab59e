"""The office's user chores: gridmap.admin (rules) and web/admin.py (pages, CSRF, roles)."""

from __future__ import annotations

import re

import pytest

from gridmap import admin, auth
from gridmap.errors import Conflict, InvalidInput, NotFound, Unauthorized
from gridmap.reference import ReferenceCache

PASSWORD = "secret-pass-1"


@pytest.fixture
def ref(loaded_store):
    return ReferenceCache(loaded_store, tolerance_m=50.0)


# --- rules ----------------------------------------------------------------------------------
def test_a_unit_user_needs_a_known_unit(loaded_store, ref):
    with pytest.raises(InvalidInput, match="请在“绑定”中选择一个责任单位"):
        admin.create_user(loaded_store, ref, username="zj", role="unit", password=PASSWORD)
    with pytest.raises(InvalidInput, match="“U99”不是已导入的责任单位"):
        admin.create_user(loaded_store, ref, username="zj", role="unit", unit="U99", password=PASSWORD)
    # the other roles' choices in the same form do not count for a unit user
    made = admin.create_user(
        loaded_store, ref, username="zj", role="unit", unit="U1", leader="L01", password=PASSWORD
    )
    assert (made.user.unit_code, made.user.leader_code, made.password) == ("U1", None, None)
    with pytest.raises(Conflict, match="已存在"):
        admin.create_user(loaded_store, ref, username="zj", role="unit", unit="U2", password=PASSWORD)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"username": "a", "role": ""}, "请选择角色"),
        ({"username": "", "role": "office"}, "请填写用户名"),
        ({"username": "a", "role": "leader"}, "选择一个包片领导"),
        ({"username": "a", "role": "office", "password": "short"}, "至少 8 个字符"),
        ({"username": "someone", "role": "inspector", "inspector": "I01"}, "用户名须为其编号“I01”"),
        ({"username": "", "role": "inspector", "inspector": "I99"}, "不是巡查员表中的编号"),
    ],
)
def test_bad_form_input_is_refused_in_chinese(loaded_store, ref, fields, text):
    with pytest.raises(InvalidInput, match=text):
        admin.create_user(loaded_store, ref, **{"password": PASSWORD, **fields})
    assert auth.list_users(loaded_store) == []


def test_an_inspector_user_takes_the_inspector_code_and_a_made_password_works(loaded_store, ref):
    made = admin.create_user(loaded_store, ref, username="", role="inspector", inspector="I01")
    assert made.user.username == "I01" and made.password and len(made.password) >= 12
    assert auth.authenticate(loaded_store, username="I01", password=made.password).role == "inspector"
    rows = {a.username: a for a in admin.overview(loaded_store, ref).accounts}
    assert rows["I01"].binding_label == "巡查员 冯巡查（I01）"


def test_overview_shows_bindings_state_and_last_login(loaded_store, ref):
    admin.create_user(loaded_store, ref, username="zj", role="unit", unit="U1", password=PASSWORD)
    admin.create_user(loaded_store, ref, username="wang", role="leader", leader="L01", password=PASSWORD)
    admin.create_user(loaded_store, ref, username="boss", role="office", password=PASSWORD)
    boss = auth.get_user(loaded_store, username="boss")
    auth.start_session(loaded_store, auth.get_user(loaded_store, username="zj"), hours=1)
    admin.set_active(loaded_store, username="wang", active=False, by=boss)
    rows = {a.username: a for a in admin.overview(loaded_store, ref).accounts}
    assert rows["zj"].binding_label == "责任单位 县住建局（U1）" and rows["zj"].last_login
    assert rows["wang"].binding_label == "包片领导 王建国（L01）" and rows["wang"].active is False
    assert rows["boss"].binding_label == "—" and rows["boss"].last_login is None


def test_reset_and_disable_end_sessions_and_nobody_disables_themselves(loaded_store, ref):
    admin.create_user(loaded_store, ref, username="zj", role="unit", unit="U1", password=PASSWORD)
    boss = admin.create_user(loaded_store, ref, username="boss", role="office", password=PASSWORD).user
    zj = auth.get_user(loaded_store, username="zj")
    sid = auth.start_session(loaded_store, zj, hours=1)
    new = admin.reset_password(loaded_store, username="zj")
    assert new and auth.user_for_session(loaded_store, sid) is None
    with pytest.raises(Unauthorized):
        auth.authenticate(loaded_store, username="zj", password=PASSWORD)
    sid = auth.start_session(loaded_store, zj, hours=1)
    admin.set_active(loaded_store, username="zj", active=False, by=boss)
    assert auth.user_for_session(loaded_store, sid) is None
    with pytest.raises(Unauthorized):
        auth.authenticate(loaded_store, username="zj", password=new)
    admin.set_active(loaded_store, username="zj", active=True, by=boss)
    assert auth.authenticate(loaded_store, username="zj", password=new).unit_code == "U1"
    with pytest.raises(InvalidInput, match="不能停用自己"):
        admin.set_active(loaded_store, username="boss", active=False, by=boss)
    with pytest.raises(NotFound):
        admin.set_active(loaded_store, username="nobody", active=False, by=boss)


# --- pages ----------------------------------------------------------------------------------
def _csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _login(client, name, password=PASSWORD):
    r = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": _csrf(client, "/login")}
    )
    assert r.status_code == 302, r.get_data(as_text=True)


@pytest.fixture
def office_client(app, loaded_store):
    auth.add_user(loaded_store, username="boss", role="office", password=PASSWORD)
    client = app.test_client()
    _login(client, "boss")
    return client


def test_only_the_office_reaches_the_admin_pages(app, loaded_store, office_client):
    auth.add_user(loaded_store, username="zj", role="unit", unit_code="U1", password=PASSWORD)
    anonymous = app.test_client()
    assert anonymous.get("/admin/users").status_code == 302
    assert anonymous.get("/api/admin/users").status_code == 401
    unit = app.test_client()
    _login(unit, "zj")
    for path in ("/admin/users", "/admin/apikeys", "/api/admin/users"):
        assert unit.get(path).status_code == 403, path
    token = _csrf(unit, "/tasks")
    r = unit.post("/admin/users", data={"csrf_token": token, "username": "x", "role": "office"})
    assert r.status_code == 403 and auth.get_user(loaded_store, username="x") is None
    page = office_client.get("/admin/users")
    assert page.status_code == 200 and "用户管理" in page.get_data(as_text=True)
    assert 'href="/office"' in office_client.get("/chase").get_data(as_text=True)  # the workbench, in the nav
    assert 'href="/admin/users"' in office_client.get("/office").get_data(as_text=True)
    assert 'href="/office"' not in unit.get("/tasks").get_data(as_text=True)
    assert unit.get("/office").status_code == 403 and unit.get("/api/office").status_code == 403
    listed = office_client.get("/api/admin/users").get_json()["users"]
    assert {u["username"] for u in listed} == {"boss", "zj"}


def test_forms_need_the_csrf_token(office_client, loaded_store):
    r = office_client.post("/admin/users", data={"username": "x", "role": "office", "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.get_data(as_text=True)
    assert auth.get_user(loaded_store, username="x") is None


def test_office_creates_resets_and_disables_a_unit_user_in_the_browser_forms(
    app, office_client, loaded_store
):
    token = _csrf(office_client, "/admin/users")
    bad = office_client.post("/admin/users", data={"csrf_token": token, "username": "zj", "role": "unit"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "请在“绑定”中选择一个责任单位" in text and 'value="zj"' in text  # the form keeps what was typed
    made = office_client.post(
        "/admin/users", data={"csrf_token": token, "username": "zj", "role": "unit", "unit": "U1"}
    )
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="gm-secret">([^<]+)<', made.get_data(as_text=True)).group(1)
    unit = app.test_client()
    _login(unit, "zj", password)
    assert unit.get("/api/me").get_json()["unit_code"] == "U1"
    # reset with a typed password: a notice, and the old session ends
    r = office_client.post(
        "/admin/users/password", data={"csrf_token": token, "username": "zj", "password": "new-pass-123"}
    )
    assert r.status_code == 302
    assert "已为“zj”设置新密码" in office_client.get("/admin/users").get_data(as_text=True)
    assert unit.get("/tasks").status_code == 302
    _login(unit, "zj", "new-pass-123")
    assert unit.get("/tasks").status_code == 200
    # disable: the unit user's next page is the login page
    r = office_client.post("/admin/users/active", data={"csrf_token": token, "username": "zj", "active": "0"})
    assert r.status_code == 302
    after = unit.get("/tasks")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    row = office_client.get("/admin/users").get_data(as_text=True)
    assert "已停用" in row
    # the office cannot lock itself out
    me = office_client.post(
        "/admin/users/active", data={"csrf_token": token, "username": "boss", "active": "0"}
    )
    assert me.status_code == 400 and "不能停用自己" in me.get_data(as_text=True)


def test_api_keys_are_issued_once_and_revoked(office_client, loaded_store):
    token = _csrf(office_client, "/admin/apikeys")
    r = office_client.post("/admin/apikeys", data={"csrf_token": token, "name": "12345热线", "days": "30"})
    assert r.status_code == 201
    key = re.search(r'id="gm-secret">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert auth.api_key(loaded_store, key).name == "12345热线"
    assert "12345热线" in office_client.get("/admin/apikeys").get_data(as_text=True)
    assert key not in office_client.get("/admin/apikeys").get_data(as_text=True)
    bad = office_client.post("/admin/apikeys", data={"csrf_token": token, "name": "x", "days": "0"})
    assert bad.status_code == 400 and "有效期" in bad.get_data(as_text=True)
    r = office_client.post("/admin/apikeys/revoke", data={"csrf_token": token, "name": "12345热线"})
    assert r.status_code == 302
    assert office_client.get("/api/admin/apikeys").get_json()["apikeys"] == []
