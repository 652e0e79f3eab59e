"""What a monthly notice (书面通报) says, as plain data: the figures, rankings, flags, cases and map."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from gridmap import clock
from gridmap.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")

# Figures of a ranking table: (key in RankRow.figures, column heading, kind).
# kind "count" prints an integer, "rate" a percentage, "score" one decimal.
Column = tuple[str, str, str]
DEFAULT_COLUMNS: tuple[Column, ...] = (
    ("cases", "案件数", "count"),
    ("closed", "结案数", "count"),
    ("closure_rate", "结案率", "rate"),
    ("on_time_closure_rate", "按期结案率", "rate"),
    ("overdue", "超期未办", "count"),
)
# The figures of `gridmap evaluate` (gridmap.evaluation) that the notice prints.
EVALUATION_COLUMNS: tuple[Column, ...] = (
    ("reports", "上报数", "count"),
    ("filed", "立案数", "count"),
    ("closed", "结案数", "count"),
    ("closure_rate", "结案率", "rate"),
    ("on_time_closure_rate", "按期结案率", "rate"),
    ("overdue_pending", "超期未处置", "count"),
)
# The issuer printed in the red header when none is given (a county passes its own, e.g.
# 凤县创建全国文明城市工作指挥部办公室).
DEFAULT_ISSUER = "县创建全国文明城市工作指挥部办公室"
FLAG_LABELS: dict[str, str] = {"red": "流动红旗", "grey": "流动灰旗"}


def parse_month(value: object) -> tuple[int, int]:
    """(year, month) from "2026-11"; InvalidInput with the expected form otherwise."""
    match = _MONTH.match(str(value or "").strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        msg = f"月份“{str(value)[:20]}”无效；请写成 年-月，如 2026-11"
        raise InvalidInput(msg)
    return int(match.group(1)), int(match.group(2))


def month_text(month: str) -> str:
    """ "2026-11" -> "2026年11月"."""
    year, mon = parse_month(month)
    return f"{year}年{mon}月"


def default_number(month: str) -> str:
    """The notice number of a month: 〔2026〕11号 for 2026-11."""
    year, mon = parse_month(month)
    return f"〔{year}〕{mon}号"


def _round(value: float) -> Decimal:
    """One decimal, halves rounded up (as people round on paper): 93.25 -> 93.3."""
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_figure(value: object, kind: str) -> str:
    """A figure as printed in a table: counts as integers, rates as percentages, "—" for none."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{_round(float(value) * 100)}%"  # type: ignore[arg-type]
    if kind == "score":
        return str(_round(float(value)))  # type: ignore[arg-type]
    return str(int(value))  # type: ignore[call-overload]


@dataclass(frozen=True)
class RankRow:
    """One town or grid in a ranking, in rank order; rank None when under the minimum sample."""

    code: str
    name: str
    rank: int | None
    score: float | None
    grade: str | None
    flag: str | None  # "red", "grey" or None
    figures: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TypicalProblem:
    """A typical problem shown with its photo and the unit responsible."""

    tracking_no: str
    category: str
    place: str
    unit: str
    deadline: dt.datetime | None  # naive UTC
    status: str
    description: str = ""
    photo: bytes | None = None  # JPEG/PNG bytes


@dataclass(frozen=True)
class OverdueCase:
    """A case still pending past its deadline."""

    tracking_no: str
    category: str
    place: str
    deadline: dt.datetime  # naive UTC
    days_overdue: int
    description: str = ""


@dataclass(frozen=True)
class UnitOverdue:
    """One responsible unit and its overdue cases: the content of its 整改通知书."""

    unit_code: str
    unit_name: str
    cases: tuple[OverdueCase, ...]


@dataclass(frozen=True)
class NoticeData:
    """Everything a month's notice prints; the docx and pdf writers read only this."""

    month: str  # "2026-11"
    number: str  # 〔2026〕11号
    issuer: str  # the office that issues it (红头)
    issued_on: dt.date
    towns: tuple[RankRow, ...] = ()
    grids: tuple[RankRow, ...] = ()
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    totals: Mapping[str, float] = field(default_factory=dict)  # reported, filed, closed, closure_rate, …
    typical: tuple[TypicalProblem, ...] = ()
    overdue: tuple[UnitOverdue, ...] = ()
    map_png: bytes | None = None
    recipients: str = "各镇人民政府，县级各有关部门："
    method: str = ""  # how the ranking was computed (printed as a note under the tables)

    def __post_init__(self) -> None:
        parse_month(self.month)

    @property
    def title(self) -> str:
        return f"关于{month_text(self.month)}网格化管理工作情况的通报"

    def winners(self, rows: Sequence[RankRow], flag: str) -> list[RankRow]:
        return [row for row in rows if row.flag == flag]

    @property
    def overdue_total(self) -> int:
        return sum(len(unit.cases) for unit in self.overdue)

    def contents(self) -> dict:
        """What the notice contains, as JSON-ready data (the web page's JSON twin)."""

        def rows(items: Sequence[RankRow]) -> list[dict]:
            return [
                {
                    "code": r.code,
                    "name": r.name,
                    "rank": r.rank,
                    "score": r.score,
                    "grade": r.grade,
                    "flag": r.flag,
                    **{key: r.figures.get(key) for key, _label, _kind in self.columns},
                }
                for r in items
            ]

        def names(items: Sequence[RankRow], flag: str) -> list[str]:
            return [r.name for r in self.winners(items, flag)]

        return {
            "month": self.month,
            "title": self.title,
            "number": self.number,
            "issuer": self.issuer,
            "issued_on": self.issued_on.isoformat(),
            "totals": dict(self.totals),
            "flags": {
                "towns": {"red": names(self.towns, "red"), "grey": names(self.towns, "grey")},
                "grids": {"red": names(self.grids, "red"), "grey": names(self.grids, "grey")},
            },
            "columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in self.columns],
            "towns": rows(self.towns),
            "grids": rows(self.grids),
            "typical": [
                {
                    "tracking_no": t.tracking_no,
                    "category": t.category,
                    "place": t.place,
                    "unit": t.unit,
                    "deadline": clock.iso(t.deadline),  # China time with its offset
                    "has_photo": t.photo is not None,
                }
                for t in self.typical
            ],
            "overdue": [
                {
                    "unit_code": u.unit_code,
                    "unit_name": u.unit_name,
                    "cases": [
                        {
                            "tracking_no": c.tracking_no,
                            "deadline": clock.iso(c.deadline),
                            "days_overdue": c.days_overdue,
                        }
                        for c in u.cases
                    ],
                }
                for u in self.overdue
            ],
            "has_map": self.map_png is not None,
            "method": self.method,
        }
