"""The office's chores in the browser: its workbench of links, users (create, reset password, disable,
bind) and Open311 api keys."""

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


# --- the workbench: every office page the header has no room for ------------------------------
# (endpoint, title, what it is for), in the order of a working day.
DESK: tuple[tuple[str, str, str], ...] = (
    ("problems.tasks_page", "我的任务", "已回退、待重新派遣的问题，责任单位待审批的延期和挂账申请"),
    (
        "dashboard.dashboard_page",
        "指挥大屏",
        "全屏显示今日和本月数据、实时地图、趋势、排名和逾期清单，自动刷新",
    ),
    ("notices.notices_page", "书面通报", "按月生成通报（Word、PDF，含排名和流动红旗）和各单位整改通知书"),
    ("exposure.rewards_page", "有奖举报", "本月有效举报的积分、发放登记和导出"),
    ("imports.import_form", "导入数据", "导入网格、路段、点位等图层和表格，先检查后确认"),
    ("downloads.atlas_page", "全县图集", "生成全县和各网格的打印地图（PDF）"),
    ("admin.users_page", "用户管理", "新建用户、重设密码、停用，绑定单位或领导，通知用的邮箱和手机"),
    ("admin.keys_page", "API 密钥", "签发和吊销 Open311 对接用的 api_key"),
    ("followup.phrases_page", "惯用语", "各处理环节的常用意见，处理时一键填入"),
)


def _desk() -> list[dict]:
    return [{"title": t, "url": url_for(e), "about": a} for e, t, a in DESK]


@bp.get("/office")
@login_required(roles=OFFICE)
def desk_page():
    return render_template("admin/desk.html", entries=_desk())


@bp.get("/api/office")
@login_required(roles=OFFICE)
def desk_api():
    return {"entries": _desk()}


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
