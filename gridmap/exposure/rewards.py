"""Rewards for valid citizen reports (有奖举报): points derived from the problems and their events
(a citizen's report with a phone number counts once it is filed — accepted or dispatched — and not
when refused or merged), a monthly list by phone number, payout marks, and the XLSX export."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from typing import Any

from gridmap.auth import User, may_see_personal_data
from gridmap.clock import CHINA, UTC, china, human, iso, to_db, utcnow
from gridmap.errors import Forbidden, InvalidInput
from gridmap.exposure import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import find_row, lookup
from gridmap.problems.repository import Criteria, events_and_photos, events_between, select_problems
from gridmap.problems.states import STATUS_LABELS

# Statuses of a filed case that still stands (a returned, parked or reopened case stays filed).
VALID = ("accepted", "dispatched", "returned", "parked", "rectified", "verified", "closed")
FILED_TO = ("accepted", "dispatched")  # the event that makes a report a case
REWARDED_SOURCE = "citizen"
MAX_EVENTS = 10_000_000  # a month of a county's events, read in one go
_MONTH = re.compile(r"^(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?$")


def normalise_phone(value: object) -> str | None:
    """The digits of a phone number as one key: full-width digits, spaces, dashes and a +86/0086
    prefix forgiven (``+86 138-0000-0000`` and ``13800000000`` are one person); None if none."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", str(value or "")) if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            digits = digits[len(prefix) :]
    return digits or None


def parse_month(value: object, *, now: dt.datetime | None = None) -> str:
    """A month as YYYY-MM (2026-11, 2026/11 or 2026年11月); this month in China when empty."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return china(now or utcnow()).strftime("%Y-%m")
    found = _MONTH.match(text)
    if not found or not (2000 <= int(found[1]) <= 2100 and 1 <= int(found[2]) <= 12):
        msg = f"月份 month 应写成 2026-11 或 2026年11月，实际为“{text[:20]}”"
        raise InvalidInput(msg)
    return f"{int(found[1]):04d}-{int(found[2]):02d}"


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of ``month`` and of the next one, in China time (aware)."""
    year, number = (int(x) for x in month.split("-"))
    start = dt.datetime(year, number, 1, tzinfo=CHINA)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=CHINA)
    return start, end


def filed_at(events: list) -> dt.datetime | None:
    """When a report became a case (naive UTC): its first event into accepted or dispatched."""
    return next((e.at for e in events if e.to_status in FILED_TO), None)


def _month_of(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=UTC).astimezone(CHINA).strftime("%Y-%m")


def _office(user: User | None) -> User:
    if not may_see_personal_data(user):
        msg = "有奖举报的发放清单含举报人电话，只有创建办可以查看、标记发放和导出"
        raise Forbidden(msg)
    assert user is not None
    return user


def valid_reports(ctx: ProblemContext, *, month: str) -> list[dict]:
    """Citizens' reports with a phone number first filed in ``month`` that still stand, by id.

    Only the month's events are read to find candidates, then the full history of those alone:
    the cost follows the month's activity, not the size of the archive."""
    start, end = month_bounds(month)
    low, high = to_db(start), to_db(end)
    month_events = events_between(ctx.store, start=start, end=end, limit=MAX_EVENTS)
    candidates = sorted({e.problem_id for e in month_events if e.to_status in FILED_TO and e.at < high})
    rows: list = []
    for chunk in range(0, len(candidates), 5000):
        criteria = Criteria(
            equal=(("source", REWARDED_SOURCE),),
            among=(("status", VALID), ("id", candidates[chunk : chunk + 5000])),
        )
        rows += [
            r
            for r in select_problems(ctx.store, criteria, order=("id",))
            if normalise_phone(r.reporter_phone)
        ]
    events, _ = events_and_photos(ctx.store, [r.id for r in rows])
    out = []
    for r in rows:
        at = filed_at(events.get(r.id, []))
        if at is not None and low <= at < high:
            out.append({"row": r, "filed_at": at, "phone_key": normalise_phone(r.reporter_phone)})
    return out


def monthly(ctx: ProblemContext, *, user: User | None, month: object, now: dt.datetime | None = None) -> dict:
    """The month's rewards by phone number (office only): reports, points due, paid and unpaid."""
    _office(user)
    name = parse_month(month, now=now)
    points = ctx.settings.reward_points
    found = valid_reports(ctx, month=name)
    paid = repository.payouts_for(ctx.store, [f["row"].id for f in found])
    people: dict[str, dict[str, Any]] = {}
    for f in found:
        r = f["row"]
        person = people.setdefault(
            f["phone_key"],
            {
                "phone": f["phone_key"],
                "name": None,
                "reports": [],
                "points": 0,
                "paid_points": 0,
                "paid_at": None,
            },
        )
        mark = paid.get(r.id)
        worth = mark.points if mark is not None else points
        person["name"] = r.reporter_name or person["name"]
        person["points"] += worth
        person["paid_points"] += worth if mark is not None else 0
        if mark is not None and (person["paid_at"] is None or mark.paid_at > person["paid_at"]):
            person["paid_at"] = mark.paid_at
        person["reports"].append(
            {
                "tracking_no": r.tracking_no,
                "filed_at": iso(f["filed_at"]),
                "filed_at_text": human(f["filed_at"]),
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "points": worth,
                "paid": mark is not None,
            }
        )
    listed = []
    for person in sorted(people.values(), key=lambda p: (-p["points"], p["phone"])):
        due = person["points"] - person["paid_points"]
        label = "已发放" if due == 0 else ("待发放" if person["paid_points"] == 0 else "部分发放")
        listed.append(
            {
                **person,
                "count": len(person["reports"]),
                "unpaid_points": due,
                "state": label,
                "paid_at": iso(person["paid_at"]),
                "paid_at_text": human(person["paid_at"]),
            }
        )
    return {
        "month": name,
        "points_per_report": points,
        "people": listed,
        "reports": len(found),
        "points": sum(p["points"] for p in listed),
        "unpaid_points": sum(p["unpaid_points"] for p in listed),
    }


def pay(
    ctx: ProblemContext,
    *,
    user: User | None,
    month: object,
    phone: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """Mark the month's unpaid reports as paid: of one phone number, or all of them without ``phone``."""
    who = _office(user)
    name = parse_month(month, now=now)
    key = normalise_phone(phone) if phone not in (None, "") else None
    if phone not in (None, "") and key is None:
        msg = f"电话 phone “{str(phone)[:20]}”中没有数字，请从发放清单中选择"
        raise InvalidInput(msg)
    found = [f for f in valid_reports(ctx, month=name) if key is None or f["phone_key"] == key]
    if key is not None and not found:
        msg = f"{name} 没有电话为 {key} 的有效举报，请核对月份和电话"
        raise InvalidInput(msg)
    points = ctx.settings.reward_points
    marks = [
        {"problem_id": f["row"].id, "month": name, "phone_key": f["phone_key"], "points": points}
        for f in found
    ]
    done = repository.mark_paid(ctx.store, marks=marks, user=who.username, now=to_db(now or utcnow()))
    return {"month": name, "phone": key, "marked": done, "points": done * points}


def report_points(ctx: ProblemContext, text: object, *, now: dt.datetime | None = None) -> dict:
    """The points of one report, looked up by its tracking number (public: never the phone)."""
    row = find_row(ctx, lookup(ctx, text))
    out: dict[str, Any] = {
        "tracking_no": row.tracking_no,
        "status": row.status,
        "status_label": STATUS_LABELS.get(row.status, row.status),
        "valid": False,
        "points": 0,
        "paid": False,
        "month": None,
    }
    if row.source != REWARDED_SOURCE:
        return {**out, "message": "这条问题不是群众上报的（如巡查员发现），不计有奖举报积分"}
    if not normalise_phone(row.reporter_phone):
        return {**out, "message": "上报时没有留联系电话，无法计入有奖举报积分"}
    if row.status in ("rejected", "merged"):
        reason = "不予立案" if row.status == "rejected" else "与其他问题重复，已合并"
        return {**out, "message": f"这条上报{reason}，不计积分"}
    events, _ = events_and_photos(ctx.store, [row.id])
    at = filed_at(events.get(row.id, []))
    if row.status not in VALID or at is None:
        return {**out, "message": "这条上报还在受理中：立案（或派遣）后即计入积分"}
    mark = repository.payouts_for(ctx.store, [row.id]).get(row.id)
    points = mark.points if mark is not None else ctx.settings.reward_points
    month = _month_of(at)
    paid = f"，已于 {human(mark.paid_at)} 发放" if mark is not None else "，待创建办按月发放"
    return {
        **out,
        "valid": True,
        "points": points,
        "paid": mark is not None,
        "month": month,
        "filed_at": iso(at),
        "message": f"有效举报：{human(at)} 立案，计 {points} 分（计入 {month} 月度奖励{paid}）",
    }


def _safe(value: object) -> object:
    """Keep spreadsheet programs from running cell text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(listing: dict) -> bytes:
    """The month's list as a workbook: one row per phone number, then one per report."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{listing['month']} 有奖举报"
    sheet.append(["联系电话", "上报人", "有效举报数", "积分", "已发放积分", "待发放积分", "状态", "发放时间"])
    for person in listing["people"]:
        row = [person["phone"], person["name"] or "", person["count"], person["points"]]
        row += [person["paid_points"], person["unpaid_points"], person["state"], person["paid_at_text"] or ""]
        sheet.append([_safe(v) for v in row])
    detail = book.create_sheet("举报明细")
    detail.append(["联系电话", "受理编号", "立案时间", "状态", "积分", "是否已发放"])
    for person in listing["people"]:
        for rep in person["reports"]:
            row = [
                person["phone"],
                rep["tracking_no"],
                rep["filed_at_text"],
                rep["status_label"],
                rep["points"],
            ]
            detail.append([_safe(v) for v in [*row, "是" if rep["paid"] else "否"]])
    for ws in (sheet, detail):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for column in "ABCDEFGH":
            ws.column_dimensions[column].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
