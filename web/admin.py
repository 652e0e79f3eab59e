"""The office's chores in the browser: users (create, reset password, disable, bind) and Open311 api keys."""

from __future__ import annotations

from flask import Blueprint, flash, get_flashed_messages, redirect, render_template, request, url_for

from gridmap import admin, auth
from gridmap.errors import GridmapError
from gridmap.model import REPORT_SOURCES
from web.auth import current_user, login_required
from web.context import reference, settings, store

bp = Blueprint("admin", __name__)

OFFICE = ("office",)
NO_STORE = {"Cache-Control": "no-store"}  # pages that show a password or key once


def _users(*, error: str | None = None, secret: dict | None = None, form: dict | None = None, status=200):
    page = render_template(
        "admin/users.html",
        overview=admin.overview(store(), reference()),
        roles=auth.ROLES,
        error=error,
        notices=get_flashed_messages(),
        secret=secret,
        form=form or {},
    )
    return page, status, NO_STORE


def _keys(*, error: str | None = None, secret: dict | None = None, form: dict | None = None, status=200):
    page = render_template(
        "admin/apikeys.html",
        keys=auth.list_api_keys(store()),
        expiry_text=auth.expiry_text,
        sources=REPORT_SOURCES,
        default_days=settings().apikey_days,
        error=error,
        notices=get_flashed_messages(),
        secret=secret,
        form=form or {},
    )
    return page, status, NO_STORE


# --- users -----------------------------------------------------------------------------------
@bp.get("/admin/users")
@login_required(roles=OFFICE)
def users_page():
    return _users()


@bp.get("/api/admin/users")
@login_required(roles=OFFICE)
def users_api():
    return admin.overview(store(), reference()).as_dict()


@bp.post("/admin/users")
@login_required(roles=OFFICE)
def create_user():
    form = request.form
    try:
        made = admin.create_user(
            store(),
            reference(),
            username=form.get("username"),
            role=form.get("role"),
            unit=form.get("unit"),
            leader=form.get("leader"),
            inspector=form.get("inspector"),
            password=form.get("password"),
        )
    except GridmapError as error:
        kept = {k: form.get(k, "") for k in ("username", "role", "unit", "leader", "inspector")}
        return _users(error=error.message, form=kept, status=error.status)
    user = made.user
    if made.password is None:
        flash(f"已创建用户“{user.username}”（{user.role_label}），密码为您填写的密码")
        return redirect(url_for("admin.users_page"))
    secret = {"title": f"已创建用户“{user.username}”（{user.role_label}）", "value": made.password}
    return _users(secret=secret, status=201)


@bp.post("/admin/users/password")
@login_required(roles=OFFICE)
def reset_password():
    name = request.form.get("username", "")
    try:
        made = admin.reset_password(store(), username=name, password=request.form.get("password"))
    except GridmapError as error:
        return _users(error=f"重设“{name}”的密码未成功：{error.message}", status=error.status)
    if made is None:
        flash(f"已为“{name}”设置新密码；该用户已登录的会话和接口令牌随即失效")
        return redirect(url_for("admin.users_page"))
    return _users(secret={"title": f"已为“{name}”重设密码，原来的登录随即失效", "value": made})


@bp.post("/admin/users/active")
@login_required(roles=OFFICE)
def set_active():
    name = request.form.get("username", "")
    active = request.form.get("active") == "1"
    try:
        admin.set_active(store(), username=name, active=active, by=current_user())
    except GridmapError as error:
        return _users(error=error.message, status=error.status)
    flash(f"已启用“{name}”" if active else f"已停用“{name}”：不能再登录，已登录的会话和接口令牌随即失效")
    return redirect(url_for("admin.users_page"))


@bp.post("/admin/users/contact")
@login_required(roles=OFFICE)
def set_contact():
    name = request.form.get("username", "")
    try:
        admin.set_contact(
            store(), username=name, email=request.form.get("email"), phone=request.form.get("phone")
        )
    except GridmapError as error:
        return _users(error=error.message, status=error.status)
    flash(f"已保存“{name}”的通知邮箱和手机号")
    return redirect(url_for("admin.users_page"))


# --- Open311 api keys ----------------------------------------------------------------------------
@bp.get("/admin/apikeys")
@login_required(roles=OFFICE)
def keys_page():
    return _keys()


@bp.get("/api/admin/apikeys")
@login_required(roles=OFFICE)
def keys_api():
    return {
        "apikeys": [
            {"name": k.name, "source": k.source, "expires_at": auth.expiry_text(k.expires_at)}
            for k in auth.list_api_keys(store())
        ]
    }


@bp.post("/admin/apikeys")
@login_required(roles=OFFICE)
def add_key():
    form = request.form
    name = form.get("name", "")
    try:
        key = auth.add_api_key(
            store(),
            name=name,
            source=form.get("source", "citizen"),
            days=form.get("days") or settings().apikey_days,
        )
    except GridmapError as error:
        kept = {k: form.get(k, "") for k in ("name", "source", "days")}
        return _keys(error=error.message, form=kept, status=error.status)
    return _keys(secret={"title": f"已签发 API 密钥“{name.strip()}”", "value": key}, status=201)


@bp.post("/admin/apikeys/revoke")
@login_required(roles=OFFICE)
def revoke_key():
    name = request.form.get("name", "")
    try:
        auth.revoke_api_key(store(), name=name)
    except GridmapError as error:
        return _keys(error=error.message, status=error.status)
    flash(f"已吊销 API 密钥“{name}”，立即失效")
    return redirect(url_for("admin.keys_page"))
