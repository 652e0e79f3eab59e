"""When a problem is due: a start time plus a number of hours, counted in the context's working time."""

from __future__ import annotations

import datetime as dt

from gridmap.problems.context import ProblemContext


def due(ctx: ProblemContext, start: dt.datetime, hours: float) -> dt.datetime:
    """The time ``hours`` after ``start`` (an aware or naive UTC datetime; the same kind comes back).

    Every deadline the workflow sets goes through here, so that deadlines, the overdue flag and
    on-time tests all count the same way.
    """
    del ctx
    return start + dt.timedelta(hours=hours)
