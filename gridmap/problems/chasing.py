"""The periodic chase: reminders before a deadline, overdue notices, escalation to leaders, follow-ups, digests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from gridmap.accounts import repository as accounts
from gridmap.clock import china, to_db, utcnow
from gridmap.notify import repository as outbox
from gridmap.notify.notice import Notice
from gridmap.problems import deadlines, repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.notices import describe, when
from gridmap.problems.states import OPEN_STATUSES, PENDING_STATUSES

__all__ = ["scan"]

DIGEST_LIST = 5  # overdue tracking numbers named in a digest


def _codes(row: Any) -> set[str]:
    return {c.strip() for c in str(row.leader_codes or "").split(",") if c.strip()}


def _notice(row: Any, event: str, message: str, recipients: Iterable[str], key: str) -> Notice:
    return Notice(
        event=event,
        message=message,
        recipients=tuple(sorted(set(recipients))),
        problem_id=int(row.id),
        tracking_no=row.tracking_no,
        unit_code=row.unit_code,
        dedupe=key,
    )


class _People:
    """Usernames by role, unit and leader code, each asked of the store once per scan."""

    def __init__(self, ctx: ProblemContext) -> None:
        self.ctx = ctx
        self._units: dict[str, list[str]] = {}
        self._office: list[str] | None = None
        self.leaders = accounts.leaders(ctx.store)

    def office(self) -> list[str]:
        if self._office is None:
            self._office = accounts.active_usernames(self.ctx.store, roles=("office",))
        return self._office

    def unit(self, code: str | None) -> list[str]:
        if not code:
            return []
        if code not in self._units:
            self._units[code] = accounts.active_usernames(self.ctx.store, roles=("unit",), unit_code=code)
        return self._units[code]

    def leaders_of(self, codes: set[str]) -> list[str]:
        return [name for name, code in self.leaders if code in codes]


def _deadline_notices(ctx: ProblemContext, rows: list[Any], at: dt.datetime, people: _People) -> list[Notice]:
    s = ctx.settings
    out: list[Notice] = []
    soon_end = deadlines.due(ctx, at, s.due_soon_hours) if s.due_soon_hours > 0 else None
    for row in rows:
        if row.status not in PENDING_STATUSES or row.deadline is None:
            continue
        stamp = row.deadline.strftime("%Y%m%dT%H%M")
        due_text = when(row.deadline)
        # a unit hears of a deadline once the case is handed to it; before that the office does
        who = (people.unit(row.unit_code) if row.status == "dispatched" else []) or people.office()
        if row.deadline > at:
            if soon_end is not None and row.deadline <= soon_end:
                message = f"{describe(ctx, row)}将于 {due_text} 到期，请抓紧办理。"
                out.append(_notice(row, "due_soon", message, who, f"due_soon:{row.id}:{stamp}"))
            continue
        unit = row.unit_name or "责任单位"
        message = f"{describe(ctx, row)}已逾期（期限 {due_text}），请{unit}尽快办理并反馈。"
        out.append(_notice(row, "overdue", message, [*who, *people.office()], f"overdue:{row.id}:{stamp}"))
        if deadlines.due(ctx, row.deadline, s.escalate_hours) <= at:
            leaders = people.leaders_of(_codes(row))
            if leaders:
                message = (
                    f"{describe(ctx, row)}逾期已超过 {s.escalate_hours:g} 个工作小时（期限 {due_text}，"
                    f"责任单位：{unit}），请督办。"
                )
                out.append(_notice(row, "escalated", message, leaders, f"escalated:{row.id}:{stamp}"))
    return out


def _followup_notices(ctx: ProblemContext, at: dt.datetime, people: _People) -> list[Notice]:
    s = ctx.settings
    rows = repository.select_problems(
        ctx.store, repository.Criteria(equal=(("status", "closed"), ("satisfaction", None)))
    )
    due_before = at - dt.timedelta(days=s.followup_due_days)
    out = []
    for row in rows:
        if not row.reporter_phone or row.closed_at is None or row.closed_at > due_before:
            continue
        message = (
            f"{describe(ctx, row)}已于 {when(row.closed_at)} 结案，反映人 {s.followup_due_days:g} 天内未评价，"
            "请电话回访并记录满意度。"
        )
        out.append(_notice(row, "followup_due", message, people.office(), f"followup_due:{row.id}"))
    return out


def _digest_notices(ctx: ProblemContext, rows: list[Any], at: dt.datetime, people: _People) -> list[Notice]:
    s = ctx.settings
    if not s.digest_at or not people.leaders:
        return []
    local = china(at)
    hour, minute = (int(x) for x in s.digest_at.split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return []
    day = local.date()
    tomorrow = at + dt.timedelta(hours=24)
    out = []
    for username, code in people.leaders:
        mine = [r for r in rows if code in _codes(r)]
        pending = [r for r in mine if r.status in PENDING_STATUSES and r.deadline is not None]
        late = sorted((r for r in pending if r.deadline <= at), key=lambda r: r.deadline)
        soon = [r for r in pending if at < r.deadline <= tomorrow]
        if mine:
            named = "、".join(r.tracking_no for r in late[:DIGEST_LIST]) + (
                "等" if len(late) > DIGEST_LIST else ""
            )
            message = (
                f"{day.month}月{day.day}日网格问题汇总：您包片的网格共有未办结问题 {len(mine)} 件，"
                f"其中逾期 {len(late)} 件{'（' + named + '）' if late else ''}，24 小时内到期 {len(soon)} 件。"
            )
        else:
            message = f"{day.month}月{day.day}日网格问题汇总：您包片的网格目前没有未办结的问题。"
        out.append(
            Notice(
                event="digest",
                message=message,
                recipients=(username,),
                dedupe=f"digest:{username}:{day.isoformat()}",
                extra={
                    "open": len(mine),
                    "overdue": len(late),
                    "due_24h": len(soon),
                    "date": day.isoformat(),
                },
            )
        )
    return out


def scan(ctx: ProblemContext, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Put the notices that are due now in the outbox; each at most once (by its dedupe key).

    Overdue and escalation keys carry the deadline, so an extension arms them again. Returns
    how many new notices of each event were enqueued.
    """
    at = to_db(now or utcnow())
    people = _People(ctx)
    rows = repository.select_problems(ctx.store, repository.Criteria(among=(("status", OPEN_STATUSES),)))
    found = [
        *_deadline_notices(ctx, rows, at, people),
        *_followup_notices(ctx, at, people),
        *_digest_notices(ctx, rows, at, people),
    ]
    seen = outbox.known_keys(ctx.store, [n.dedupe for n in found if n.dedupe])
    fresh = [n for n in found if n.dedupe not in seen and (n.recipients or n.phone)]
    outbox.add(ctx.store, fresh, now=at)
    counts: dict[str, int] = {}
    for notice in fresh:
        counts[notice.event] = counts.get(notice.event, 0) + 1
    return counts
