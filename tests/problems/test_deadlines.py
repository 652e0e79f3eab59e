"""deadlines on a real problem context: working time from the settings, hours per category and urgency."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gridmap.clock import CHINA
from gridmap.errors import ConfigError
from gridmap.problems import deadlines
from gridmap.problems.categories import Categories, Category
from gridmap.problems.context import context_from_settings
from gridmap.settings import load_settings


def cn(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA).astimezone(dt.UTC)


def with_settings(ctx, **changes):
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **changes))


def test_due_counts_working_time_from_the_context(ctx):
    # National Day eve, 24 working hours (see tests/test_worktime.py for the count): Mon 12 Oct 09:30.
    assert deadlines.due(ctx, cn(2026, 9, 30, 16, 0), 24) == cn(2026, 10, 12, 9, 30)
    # the stored kind (naive UTC) comes back naive
    assert deadlines.due(ctx, dt.datetime(2026, 9, 30, 8, 0), 24) == dt.datetime(2026, 10, 12, 1, 30)
    # 08:30-12:00,14:30-18:00 by default; another GRIDMAP_WORK_HOURS is honoured
    eight = with_settings(ctx, work_hours=((540, 1020),))
    # 09:00-17:00: Wed 1 h, Thu 8 Oct 8 h, Fri 8 h, 调休 Saturday 7 h: Sat 10 Oct 16:00
    assert deadlines.due(eight, cn(2026, 9, 30, 16, 0), 24) == cn(2026, 10, 10, 16, 0)


def test_overdue_by_working_hours(ctx):
    deadline = cn(2026, 9, 30, 17, 0)
    assert deadlines.working_hours_between(ctx, deadline, cn(2026, 10, 8, 9, 30)) == 2  # 1 + 1
    assert deadlines.working_hours_between(ctx, cn(2026, 9, 30, 16, 0), deadline) == 1


def test_the_county_file_from_the_settings(ctx, tmp_path):
    path = tmp_path / "days.txt"
    path.write_text("2026-11-20 休\n2026-11-21 班\n", encoding="utf-8")
    county = with_settings(ctx, holidays_file=str(path))
    assert deadlines.due(ctx, cn(2026, 11, 19, 16, 0), 4) == cn(2026, 11, 20, 10, 30)
    assert deadlines.due(county, cn(2026, 11, 19, 16, 0), 4) == cn(2026, 11, 21, 10, 30)


def test_a_bad_calendar_file_stops_start_up_with_file_and_line(settings, tmp_path):
    path = tmp_path / "days.txt"
    path.write_text("2026-11-20 休\n2026-11-31 休\n", encoding="utf-8")
    frozen = load_settings({**settings, "GRIDMAP_HOLIDAYS_FILE": str(path)}, environ={})
    with pytest.raises(ConfigError, match=r"days\.txt 第 2 行"):
        context_from_settings(None, None, frozen)  # type: ignore[arg-type]


def test_hours_for_category_and_urgency(ctx):
    assert deadlines.hours_for(ctx, "garbage", "normal") == 24
    assert deadlines.hours_for(ctx, "garbage", "urgent") == ctx.settings.urgent_hours == 4  # setting
    assert deadlines.hours_for(ctx, "manhole", "urgent") == 2  # the category's own urgent hours
    assert deadlines.hours_for(ctx, "manhole", "normal") == 4
    six = with_settings(ctx, urgent_hours=6.0)
    assert deadlines.hours_for(six, "garbage", "urgent") == 6
    assert deadlines.hours_for(six, "muck_truck", "urgent") == 6
    short = dataclasses.replace(ctx, categories=Categories([Category("x", "甲", "g", 3)]))
    assert deadlines.hours_for(short, "x", "urgent") == 3  # never longer than the normal deadline
    assert deadlines.hours_for(short, "gone", "urgent") == 4  # a category no longer in the file
