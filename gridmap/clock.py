"""The one clock: times are stored as naive UTC, shown in China Standard Time, injectable for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC

# A clock is any callable returning "now" as an aware datetime; tests pass a fixed one.
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (the system clock)."""
    return dt.datetime.now(UTC)


def fixed(moment: dt.datetime) -> Clock:
    """A clock that always answers ``moment`` (naive means UTC)."""
    aware = from_db(moment)
    return lambda: aware


def to_db(moment: dt.datetime | None, *, clock: Clock = utcnow) -> dt.datetime:
    """A datetime as the database keeps it: naive UTC. None means now; naive input is taken as UTC."""
    if moment is None:
        moment = clock()
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) datetime as an aware UTC datetime; aware input is converted to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def china(moment: dt.datetime | None = None, *, clock: Clock = utcnow) -> dt.datetime:
    """A datetime (naive means UTC; None means now) in China Standard Time."""
    return from_db(clock() if moment is None else moment).astimezone(CHINA)


def iso(moment: dt.datetime | None) -> str | None:
    """A stored datetime as ISO 8601 in China Standard Time with its offset, to the second."""
    if moment is None:
        return None
    return china(moment).isoformat(timespec="seconds")


def human(moment: dt.datetime | None) -> str | None:
    """A stored datetime as people read it on a page, in China time: ``11月30日 20:19``."""
    if moment is None:
        return None
    local = china(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def today(*, clock: Clock = utcnow) -> dt.date:
    """Today's date in China."""
    return china(clock=clock).date()
