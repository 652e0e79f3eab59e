"""The clock: naive UTC in the database, China time on screen, a fixed clock for tests."""

import datetime as dt

from gridmap import clock


def test_to_db_makes_naive_utc_from_china_time():
    moment = dt.datetime(2026, 5, 1, 8, 30, tzinfo=clock.CHINA)
    assert clock.to_db(moment) == dt.datetime(2026, 5, 1, 0, 30)
    assert clock.to_db(dt.datetime(2026, 5, 1, 0, 30)) == dt.datetime(2026, 5, 1, 0, 30)


def test_iso_shows_china_time_with_offset():
    assert clock.iso(dt.datetime(2026, 5, 1, 16, 0)) == "2026-05-02T00:00:00+08:00"
    assert clock.iso(None) is None


def test_today_is_china_date_across_utc_midnight():
    late_utc = clock.fixed(dt.datetime(2026, 12, 31, 17, 0))  # 01:00 on 1 January in China
    assert clock.today(clock=late_utc) == dt.date(2027, 1, 1)
    assert clock.to_db(None, clock=late_utc) == dt.datetime(2026, 12, 31, 17, 0)
    assert clock.from_db(dt.datetime(2026, 1, 1)).tzinfo is not None


def test_human_is_month_day_and_minutes_in_china_time():
    # 12:19 UTC is 20:19 in China; across UTC midnight the Chinese date is the next day
    assert clock.human(dt.datetime(2026, 11, 30, 12, 19, 31)) == "11月30日 20:19"
    assert clock.human(dt.datetime(2026, 1, 4, 16, 5)) == "1月5日 00:05"
    assert clock.human(None) is None
