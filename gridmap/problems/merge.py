"""Staff merge of duplicates: the duplicate points to the kept case, which takes its supporters and photos."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gridmap.auth import User
from gridmap.clock import to_db, utcnow
from gridmap.errors import Conflict, GridmapError, InvalidInput
from gridmap.problems import duplicates, notices, repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import find_row, lookup, record
from gridmap.problems.states import OPEN_STATUSES, STATUS_LABELS
from gridmap.problems.workflow import require_action

MAX_CHAIN = 20  # merged cases followed at most this far to the one finally kept


def _label(row: Any) -> str:
    return STATUS_LABELS.get(row.status, row.status)


def kept_row(ctx: ProblemContext, into: object) -> Any:
    """The problem a duplicate goes into: id or tracking number (typed loosely); a merged one is
    followed along its chain to the case finally kept."""
    text = str(into or "").strip()
    if not text:
        msg = "合并需要在 into 中填写保留的问题的受理编号（如 FX20261130-0001）"
        raise InvalidInput(msg)
    row = find_row(ctx, text if text.isdigit() else lookup(ctx, text))
    seen = {row.id}
    while row.status == "merged" and row.merged_into is not None:
        row = find_row(ctx, row.merged_into)
        if row.id in seen or len(seen) > MAX_CHAIN:
            msg = f"问题 {text[:40]} 的合并关系成环或过长，无法确定保留的问题，请联系管理员"
            raise Conflict(msg)
        seen.add(row.id)
    return row


def candidates(ctx: ProblemContext, rec: dict, *, limit: int = 8) -> list[dict]:
    """Open problems of the same category near this one (it left out), nearest first: what the
    office most likely merges it into. Each: tracking_no, a short description, distance_m."""
    try:
        found = duplicates.find_duplicates(
            ctx, lon=rec["lon"], lat=rec["lat"], category=rec["category"], limit=limit + 1
        )
    except GridmapError:  # a category that has left the file: nothing to suggest
        return []
    return [
        {
            "tracking_no": d["tracking_no"],
            "text": f"{d['description'][:30]}（{d['status_label']}，{d['distance_m']:g} 米外）",
            "distance_m": d["distance_m"],
        }
        for d in found
        if d["id"] != rec["id"]
    ][:limit]


def merge(
    ctx: ProblemContext,
    ref: object,
    *,
    user: User | None,
    into: object,
    note: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """The office merges duplicate ``ref`` into the kept problem ``into``; the duplicate's record back.

    Both must be open; the duplicate becomes 'merged' (final, closed_at now, merged_into the kept
    id); the kept one gains 1 + the duplicate's supporters and the duplicate's photos (the same
    stored files); an event on each; one transaction.
    """
    now = now or utcnow()
    dup = find_row(ctx, ref)
    require_action(user, "merge", unit_code=dup.unit_code)
    assert user is not None  # require_action refuses anonymous users
    kept = kept_row(ctx, into)
    if kept.id == dup.id:
        msg = f"不能把问题 {dup.tracking_no} 合并到它自己；into 应为另一个（保留的）问题的受理编号"
        raise InvalidInput(msg)
    if dup.status not in OPEN_STATUSES:
        msg = f"问题 {dup.tracking_no} 当前状态为“{_label(dup)}”，已经办结，不能再合并"
        raise Conflict(msg)
    if kept.status not in OPEN_STATUSES:
        msg = (
            f"保留的问题 {kept.tracking_no} 当前状态为“{_label(kept)}”，只能合并到尚在办理中的问题；"
            "请选择另一个在办的问题，或按本问题单独处理"
        )
        raise Conflict(msg)
    text = None if note is None else " ".join(str(note).split()) or None
    if text and len(text) > 2000:
        msg = "备注 note 不超过 2000 个字"
        raise InvalidInput(msg)
    added = 1 + (dup.supporters or 0)
    changes = {"status": "merged", "merged_into": kept.id, "closed_at": to_db(now), "updated_at": to_db(now)}
    base = {"at": to_db(now), "actor": user.username, "actor_role": user.role, "action": "merge"}
    on_dup = {
        **base,
        "from_status": dup.status,
        "to_status": "merged",
        "note": text or f"与问题 {kept.tracking_no} 重复，已合并到该问题办理",
        "detail": json.dumps({"into": kept.tracking_no, "into_id": kept.id}, ensure_ascii=False),
    }
    on_kept = {
        **base,
        "from_status": kept.status,
        "to_status": kept.status,
        "note": f"合并了重复问题 {dup.tracking_no}" + (f"：{text}" if text else ""),
        "detail": json.dumps(
            {"merged_in": dup.tracking_no, "merged_in_id": dup.id, "supporters_added": added},
            ensure_ascii=False,
        ),
    }
    sent = notices.for_action(ctx, dup, event=on_dup, changes=changes, now=now)
    moved = repository.merge_problems(
        ctx.store,
        duplicate=(dup.id, dup.status),
        kept=(kept.id, kept.status),
        changes=changes,
        events=(on_dup, on_kept),
        supporters=added,
        now=now,
        notices=sent,
    )
    if moved is None:
        msg = f"问题 {dup.tracking_no} 或 {kept.tracking_no} 刚被他人处理过，请刷新后重试"
        raise Conflict(msg)
    return record(ctx, find_row(ctx, dup.id), viewer=user, now=now)
