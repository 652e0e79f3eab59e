"""What one workflow action is given (its form) and what it changes (its prepared step)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from gridmap.auth import User
from gridmap.clock import iso
from gridmap.errors import InvalidInput
from gridmap.parsing import MAX_YEAR, parse_datetime, parse_number

MAX_EXTEND_HOURS = 8760  # one extension moves a deadline by at most a year
# The last moment a deadline or review date may take: the end of MAX_YEAR in Beijing.
LATEST = dt.datetime(MAX_YEAR, 12, 31, 15, 59, 59, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ActionForm:
    """The values a person gave with an action, as typed (parsed by the action that needs them)."""

    user: User
    note: str | None = None
    deadline: object = None
    hours: object = None
    unit_code: object = None
    inspector: object = None
    until: object = None
    urgency: object = None


@dataclass
class Prepared:
    """What an action changes: problem columns, the event's facts, a unit request to add or decide."""

    changes: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)  # the event's further facts (problem_events.detail)
    status: str | None = None  # where the problem goes when the action decides it (else its transition)
    event_deadline: dt.datetime | None = None  # a new deadline the event sets (naive UTC)
    event_unit: str | None = None  # the unit the event concerns
    request: dict | None = None  # a unit's request to add
    decision: dict | None = None  # the decision on the pending request


def parse_hours(value: object, *, label: str) -> float:
    """A positive number of working hours, at most MAX_EXTEND_HOURS."""
    return parse_number(
        value,
        name="hours",
        label=label,
        minimum=0,
        maximum=MAX_EXTEND_HOURS,
        above_minimum=True,
        unit="（小时）",
    )


def parse_until(value: object, *, now: dt.datetime) -> dt.datetime:
    """A review date (复查日期) for a parked case: a China date or time after now, by MAX_YEAR's end.

    A plain date means the end of that day. Returns aware UTC.
    """
    if value in (None, ""):
        msg = "挂账需要复查日期 until（如 2027-03-31），到期后复查是否恢复办理"
        raise InvalidInput(msg)
    moment = parse_datetime(value, name="until", label="复查日期", end_of_day=True)
    if moment <= now:
        msg = f"复查日期 until 应晚于现在（{iso(now)}），请选择以后的日期"
        raise InvalidInput(msg)
    if moment > LATEST:
        msg = f"复查日期 until 应不晚于 {MAX_YEAR} 年底"
        raise InvalidInput(msg)
    return moment
