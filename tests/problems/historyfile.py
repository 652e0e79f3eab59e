"""Test history files: N past cases with known outcomes, as XLSX or CSV, and the figures they must give.

The cases lie in the two grids of the tiny dataset (tests/factory.py), every time of a case inside
one month (China time), so that counting by report time or by event time agrees. Every case has
an explicit deadline (处置期限), so no working-time calendar enters the expected figures, which
`expected_by_grid` counts in plain Python from the generated cases, independently of gridmap.

    cases = make_cases(3000, month="2026-10")
    write_history(tmp_path / "history.xlsx", cases)            # Chinese headers, Excel datetimes
    write_history(tmp_path / "history.csv", cases, headers="en", encoding="gbk")
    expected = expected_by_grid(cases)  # {"610330100001": {"reports": …, "closed_on_time": …}, …}
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import openpyxl

# grid code -> (min lon, max lon); both grids span lat 33.905–33.915 (a margin kept off the edges)
GRIDS = {"610330100001": (106.5105, 106.5195), "610330100002": (106.5205, 106.5295)}
LAT_RANGE = (33.9055, 33.9145)
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
        out.append(
            HistoryCase(
                tracking_no=f"{prefix}{year}{mon:02d}{i:05d}",
                grid_code=grid,
                lon=lon,
                lat=lat,
                category=rng.choice(CATEGORIES),
                source=rng.choice(("citizen", "citizen", "inspector")),
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


def expected_by_grid(
    cases: list[HistoryCase], *, as_of: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """Per grid, counted in plain Python: reports, filed, dispatched, handled (and on time: handled
    by the deadline), closed (and on time), rejected, parked, reworks and extensions (their sums,
    and the cases with any), citizen and inspector reports, and overdue_pending: not handled, not
    parked nor rejected, and past the deadline at ``as_of`` (naive China time; default: the first
    moment after the month of the first case)."""
    if as_of is None and cases:
        first = min(c.reported_at for c in cases)
        as_of = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0)
    keys = [
        "reports",
        "filed",
        "dispatched",
        "handled",
        "handled_on_time",
        "closed",
        "closed_on_time",
        "rejected",
        "parked",
        "reworks",
        "reworked",
        "extensions",
        "extended",
        "citizen",
        "inspector",
        "overdue_pending",
    ]
    out: dict[str, dict[str, int]] = {g: dict.fromkeys(keys, 0) for g in sorted(GRIDS)}
    for c in cases:
        g = out[c.grid_code]
        g["reports"] += 1
        g["filed"] += c.filed_at is not None
        g["dispatched"] += c.dispatched_at is not None
        g["handled"] += c.handled_at is not None
        g["handled_on_time"] += c.handled_at is not None and c.handled_at <= c.deadline
        g["closed"] += c.status == "closed"
        g["closed_on_time"] += c.status == "closed" and c.closed_at is not None and c.closed_at <= c.deadline
        g["rejected"] += c.status == "rejected"
        g["parked"] += c.parked
        g["reworks"] += c.reworks
        g["reworked"] += c.reworks > 0
        g["extensions"] += c.extensions
        g["extended"] += c.extensions > 0
        g[c.source] += 1
        pending = c.status in ("reported", "accepted", "dispatched")
        g["overdue_pending"] += pending and as_of is not None and c.deadline < as_of
    return out
