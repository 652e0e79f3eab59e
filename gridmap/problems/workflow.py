"""The problem workflow: states, actions, who may act, events, deadlines and the overdue flag."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from gridmap.accounts import repository as limits
from gridmap.auth import ROLES, User, list_users
from gridmap.clock import to_db, utcnow
from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.problems import notices, repository, requests, spotmap
from gridmap.problems.actionform import ActionForm, Prepared
from gridmap.problems.context import ProblemContext
from gridmap.problems.lists import leader_grids
from gridmap.problems.photos import PhotoWriter, prepare_photos
from gridmap.problems.records import actor_names, find_row, public_view, record, show
from gridmap.problems.states import (  # web/problems.py also reads the labels and SOURCES as workflow.X
    ACTION_LABELS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    SOURCES,
    STATUS_LABELS,
)
from gridmap.problems.steps import PREPARE, dispatch_unit

__all__ = [
    "ACTION_LABELS",
    "SOURCES",
    "STATUS_LABELS",
    "TRANSITIONS",
    "ProblemPage",
    "act",
    "allowed_actions",
    "dispatch_unit",
    "dispatch_units",
    "inspectors",
    "problem_page",
    "support",
]

# action -> (statuses it may start from, status it leads to; None keeps the status or lets the
# action decide: approving a park parks, unparking goes back to where the case was parked from)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "send_verify": (("reported",), "verifying"),
    "confirm": (("verifying",), "accepted"),
    "refute": (("verifying",), "rejected"),
    "accept": (("reported",), "accepted"),
    "reject": (("reported", "accepted"), "rejected"),
    "dispatch": (("reported", "accepted", "returned"), "dispatched"),
    "return": (("dispatched",), "returned"),
    "request_extension": (("dispatched",), None),
    "request_park": (("dispatched",), None),
    "approve": (("dispatched",), None),
    "refuse": (OPEN_STATUSES, None),
    "park": (("accepted", "dispatched"), "parked"),
    "unpark": (("parked",), None),
    "rectify": (("dispatched", "parked"), "rectified"),
    "verify": (("rectified",), "verified"),
    "rework": (("rectified", "verified"), "dispatched"),
    "extend": (PENDING_STATUSES, None),
    "set_urgency": (OPEN_STATUSES, None),
    "urge": (OPEN_STATUSES, None),
    "close": (("verified",), "closed"),
}
NOTE_REQUIRED = {
    "reject": "不予立案的理由",
    "refute": "核实不实的情况",
    "return": "回退的理由（为什么不属于本单位）",
    "rework": "返工的原因",
    "extend": "延期的理由",
    "request_extension": "申请延期的理由",
    "request_park": "申请挂账的理由",
    "refuse": "驳回的理由",
    "park": "挂账的理由",
}
DECISIONS = ("approve", "refuse")  # shown only while a unit's request is pending
REQUESTS = ("request_extension", "request_park")  # shown only while none is


# --- who may do what ---------------------------------------------------------------------
# action -> roles allowed to take it (ownership is checked separately for units, and the
# inspector sent to verify is the only inspector who may answer).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "send_verify": frozenset({"office"}),
    "confirm": frozenset({"inspector", "office"}),
    "refute": frozenset({"inspector", "office"}),
    "accept": frozenset({"office"}),
    "reject": frozenset({"office"}),
    "dispatch": frozenset({"office"}),
    "return": frozenset({"unit"}),
    "request_extension": frozenset({"unit"}),
    "request_park": frozenset({"unit"}),
    "approve": frozenset({"office"}),
    "refuse": frozenset({"office"}),
    "park": frozenset({"office"}),
    "unpark": frozenset({"office"}),
    "rectify": frozenset({"unit", "office"}),
    "verify": frozenset({"inspector", "office"}),
    "rework": frozenset({"inspector", "office"}),
    "extend": frozenset({"office"}),
    "set_urgency": frozenset({"office"}),
    "urge": frozenset({"office", "leader"}),
    "close": frozenset({"inspector", "office"}),
    "merge": frozenset({"office"}),  # gridmap/problems/merge.py
    "followup": frozenset({"office"}),  # gridmap/problems/followup.py
}
VERDICTS = ("confirm", "refute")  # only the inspector sent (or the office) answers


def require_action(user: User | None, action: str, *, unit_code: str | None) -> None:
    """Raise Unauthorized/Forbidden unless this user may take this action on that problem."""
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    allowed = ACTION_ROLES.get(action, frozenset())
    if user.role not in allowed:
        labels = "、".join(ROLES[r] for r in sorted(allowed)) or "任何人"
        label = ACTION_LABELS.get(action, action)
        msg = f"{user.role_label}不能执行“{label}”操作（只有{labels}可以）"
        raise Forbidden(msg)
    if user.role == "unit" and user.unit_code != unit_code:
        msg = "这个问题不是交给本单位的，只能处理本单位的问题"
        raise Forbidden(msg)


def _require_actor(ctx: ProblemContext, user: User, name: str, row: Any) -> None:
    """The row-specific rules: only the inspector sent answers a verification; a leader chases
    only the problems of the grids they lead."""
    if name in VERDICTS and user.role == "inspector" and row.verifier != user.username:
        msg = f"问题 {row.tracking_no} 派给了巡查员 {row.verifier or '（未指定）'} 核实，只有他（她）或创建办可以回复核实结果"
        raise Forbidden(msg)
    if name == "urge" and user.role == "leader" and row.grid_code not in leader_grids(ctx, user):
        msg = "包片领导只能催办所包网格的问题"
        raise Forbidden(msg)


def _require_status(name: str, row: Any) -> None:
    sources = TRANSITIONS[name][0]
    if row.status not in sources:
        allowed = "、".join(STATUS_LABELS[s] for s in sources)
        msg = (
            f"问题 {row.tracking_no} 当前状态为“{STATUS_LABELS.get(row.status, row.status)}”，"
            f"不能“{ACTION_LABELS[name]}”（只能在{allowed}时进行）"
        )
        raise Conflict(msg)


def _note(name: str, note: object) -> str | None:
    text = None if note is None else str(note).strip() or None
    if text and len(text) > 2000:
        msg = "备注 note 不超过 2000 个字"
        raise InvalidInput(msg)
    if name in NOTE_REQUIRED and not text:
        msg = f"“{ACTION_LABELS[name]}”需要在 note 中写明{NOTE_REQUIRED[name]}"
        raise InvalidInput(msg)
    return text


def act(
    ctx: ProblemContext,
    ref: object,
    *,
    user: User | None,
    action: object,
    note: object = None,
    deadline: object = None,
    hours: object = None,
    unit_code: object = None,
    inspector: object = None,
    until: object = None,
    urgency: object = None,
    photos: list[tuple[str, bytes]] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Take one workflow action on a problem (id or tracking number); return the new record.

    Checks, in order: the action exists (400), the user may take it on this problem (401/403),
    the problem's status allows it (409), what the action needs (400). Every action is an event
    with actor, time, note, optional photos and its further facts (``detail``), written in one
    transaction with the status change, a unit request added or decided, and the notices.
    """
    now = now or utcnow()
    name = str(action or "").strip()
    if name not in TRANSITIONS:
        msg = f"操作 action 应为 {'、'.join(f'{a}（{ACTION_LABELS[a]}）' for a in TRANSITIONS)} 之一，实际为“{name}”"
        raise InvalidInput(msg)
    row = find_row(ctx, ref)
    require_action(user, name, unit_code=row.unit_code)
    assert user is not None  # require_action refuses anonymous users
    _require_actor(ctx, user, name, row)
    _require_status(name, row)
    form = ActionForm(
        user=user,
        note=_note(name, note),
        deadline=deadline,
        hours=hours,
        unit_code=unit_code,
        inspector=inspector,
        until=until,
        urgency=urgency,
    )
    step = PREPARE[name](ctx, row, form, now) if name in PREPARE else Prepared()
    new_status = step.status or TRANSITIONS[name][1] or row.status
    if new_status != row.status and step.decision is None and step.request is None:
        step.decision = requests.withdrawal(ctx, row, form, now, new_status)
    changes = {**step.changes, "updated_at": to_db(now), "status": new_status}
    event = {
        "at": to_db(now),
        "actor": user.username,
        "actor_role": user.role,
        "action": name,
        "to_status": new_status,
        "note": form.note,
        "deadline": None if step.event_deadline is None else to_db(step.event_deadline),
        "unit_code": step.event_unit,
        "detail": json.dumps(step.detail, ensure_ascii=False) if step.detail else None,
    }
    prepared = prepare_photos(photos or [], max_bytes=ctx.photo_max_bytes, max_count=ctx.photo_max_count)
    writer = PhotoWriter(ctx.storage)
    try:
        done = repository.apply_action(
            ctx.store,
            problem_id=row.id,
            from_status=row.status,
            changes=changes,
            event=event,
            photos=prepared,
            put_photo=writer.put,
            day=now.strftime("%Y%m%d"),
            now=now,
            notices=notices.for_action(ctx, row, event=event, changes=changes, now=now),
            request=step.request,
            decision=step.decision,
        )
    except repository.RequestPending:
        writer.rollback()
        msg = f"问题 {row.tracking_no} 的申请刚被他人提交或审批过，请刷新后重试"
        raise Conflict(msg) from None
    except BaseException:
        writer.rollback()
        raise
    if not done:
        msg = f"问题 {row.tracking_no} 刚被他人处理过，请刷新后重试"
        raise Conflict(msg)
    return record(ctx, find_row(ctx, row.id), viewer=user, now=now)


def support(
    ctx: ProblemContext,
    ref: object,
    *,
    note: object = None,
    client: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """A citizen says "me too" to an open problem instead of filing a duplicate.

    One support per ``client`` (address) and problem within ``ctx.support_window_h`` hours:
    a repeat changes nothing and answers ``counted: False`` with a polite message.
    """
    now = now or utcnow()
    row = find_row(ctx, ref)
    if row.status not in OPEN_STATUSES:
        msg = f"问题 {row.tracking_no} 已{STATUS_LABELS.get(row.status, row.status)}，如问题仍存在请重新上报"
        raise Conflict(msg)
    text = None if note is None else str(note).strip()[:500] or None
    rule = limits.Limit("support", 1, dt.timedelta(hours=float(ctx.support_window_h)))
    who = None if client is None else f"{row.id}\x1f{client}"
    counted = repository.add_support(
        ctx.store, problem_id=row.id, status=row.status, note=text, now=now, rule=rule, who=who
    )
    out = public_view(record(ctx, find_row(ctx, row.id), now=now))
    out["counted"] = counted
    if counted:
        out["message"] = f"已附议问题 {row.tracking_no}，谢谢！"
    else:
        out["message"] = (
            f"您已经附议过问题 {row.tracking_no}，每人 {rule.window.total_seconds() / 3600:g} 小时内"
            "只计一次。谢谢您的关注，我们会尽快处理！"
        )
    return out


def allowed_actions(user: User | None, rec: dict) -> list[str]:
    """The actions ``user`` may take on a problem's record now: its status and the user's role decide.

    A unit acts only on its own problems; only the inspector sent to verify answers it; the
    office decides a unit's request only while one is pending, and a unit asks only while none
    is; anonymous visitors take none.
    """
    if user is None:
        return []
    out = []
    pending = bool(rec.get("pending_request"))
    for action, (sources, _target) in TRANSITIONS.items():
        if rec["status"] not in sources or user.role not in ACTION_ROLES[action]:
            continue
        if user.role == "unit" and (rec["unit"] or {}).get("code") != user.unit_code:
            continue
        if user.role == "inspector" and action in VERDICTS and rec.get("verifier") != user.username:
            continue
        if (action in DECISIONS and not pending) or (action in REQUESTS and pending):
            continue
        out.append(action)
    return out


def dispatch_units(ctx: ProblemContext, *, suggested: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every unit a problem may be dispatched to; the ``suggested`` one first."""
    units = ctx.reference.model().units
    pairs = [(str(code), str(name)) for code, name in zip(units.index, units["name"])]
    return sorted(pairs, key=lambda pair: pair[0] != suggested)  # stable: table order otherwise


def inspectors(ctx: ProblemContext) -> list[tuple[str, str]]:
    """(username, how they are named) of every active inspector a case may be sent to verify."""
    logins = sorted(u.username for u in list_users(ctx.store) if u.role == "inspector" and u.active)
    names = actor_names(ctx, set(logins)) if logins else {}
    return [(login, names.get(login, login)) for login in logins]


@dataclass
class ProblemPage:
    """What a problem's page shows: the record as its viewer may see it, the actions, the units."""

    record: dict
    actions: list[str]
    units: list[tuple[str, str]]
    suggested_unit: str | None = None  # the unit the spot's responsibility names, offered first
    around: dict | None = None  # GeoJSON of the streets and the grid outline around the spot
    inspectors: list[tuple[str, str]] = field(default_factory=list)  # to send a case to verify


def problem_page(
    ctx: ProblemContext, ref: object, *, user: User | None, now: dt.datetime | None = None
) -> ProblemPage:
    """A problem for its page: the record, the actions the user may take, units to dispatch to
    (the suggested one first; the page makes no choice for the office), inspectors to send it to
    verify. A leader is offered 催办 only on the grids they lead."""
    rec = show(ctx, ref, viewer=user, now=now)
    actions = allowed_actions(user, rec)
    if (
        user is not None
        and user.role == "leader"
        and (rec["grid"] or {}).get("code") not in leader_grids(ctx, user)
    ):
        actions = [a for a in actions if a != "urge"]
    near = spotmap.around(
        ctx.reference, lon=rec["lon"], lat=rec["lat"], grid_code=(rec["grid"] or {}).get("code")
    )
    page = ProblemPage(rec, actions, [], around=near)
    if "send_verify" in actions:
        page.inspectors = inspectors(ctx)
    if "dispatch" in actions:
        page.suggested_unit = (rec["unit"] or {}).get("code")
        page.units = dispatch_units(ctx, suggested=page.suggested_unit)
    return page
