"""Working time against the real 2026 calendar of chinese-calendar: holidays, 调休, county days, hours."""

from __future__ import annotations

import datetime as dt
import logging

import chinese_calendar
import pytest

from gridmap.clock import CHINA
from gridmap.errors import ConfigError
from gridmap.worktime import WorkCalendar, calendar_for, read_days_file

LUNCH = ((510, 720), (870, 1080))  # 08:30-12:00 and 14:30-18:00: 7 working hours a day


def cn(*args: int) -> dt.datetime:
    """A China-time instant as aware UTC (how the workflow passes instants in)."""
    return dt.datetime(*args, tzinfo=CHINA).astimezone(dt.UTC)


def test_the_package_knows_2026_as_these_tests_assume():
    # National Day 2026: 1-7 October off; Saturday 10 October is a 调休 working day.
    assert [chinese_calendar.is_workday(dt.date(2026, 10, d)) for d in range(1, 12)] == [
        *[False] * 7,
        True,  # Thu 8
        True,  # Fri 9
        True,  # Sat 10 (调休)
        False,  # Sun 11
    ]
    adjusted = sorted(d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() == 6)
    assert adjusted == [dt.date(2026, 1, 4), dt.date(2026, 9, 20)]  # the two working Sundays


def test_national_day_eve_24_working_hours():
    cal = WorkCalendar(spans=LUNCH)
    start = cn(2026, 9, 30, 16, 0)  # Wednesday, the eve of the holiday
    # Wed 30 Sep 16:00-18:00          2 h  (22 left)
    # Thu 1 - Wed 7 Oct                     National Day, off
    # Thu 8 Oct  08:30-12:00,14:30-18:00 7 h (15 left)
    # Fri 9 Oct                        7 h  (8 left)
    # Sat 10 Oct, 调休 working day      7 h  (1 left)
    # Sun 11 Oct                            off
    # Mon 12 Oct 08:30 + 1 h         = 09:30 China = 01:30 UTC
    due = cal.add(start, 24)
    assert due == cn(2026, 10, 12, 9, 30) == dt.datetime(2026, 10, 12, 1, 30, tzinfo=dt.UTC)
    assert cal.hours_between(start, due) == 24
    # without the 调休 Saturday it would have been Tuesday 13 October
    assert cal.is_workday(dt.date(2026, 10, 10)) and not cal.is_workday(dt.date(2026, 10, 4))


def test_an_adjusted_working_sunday_counts():
    cal = WorkCalendar(spans=LUNCH)
    # Fri 18 Sep 16:00-18:00 = 2 h; Sat 19 off; Sun 20 Sep is a 调休 working day: 08:30 + 2 h.
    assert cal.add(cn(2026, 9, 18, 16, 0), 4) == cn(2026, 9, 20, 10, 30)
    # New Year: Wed 31 Dec 2025 16:00 + 2 h; 1-3 Jan off; Sun 4 Jan 2026 works: 08:30 + 2 h.
    assert cal.add(cn(2025, 12, 31, 16, 0), 4) == cn(2026, 1, 4, 10, 30)
    assert cal.hours_between(cn(2026, 9, 19, 0, 0), cn(2026, 9, 21, 0, 0)) == 7  # only the Sunday


def test_working_hours_and_the_lunch_break():
    cal = WorkCalendar(spans=LUNCH)
    tuesday = (2026, 12, 1)
    assert cal.add(cn(*tuesday, 11, 0), 2) == cn(*tuesday, 15, 30)  # 1 h before lunch, 1 h after
    assert cal.add(cn(*tuesday, 11, 0), 1) == cn(*tuesday, 12, 0)  # a span used up ends at its end
    assert cal.add(cn(*tuesday, 12, 30), 1) == cn(*tuesday, 15, 30)  # reported at lunch: from 14:30
    assert cal.add(cn(*tuesday, 20, 0), 0.5) == cn(2026, 12, 2, 9, 0)  # evening: next morning
    assert cal.add(cn(*tuesday, 11, 0), 0) == cn(*tuesday, 11, 0)
    assert cal.is_working_time(cn(*tuesday, 11, 59)) and not cal.is_working_time(cn(*tuesday, 12, 30))
    assert not cal.is_working_time(cn(2026, 12, 5, 10, 0))  # Saturday
    assert cal.hours_between(cn(*tuesday, 11, 0), cn(*tuesday, 15, 30)) == 2
    assert cal.hours_between(cn(*tuesday, 15, 30), cn(*tuesday, 11, 0)) == -2  # overdue by 2 h
    # one span 09:00-17:00 (8 h a day) as a county may set it
    day = WorkCalendar(spans=((540, 1020),))
    assert day.add(cn(*tuesday, 16, 0), 2) == cn(2026, 12, 2, 10, 0)


def test_naive_utc_in_naive_utc_out():
    cal = WorkCalendar(spans=LUNCH)
    naive = dt.datetime(2026, 12, 1, 3, 0)  # 11:00 China
    out = cal.add(naive, 2)
    assert out.tzinfo is None and out == dt.datetime(2026, 12, 1, 7, 30)


def _county_file(tmp_path, text):
    path = tmp_path / "holidays.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_county_day_off_is_skipped_and_a_county_working_day_counts(tmp_path):
    path = _county_file(
        tmp_path,
        "# 本县自定日历\n\n2026-11-20 休  # 县庆\n2026-11-21 班\n",
    )
    assert read_days_file(path) == {dt.date(2026, 11, 20): False, dt.date(2026, 11, 21): True}
    official = WorkCalendar(spans=LUNCH)
    county = calendar_for(work_hours=LUNCH, holidays_file=str(path))
    # Thu 19 Nov 16:00 + 4 h: officially Friday 10:30; the county's Friday is off, its Saturday works.
    assert official.add(cn(2026, 11, 19, 16, 0), 4) == cn(2026, 11, 20, 10, 30)
    assert county.add(cn(2026, 11, 19, 16, 0), 4) == cn(2026, 11, 21, 10, 30)
    assert county.add(cn(2026, 11, 20, 9, 0), 1) == cn(2026, 11, 21, 9, 30)  # reported on the day off
    assert county.hours_between(cn(2026, 11, 20, 0, 0), cn(2026, 11, 23, 0, 0)) == 7  # Sat only


def test_the_county_file_is_reread_when_it_changes(tmp_path):
    path = _county_file(tmp_path, "2026-11-20 休\n")
    first = calendar_for(work_hours=LUNCH, holidays_file=str(path))
    assert calendar_for(work_hours=LUNCH, holidays_file=str(path)) is first  # built once
    path.write_text("2026-11-20 休\n2026-11-23 休\n", encoding="utf-8")
    second = calendar_for(work_hours=LUNCH, holidays_file=str(path))
    assert not second.is_workday(dt.date(2026, 11, 23))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("2026-11-20 休\n\n2026-13-01 休\n", 3),  # no 13th month
        ("# 注释\n2026-11-20 放假\n", 2),  # 休 or 班 only
        ("2026/11/20 休\n", 1),
        ("2026-11-20\n", 1),
        ("2026-11-20 休\n2026-11-20 班\n", 2),  # the same day twice, both ways
    ],
)
def test_bad_calendar_lines_name_file_line_and_what_to_write(tmp_path, text, line):
    path = _county_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_days_file(path)
    message = str(caught.value)
    assert str(path) in message and f"第 {line} 行" in message
    assert "休" in message and "班" in message


def test_a_missing_calendar_file_says_which(tmp_path):
    with pytest.raises(ConfigError, match=r"GRIDMAP_HOLIDAYS_FILE.*不存在"):
        calendar_for(work_hours=LUNCH, holidays_file=str(tmp_path / "nope.txt"))


def _expected_by_days(start_day: dt.date, hours: int, county: dict[dt.date, bool]) -> dt.datetime:
    """Whole 7-hour days from ``start_day`` 08:30, day by day: the instant ``hours`` later."""
    left, day = hours, start_day
    while True:
        if day in county:
            works = county[day]
        else:
            try:
                works = chinese_calendar.is_workday(day)
            except NotImplementedError:
                works = day.weekday() < 5
        if works:
            if left <= 3.5:
                return cn(day.year, day.month, day.day, 8, 30) + dt.timedelta(hours=left)
            if left <= 7:
                return cn(day.year, day.month, day.day, 14, 30) + dt.timedelta(hours=left - 3.5)
            left -= 7
        day += dt.timedelta(days=1)


def test_a_year_of_working_hours_8760(tmp_path, caplog):
    # 8760 working hours at 7 a day is 1251 3/7 working days, about five years: into 2030. The package knows up to
    # 2026; the county lists its days for 2027 (so 2027 is covered), later years fall back to
    # Monday-Friday with a warning naming the year.
    path = _county_file(tmp_path, "2027-01-01 休\n2027-02-06 班\n")
    cal = calendar_for(work_hours=LUNCH, holidays_file=str(path))
    start = cn(2026, 1, 5, 8, 30)  # Monday
    with caplog.at_level(logging.WARNING, logger="gridmap.worktime"):
        due = cal.add(start, 8760)
    assert due == _expected_by_days(dt.date(2026, 1, 5), 8760, read_days_file(path))
    assert due.year == 2030
    assert cal.hours_between(start, due) == 8760
    assert cal.add(cal.add(start, 8000), 760) == due  # in two steps, the same instant
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "2028 年" in warned and "升级 chinese-calendar" in warned and "2027 年" not in warned
    assert cal.missing_years(2026, 2031) == [2028, 2029, 2030, 2031]
    assert due == cn(2030, 11, 7, 11, 30)
    # the county's 2027 lines are honoured: New Year's Day off, the 调休 Saturday working
    assert not cal.is_workday(dt.date(2027, 1, 1)) and cal.is_workday(dt.date(2027, 2, 6))
