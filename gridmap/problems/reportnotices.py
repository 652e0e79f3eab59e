"""The notice a new report causes: the office hears of every report, of an urgent one by email and webhook too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gridmap.accounts import repository as accounts
from gridmap.notify.notice import Notice
from gridmap.problems.context import ProblemContext
from gridmap.problems.notices import ROLE_WORDS, describe, when
from gridmap.problems.states import SOURCES

__all__ = ["EXCERPT_CHARS", "for_report", "office_users"]

EXCERPT_CHARS = 40  # how much of the description a notice quotes


def office_users(ctx: ProblemContext) -> list[str]:
    """The office's active users, who are told of every new report."""
    return accounts.active_usernames(ctx.store, roles=("office",))


def for_report(
    ctx: ProblemContext,
    row: Any,
    *,
    event: Mapping[str, object],
    office: Sequence[str] | None = None,
) -> list[Notice]:
    """The notices a new report causes: its stored row (with id and tracking number) and its event.

    Every active office user but the reporter is told in the app (event ``reported``). An urgent
    report also goes out by email and webhook, even when no office user has an account, so the
    county's group chat hears of it; a normal one stays in the app (``external=False``) so the
    office's mailbox and group robot are not flooded with every report of the day. ``office``:
    the office's usernames when looked up already (before the write transaction).
    """
    actor = str(event.get("actor") or "")
    people = tuple(sorted({u for u in (office_users(ctx) if office is None else office) if u != actor}))
    urgent = getattr(row, "urgency", None) == "urgent"
    if not people and not urgent:
        return []
    role = str(event.get("actor_role") or "")
    source = SOURCES.get(str(getattr(row, "source", "") or ""), "")
    who = f"{ROLE_WORDS.get(role, '')}{actor}" if actor and role in ROLE_WORDS else (source or "市民")
    text = " ".join(str(getattr(row, "description", "") or "").split())
    quote = f"：“{text[:EXCERPT_CHARS]}{'……' if len(text) > EXCERPT_CHARS else ''}”" if text else ""
    unit = getattr(row, "unit_name", None)
    named = describe(ctx, row)
    owner = f"按位置应由{unit}办理" if unit else "未能按位置确定责任单位"
    shop = getattr(row, "shop_name", None)
    if shop:  # 门前五包: the shop was told first, its segment's unit supervises
        owner = f"在商户“{shop}”门前五包范围内，已交办商户，由包段单位{unit or ''}督促"
    if urgent:
        message = (
            f"紧急上报：{who}上报了{named}{quote}。{owner}，"
            f"请立即核实派遣，期限 {when(getattr(row, 'deadline', None))}。"
        )
    else:
        message = f"新上报：{who}上报了{named}{quote}。{owner}，请及时核实受理。"
    unit_code = getattr(row, "unit_code", None)
    return [
        Notice(
            event="reported",
            message=message,
            recipients=people,
            problem_id=int(row.id),
            tracking_no=str(row.tracking_no),
            unit_code=str(unit_code) if unit_code else None,
            external=urgent,
        )
    ]
