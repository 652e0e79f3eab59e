"""Who hears of a workflow action and what they are told: the notices an action puts in the outbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from gridmap.accounts import repository as accounts
from gridmap.clock import china
from gridmap.notify.notice import Notice
from gridmap.problems.context import ProblemContext

__all__ = ["ROLE_WORDS", "describe", "for_action", "when"]

ROLE_WORDS = {"office": "创建办", "leader": "包片领导", "unit": "责任单位", "inspector": "巡查员"}


def when(moment: object) -> str:
    """A stored time as people read it: 12月1日 09:30 (China time)."""
    if not isinstance(moment, dt.datetime):
        return "（未定）"
    local = china(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def describe(ctx: ProblemContext, row: Any) -> str:
    """A problem as a notice names it: 问题 FX20261127-0001（垃圾暴露，滨江路）."""
    place = row.address or row.grid_name or row.town_name or ""
    return (
        f"问题 {row.tracking_no}（{ctx.categories.name(row.category)}{'，' + str(place) if place else ''}）"
    )


def _day(value: object) -> str | None:
    """A date given as an ISO text or datetime, as people read it: 2027年3月1日."""
    moment: object = value
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value[:20]
    if not isinstance(moment, dt.datetime):
        return None
    local = china(moment)
    return f"{local.year}年{local.month}月{local.day}日"


def _detail(event: Mapping[str, object]) -> dict:
    raw = event.get("detail")
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _office(ctx: ProblemContext) -> list[str]:
    return accounts.active_usernames(ctx.store, roles=("office",))


def _unit(ctx: ProblemContext, unit_code: object) -> list[str]:
    if not unit_code:
        return []
    return accounts.active_usernames(ctx.store, roles=("unit",), unit_code=str(unit_code))


def for_action(
    ctx: ProblemContext,
    row: Any,
    *,
    event: Mapping[str, object],
    changes: Mapping[str, object],
    now: dt.datetime,
) -> list[Notice]:
    """The notices one action on a problem (its stored row before, its event and changes) causes.

    Written in the same transaction as the event (see repository.apply_action). The one who
    acted is never told of their own action.
    """
    del now
    action = str(event.get("action") or "")
    detail = _detail(event)
    actor = str(event.get("actor") or "")
    who = f"{ROLE_WORDS.get(str(event.get('actor_role') or ''), '')}{actor}" if actor else "市民"
    note = str(event.get("note") or "").strip()
    because = f"，理由：{note}" if note else ""
    tn = row.tracking_no
    unit_code = changes.get("unit_code") or row.unit_code
    unit_name = changes.get("unit_name") or row.unit_name or unit_code or "责任单位"
    deadline = changes.get("deadline") or row.deadline
    what = describe(ctx, row)
    out: list[Notice] = []

    def tell(kind: str, message: str, recipients: list[str], **more: Any) -> None:
        people = tuple(sorted({r for r in recipients if r and r != actor}))
        if people or more.get("phone"):
            out.append(
                Notice(
                    event=kind,
                    message=message,
                    recipients=people,
                    problem_id=int(row.id),
                    tracking_no=tn,
                    unit_code=str(unit_code) if unit_code else None,
                    **more,
                )
            )

    if action == "dispatch":
        shop = getattr(row, "shop_name", None)
        task = (
            f"已交办商户“{shop}”（门前五包），请包段单位{unit_name}督促商户"
            if shop
            else f"已交办给{unit_name}，请"
        )
        tell("dispatched", f"{what}{task}在 {when(deadline)} 前办理。", _unit(ctx, unit_code))
    elif action == "return":
        tell("returned", f"{unit_name}回退了{what}{because}。请核对后重新派遣。", _office(ctx))
    elif action == "request_extension":
        hours = detail.get("hours")
        asked = f"延期 {hours:g} 个工作小时" if isinstance(hours, int | float) else "延期"
        tell("extension_requested", f"{unit_name}申请{what}{asked}{because}。请审批。", _office(ctx))
    elif action == "request_park":
        until = _day(detail.get("until"))
        asked = f"挂账至 {until}" if until else "挂账"
        tell("park_requested", f"{unit_name}申请{what}{asked}{because}。请审批。", _office(ctx))
    elif action in ("approve", "refuse"):
        kind = {"extend": "延期", "park": "挂账"}.get(str(detail.get("kind") or ""), "")
        verdict = "批准" if action == "approve" else "驳回"
        after = f"，现期限为 {when(deadline)}" if action == "approve" and kind == "延期" else ""
        tell(
            "request_decided", f"创建办{verdict}了{what}的{kind}申请{after}{because}。", _unit(ctx, unit_code)
        )
    elif action == "urge":
        tell(
            "urged",
            f"{who}催办{what}：{note or '请抓紧办理'}。期限 {when(deadline)}。",
            _unit(ctx, unit_code),
        )
    elif action == "close":
        message = f"您反映的{what}已办结，感谢您的监督。如问题仍未解决，可在查询页面反馈“没解决”。"
        if row.reporter_phone:
            tell("closed", message, [], phone=str(row.reporter_phone))
        if row.reported_by:
            tell("closed", message, [row.reported_by])
    elif action in ("rework", "reopen"):
        kind, verb = (
            ("reworked", "需要返工") if action == "rework" else ("reopened", "已重新打开（市民反馈未解决）")
        )
        tell(kind, f"{what}{verb}{because}。请在 {when(deadline)} 前办理。", _unit(ctx, unit_code))
    elif action == "send_verify":
        inspector = changes.get("verifier") or detail.get("inspector") or detail.get("verifier")
        due = changes.get("verify_deadline") or row.verify_deadline
        tell("verify_assigned", f"请到现场核实{what}，{when(due)} 前反馈核实结果。", [str(inspector or "")])
    elif action in ("confirm", "refute"):
        verdict = "属实" if action == "confirm" else "不实"
        tell("verified_report", f"{who}核实{what}：{verdict}{because}。", _office(ctx))
    elif action == "park":
        until = _day(detail.get("until") or changes.get("parked_until"))
        tell("parked", f"{what}已挂账{'至 ' + until if until else ''}{because}。", _unit(ctx, unit_code))
    elif action == "unpark":
        tell("unparked", f"{what}已恢复办理，请在 {when(deadline)} 前办理{because}。", _unit(ctx, unit_code))
    elif action == "set_urgency" and "deadline" in changes and row.status == "dispatched":
        level = {"urgent": "紧急", "normal": "一般"}.get(str(detail.get("urgency") or ""), "")
        tell(
            "urgency_changed",
            f"{what}调整为{level}件，期限改为 {when(deadline)}{because}。",
            _unit(ctx, unit_code),
        )
    elif action == "extend":
        tell("request_decided", f"{what}的期限已延至 {when(deadline)}{because}。", _unit(ctx, unit_code))
    return out
