"""The in-app inbox: a user's notices newest first, marking them read, and the office's view of failed deliveries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from gridmap.auth import User
from gridmap.clock import china, iso, utcnow
from gridmap.errors import InvalidInput, Unauthorized
from gridmap.notify import repository
from gridmap.notify.channels import problem_path
from gridmap.notify.notice import event_label
from gridmap.store import Store

__all__ = ["MAX_ENTRIES", "inbox_view", "mark_read", "unread"]

MAX_ENTRIES = 200
CHANNEL_LABELS = {"email": "邮件", "webhook": "webhook（短信/群机器人）"}


def _text(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    local = china(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _require(user: User | None) -> User:
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    return user


def unread(store: Store, user: User | None) -> int:
    """How many unread notices a user has (0 for nobody): the header's count."""
    return 0 if user is None else repository.unread_count(store, user.username)


def inbox_view(store: Store, user: User | None, *, limit: int = MAX_ENTRIES) -> dict:
    """A user's inbox, newest first, with the unread count; the office also sees deliveries given up."""
    me = _require(user)
    rows = repository.inbox(store, me.username, limit=limit)
    view: dict = {
        "username": me.username,
        "unread": repository.unread_count(store, me.username),
        "entries": [
            {
                "id": int(r.id),
                "event": r.event,
                "event_label": event_label(r.event),
                "message": r.message,
                "tracking_no": r.tracking_no,
                "problem_url": problem_path(r.tracking_no),
                "at": iso(r.created_at),
                "at_text": _text(r.created_at),
                "read": r.read_at is not None,
            }
            for r in rows
        ],
    }
    if me.role == "office":
        counts = repository.delivery_counts(store)
        view["deliveries"] = {
            "pending": counts.get("pending", 0),
            "sent": counts.get("sent", 0),
            "dead": counts.get("dead", 0),
            "failed": [
                {
                    "id": int(d.id),
                    "channel": d.channel,
                    "channel_label": CHANNEL_LABELS.get(d.channel, d.channel),
                    "event_label": event_label(d.event),
                    "tracking_no": d.tracking_no,
                    "message": d.message,
                    "attempts": int(d.attempts),
                    "last_error": d.last_error,
                    "created_at": iso(d.created_at),
                    "created_text": _text(d.created_at),
                }
                for d in repository.deliveries(store, status="dead", limit=50)
            ],
        }
    return view


def _ids(values: Iterable[object]) -> list[int]:
    out = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or len(text) > 12:
            msg = f"消息编号 id 应为正整数，实际为“{text[:20]}”；请从消息页面点“标为已读”"
            raise InvalidInput(msg)
        out.append(int(text))
    return out


def mark_read(
    store: Store,
    user: User | None,
    *,
    ids: Iterable[object] = (),
    everything: bool = False,
    now: dt.datetime | None = None,
) -> dict:
    """Mark some of a user's notices (or all of them) read; only the user's own entries change."""
    me = _require(user)
    chosen = None if everything else _ids(ids)
    if chosen is not None and not chosen:
        msg = "请指明要标为已读的消息（id），或选择“全部标为已读”（all）"
        raise InvalidInput(msg)
    marked = repository.mark_read(store, me.username, ids=chosen, now=now or utcnow())
    return {"marked": marked, "unread": repository.unread_count(store, me.username)}
