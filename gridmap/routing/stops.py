"""Patrol stops: read them from a CSV (id,x,y and optional mandatory,prize,service) and validate them."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gridmap.errors import Finding, InvalidInput
from gridmap.io.encoding import decode_text

REQUIRED_COLUMNS = ("id", "x", "y")
OPTIONAL_COLUMNS = ("mandatory", "prize", "service")
_YES = {"1", "true", "yes", "y", "是", "必去", "t"}
_NO = {"0", "false", "no", "n", "否", "选去", "f"}


@dataclass(frozen=True)
class Stop:
    """One inspection point to patrol: planar x/y in metres, or lon/lat (EPSG:4326)."""

    id: str
    x: float
    y: float
    mandatory: bool = True
    prize: float | None = None  # detour in metres an optional stop is worth; None: any detour
    service: float = 0.0  # extra length charged for a visit (time on site × walking speed)


def read_stops(path: str | Path, *, planar: bool) -> list[Stop]:
    """Read and validate a stops CSV (UTF-8, UTF-8 with BOM, or GBK as saved by Chinese Excel)."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError as error:
        msg = f"找不到点位文件 {source}"
        raise InvalidInput(msg) from error
    except OSError as error:
        msg = f"无法读取点位文件 {source}：{error.strerror or error}"
        raise InvalidInput(msg) from error
    text = decode_text(raw, name=source.name, lenient=True, error=InvalidInput).text
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        msg = (
            f"点位文件 {source.name} 缺少列 {'、'.join(missing)}：第一行应为列名，至少包括 id,x,y"
            f"（可选 {','.join(OPTIONAL_COLUMNS)}）"
        )
        raise InvalidInput(msg)
    rows = [
        {
            (key or "").strip().lower(): value.strip() if isinstance(value, str) else ""
            for key, value in row.items()
        }
        for row in reader
    ]
    return validate_stops(rows, planar=planar, file=source.name)


def validate_stops(
    rows: Iterable[Mapping[str, object]], *, planar: bool, file: str | None = None
) -> list[Stop]:
    """Turn rows (dicts with id, x, y, …) into stops; every problem found is named by its row and id.

    Rows are numbered as in a spreadsheet: the header is row 1, the first stop row 2.
    """
    findings: list[Finding] = []
    stops: list[Stop] = []
    first_row: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=2):
        sid = str(row.get("id") or "").strip()
        if not sid:
            findings.append(Finding("缺少点位编号 id", file=file, feature=number, field="id"))
            continue
        if sid in first_row:
            duplicates.setdefault(sid, [first_row[sid]]).append(number)
            continue
        first_row[sid] = number
        x = _number(row.get("x"), sid, number, "x", findings, file)
        y = _number(row.get("y"), sid, number, "y", findings, file)
        if x is not None and y is not None and not planar and not (-180 <= x <= 180 and -90 <= y <= 90):
            findings.append(
                Finding(
                    f"点位 {sid} 的经纬度 ({x}, {y}) 超出范围：不用 --planar 时 x 为经度、y 为纬度（EPSG:4326）",
                    file=file,
                    feature=number,
                    hint="平面坐标（米）请加 --planar",
                )
            )
        mandatory = _flag(row.get("mandatory"), sid, number, findings, file)
        prize = _number(row.get("prize"), sid, number, "prize", findings, file, blank=None, minimum=0.0)
        service = _number(row.get("service"), sid, number, "service", findings, file, blank=0.0, minimum=0.0)
        if x is None or y is None or mandatory is None or service is None:
            continue  # already reported
        stops.append(Stop(id=sid, x=x, y=y, mandatory=mandatory, prize=prize, service=service))
    for sid, numbers in duplicates.items():
        rows_text = "、".join(str(n) for n in numbers)
        findings.append(
            Finding(
                f"点位编号 {sid} 重复（第 {rows_text} 行）",
                file=file,
                feature=numbers[1],
                field="id",
                hint="每个点位需要唯一的 id：请合并重复的行或改用不同的编号",
            )
        )
    if findings:
        dup = list(duplicates)
        head = f"点位编号重复：{'、'.join(dup)}；" if dup else ""
        msg = f"{head}点位文件有 {len(findings)} 处错误，请改正后重试："
        raise InvalidInput(msg, findings=findings)
    if len(stops) < 2:
        msg = f"至少需要 2 个点位才能规划巡查路线，文件中只有 {len(stops)} 个"
        raise InvalidInput(msg)
    return stops


def _number(
    value: object,
    sid: str,
    row: int,
    column: str,
    findings: list[Finding],
    file: str | None,
    *,
    blank: float | str | None = "required",
    minimum: float | None = None,
) -> float | None:
    text = "" if value is None else str(value).strip()
    if text == "":
        if blank == "required":
            findings.append(Finding(f"点位 {sid} 缺少 {column} 坐标", file=file, feature=row, field=column))
            return None
        return blank  # type: ignore[return-value]
    try:
        number = float(text)
    except ValueError:
        findings.append(
            Finding(f"点位 {sid} 的 {column} 值 {text!r} 不是数字", file=file, feature=row, field=column)
        )
        return None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        need = "有限的数" if minimum is None else f"不小于 {minimum:g} 的数"
        findings.append(
            Finding(f"点位 {sid} 的 {column} 值 {text!r} 应为{need}", file=file, feature=row, field=column)
        )
        return None
    return number


def _flag(value: object, sid: str, row: int, findings: list[Finding], file: str | None) -> bool | None:
    text = "" if value is None else str(value).strip().lower()
    if text == "" or text in _YES:
        return True
    if text in _NO:
        return False
    findings.append(
        Finding(
            f"点位 {sid} 的 mandatory 值 {text!r} 无法识别",
            file=file,
            feature=row,
            field="mandatory",
            hint="用 1/是 表示必去，0/否 表示可选",
        )
    )
    return None
