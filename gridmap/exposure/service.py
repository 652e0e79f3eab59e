"""The exposure page (曝光台): the office publishes typical problems with a public title and comment;
the public sees place, category, responsible unit, deadline and photos, never personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridmap.auth import User
from gridmap.clock import human, iso, to_db, utcnow
from gridmap.errors import Conflict, Forbidden, InvalidInput
from gridmap.exposure import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import find_row, records
from gridmap.problems.repository import Criteria, select_problems
from gridmap.problems.states import STATUS_LABELS

MAX_TITLE = 60
MAX_COMMENT = 500
PAGE_SIZE = 20
# A case is published once it is a case (filed); not while it waits for verification, nor when refused.
PUBLISHABLE = ("accepted", "dispatched", "returned", "parked", "rectified", "verified", "closed")
# The after photo (整改、核查) is shown once the unit reports the fix.
FIXED = ("rectified", "verified", "closed")


def _office(user: User | None) -> User:
    if user is None or user.role != "office":
        msg = "只有创建办可以在曝光台发布或撤下问题"
        raise Forbidden(msg)
    return user


def _text(value: object, *, label: str, limit: int, required: bool) -> str | None:
    text = "" if value is None else " ".join(str(value).split())
    if not text:
        if required:
            msg = f"请填写{label}（公开显示在曝光台上，不要写上报人姓名、电话等个人信息）"
            raise InvalidInput(msg)
        return None
    if len(text) > limit:
        msg = f"{label}最多 {limit} 个字，现在有 {len(text)} 个字，请删减后再提交"
        raise InvalidInput(msg)
    return text


def publish(
    ctx: ProblemContext,
    ref: object,
    *,
    user: User | None,
    title: object,
    comment: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """Publish problem ``ref`` on the exposure page (or change its public title and comment)."""
    who = _office(user)
    row = find_row(ctx, ref)
    if row.status not in PUBLISHABLE:
        msg = (
            f"问题 {row.tracking_no} 当前状态为“{STATUS_LABELS.get(row.status, row.status)}”，"
            "立案（或派遣）后才能在曝光台发布；不予立案和已合并的问题不能发布"
        )
        raise Conflict(msg)
    repository.save_exposure(
        ctx.store,
        problem_id=row.id,
        title=str(_text(title, label="曝光标题 title", limit=MAX_TITLE, required=True)),
        comment=_text(comment, label="曝光说明 comment", limit=MAX_COMMENT, required=False),
        user=who.username,
        now=to_db(now or utcnow()),
    )
    return {"tracking_no": row.tracking_no, "exposure": state(ctx, row.id)}


def unpublish(ctx: ProblemContext, ref: object, *, user: User | None, now: dt.datetime | None = None) -> dict:
    """Take problem ``ref`` off the exposure page."""
    _office(user)
    row = find_row(ctx, ref)
    if not repository.unpublish(ctx.store, problem_id=row.id, now=to_db(now or utcnow())):
        msg = f"问题 {row.tracking_no} 不在曝光台上，无需撤下"
        raise Conflict(msg)
    return {"tracking_no": row.tracking_no, "exposure": state(ctx, row.id)}


def state(ctx: ProblemContext, problem_id: int) -> dict | None:
    """What the office's problem page shows about the exposure of this problem (None: never published)."""
    found = repository.find_exposure(ctx.store, problem_id)
    if found is None:
        return None
    return {
        "published": bool(found.published),
        "title": found.title,
        "comment": found.comment,
        "published_at": iso(found.published_at),
        "published_at_text": human(found.published_at),
        "unpublished_at_text": human(found.unpublished_at),
    }


def _photos(rec: dict, stages: tuple[str, ...]) -> list[dict]:
    return [
        {"url": p["url"], "thumb_url": p["thumb_url"], "stage_label": p["stage_label"]}
        for p in rec["photos"]
        if p["stage"] in stages
    ]


def item(rec: dict, exposure: Any) -> dict:
    """One problem as the exposure page shows it: the office's words and the public facts only
    (no description, which is the reporter's own text, no names, phones or staff logins)."""
    fixed = rec["status"] in FIXED
    return {
        "tracking_no": rec["tracking_no"],
        "title": exposure.title,
        "comment": exposure.comment,
        "published_at": iso(exposure.published_at),
        "published_at_text": human(exposure.published_at),
        "category": rec["category"],
        "category_name": rec["category_name"],
        "address": rec["address"],
        "town": (rec["town"] or {}).get("name"),
        "grid": (rec["grid"] or {}).get("name"),
        "unit": (rec["unit"] or {}).get("name"),
        "lon": rec["lon"],
        "lat": rec["lat"],
        "status": rec["status"],
        "status_label": rec["status_label"],
        "overdue": rec["overdue"],
        "fixed": fixed,
        "reported_at_text": rec["created_at_text"],
        "deadline": rec["deadline"],
        "deadline_text": rec["deadline_text"],
        "closed_at": rec["closed_at"],
        "before_photos": _photos(rec, ("report",)),
        "after_photos": _photos(rec, ("rectify", "verify")) if fixed else [],
    }


def page(ctx: ProblemContext, *, number: object = 1, now: dt.datetime | None = None) -> dict:
    """One page of the exposure list, newest first."""
    text = str(number or "1").strip()
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 6 and int(text) > 0):
        msg = f"页码 page 应为正整数，实际为“{text[:20]}”"
        raise InvalidInput(msg)
    current = int(text)
    total = repository.count_published(ctx.store)
    shown = repository.published(ctx.store, limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE)
    by_id = {
        r.id: r for r in select_problems(ctx.store, Criteria(among=(("id", [e.problem_id for e in shown]),)))
    }
    rows = [by_id[e.problem_id] for e in shown if e.problem_id in by_id]
    recs = {r["id"]: r for r in records(ctx, rows, viewer=None, now=now or utcnow(), history=True)}
    items = [item(recs[e.problem_id], e) for e in shown if e.problem_id in recs]
    pages = max(1, -(-total // PAGE_SIZE))
    return {"count": total, "page": current, "pages": pages, "page_size": PAGE_SIZE, "problems": items}
