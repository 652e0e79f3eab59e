"""When a problem is due: a start time plus a number of working hours, in the county's working time."""

from __future__ import annotations

import datetime as dt

from gridmap.errors import InvalidInput
from gridmap.problems.context import ProblemContext
from gridmap.worktime import WorkCalendar, calendar_for

URGENCIES: dict[str, str] = {"normal": "一般", "urgent": "紧急"}


def calendar(ctx: ProblemContext) -> WorkCalendar:
    """The context's working calendar (GRIDMAP_WORK_HOURS and GRIDMAP_HOLIDAYS_FILE), built once."""
    return calendar_for(work_hours=ctx.settings.work_hours, holidays_file=ctx.settings.holidays_file)


def due(ctx: ProblemContext, start: dt.datetime, hours: float) -> dt.datetime:
    """The time ``hours`` working hours after ``start`` (an aware or naive UTC datetime; the same
    kind comes back).

    Every deadline the workflow sets goes through here, so that deadlines, the overdue flag and
    on-time tests all count the same way: only the working hours of working days (official
    holidays off, 调休 weekends on, the county's own days on top).
    """
    return calendar(ctx).add(start, hours)


def working_hours_between(ctx: ProblemContext, start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end`` (negative when ``end`` comes first): "overdue by
    N working hours" is ``working_hours_between(ctx, deadline, now)``."""
    return calendar(ctx).hours_between(start, end)


def hours_for(ctx: ProblemContext, category: str, urgency: str) -> float:
    """The working hours a unit has for a problem of this category and urgency.

    Normal: the category's deadline. Urgent: the category's urgent deadline or, when the
    category file gives none, GRIDMAP_URGENT_HOURS; never longer than the normal deadline.
    """
    if urgency != "urgent":
        return ctx.categories.get(category).deadline_hours
    try:
        cat = ctx.categories.get(category)
    except InvalidInput:  # a stored problem whose category has left the file
        return ctx.settings.urgent_hours
    urgent = cat.urgent_hours if cat.urgent_hours is not None else ctx.settings.urgent_hours
    return min(urgent, cat.deadline_hours)
