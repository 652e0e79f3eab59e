"""Follow-up (回访) of a closed case: the reporter's answer on the tracking page or the office's phone
call; "not fixed" within the window reopens the case for the same unit with a fresh deadline."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Any

from gridmap.auth import User
from gridmap.clock import human, iso, to_db, utcnow
from gridmap.errors import Conflict, Forbidden, InvalidInput
from gridmap.problems import deadlines, notices, repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import find_row, public_view, record
from gridmap.problems.states import STATUS_LABELS
from gridmap.problems.workflow import require_action

RESULTS: dict[str, str] = {"satisfied": "满意（已解决）", "unsatisfied": "不满意（没解决）"}
CHANNELS: dict[str, str] = {"tracking": "上报人在查询页回答", "phone": "电话回访"}
MAX_NOTE = 500
_ANSWERS = {
    "satisfied": "satisfied",
    "yes": "satisfied",
    "1": "satisfied",
    "true": "satisfied",
    "满意": "satisfied",
    "unsatisfied": "unsatisfied",
    "no": "unsatisfied",
    "0": "unsatisfied",
    "false": "unsatisfied",
    "不满意": "unsatisfied",
}


def check_key(row: Any, key: object) -> None:
    """Refuse unless ``key`` is the reporter's secret of this problem (compared in constant time)."""
    stored = getattr(row, "reporter_key", None) or ""
    sent = "" if key is None else str(key).strip()
    if not (stored and sent and hmac.compare_digest(sent.encode("utf-8", "replace"), stored.encode("utf-8"))):
        msg = "查询链接不正确或不完整：回访只能由上报人通过上报成功时给出的链接回答，请核对链接"
        raise Forbidden(msg)


def answered(row: Any) -> bool:
    """Whether this closure of the problem has already been followed up (one answer per closure)."""
    closed, at = row.closed_at, row.satisfaction_at
    return closed is not None and at is not None and at >= closed


def window_end(ctx: ProblemContext, row: Any) -> dt.datetime | None:
    """Until when (naive UTC) a "not fixed" answer reopens this closed problem."""
    if row.closed_at is None:
        return None
    return row.closed_at + dt.timedelta(days=float(ctx.settings.followup_days))


def asks(row: Any) -> bool:
    """Whether the tracking page asks "解决了吗？" now: closed and not yet answered for this closure."""
    return row.status == "closed" and not answered(row)


def state(ctx: ProblemContext, row: Any, *, now: dt.datetime) -> dict:
    """What the reporter's page shows about the follow-up of this problem."""
    until = window_end(ctx, row)
    last = None
    if row.satisfaction:
        last = {
            "result": row.satisfaction,
            "label": RESULTS.get(row.satisfaction, row.satisfaction),
            "at": iso(row.satisfaction_at),
            "at_text": human(row.satisfaction_at),
        }
    return {
        "ask": asks(row),
        "answered": answered(row),
        "last": last,
        "reopens": row.reopens or 0,
        "closed_at_text": human(row.closed_at),
        "reopen_until": iso(until),
        "reopen_until_text": human(until),
        "reopen_open": until is not None and to_db(now) <= until,
    }


def tracking(ctx: ProblemContext, ref: object, *, key: object, now: dt.datetime | None = None) -> dict:
    """The reporter's tracking page: the public record and the follow-up question (key required)."""
    now = now or utcnow()
    row = find_row(ctx, ref)
    check_key(row, key)
    out = public_view(record(ctx, row, now=now))
    out["followup"] = state(ctx, row, now=now)
    return out


def _result(value: object) -> str:
    text = str(value or "").strip().lower()
    found = _ANSWERS.get(text)
    if found is None:
        msg = f"回访结果 result 应为 satisfied（满意、已解决）或 unsatisfied（不满意、没解决），实际为“{text[:20]}”"
        raise InvalidInput(msg)
    return found


def _note(value: object, result: str) -> str | None:
    text = "" if value is None else " ".join(str(value).split())
    if len(text) > MAX_NOTE:
        msg = f"说明 note 最多 {MAX_NOTE} 个字，现在有 {len(text)} 个字，请删减后再提交"
        raise InvalidInput(msg)
    if result == "unsatisfied" and not text:
        msg = "请在说明 note 中简单写一下哪里没解决（例如“垃圾还在路口东侧”），以便重新处理"
        raise InvalidInput(msg)
    return text or None


def _record_answer(
    ctx: ProblemContext,
    row: Any,
    *,
    result: str,
    note: str | None,
    channel: str,
    actor: str | None,
    actor_role: str,
    now: dt.datetime,
) -> dict:
    """Store one follow-up answer; reopen within the window on "unsatisfied". The outcome."""
    if row.status != "closed":
        msg = (
            f"问题 {row.tracking_no} 当前状态为“{STATUS_LABELS.get(row.status, row.status)}”，"
            "办结（结案）后才能回访"
        )
        raise Conflict(msg)
    if answered(row):
        msg = f"问题 {row.tracking_no} 本次办结已经回访过（{human(row.satisfaction_at)}），不能重复回答"
        raise Conflict(msg)
    until = window_end(ctx, row)
    within = until is not None and to_db(now) <= until
    reopen = result == "unsatisfied" and within
    detail = {"result": result, "channel": channel, "within_window": within, "reopened": reopen}
    changes: dict = {
        "satisfaction": result,
        "satisfaction_note": note,
        "satisfaction_at": to_db(now),
        "updated_at": to_db(now),
    }
    first = {
        "at": to_db(now),
        "actor": actor,
        "actor_role": actor_role,
        "action": "followup",
        "from_status": "closed",
        "to_status": "closed",
        "note": note,
        "detail": json.dumps(detail, ensure_ascii=False),
    }
    events = [first]
    if reopen:
        target = "dispatched" if row.unit_code else "accepted"
        hours = deadlines.hours_for(ctx, row.category, row.urgency or "normal")
        deadline = to_db(deadlines.due(ctx, now, hours))
        changes.update(status=target, reopens=(row.reopens or 0) + 1, deadline=deadline, closed_at=None)
        events.append(
            {
                "at": to_db(now),
                "actor": actor,
                "actor_role": actor_role,
                "action": "reopen",
                "from_status": "closed",
                "to_status": target,
                "note": f"回访{RESULTS['unsatisfied']}，重新打开，交原责任单位返工",
                "deadline": deadline,
                "unit_code": row.unit_code,
                "detail": json.dumps({"reopens": changes["reopens"], "hours": hours}, ensure_ascii=False),
            }
        )
    sent = []
    for event in events:
        sent += notices.for_action(ctx, row, event=event, changes=changes, now=now)
    done = repository.apply_events(
        ctx.store,
        problem_id=row.id,
        expect={"status": "closed", "closed_at": row.closed_at, "satisfaction_at": row.satisfaction_at},
        changes=changes,
        events=events,
        now=now,
        notices=sent,
    )
    if not done:
        msg = f"问题 {row.tracking_no} 刚被他人处理或回访过，请刷新后查看"
        raise Conflict(msg)
    if reopen:
        message = f"已收到您的回访：问题没有解决。问题 {row.tracking_no} 已重新交办，我们会尽快处理。"
    elif result == "unsatisfied":
        message = (
            f"已收到您的回访，谢谢！问题办结已超过 {float(ctx.settings.followup_days):g} 天，"
            "本次意见已记录，但不再重新打开原问题；如问题仍然存在，请重新上报。"
        )
    else:
        message = "已收到您的回访，谢谢您的支持！"
    return {"result": result, "reopened": reopen, "within_window": within, "message": message}


def answer(
    ctx: ProblemContext,
    ref: object,
    *,
    key: object,
    result: object,
    note: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """The reporter answers "解决了吗？" through the tracking link's key; the tracking view back."""
    now = now or utcnow()
    row = find_row(ctx, ref)
    check_key(row, key)
    name = _result(result)
    outcome = _record_answer(
        ctx,
        row,
        result=name,
        note=_note(note, name),
        channel="tracking",
        actor=None,
        actor_role="citizen",
        now=now,
    )
    out = tracking(ctx, row.id, key=key, now=now)
    out["outcome"] = outcome
    return out


def phone(
    ctx: ProblemContext,
    ref: object,
    *,
    user: User | None,
    result: object,
    note: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """The office records a phone follow-up (电话回访) of a closed problem; the record back."""
    now = now or utcnow()
    row = find_row(ctx, ref)
    require_action(user, "followup", unit_code=row.unit_code)
    assert user is not None  # require_action refuses anonymous users
    name = _result(result)
    outcome = _record_answer(
        ctx,
        row,
        result=name,
        note=_note(note, name),
        channel="phone",
        actor=user.username,
        actor_role=user.role,
        now=now,
    )
    out = record(ctx, find_row(ctx, row.id), viewer=user, now=now)
    out["outcome"] = outcome
    return out
