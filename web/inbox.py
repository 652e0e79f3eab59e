"""The in-app inbox: /inbox and /api/inbox, marking notices read, and the header's unread count."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from gridmap.errors import InvalidInput
from gridmap.notify import inbox
from gridmap.parsing import parse_bool
from web.auth import current_user, login_required
from web.context import store

bp = Blueprint("inbox", __name__)


@bp.app_context_processor
def _header_count() -> dict:
    def inbox_unread() -> int:
        """The signed-in user's unread count, asked once per request (one indexed count)."""
        if "inbox_unread" not in g:
            g.inbox_unread = inbox.unread(store(), current_user())
        return g.inbox_unread

    return {"inbox_unread": inbox_unread}


@bp.get("/inbox")
@login_required()
def inbox_page():
    return render_template("inbox.html", view=inbox.inbox_view(store(), current_user()))


@bp.get("/api/inbox")
@login_required()
def inbox_api():
    return inbox.inbox_view(store(), current_user())


@bp.post("/inbox/read")
@login_required()
def mark_read_form():
    form = request.form
    inbox.mark_read(
        store(),
        current_user(),
        ids=form.getlist("id"),
        everything=parse_bool(form.get("all"), name="all", label="全部标为已读", default=False),
    )
    return redirect(url_for("inbox.inbox_page"))


@bp.post("/api/inbox/read")
@login_required()
def mark_read_api():
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        msg = '请求体应为 JSON 对象，例如 {"ids": [1, 2]} 或 {"all": true}'
        raise InvalidInput(msg)
    ids = body.get("ids") or []
    return inbox.mark_read(
        store(),
        current_user(),
        ids=ids if isinstance(ids, list) else [ids],
        everything=parse_bool(body.get("all"), name="all", label="全部标为已读", default=False),
    )
