"""Working time: the Chinese public-holiday calendar with 调休, a county's own days, and working hours."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import chinese_calendar

from gridmap.clock import CHINA, china
from gridmap.errors import ConfigError

__all__ = ["WorkCalendar", "calendar_for", "read_days_file"]

_LOG = logging.getLogger(__name__)
DAY_US = 24 * 3600 * 1_000_000
_MINUTE_US = 60 * 1_000_000
_LINE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s+(休|班)$")
_LINE_HINT = (
    "每行写一个日期和“休”或“班”，如 2026-11-20 休（本地放假）或 2026-11-21 班（本地上班）；# 开头为注释"
)


def read_days_file(path: str | Path) -> dict[dt.date, bool]:
    """A county's calendar file as {date: is a working day}; ConfigError with file and line if wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        msg = f"GRIDMAP_HOLIDAYS_FILE 指向的日历文件 {path} 不存在：请检查路径，或留空表示只用国家法定节假日"
        raise ConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"日历文件 {path} 无法读取（应为 UTF-8 文本）：{exc}"
        raise ConfigError(msg) from None
    days: dict[dt.date, bool] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().replace("\u3000", " ")
        if not line:
            continue
        found = _LINE.match(line)
        day = None
        if found:
            try:
                day = dt.date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                day = None
        if found is None or day is None:
            msg = f"日历文件 {path} 第 {number} 行“{raw.strip()[:40]}”看不懂：{_LINE_HINT}"
            raise ConfigError(msg)
        working = found[4] == "班"
        if day in days and days[day] != working:
            msg = f"日历文件 {path} 第 {number} 行：{day.isoformat()} 前面已写过“{'班' if days[day] else '休'}”，同一天只能写一次（{_LINE_HINT}）"
            raise ConfigError(msg)
        days[day] = working
    return days


class WorkCalendar:
    """Working days (official holidays and 调休 from chinese-calendar, a county's own days on top)
    and the working hours of a day; adds working hours to instants and counts them between two.

    Instants go in and come out as UTC (aware, or naive meaning UTC: the same kind comes back);
    the arithmetic runs in China time.
    """

    def __init__(
        self,
        *,
        spans: tuple[tuple[int, int], ...] = ((510, 720), (870, 1080)),
        local: Mapping[dt.date, bool] | None = None,
        source: str | None = None,
    ) -> None:
        if not spans:
            msg = "工作时间 GRIDMAP_WORK_HOURS 至少要有一个时间段，如 08:30-12:00,14:30-18:00"
            raise ConfigError(msg)
        self.spans = tuple(spans)
        self._spans_us = tuple((s * _MINUTE_US, e * _MINUTE_US) for s, e in self.spans)
        self.day_us = sum(e - s for s, e in self._spans_us)  # working time of one working day
        self.local = dict(local or {})
        self.source = source
        self._local_years = {day.year for day in self.local}
        self._cache: dict[dt.date, bool] = {}
        self._warned: set[int] = set()

    # --- days ---------------------------------------------------------------------------------
    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (cached per date)."""
        known = self._cache.get(day)
        if known is None:
            known = self._decide(day)
            self._cache[day] = known
        return known

    def _decide(self, day: dt.date) -> bool:
        if day in self.local:
            return self.local[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
        # A year the package does not know yet (the State Council publishes next year's days in
        # November or December): Monday to Friday, and the county's own lines on top. Refusing
        # would stop every report whose deadline runs into the new year, so the gap is logged.
        if day.year not in self._local_years and day.year not in self._warned:
            self._warned.add(day.year)
            _LOG.warning(self.gap_message(day.year))
        return day.weekday() < 5

    def gap_message(self, year: int) -> str:
        """What to do when neither chinese-calendar nor the county's file knows ``year``."""
        where = f"日历文件 {self.source}" if self.source else "GRIDMAP_HOLIDAYS_FILE 指定的日历文件"
        return (
            f"chinese-calendar 没有 {year} 年的节假日安排，{year} 年的期限暂按周一至周五上班计算："
            f"请升级 chinese-calendar 软件包，或在{where}中列出 {year} 年的放假日（如 {year}-01-01 休）"
            f"和调休上班日（如 {year}-01-04 班）"
        )

    def missing_years(self, first: int, last: int) -> list[int]:
        """The years from ``first`` to ``last`` that neither the package nor the county's file covers."""
        missing = []
        for year in range(first, last + 1):
            try:
                chinese_calendar.is_workday(dt.date(year, 6, 30))
            except NotImplementedError:
                if year not in self._local_years:
                    missing.append(year)
        return missing

    # --- instants -----------------------------------------------------------------------------
    @staticmethod
    def _local(moment: dt.datetime) -> tuple[dt.date, int]:
        """The China date of an instant and its microseconds after that day's midnight."""
        local = china(moment)
        since = (local.hour * 3600 + local.minute * 60 + local.second) * 1_000_000 + local.microsecond
        return local.date(), since

    @staticmethod
    def _instant(day: dt.date, since_us: int, *, like: dt.datetime) -> dt.datetime:
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA)
        aware = (midnight + dt.timedelta(microseconds=since_us)).astimezone(dt.UTC)
        return aware if like.tzinfo is not None else aware.replace(tzinfo=None)

    def is_working_time(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` falls in the working hours of a working day."""
        day, since = self._local(moment)
        return self.is_workday(day) and any(s <= since < e for s, e in self._spans_us)

    def _in_day(self, day: dt.date, lo: int, hi: int) -> int:
        """Working microseconds of ``day`` between ``lo`` and ``hi`` after its midnight."""
        if not self.is_workday(day):
            return 0
        if lo <= 0 and hi >= DAY_US:
            return self.day_us
        return sum(max(0, min(e, hi) - max(s, lo)) for s, e in self._spans_us)

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant ``hours`` working hours after ``start`` (to the microsecond).

        Counting starts at ``start`` or, outside working time, at the next working moment; a
        deadline that uses up a span exactly ends at that span's end (12:00, not 14:30).
        Whole days are skipped at once, so a year of working hours costs a few thousand steps.
        """
        remaining = round(float(hours) * 3600 * 1_000_000)
        if remaining <= 0:
            return start
        day, pos = self._local(start)
        while True:
            if self.is_workday(day):
                if pos <= 0 and remaining > self.day_us:
                    remaining -= self.day_us
                else:
                    for s, e in self._spans_us:
                        if pos >= e:
                            continue
                        begin = max(pos, s)
                        if remaining <= e - begin:
                            return self._instant(day, begin + remaining, like=start)
                        remaining -= e - begin
            day += dt.timedelta(days=1)
            pos = 0

    def hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours from ``start`` to ``end``; negative when ``end`` comes first."""
        first, lo = self._local(start)
        last, hi = self._local(end)
        if (first, lo) > (last, hi):
            return -self.hours_between(end, start)
        if first == last:
            total = self._in_day(first, lo, hi)
        else:
            total = self._in_day(first, lo, DAY_US) + self._in_day(last, 0, hi)
            day = first + dt.timedelta(days=1)
            while day < last:
                total += self._in_day(day, 0, DAY_US)
                day += dt.timedelta(days=1)
        return total / 3_600_000_000


_CACHE: dict[tuple, WorkCalendar] = {}
_LOCK = threading.Lock()


def calendar_for(*, work_hours: tuple[tuple[int, int], ...], holidays_file: str | None) -> WorkCalendar:
    """The calendar for these settings, built once and rebuilt when the county's file changes."""
    stamp: object = None
    if holidays_file:
        try:
            info = os.stat(holidays_file)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = "missing"
    key = (tuple(work_hours), holidays_file or None, stamp)
    found = _CACHE.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            local = read_days_file(holidays_file) if holidays_file else {}
            found = WorkCalendar(spans=tuple(work_hours), local=local, source=holidays_file)
            if len(_CACHE) > 32:
                _CACHE.clear()
            _CACHE[key] = found
    return found
