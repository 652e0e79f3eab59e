"""How a setting's text becomes its value: one parser per kind, each saying in Chinese what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gridmap.errors import ConfigError


def basemap(value: str) -> str:
    value = value.strip()
    if value.lower() in {"none", "osm", "tianditu", "amap", "mbtiles"}:
        return value.lower()
    if value.lower().endswith(".mbtiles"):
        if Path(value).is_file():
            return str(Path(value).resolve())
        msg = (
            f"GRIDMAP_BASEMAP={value!r} 无效：找不到该 MBTiles 文件。请检查路径，或运行 "
            "gridmap basemap import 文件.mbtiles 导入后设置 GRIDMAP_BASEMAP=mbtiles"
        )
        raise ConfigError(msg)
    if value and Path(value).is_dir():
        return str(Path(value).resolve())
    msg = (
        f"GRIDMAP_BASEMAP={value!r} 无效：应为 none、osm、tianditu、amap、mbtiles（实例目录中导入的"
        "离线瓦片），或本地瓦片目录（按 {z}/{x}/{y}.png 组织）、.mbtiles 文件的路径"
    )
    raise ConfigError(msg)


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        msg = f"应为正整数，实际为 {value!r}"
        raise ValueError(msg)
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        msg = f"应为正数，实际为 {value!r}"
        raise ValueError(msg)
    return number


def non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        msg = f"应为不小于 0 的整数，实际为 {value!r}"
        raise ValueError(msg)
    return number


def non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        msg = f"应为不小于 0 的数，实际为 {value!r}"
        raise ValueError(msg)
    return number


def patrol_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("walk", "bike"):
        msg = f"应为 walk（步行）或 bike（骑行），实际为 {value!r}"
        raise ValueError(msg)
    return mode


def whois_source(value: str) -> str:
    source = value.strip().lower()
    if source not in ("memory", "database"):
        msg = f"应为 memory（每个工作进程内存中的索引）或 database（PostGIS 查询），实际为 {value!r}"
        raise ValueError(msg)
    return source


def boolean(value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    msg = f"应为 true 或 false，实际为 {value!r}"
    raise ValueError(msg)


def work_hours(value: str) -> tuple[tuple[int, int], ...]:
    """``08:30-12:00,14:30-18:00`` as minutes after midnight: ((510, 720), (870, 1080))."""
    spans: list[tuple[int, int]] = []
    for part in str(value).replace("，", ",").split(","):
        if not part.strip():
            continue
        try:
            start, end = (
                int(h) * 60 + int(m)
                for h, m in (t.strip().split(":") for t in part.replace("－", "-").split("-"))
            )
        except ValueError:
            msg = f"工作时间段 {part.strip()!r} 应写成 时:分-时:分，如 08:30-12:00"
            raise ValueError(msg) from None
        if not 0 <= start < end <= 24 * 60 or (spans and start < spans[-1][1]):
            msg = f"工作时间段 {part.strip()!r} 无效：应在 00:00-24:00 之内、开始早于结束、按时间先后排列且不重叠"
            raise ValueError(msg)
        spans.append((start, end))
    if not spans:
        msg = "至少要有一个工作时间段，如 08:30-12:00,14:30-18:00"
        raise ValueError(msg)
    return tuple(spans)


def clock_time(value: str) -> str:
    """``HH:MM`` (China time), or empty for off."""
    text = str(value).strip()
    if not text:
        return ""
    try:
        hour, minute = (int(x) for x in text.split(":"))
    except ValueError:
        hour, minute = -1, -1
    if not (0 <= hour < 24 and 0 <= minute < 60):
        msg = f"应为 时:分（如 08:00），或留空表示关闭，实际为 {value!r}"
        raise ValueError(msg)
    return f"{hour:02d}:{minute:02d}"


def url(*schemes: str) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        text = str(value).strip()
        if not text:
            return None
        if text.split("://", 1)[0].lower() not in schemes or "://" not in text:
            msg = (
                f"应为 {'、'.join(s + '://…' for s in schemes)} 形式的地址，或留空表示关闭，实际为 {value!r}"
            )
            raise ValueError(msg)
        return text

    return parse


def names(value: str) -> tuple[str, ...]:
    """A list of names (codes or Chinese names) separated by commas, 、 or spaces; empty: none."""
    text = str(value)
    for mark in ("，", "、", ";", "；"):
        text = text.replace(mark, ",")
    out: list[str] = []
    for part in text.replace(",", " ").split():
        if part not in out:
            out.append(part)
    return tuple(out)
