"""A unit's requests to the office: more time (申请延期) or parking the case (申请挂账), and the office's decision."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridmap.clock import human, iso, to_db
from gridmap.errors import Conflict
from gridmap.problems import deadlines, repository
from gridmap.problems.actionform import ActionForm, Prepared, parse_hours, parse_until
from gridmap.problems.context import ProblemContext
from gridmap.problems.states import REQUEST_KINDS, STATUS_LABELS


def pending(ctx: ProblemContext, row: Any) -> Any:
    """The problem's pending request row, or None."""
    return repository.pending_requests(ctx.store, [row.id]).get(row.id)


def view(request: Any) -> dict:
    """A request row as a record shows it."""
    return {
        "id": request.id,
        "kind": request.kind,
        "kind_label": REQUEST_KINDS.get(request.kind, request.kind),
        "unit_code": request.unit_code,
        "requested_by": request.requested_by,
        "at": iso(request.at),
        "at_text": human(request.at),
        "reason": request.reason,
        "hours": request.hours,
        "until": iso(request.until),
        "until_text": human(request.until),
    }


def _no_second(ctx: ProblemContext, row: Any) -> None:
    found = pending(ctx, row)
    if found is not None:
        msg = (
            f"问题 {row.tracking_no} 已有一项待审批的{REQUEST_KINDS.get(found.kind, found.kind)}申请"
            f"（{human(found.at)} 提交），请等创建办审批后再申请"
        )
        raise Conflict(msg)


def _request(row: Any, form: ActionForm, now: dt.datetime, kind: str, **values: object) -> dict:
    return {
        "kind": kind,
        "unit_code": row.unit_code,
        "requested_by": form.user.username,
        "at": to_db(now),
        "reason": form.note,
        **values,
    }


def prepare_extension(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    """申请延期: the unit asks for ``hours`` more working hours, with a reason; the status stays."""
    hours = parse_hours(form.hours, label="申请延长的小时数")
    _no_second(ctx, row)
    return Prepared(
        detail={"kind": "extend", "hours": hours},
        event_unit=row.unit_code,
        request=_request(row, form, now, "extend", hours=hours),
    )


def prepare_park(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    """申请挂账: the unit asks to park the case until a review date, with a reason; the status stays."""
    until = parse_until(form.until, now=now)
    _no_second(ctx, row)
    return Prepared(
        detail={"kind": "park", "until": iso(to_db(until))},
        event_unit=row.unit_code,
        request=_request(row, form, now, "park", until=to_db(until)),
    )


def _decided(
    ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime, verdict: str
) -> tuple[Any, dict]:
    found = pending(ctx, row)
    if found is None:
        msg = f"问题 {row.tracking_no} 没有待审批的申请"
        raise Conflict(msg)
    decision = {
        "status": verdict,
        "decided_by": form.user.username,
        "decided_at": to_db(now),
        "decision_note": form.note,
    }
    return found, decision


def prepare_approve(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    """批准申请: an extension moves the deadline by the hours asked, in working time (extensions + 1);
    a park parks the case until the review date asked."""
    found, decision = _decided(ctx, row, form, now, "approved")
    detail: dict = {"request_id": found.id, "kind": found.kind}
    if found.kind == "extend":
        new_deadline = deadlines.due(ctx, row.deadline, float(found.hours))
        detail["hours"] = found.hours
        return Prepared(
            changes={"deadline": new_deadline, "extensions": (row.extensions or 0) + 1},
            detail=detail,
            event_deadline=new_deadline,
            event_unit=row.unit_code,
            decision=decision,
        )
    if row.status != "dispatched":
        msg = f"问题 {row.tracking_no} 当前状态为“{STATUS_LABELS.get(row.status, row.status)}”，不能再挂账"
        raise Conflict(msg)
    detail["until"] = iso(found.until)
    return Prepared(
        changes={"parked_until": found.until},
        detail=detail,
        status="parked",
        event_unit=row.unit_code,
        decision=decision,
    )


def withdrawal(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime, status: str) -> dict | None:
    """The decision that closes a pending request when the case moves on without one (the unit
    fixed it, sent it back, or the office parked it): withdrawn, naming the new status; None if
    no request is pending."""
    if pending(ctx, row) is None:
        return None
    return {
        "status": "withdrawn",
        "decided_by": form.user.username,
        "decided_at": to_db(now),
        "decision_note": f"问题已{STATUS_LABELS.get(status, status)}，申请随之撤回",
    }


def prepare_refuse(ctx: ProblemContext, row: Any, form: ActionForm, now: dt.datetime) -> Prepared:
    """驳回申请: the request is refused with a note; nothing else changes."""
    found, decision = _decided(ctx, row, form, now, "refused")
    return Prepared(
        detail={"request_id": found.id, "kind": found.kind},
        event_unit=row.unit_code,
        decision=decision,
    )
