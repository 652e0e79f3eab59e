"""Test history files: N past cases with known outcomes, as XLSX or CSV, and the figures they must give.

The cases lie in the two grids of the tiny dataset (tests/factory.py), every time of a case inside
one month (China time), so that counting by report time or by event time agrees. Every case has
an explicit deadline (处置期限), so no working-time calendar enters the expected figures, which
`expected_by_grid` counts in plain Python from the generated cases, independently of gridmap.

    cases = make_cases(3000, month="2026-10")
    write_history(tmp_path / "history.xlsx", cases)            # Chinese headers, Excel datetimes
    write_history(tmp_path / "history.csv", cases, headers="en", encoding="gbk")
    expected = expected_by_grid(cases)  # {"610330100001": {"reports": …, "closed_on_time": …}, …}
    tally = tally_by_grid(cases)  # plain totals of the file, per grid
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import openpyxl

# grid code -> (min lon, max lon); both grids span lat 33.905–33.915 (a margin kept off the edges)
GRIDS = {"610330100001": (106.5105, 106.5195), "610330100002": (106.5205, 106.5295)}
LAT_RANGE = (33.9055, 33.9145)
INSPECTORS = ("xuncha1", "xuncha2")
CATEGORIES = ("garbage", "stall", "road_dirty", "flyposting", "streetlight")
HEADERS = {  # column -> (Chinese header, English header)
    "tracking_no": ("受理编号", "tracking_no"),
    "reported_at": ("上报时间", "reported_at"),
    "category": ("问题类别", "category"),
    "lon": ("经度", "lon"),
    "lat": ("纬度", "lat"),
    "source": ("来源", "source"),
    "status": ("状态", "status"),
    "filed_at": ("立案时间", "filed_at"),
    "dispatched_at": ("派遣时间", "dispatched_at"),
    "handled_at": ("处置时间", "handled_at"),
    "closed_at": ("结案时间", "closed_at"),
    "deadline": ("处置期限", "deadline"),
    "reworks": ("返工次数", "reworks"),
    "extensions": ("延期次数", "extensions"),
    "parked": ("挂账", "parked"),
    "reported_by": ("上报人", "reported_by"),
}
STATUS_WORDS = {  # status -> (Chinese, English)
    "reported": ("已上报", "reported"),
    "accepted": ("已立案", "accepted"),
    "dispatched": ("已派遣", "dispatched"),
    "parked": ("已挂账", "parked"),
    "rectified": ("已整改", "rectified"),
    "closed": ("已结案", "closed"),
    "rejected": ("不予立案", "rejected"),
}
SOURCE_WORDS = {"citizen": ("市民", "citizen"), "inspector": ("巡查员", "inspector")}
# how often each outcome occurs (weights)
OUTCOMES = {
    "closed": 55,
    "rectified": 6,
    "dispatched": 14,
    "parked": 6,
    "accepted": 6,
    "reported": 6,
    "rejected": 7,
}


@dataclass
class HistoryCase:
    """One past case; times are naive China time."""

    tracking_no: str
    grid_code: str
    lon: float
    lat: float
    category: str
    source: str
    status: str
    reported_at: dt.datetime
    filed_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None
    deadline: dt.datetime
    reworks: int
    extensions: int
    parked: bool
    reported_by: str | None = None  # the inspector's login, for inspector cases


def make_cases(n: int, *, month: str = "2026-10", seed: int = 13, prefix: str = "HX") -> list[HistoryCase]:
    """``n`` cases reported in ``month`` (YYYY-MM), every time of each inside that month."""
    rng = random.Random(seed)
    year, mon = (int(p) for p in month.split("-"))
    start = dt.datetime(year, mon, 1)
    statuses, weights = list(OUTCOMES), list(OUTCOMES.values())
    out = []
    for i in range(n):
        grid = rng.choice(sorted(GRIDS))
        lon = round(rng.uniform(*GRIDS[grid]), 6)
        lat = round(rng.uniform(*LAT_RANGE), 6)
        status = rng.choices(statuses, weights)[0]
        reported = start + dt.timedelta(
            days=rng.randrange(0, 20), hours=rng.randrange(8, 18), minutes=rng.randrange(60)
        )
        filed = dispatched = handled = closed = None
        if status not in ("reported", "rejected"):
            filed = reported + dt.timedelta(minutes=rng.randrange(10, 120))
        if status in ("dispatched", "parked", "rectified", "closed"):
            dispatched = filed + dt.timedelta(minutes=rng.randrange(10, 240))  # type: ignore[operator]
        if status == "parked" and rng.random() < 0.3:
            dispatched = None  # parked straight after filing
        if status in ("rectified", "closed"):
            handled = dispatched + dt.timedelta(hours=rng.randrange(2, 120))  # type: ignore[operator]
        if status == "closed":
            closed = handled + dt.timedelta(hours=rng.randrange(1, 24))  # type: ignore[operator]
        extensions = rng.choice((0, 0, 0, 1, 2)) if dispatched is not None else 0
        deadline = reported + dt.timedelta(hours=rng.choice((24, 48, 72)) + 48 * extensions)
        reworks = rng.choice((0, 0, 0, 1, 2)) if handled is not None else 0
        source = rng.choice(("citizen", "citizen", "inspector"))
        out.append(
            HistoryCase(
                tracking_no=f"{prefix}{year}{mon:02d}{i:05d}",
                grid_code=grid,
                lon=lon,
                lat=lat,
                category=rng.choice(CATEGORIES),
                source=source,
                status=status,
                reported_at=reported,
                filed_at=filed,
                dispatched_at=dispatched,
                handled_at=handled,
                closed_at=closed,
                deadline=deadline,
                reworks=reworks,
                extensions=extensions,
                parked=status == "parked",
                reported_by=rng.choice(INSPECTORS) if source == "inspector" else None,
            )
        )
    return out


def _cell(case: HistoryCase, column: str, *, english: bool, text_times: bool):
    value = getattr(case, column)
    if column == "status":
        return STATUS_WORDS[value][english]
    if column == "source":
        return SOURCE_WORDS[value][english]
    if column == "parked":
        return ("yes" if value else "no") if english else ("是" if value else "否")
    if isinstance(value, dt.datetime) and text_times:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def write_history(
    path: str | Path, cases: list[HistoryCase], *, headers: str = "zh", encoding: str = "utf-8"
) -> Path:
    """Write the cases as XLSX (times as Excel datetimes) or CSV (times as text, in ``encoding``)."""
    path = Path(path)
    english = headers == "en"
    columns = list(HEADERS)
    head = [HEADERS[c][english] for c in columns]
    if path.suffix.lower() == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "案件"
        sheet.append(head)
        for case in cases:
            sheet.append([_cell(case, c, english=english, text_times=False) for c in columns])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
        book.save(path)
        return path
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(head)
        for case in cases:
            writer.writerow(
                [
                    "" if v is None else v
                    for v in (_cell(case, c, english=english, text_times=True) for c in columns)
                ]
            )
    return path


def tally_by_grid(cases: list[HistoryCase]) -> dict[str, Counter]:
    """Per grid, plain totals of what the file holds: reports, filed, dispatched, handled, closed,
    parked, rejected, reworks and extensions (sums), citizen and inspector reports."""
    out: dict[str, Counter] = {g: Counter() for g in sorted(GRIDS)}
    for c in cases:
        g = out[c.grid_code]
        g["reports"] += 1
        g["filed"] += c.filed_at is not None
        g["dispatched"] += c.dispatched_at is not None
        g["handled"] += c.handled_at is not None
        g["closed"] += c.status == "closed"
        g["parked"] += c.parked
        g["rejected"] += c.status == "rejected"
        g["reworks"] += c.reworks
        g["extensions"] += c.extensions
        g[c.source] += 1
    return out


def month_end(cases: list[HistoryCase]) -> dt.datetime:
    """The first moment (China time) after the month of the cases."""
    first = min(c.reported_at for c in cases)
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0)


def expected_by_grid(
    cases: list[HistoryCase], *, as_of: dt.datetime | None = None, step_hours: float = 24
) -> dict[str, dict[str, int]]:
    """Per grid, the counts of EVALUATION.md (named as gridmap.evaluation.indicators.COUNTS) of
    the cases reported in the month, as they stand at ``as_of`` (naive China time; default:
    `month_end`), parked cases left out of every "due" count; filing, dispatch and check are on
    time within ``step_hours`` (scoring.toml's filing_hours, dispatch_hours, check_hours), counted
    in plain hours. No case is voided or returned, none is sent to verify or followed up.
    Also ``rejected``, ``inspector_reports`` and the inspector-found count ``inspector_filed``."""
    as_of = as_of or month_end(cases)
    step = dt.timedelta(hours=step_hours)
    out: dict[str, dict[str, int]] = {}
    for c in sorted(cases, key=lambda c: c.tracking_no):
        g = out.setdefault(c.grid_code, Counter())  # type: ignore[arg-type]
        filed = c.filed_at is not None or c.dispatched_at is not None
        filed_at = c.filed_at or c.dispatched_at
        citizen = c.source == "citizen"
        due_dispatch = filed and not c.parked and (c.dispatched_at is not None or filed_at + step < as_of)  # type: ignore[operator]
        handled = c.handled_at is not None
        due = filed and not c.parked and (handled or c.deadline < as_of)
        check_at = c.closed_at if c.status == "closed" else None  # the verification before closing
        checks_due = due and handled and (check_at is not None or c.handled_at + step < as_of)  # type: ignore[operator]
        counts = {
            "reports": 1,
            "citizen_reports": citizen,
            "inspector_reports": c.source == "inspector",
            "rejected": c.status == "rejected",
            "filed": filed,
            "citizen_filed": filed and citizen,
            "inspector_filed": filed and c.source == "inspector",
            "filed_valid": filed,
            "filed_on_time": filed and filed_at - c.reported_at <= step,  # type: ignore[operator]
            "due_dispatch": due_dispatch,
            "dispatched": due_dispatch and c.dispatched_at is not None,
            "dispatched_on_time": due_dispatch
            and c.dispatched_at is not None
            and c.dispatched_at - filed_at <= step,  # type: ignore[operator]
            "dispatched_accurately": due_dispatch,
            "due_handling": due,
            "handled": due and handled,
            "handled_on_time": due and handled and c.handled_at <= c.deadline,  # type: ignore[operator]
            "due_closure": due,
            "closed": due and c.status == "closed",
            "closed_on_time": due and c.status == "closed" and c.closed_at <= c.deadline,  # type: ignore[operator]
            "reworks": c.reworks if due else 0,
            "reworked": due and c.reworks > 0,
            "extensions": c.extensions if due else 0,
            "extended": due and c.extensions > 0,
            "overdue_pending": filed and not c.parked and not handled and c.deadline < as_of,
            "parked": c.parked,
            "checks_due": checks_due,
            "checked_on_time": checks_due and check_at is not None and check_at - c.handled_at <= step,  # type: ignore[operator]
            "verifications_due": 0,
            "verified_on_time": 0,
            "followups": 0,
            "satisfied": 0,
        }
        for key, value in counts.items():
            g[key] += int(value)
    return {grid: dict(figures) for grid, figures in sorted(out.items())}
