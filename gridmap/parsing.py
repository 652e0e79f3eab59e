"""Values from requests parsed in one place: dates, times, numbers, flags and JSON bodies, with bounds."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
from typing import Any

from gridmap.clock import CHINA
from gridmap.errors import InvalidInput
from gridmap.io.encoding import decode_text

MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_JSON_DEPTH = 64
MAX_JSON_DIGITS = 20  # longest integer a JSON body may hold (2**63 has 19 digits)
_MAX_TEXT = 64  # longest text read as a date, a time or a number
_SHOWN = 40  # longest piece of a bad value repeated in a message
_MISSING = object()
_TRUE = {"1", "true", "yes", "on", "y", "是"}
_FALSE = {"0", "false", "no", "off", "n", "否"}
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# json's messages in Chinese (the rest is shown as it is)
_JSON_MESSAGES = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "键名应放在双引号中",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Unterminated string starting at": "字符串没有结束",
    "Extra data": "JSON 之后还有多余的内容",
    "Invalid control character at": "字符串中有控制字符",
    "Invalid \\escape": "无效的转义序列",
    "Illegal trailing comma before end of array": "数组末尾多了逗号",
    "Illegal trailing comma before end of object": "对象末尾多了逗号",
}


def shown(value: object) -> str:
    """A user's value as it may appear in a message: short, printable, valid UTF-8."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple, dict)):
        text = "对象" if isinstance(value, dict) else "列表"
    else:
        try:
            text = repr(value)
        except ValueError:  # an integer too long to print
            text = "位数过多的整数"
    text = text[: _SHOWN + 1].encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return text[:_SHOWN] + "…" if len(text) > _SHOWN else text


def _what(name: str, label: str | None) -> str:
    return f"参数 {name}（{label}）" if label else f"参数 {name}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(name: str, label: str | None, form: str) -> InvalidInput:
    msg = f"缺少{_what(name, label)}，应为{form}"
    return InvalidInput(msg)


def _wrong(name: str, label: str | None, form: str, value: object) -> InvalidInput:
    msg = f"{_what(name, label)}应为{form}，实际为“{shown(value)}”"
    return InvalidInput(msg)


def _out_of_range(name: str, label: str | None, form: str, value: object) -> InvalidInput:
    msg = f"{_what(name, label)}超出范围：应为{form}，实际为“{shown(value)}”"
    return InvalidInput(msg)


# --- dates and times ------------------------------------------------------------------------------
def _date_form(min_year: int, max_year: int) -> str:
    return f" {min_year}–{max_year} 年之间的日期 YYYY-MM-DD（如 2026-11-27）"


def _time_form(min_year: int, max_year: int) -> str:
    return (
        f" {min_year}–{max_year} 年之间的 ISO 8601 日期或时间（如 2026-11-27 或 "
        "2026-11-27T08:00:00+08:00，不带时区按北京时间）"
    )


def parse_date(
    value: object,
    *,
    name: str,
    label: str | None = None,
    default: Any = _MISSING,
    min_year: int = MIN_YEAR,
    max_year: int = MAX_YEAR,
) -> dt.date:
    """A calendar date YYYY-MM-DD between ``min_year`` and ``max_year``; blank gives ``default``."""
    form = _date_form(min_year, max_year)
    if _blank(value):
        if default is _MISSING:
            raise _missing(name, label, form)
        return default
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = value.strip() if isinstance(value, str) else None
        try:
            if text is None or len(text) > _MAX_TEXT:
                raise ValueError(text)
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise _wrong(name, label, form, value) from None
    if not min_year <= day.year <= max_year:
        raise _out_of_range(name, label, form, value)
    return day


def parse_datetime(
    value: object,
    *,
    name: str,
    label: str | None = None,
    default: Any = _MISSING,
    end_of_day: bool = False,
    min_year: int = MIN_YEAR,
    max_year: int = MAX_YEAR,
) -> dt.datetime:
    """An ISO 8601 date or time (no offset: Beijing time) as an aware UTC datetime.

    The year must lie between ``min_year`` and ``max_year`` (checked before any time zone
    arithmetic, so that no value overflows). With ``end_of_day``, a plain date means the end of
    that day (the start of the next, for an exclusive bound). Blank gives ``default``.
    """
    form = _time_form(min_year, max_year)
    if _blank(value):
        if default is _MISSING:
            raise _missing(name, label, form)
        return default
    date_only = False
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = value.strip() if isinstance(value, str) else None
        try:
            if text is None or len(text) > _MAX_TEXT:
                raise ValueError(text)
            if text[-1:] in ("Z", "z"):
                text = text[:-1] + "+00:00"
            date_only = "T" not in text.upper() and ":" not in text and " " not in text
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _wrong(name, label, form, value) from None
    if not min_year <= moment.year <= max_year:
        raise _out_of_range(name, label, form, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    if date_only and end_of_day:
        moment += dt.timedelta(days=1)
    return moment.astimezone(dt.UTC)


# --- numbers and flags ----------------------------------------------------------------------------
def _range_text(minimum: float | None, maximum: float | None, *, above: bool) -> str:
    low = None if minimum is None else f"{minimum:g}"
    high = None if maximum is None else f"{maximum:g}"
    if low is not None and high is not None:
        return f"大于 {low}、不超过 {high}" if above else f"{low}–{high} 之间"
    if low is not None:
        return f"大于 {low}" if above else f"不小于 {low}"
    if high is not None:
        return f"不超过 {high}"
    return ""


def parse_number(
    value: object,
    *,
    name: str,
    label: str | None = None,
    default: Any = _MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    above_minimum: bool = False,
    unit: str = "",
) -> float:
    """A finite number (text or JSON number, not a flag) within bounds; blank gives ``default``.

    ``above_minimum`` makes the lower bound exclusive (e.g. hours must be more than 0).
    """
    bounds = _range_text(minimum, maximum, above=above_minimum)
    form = f"{bounds}的数字{unit}" if bounds else f"数字{unit}"
    if _blank(value):
        if default is _MISSING:
            raise _missing(name, label, form)
        return default
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            number = float(value)
    elif isinstance(value, str) and len(value.strip()) <= _MAX_TEXT:
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if not math.isfinite(number):
        raise _wrong(name, label, form, value)
    low_bad = minimum is not None and (number <= minimum if above_minimum else number < minimum)
    if low_bad or (maximum is not None and number > maximum):
        raise _out_of_range(name, label, form, value)
    return number


def parse_int(
    value: object,
    *,
    name: str,
    label: str | None = None,
    default: Any = _MISSING,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """A whole number within bounds (text, JSON integer or a float with no fraction)."""
    bounds = _range_text(minimum, maximum, above=False)
    form = f"{bounds}的整数" if bounds else "整数"
    if _blank(value):
        if default is _MISSING:
            raise _missing(name, label, form)
        return default
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value.strip()) <= _MAX_TEXT:
        with contextlib.suppress(ValueError):
            number = int(value.strip())
    if number is None:
        raise _wrong(name, label, form, value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise _out_of_range(name, label, form, value)
    return number


def parse_bool(value: object, *, name: str, label: str | None = None, default: Any = _MISSING) -> bool:
    """A yes/no flag: 1/0, true/false, yes/no, on/off, 是/否 (or a JSON boolean); blank gives ``default``."""
    form = "1 或 0（也可写 true/false、yes/no、on/off、是/否）"
    if _blank(value):
        if default is _MISSING:
            raise _missing(name, label, form)
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _wrong(name, label, form, value)


# --- JSON bodies ----------------------------------------------------------------------------------
def _no_constant(text: str):
    raise ValueError(f"不允许 {text}，数字应为有限值")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"数字 {shown(text)} 超出范围")
    return number


def _small_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValueError(f"整数 {shown(text)} 位数过多（最多 {MAX_JSON_DIGITS} 位）")
    return int(text)


def _check_tree(data: object, *, max_depth: int, check_text: bool) -> None:
    """Depth (without recursion) and, when asked, text that is not valid Unicode (lone surrogates)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            if check_text and isinstance(item, str):
                item.encode("utf-8")  # UnicodeEncodeError for a lone surrogate
            continue
        if depth > max_depth:
            raise RecursionError
        stack.extend(
            (child, depth + 1) for child in children if check_text or isinstance(child, (dict, list))
        )


def parse_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON document from a request body (UTF-8); InvalidInput (400) for anything malformed.

    Refused: bodies that are not UTF-8, syntax errors, nesting deeper than ``max_depth``,
    NaN/Infinity and numbers too large to be finite, integers longer than 20 digits, and text
    with unpaired surrogates (``"\\ud800"``), which no database or page could store or show.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    text = decode_text(
        raw, codec="utf-8-sig", name="请求体 JSON", hint="请以 UTF-8 发送", error=InvalidInput
    ).text
    try:
        parsed = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_small_int
        )
        _check_tree(parsed, max_depth=max_depth, check_text=bool(_SURROGATE_ESCAPE.search(raw)))
    except RecursionError:
        msg = f"请求体 JSON 嵌套过深或格式错误：最多嵌套 {max_depth} 层"
        raise InvalidInput(msg) from None
    except UnicodeEncodeError:
        msg = "请求体 JSON 含有不成对的 Unicode 代理字符（如 \\ud800），请发送有效的文本"
        raise InvalidInput(msg) from None
    except json.JSONDecodeError as error:
        reason = _JSON_MESSAGES.get(error.msg, error.msg)
        msg = f"请求体 JSON 格式错误（第 {error.lineno} 行第 {error.colno} 列：{reason}），请发送有效的 JSON"
        raise InvalidInput(msg) from None
    except ValueError as error:  # from the number hooks above
        msg = f"请求体 JSON 中的数字有误：{error}"
        raise InvalidInput(msg) from None
    return parsed


__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_int",
    "parse_json",
    "parse_number",
    "shown",
]
