"""Log in and out, the current user (session or bearer token), CSRF tokens on forms, role checks.

CSRF: a small token kept in the signed session (no extra package). Every unsafe request
(POST, PUT, PATCH, DELETE) to a page must carry it as the form field ``csrf_token`` or the
``X-CSRF-Token`` header; so must an ``/api/`` request that relies on the session cookie.
Requests authenticated by a bearer token, anonymous API calls (citizens' reports) and
Open311 calls (``api_key``) carry no cookie-based authority and need none.

Sessions: the signed cookie holds a random session id whose hash is stored (user_sessions);
each request checks it, so logging out, a password change, disabling a user or
`gridmap user revoke` end a session even when someone kept a copy of the cookie.
Logins are throttled per user name and per client address (gridmap.auth.login); the client
address is ``request.remote_addr``, taken from X-Forwarded-For only when
GRIDMAP_TRUSTED_PROXIES says how many proxies to trust.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from gridmap import auth
from gridmap.errors import Forbidden, GridmapError, Unauthorized
from gridmap.serving import offload
from web.context import settings, store

bp = Blueprint("auth", __name__)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@bp.record_once
def _configure(state) -> None:
    config = state.app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    if not config.get("SESSION_COOKIE_SAMESITE"):
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    proxies = int(config["GRIDMAP_TRUSTED_PROXIES"])
    if proxies > 0 and not state.app.extensions.get("gridmap.proxyfix"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        state.app.wsgi_app = ProxyFix(state.app.wsgi_app, x_for=proxies, x_proto=proxies)
        state.app.extensions["gridmap.proxyfix"] = proxies
    max_mb = float(config["GRIDMAP_PHOTO_MAX_MB"])
    count = int(config["GRIDMAP_PHOTO_MAX_COUNT"])
    # the whole request may hold every photo at its limit, plus the form; beyond that: 413
    if not config.get("MAX_CONTENT_LENGTH"):
        config["MAX_CONTENT_LENGTH"] = int((max_mb * count + 2) * 1_000_000)


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    # as bytes: compare_digest refuses str with non-ASCII characters (a hostile token is a 403, not a 500)
    return bool(expected) and hmac.compare_digest(
        sent.encode("utf-8", "replace"), expected.encode("utf-8", "replace")
    )


@bp.before_app_request
def _load_user() -> None:
    g.user = None
    g.auth_via = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user = auth.user_for_token(store(), header[7:].strip())  # Unauthorized if unknown
        g.auth_via = "token"
        return
    sid = session.get("sid")
    if sid is not None:
        g.user = auth.user_for_session(store(), sid)
        g.auth_via = "session" if g.user else None
        if g.user is None:  # ended or expired: forget it, keep the CSRF token
            session.pop("sid", None)
    if request.method in UNSAFE and not request.path.startswith("/open311/"):
        is_api = request.path.startswith("/api/")
        if (not is_api or g.user is not None) and not _csrf_ok():
            msg = "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试"
            raise Forbidden(msg)


@bp.app_context_processor
def _template_globals() -> dict:
    return {"csrf_token": csrf_token, "current_user": g.get("user")}


def current_user() -> auth.User | None:
    return g.get("user")


def login_required(roles: tuple[str, ...] | None = None):
    """Pages redirect to the login page; API calls answer 401. Wrong role: 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    msg = "请先登录，或在 Authorization 头中提供访问令牌（Bearer）"
                    raise Unauthorized(msg)
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                labels = "、".join(auth.ROLES[r] for r in roles)
                msg = f"此页面仅供{labels}使用（当前用户：{user.username}，{user.role_label}）"
                raise Forbidden(msg)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("pages.index")


def home_for(user: auth.User) -> str:
    return {
        "unit": url_for("problems.tasks_page"),
        "leader": url_for("problems.grids_page"),
        "office": url_for("problems.chase_page"),
        "inspector": url_for("problems.all_page"),
    }.get(user.role, url_for("pages.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    headers = {}
    if request.method == "POST":
        config = settings()
        try:
            # scrypt takes ~0.2 s of CPU: off the event loop, so the worker keeps answering others
            user = offload(
                auth.login,
                store(),
                username=request.form.get("username", ""),
                password=request.form.get("password", ""),
                address=request.remote_addr,
                rules=auth.LoginLimits.from_settings(config),
            )
        except GridmapError as exc:
            error, status = exc.message, exc.status
            if getattr(exc, "retry_after", None):
                headers["Retry-After"] = str(exc.retry_after)
        else:
            auth.end_session(store(), session.get("sid"))
            session.clear()
            session["sid"] = auth.start_session(store(), user, hours=config.session_hours)
            csrf_token()
            nxt = request.form.get("next")
            return redirect(_safe_next(nxt) if nxt else home_for(user))
    page = render_template("login.html", error=error, next=request.values.get("next", ""))
    return page, status, headers


@bp.post("/logout")
def logout():
    auth.end_session(store(), session.get("sid"))
    session.clear()
    return redirect(url_for("pages.index"))


@bp.get("/api/me")
def me():
    user = current_user()
    if user is None:
        msg = "未登录"
        raise Unauthorized(msg)
    return user.as_dict()
