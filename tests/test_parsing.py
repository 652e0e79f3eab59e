"""gridmap.parsing: dates, times, numbers, flags and JSON bodies refused with Chinese messages, never crashing."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from gridmap.errors import InvalidInput
from gridmap.parsing import (
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    parse_json,
    parse_number,
    shown,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31",
        "2101-01-01T00:00:00Z",
    ],
)
def test_times_outside_the_years_are_refused_before_any_time_zone_arithmetic(text):
    with pytest.raises(InvalidInput) as caught:
        parse_datetime(text, name="from", label="起始日期", end_of_day=True)
    message = caught.value.message
    assert "参数 from（起始日期）" in message and "超出范围" in message
    assert "2000–2100" in message and text in message


@pytest.mark.parametrize(
    "value",
    [
        "明天",
        "2026-02-30",
        "2026-11-27T25:00",
        "2026-11-27T08:00+25:00",
        "x" * 100_000,
        ["2026-11-27"],
        20261127,
        True,
        {"a": 1},
    ],
)
def test_times_that_are_not_times_say_the_accepted_form(value):
    with pytest.raises(InvalidInput) as caught:
        parse_datetime(value, name="end_date")
    message = caught.value.message
    assert "参数 end_date" in message and "ISO 8601" in message and "2026-11-27T08:00:00+08:00" in message
    assert len(message) < 200  # the bad value is shortened, not echoed whole


def test_times_without_an_offset_are_beijing_time_and_come_back_in_utc():
    assert parse_datetime("2026-11-27T08:00:00", name="t") == dt.datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert parse_datetime("2026-11-27T08:00:00Z", name="t") == dt.datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert parse_datetime("2026-11-27", name="t") == dt.datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    # a plain date as an end: the whole day is included
    assert parse_datetime("2026-11-27", name="t", end_of_day=True) == dt.datetime(
        2026, 11, 27, 16, 0, tzinfo=UTC
    )
    assert parse_datetime("2026-11-27T10:00", name="t", end_of_day=True) == dt.datetime(
        2026, 11, 27, 2, 0, tzinfo=UTC
    )
    # the edges of the range still convert without overflow
    assert parse_datetime("2100-12-31T23:59:59-12:00", name="t", end_of_day=True).year == 2101
    assert parse_datetime("2000-01-01T00:00:00+14:00", name="t").year == 1999


def test_blank_values_give_the_default_or_say_what_is_missing():
    assert parse_datetime("  ", name="from", default=None) is None
    assert parse_date(None, name="day", default=None) is None
    assert parse_number("", name="hours", default=None) is None
    assert parse_bool("", name="overdue", default=False) is False
    with pytest.raises(InvalidInput, match="缺少参数 deadline"):
        parse_datetime("", name="deadline")


def test_dates():
    assert parse_date("2026-11-27", name="day") == dt.date(2026, 11, 27)
    assert parse_date(dt.datetime(2026, 11, 27, 9), name="day") == dt.date(2026, 11, 27)
    for bad in ("0001-01-01", "9999-12-31", "27/11/2026", 5, "2026-11-27T08:00"):
        with pytest.raises(InvalidInput, match=r"参数 day.*YYYY-MM-DD"):
            parse_date(bad, name="day")


@pytest.mark.parametrize(
    "value",
    [
        "1e9",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "Infinity",
        "1e309",
        1e309,
        float("nan"),
        10**400,
        "9" * 400,
        "1" * 5000,
        True,
        [],
        {},
        "abc",
        "0",
        0,
        -1,
    ],
)
def test_numbers_must_be_finite_and_in_range(value):
    with pytest.raises(InvalidInput) as caught:
        parse_number(value, name="hours", label="延长小时数", minimum=0, maximum=8760, above_minimum=True)
    assert "参数 hours（延长小时数）" in caught.value.message
    assert "大于 0、不超过 8760" in caught.value.message


def test_numbers_in_range():
    assert parse_number("24", name="hours", minimum=0, maximum=8760, above_minimum=True) == 24.0
    assert parse_number(8760, name="hours", minimum=0, maximum=8760) == 8760.0
    assert parse_number(" 0.5 ", name="hours", minimum=0, above_minimum=True) == 0.5
    assert parse_number("0", name="stop_minutes", minimum=0, maximum=240) == 0.0
    assert math.isclose(parse_number(-1e-3, name="x"), -0.001)


def test_integers():
    assert parse_int("300", name="dpi", minimum=72, maximum=600) == 300
    assert parse_int(300.0, name="dpi") == 300
    for bad in ("3.5", 3.5, "1" * 5000, "1e3", True, None, "inf", float("inf"), "71", 601):
        with pytest.raises(InvalidInput, match="参数 dpi"):
            parse_int(bad, name="dpi", minimum=72, maximum=600)


def test_flags():
    for yes in ("1", "true", "YES", "on", "是", True, 1):
        assert parse_bool(yes, name="overdue") is True
    for no in ("0", "false", "No", "off", "否", False, 0):
        assert parse_bool(no, name="overdue") is False
    for bad in ("2", "maybe", [], 5):
        with pytest.raises(InvalidInput, match=r"参数 overdue.*1 或 0"):
            parse_bool(bad, name="overdue")


def test_json_bodies():
    assert parse_json(b'{"a": [1, 2.5, "\\u4e2d", null]}') == {"a": [1, 2.5, "中", None]}
    assert parse_json("\ufeff{}".encode()) == {}
    assert parse_json(b'"\\ud83d\\ude00"') == "😀"  # a proper surrogate pair is one character
    assert parse_json(b'{"n": 12345678901234567890}') == {"n": 12345678901234567890}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 65 + b"]" * 65,
        b'{"hours": NaN}',
        b'{"hours": Infinity}',
        b'{"hours": -Infinity}',
        b'{"hours": 1e999}',
        b'{"lon": 1' + b"0" * 400 + b"}",
        b"1" * 5000,
        b'{"name": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"a": "\xff\xfe"}',
        b"\xed\xa0\x80",
        b"",
        b"{",
        b"{'a': 1}",
        b"[1,]",
    ],
)
def test_hostile_json_is_refused_with_a_chinese_message(body):
    with pytest.raises(InvalidInput) as caught:
        parse_json(body)
    assert "请求体 JSON" in caught.value.message
    caught.value.message.encode("utf-8")  # the message itself is valid text


def test_json_depth_limit_is_exact():
    assert parse_json(b"[" * 64 + b"]" * 64) == parse_json(b"[" * 64 + b"]" * 64)
    with pytest.raises(InvalidInput, match="最多嵌套 64 层"):
        parse_json(b"[" * 65 + b"]" * 65)


def test_shown_values_are_short_printable_text():
    assert shown("x" * 1000) == "x" * 40 + "…"
    assert shown("a\x00b\nc") == "a\ufffdb\ufffdc"
    assert shown("\ud800") == "?"
    assert shown(10**5000) == "位数过多的整数"
    assert shown([1, 2]) == "列表" and shown({"a": 1}) == "对象"
