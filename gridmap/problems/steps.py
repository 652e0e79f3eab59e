"""What each workflow action changes: its checks of the form, new deadlines, counters and facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from gridmap.auth import User, get_user
from gridmap.clock import iso, to_db
from gridmap.errors import InvalidInput
from gridmap.parsing import parse_datetime
from gridmap.problems import deadlines, repository, requests
from gridmap.problems.actionform import LATEST, ActionForm, Prepared, parse_hours, parse_until
from gridmap.problems.context import ProblemContext
from gridmap.problems.states import PENDING_STATUSES, URGENCY_LABELS, is_overdue, verified_on_time


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


def _fresh_deadline(ctx: ProblemContext, row: Any, now: dt.datetime) -> dt.datetime:
    """A new deadline counted from now: a re-dispatch or a resumed case starts the unit's time again."""
    return to_db(deadlines.due(ctx, now, deadlines.hours_for(ctx, row.category, row.urgency or "normal")))


def _events(ctx: ProblemContext, row: Any) -> list:
    return repository.events_and_photos(ctx.store, [row.id])[0][row.id]


def _deadline_start(ctx: ProblemContext, row: Any) -> dt.datetime:
    """When the unit's time started: the report, or the last re-dispatch or resumption."""
    start = row.created_at
    for e in _events(ctx, row):
        if e.action == "unpark" or (e.action == "dispatch" and e.from_status == "returned"):
            start = e.at
    return start


def inspector_user(ctx: ProblemContext, name: object) -> User:
    """The active inspector named ``name``; InvalidInput naming what is wrong otherwise."""
    login = str(name or "").strip()
    if not login:
        msg = "派核实需要选择巡查员：请在“核实巡查员”中选择（接口请在 inspector 中给出巡查员的用户名）"
        raise InvalidInput(msg)
    found = get_user(ctx.store, username=login[:64])
    if found is None:
        msg = f"巡查员“{login[:64]}”不存在或已停用；请从“核实巡查员”列表中选择"
        raise InvalidInput(msg)
    if found.role != "inspector":
        msg = f"“{login[:64]}”是{found.role_label}，不是巡查员；核实只能派给巡查员"
        raise InvalidInput(msg)
    return found


def _send_verify(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    who = inspector_user(ctx, form.inspector)
    by = to_db(deadlines.due(ctx, now, ctx.settings.verify_hours))
    return Prepared(
        changes={"verifier": who.username, "verify_deadline": by},
        detail={"inspector": who.username, "verify_deadline": iso(by)},
    )


def _verdict(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    on_time = verified_on_time(row.verify_deadline, to_db(now))
    out = Prepared(
        detail={"verifier": row.verifier, "verify_deadline": iso(row.verify_deadline), "on_time": on_time}
    )
    if form.user.role == "office":
        out.detail["by_office"] = True
    return out


def _refute(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    out = _verdict(ctx, row, form, now)
    out.changes["closed_at"] = to_db(now)
    return out


def _dispatch(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    unit = dispatch_unit(ctx, row, form.unit_code)
    out = Prepared(changes={"unit_code": unit["code"], "unit_name": unit["name"]}, event_unit=unit["code"])
    if row.status == "returned":  # the first unit was not responsible: the new one gets its full time
        out.event_deadline = out.changes["deadline"] = _fresh_deadline(ctx, row, now)
        out.detail = {"redispatch": True, "returned_by": row.unit_code}
    return out


def _return(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    return Prepared(
        changes={"returns": (row.returns or 0) + 1},
        detail={"unit_code": row.unit_code},
        event_unit=row.unit_code,
    )


def _extend(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    current = row.deadline.replace(tzinfo=dt.UTC)
    if form.deadline not in (None, ""):
        new_deadline = parse_datetime(form.deadline, name="deadline", label="新的整改期限")
    elif form.hours not in (None, ""):
        new_deadline = deadlines.due(ctx, current, parse_hours(form.hours, label="延长小时数"))
    else:
        msg = "延期需要新的期限 deadline（ISO 8601）或延长的小时数 hours"
        raise InvalidInput(msg)
    if to_db(new_deadline) <= row.deadline:
        msg = "新的期限应晚于原期限"
        raise InvalidInput(msg)
    latest = min(current + dt.timedelta(days=365), LATEST)
    if new_deadline > latest:
        msg = f"一次延期最多一年，且不晚于 {LATEST.year} 年底：新的期限 deadline 应不晚于 {iso(latest)}"
        raise InvalidInput(msg)
    return Prepared(
        changes={"deadline": to_db(new_deadline), "extensions": (row.extensions or 0) + 1},
        event_deadline=to_db(new_deadline),
    )


def _park(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    until = to_db(parse_until(form.until, now=now))
    return Prepared(changes={"parked_until": until}, detail={"until": iso(until)}, event_unit=row.unit_code)


def _unpark(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    back = "dispatched"  # where the case was parked from: dispatched, or accepted by the office
    for e in _events(ctx, row):
        if e.to_status == "parked" and e.from_status in ("accepted", "dispatched"):
            back = e.from_status
    fresh = _fresh_deadline(ctx, row, now)
    return Prepared(
        changes={"parked_until": None, "deadline": fresh},
        detail={"back_to": back},
        status=back,
        event_deadline=fresh,
        event_unit=row.unit_code,
    )


def _set_urgency(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    wanted = str(form.urgency or "").strip()
    if wanted not in URGENCY_LABELS:
        choices = "、".join(f"{k}（{v}）" for k, v in URGENCY_LABELS.items())
        msg = f"紧急程度 urgency 应为 {choices} 之一，实际为“{wanted[:20]}”"
        raise InvalidInput(msg)
    current = row.urgency or "normal"
    if wanted == current:
        msg = f"问题 {row.tracking_no} 已经是“{URGENCY_LABELS[wanted]}”"
        raise InvalidInput(msg)
    hours = deadlines.hours_for(ctx, row.category, wanted)
    out = Prepared(
        changes={"urgency": wanted}, detail={"urgency": wanted, "previous": current, "hours": hours}
    )
    if row.status in PENDING_STATUSES:  # a fixed or parked case keeps its deadline
        start = _deadline_start(ctx, row).replace(tzinfo=None)
        out.event_deadline = out.changes["deadline"] = to_db(deadlines.due(ctx, start, hours))
    return out


def _urge(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    overdue = is_overdue(row.status, row.deadline, to_db(now))
    return Prepared(detail={"unit_code": row.unit_code, "overdue": overdue}, event_unit=row.unit_code)


def _counter(column: str) -> Callable[[ProblemContext, Any, ActionForm, dt.datetime], Prepared]:
    def bump(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
        return Prepared(changes={column: (getattr(row, column) or 0) + 1})

    return bump


def _closing(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    return Prepared(changes={"closed_at": to_db(now)})


Prepare = Callable[[ProblemContext, Any, ActionForm, dt.datetime], Prepared]
PREPARE: dict[str, Prepare] = {
    "send_verify": _send_verify,
    "confirm": _verdict,
    "refute": _refute,
    "reject": _closing,
    "close": _closing,
    "dispatch": _dispatch,
    "return": _return,
    "rework": _counter("reworks"),
    "extend": _extend,
    "request_extension": requests.prepare_extension,
    "request_park": requests.prepare_park,
    "approve": requests.prepare_approve,
    "refuse": requests.prepare_refuse,
    "park": _park,
    "unpark": _unpark,
    "set_urgency": _set_urgency,
    "urge": _urge,
}
