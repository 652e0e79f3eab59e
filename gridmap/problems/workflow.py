"""The problem workflow: states, actions, who may act, events, deadlines and the overdue flag."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gridmap.accounts import repository as limits
from gridmap.auth import ROLES, User
from gridmap.clock import iso, to_db, utcnow
from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.parsing import MAX_YEAR, parse_datetime, parse_number
from gridmap.problems import notices, repository, spotmap
from gridmap.problems.context import ProblemContext
from gridmap.problems.photos import PhotoWriter, prepare_photos
from gridmap.problems.records import find_row, public_view, record, show
from gridmap.problems.states import (  # web/problems.py also reads the labels and SOURCES as workflow.X
    ACTION_LABELS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    SOURCES,
    STATUS_LABELS,
)

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
    "problem_page",
    "support",
]

# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "accept": (("reported",), "accepted"),
    "reject": (("reported", "accepted"), "rejected"),
    "dispatch": (("reported", "accepted"), "dispatched"),
    "rectify": (("dispatched",), "rectified"),
    "verify": (("rectified",), "verified"),
    "rework": (("rectified", "verified"), "dispatched"),
    "extend": (PENDING_STATUSES, None),
    "close": (("verified",), "closed"),
}
MAX_EXTEND_HOURS = 8760  # one extension moves a deadline by at most a year
NOTE_REQUIRED = {"reject": "不予立案的理由", "rework": "返工的原因", "extend": "延期的理由"}


# --- who may do what ---------------------------------------------------------------------
# action -> roles allowed to take it (ownership is checked separately for units).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "accept": frozenset({"office"}),
    "reject": frozenset({"office"}),
    "dispatch": frozenset({"office"}),
    "rectify": frozenset({"unit", "office"}),
    "verify": frozenset({"inspector", "office"}),
    "rework": frozenset({"inspector", "office"}),
    "extend": frozenset({"office"}),
    "close": frozenset({"inspector", "office"}),
}


def require_action(user: User | None, action: str, *, unit_code: str | None) -> None:
    """Raise Unauthorized/Forbidden unless this user may take this action on that problem."""
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    allowed = ACTION_ROLES.get(action, frozenset())
    if user.role not in allowed:
        labels = "、".join(ROLES[r] for r in sorted(allowed)) or "任何人"
        msg = f"{user.role_label}不能执行“{action}”操作（只有{labels}可以）"
        raise Forbidden(msg)
    if user.role == "unit" and user.unit_code != unit_code:
        msg = "这个问题不是交给本单位的，只能处理本单位的问题"
        raise Forbidden(msg)


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
    photos: list[tuple[str, bytes]] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Take one workflow action on a problem (id or tracking number); return the new record.

    Checks, in order: the action exists (400), the user may take it on this problem (401/403),
    the problem's status allows it (409). Every action is an event with actor, time, note and
    optional photos, written in one transaction with the status change.
    """
    now = now or utcnow()
    name = str(action or "").strip()
    if name not in TRANSITIONS:
        msg = f"操作 action 应为 {'、'.join(f'{a}（{ACTION_LABELS[a]}）' for a in TRANSITIONS)} 之一，实际为“{name}”"
        raise InvalidInput(msg)
    row = find_row(ctx, ref)
    require_action(user, name, unit_code=row.unit_code)
    assert user is not None  # require_action refuses anonymous users
    sources, target = TRANSITIONS[name]
    if row.status not in sources:
        allowed = "、".join(STATUS_LABELS[s] for s in sources)
        msg = (
            f"问题 {row.tracking_no} 当前状态为“{STATUS_LABELS.get(row.status, row.status)}”，"
            f"不能“{ACTION_LABELS[name]}”（只能在{allowed}时进行）"
        )
        raise Conflict(msg)
    text = None if note is None else str(note).strip() or None
    if text and len(text) > 2000:
        msg = "备注 note 不超过 2000 个字"
        raise InvalidInput(msg)
    if name in NOTE_REQUIRED and not text:
        msg = f"“{ACTION_LABELS[name]}”需要在 note 中写明{NOTE_REQUIRED[name]}"
        raise InvalidInput(msg)
    changes: dict = {"updated_at": to_db(now)}
    event_deadline = None
    event_unit = None
    if name == "extend":
        current = row.deadline.replace(tzinfo=dt.UTC)
        if deadline not in (None, ""):
            new_deadline = parse_datetime(deadline, name="deadline", label="新的整改期限")
        elif hours not in (None, ""):
            extra = parse_number(
                hours,
                name="hours",
                label="延长小时数",
                minimum=0,
                maximum=MAX_EXTEND_HOURS,
                above_minimum=True,
                unit="（小时）",
            )
            new_deadline = current + dt.timedelta(hours=extra)
        else:
            msg = "延期需要新的期限 deadline（ISO 8601）或延长的小时数 hours"
            raise InvalidInput(msg)
        if to_db(new_deadline) <= row.deadline:
            msg = "新的期限应晚于原期限"
            raise InvalidInput(msg)
        latest = min(
            current + dt.timedelta(hours=MAX_EXTEND_HOURS),
            dt.datetime(MAX_YEAR, 12, 31, 15, 59, 59, tzinfo=dt.UTC),
        )  # Beijing year end
        if new_deadline > latest:
            msg = (
                f"一次延期最多 {MAX_EXTEND_HOURS} 小时（一年），且不晚于 {MAX_YEAR} 年底："
                f"新的期限 deadline 应不晚于 {iso(latest)}"
            )
            raise InvalidInput(msg)
        changes["deadline"] = event_deadline = to_db(new_deadline)
        changes["extensions"] = (row.extensions or 0) + 1
    if name == "dispatch":
        unit = dispatch_unit(ctx, row, unit_code)
        changes["unit_code"], changes["unit_name"] = unit["code"], unit["name"]
        event_unit = unit["code"]
    if name == "rework":
        changes["reworks"] = (row.reworks or 0) + 1
    if name in ("close", "reject"):
        changes["closed_at"] = to_db(now)
    new_status = target or row.status
    changes["status"] = new_status
    prepared = prepare_photos(photos or [], max_bytes=ctx.photo_max_bytes, max_count=ctx.photo_max_count)
    writer = PhotoWriter(ctx.storage)
    day = now.strftime("%Y%m%d")
    event = {
        "at": to_db(now),
        "actor": user.username,
        "actor_role": user.role,
        "action": name,
        "to_status": new_status,
        "note": text,
        "deadline": event_deadline,
        "unit_code": event_unit,
    }
    try:
        done = repository.apply_action(
            ctx.store,
            problem_id=row.id,
            from_status=row.status,
            changes=changes,
            event=event,
            photos=prepared,
            put_photo=writer.put,
            day=day,
            now=now,
            notices=notices.for_action(ctx, row, event=event, changes=changes, now=now),
        )
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

    A unit acts only on its own problems; anonymous visitors take none.
    """
    if user is None:
        return []
    out = []
    for action, (sources, _target) in TRANSITIONS.items():
        if rec["status"] not in sources or user.role not in ACTION_ROLES[action]:
            continue
        if user.role == "unit" and (rec["unit"] or {}).get("code") != user.unit_code:
            continue
        out.append(action)
    return out


def dispatch_unit(ctx: ProblemContext, row: object, unit_code: object) -> dict:
    """The unit a dispatch hands the problem to: always an explicit choice, never a silent default.

    A missing choice is refused, naming the unit the spot's responsibility suggests (so the
    office sees who it would have been); an unknown code is refused too.
    """
    code = str(unit_code or "").strip()
    if not code:
        suggested = getattr(row, "unit_name", None)
        if suggested:
            hint = f"按位置查询，建议交给“{suggested}”（{getattr(row, 'unit_code', '')}）"
        else:
            hint = "这个问题不在任何网格内（属地兜底），没有建议的单位"
        msg = (
            f"派遣（交办）需要明确选择责任单位：请在“责任单位”中选择（{hint}；接口请在 unit 中给出单位代码）"
        )
        raise InvalidInput(msg)
    unit = ctx.reference.model().unit_record(code)
    if unit is None:
        msg = f"单位代码“{code[:64]}”不存在；请从“责任单位”列表中选择"
        raise InvalidInput(msg)
    return unit


def dispatch_units(ctx: ProblemContext, *, suggested: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every unit a problem may be dispatched to; the ``suggested`` one first."""
    units = ctx.reference.model().units
    pairs = [(str(code), str(name)) for code, name in zip(units.index, units["name"])]
    return sorted(pairs, key=lambda pair: pair[0] != suggested)  # stable: table order otherwise


@dataclass
class ProblemPage:
    """What a problem's page shows: the record as its viewer may see it, the actions, the units."""

    record: dict
    actions: list[str]
    units: list[tuple[str, str]]
    suggested_unit: str | None = None  # the unit the spot's responsibility names, offered first
    around: dict | None = None  # GeoJSON of the streets and the grid outline around the spot


def problem_page(
    ctx: ProblemContext, ref: object, *, user: User | None, now: dt.datetime | None = None
) -> ProblemPage:
    """A problem for its page: the record, the actions the user may take, units to dispatch to
    (the suggested one first; the page makes no choice for the office)."""
    rec = show(ctx, ref, viewer=user, now=now)
    actions = allowed_actions(user, rec)
    near = spotmap.around(
        ctx.reference, lon=rec["lon"], lat=rec["lat"], grid_code=(rec["grid"] or {}).get("code")
    )
    if "dispatch" not in actions:
        return ProblemPage(rec, actions, [], around=near)
    suggested = (rec["unit"] or {}).get("code")
    return ProblemPage(rec, actions, dispatch_units(ctx, suggested=suggested), suggested, around=near)
