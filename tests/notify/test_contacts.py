"""Users' email and phone for notices: set by the office on the users page, checked, shown to the office only."""

from __future__ import annotations

import re

import pytest

from gridmap import admin
from gridmap.accounts import repository as accounts
from gridmap.errors import InvalidInput, NotFound

PASSWORD = "secret-pass-1"


def _csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(app, username):
    client = app.test_client()
    data = {"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
    assert client.post("/login", data=data).status_code == 302
    return client


def test_set_contact_checks_formats_and_clears(people):
    admin.set_contact(people, username="unit1b", email=" a.b@county.gov.cn ", phone="138 0000 0003")
    assert accounts.contacts(people, ["unit1b"])["unit1b"].email == "a.b@county.gov.cn"
    assert accounts.contacts(people, ["unit1b"])["unit1b"].phone == "13800000003"
    admin.set_contact(people, username="unit1b", email="", phone="0917-4700001")
    found = accounts.contacts(people, ["unit1b"])["unit1b"]
    assert found.email is None and found.phone == "0917-4700001"


@pytest.mark.parametrize(
    ("email", "phone", "words"),
    [
        ("not-an-address", "", "电子邮箱“not-an-address”格式不对：应形如"),
        ("a@b", "", "格式不对"),
        ("x y@county.cn", "", "格式不对"),
        ("", "12345", "手机号“12345”格式不对：应为 11 位手机号"),
        ("", "1380000000a", "格式不对"),
    ],
)
def test_bad_contacts_are_refused_in_chinese(people, email, phone, words):
    with pytest.raises(InvalidInput, match=words):
        admin.set_contact(people, username="unit1b", email=email, phone=phone)


def test_an_unknown_user_is_not_found(people):
    with pytest.raises(NotFound, match="用户“nobody”不存在"):
        admin.set_contact(people, username="nobody", email="a@b.cn")


def test_the_office_edits_contacts_on_the_users_page_and_only_the_office_sees_them(app, people):
    office = login(app, "office1")
    page = office.get("/admin/users").get_data(as_text=True)
    assert 'value="office1@county.example"' in page and "通知邮箱和手机" in page
    token = _csrf(office, "/admin/users")
    r = office.post(
        "/admin/users/contact",
        data={
            "username": "unit1b",
            "email": "u1b@county.example",
            "phone": "13800000009",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    page = office.get("/admin/users").get_data(as_text=True)
    assert "已保存“unit1b”的通知邮箱和手机号" in page and 'value="u1b@county.example"' in page
    users = {u["username"]: u for u in office.get("/api/admin/users").get_json()["users"]}
    assert users["unit1b"]["phone"] == "13800000009"
    bad = office.post(
        "/admin/users/contact", data={"username": "unit1b", "email": "bad", "csrf_token": token}
    )
    assert bad.status_code == 400 and "格式不对" in bad.get_data(as_text=True)
    assert accounts.contacts(people, ["unit1b"])["unit1b"].email == "u1b@county.example"  # unchanged

    unit = login(app, "unit1")
    assert unit.get("/admin/users").status_code == 403
    token = _csrf(unit, "/inbox")
    refused = unit.post(
        "/admin/users/contact", data={"username": "unit1", "email": "x@y.cn", "csrf_token": token}
    )
    assert refused.status_code == 403
    me = unit.get("/api/me").get_data(as_text=True)
    assert "unit1@county.example" not in me
