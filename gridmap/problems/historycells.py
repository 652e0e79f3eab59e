"""A history file read: CSV or XLSX rows under Chinese or English headers, its cells parsed, addresses placed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.columns import normalize_header
from gridmap.io.encoding import Decoded, decode_text, normalize_codec
from gridmap.io.sheets import open_workbook, sheet_rows
from gridmap.parsing import MAX_YEAR, MIN_YEAR, parse_datetime
from gridmap.responsibility import ResponsibilityModel

__all__ = [
    "FIELDS",
    "CellError",
    "Places",
    "Table",
    "parse_count",
    "parse_flag",
    "parse_number",
    "parse_source",
    "parse_status",
    "parse_time",
    "read_table",
    "text",
]

# field -> (Chinese label, accepted headers: Chinese first, then English)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tracking_no": (
        "受理编号",
        ("受理编号", "案件编号", "案卷编号", "工单编号", "编号", "tracking_no", "case_no"),
    ),
    "reported_at": ("上报时间", ("上报时间", "发现时间", "reported_at", "report_time")),
    "category": ("问题类别", ("问题类别", "问题类型", "案件类别", "类别", "category")),
    "description": ("问题描述", ("问题描述", "案件描述", "描述", "description")),
    "lon": ("经度", ("经度", "lon", "lng", "longitude")),
    "lat": ("纬度", ("纬度", "lat", "latitude")),
    "address": ("地址", ("地址", "问题地址", "发生地址", "位置", "address")),
    "source": ("来源", ("来源", "问题来源", "案件来源", "source")),
    "status": ("状态", ("状态", "案件状态", "处理状态", "status")),
    "filed_at": ("立案时间", ("立案时间", "filed_at")),
    "dispatched_at": ("派遣时间", ("派遣时间", "交办时间", "dispatched_at")),
    "handled_at": ("处置时间", ("处置时间", "处置完成时间", "整改时间", "handled_at")),
    "closed_at": ("结案时间", ("结案时间", "closed_at")),
    "deadline": ("处置期限", ("处置期限", "整改期限", "deadline")),
    "unit_code": ("责任单位代码", ("责任单位代码", "责任单位编码", "单位代码", "unit_code")),
    "reworks": ("返工次数", ("返工次数", "reworks")),
    "extensions": ("延期次数", ("延期次数", "extensions")),
    "parked": ("挂账", ("挂账", "是否挂账", "parked")),
    "urgency": ("紧急程度", ("紧急程度", "urgency")),
    "reported_by": ("上报人", ("上报人", "上报人账号", "巡查员编号", "reported_by")),
}
_ALIASES = {normalize_header(h): name for name, (_, headers) in FIELDS.items() for h in headers}
REQUIRED = ("tracking_no", "reported_at", "category", "source")
_HEADER_SCAN_ROWS = 30

STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("已上报", "上报", "待受理", "待立案", "reported", "new"), "reported"),
    **dict.fromkeys(("核实中", "待核实", "verifying"), "verifying"),
    **dict.fromkeys(("已立案", "立案", "待派遣", "accepted", "filed"), "accepted"),
    **dict.fromkeys(("已派遣", "已交办", "处置中", "待处置", "dispatched"), "dispatched"),
    **dict.fromkeys(("已回退", "回退", "returned"), "returned"),
    **dict.fromkeys(("已挂账", "挂账", "缓办", "parked"), "parked"),
    **dict.fromkeys(("已整改", "已处置", "待核查", "rectified", "handled"), "rectified"),
    **dict.fromkeys(("已核查", "核查通过", "待结案", "verified", "checked"), "verified"),
    **dict.fromkeys(("已结案", "结案", "已办结", "closed"), "closed"),
    **dict.fromkeys(("不予立案", "已作废", "作废", "rejected", "voided"), "rejected"),
}
STATUS_HINT = "写已上报、已立案、已派遣、已回退、已挂账、已整改、已核查、已结案、不予立案之一（或英文 reported、accepted、dispatched、returned、parked、rectified、verified、closed、rejected）；不写则按各环节时间判断"
SOURCE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("市民", "市民随手拍", "群众", "公众", "市民举报", "热线", "12345", "citizen", "public"), "citizen"
    ),
    **dict.fromkeys(("巡查员", "巡查", "监督员", "巡查发现", "inspector"), "inspector"),
    **dict.fromkeys(("测评", "测评反馈", "实地测评", "assessment"), "assessment"),
    **dict.fromkeys(("媒体", "媒体曝光", "media"), "media"),
}
SOURCE_HINT = "写市民、巡查员、测评反馈或媒体曝光（或英文 citizen、inspector、assessment、media）"
TIME_HINT = "写成 2026-11-03 08:30（北京时间），或带时区的 ISO 时间如 2026-11-03T08:30:00+08:00，或 Excel 日期时间单元格"
_YES = {"是", "y", "yes", "true", "1", "已挂账", "挂账"}
_NO = {"否", "n", "no", "false", "0", "未挂账"}
_DATE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class CellError(Exception):
    """A cell that cannot be read: what is wrong, and what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass
class Table:
    """The rows of a history file under its header, each with its row number in the file."""

    file: str
    format: str  # csv / xlsx
    sheet: str | None = None
    encoding: str | None = None
    encoding_reason: str = ""
    columns: dict[str, int] = field(default_factory=dict)  # field -> column position
    headers: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # rows of notes or a repeated header

    def cell(self, row: list, name: str) -> object:
        at = self.columns.get(name)
        return row[at] if at is not None and at < len(row) else None


def _score(row: list) -> int:
    return len({_ALIASES[k] for v in row if v is not None and (k := normalize_header(v)) in _ALIASES})


def _csv_rows(path: Path, *, name: str, encoding: str | None) -> tuple[list[list], list[int], Decoded]:
    decoded = decode_text(path.read_bytes(), codec=normalize_codec(encoding) if encoding else None, name=name)
    first = decoded.text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(decoded.text), delimiter=delimiter)
    rows: list[list] = []
    numbers: list[int] = []
    line = 0
    for row in reader:
        if any(c.strip() for c in row):
            rows.append(row)
            numbers.append(line + 1)
        line = reader.line_num
    return rows, numbers, decoded


def read_table(path: str | Path, *, name: str | None = None, encoding: str | None = None) -> Table:
    """Read a CSV (UTF-8 or GBK) or XLSX history file: its header mapped to fields, its rows.

    Raises DataError naming the file when it has no recognisable header or misses a column
    every case needs (with the headers accepted for it).
    """
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        rows, numbers, decoded = _csv_rows(path, name=name, encoding=encoding)
        table = Table(file=name, format="csv", encoding=decoded.codec, encoding_reason=decoded.reason)
    elif suffix in (".xlsx", ".xlsm"):
        book, _ = open_workbook(path, name=name)
        try:
            best = max(
                book.sheetnames,
                key=lambda s: max(
                    (_score(r) for r in sheet_rows(book[s], name=name, limit=_HEADER_SCAN_ROWS)[0]), default=0
                ),
            )
            rows, numbers = sheet_rows(book[best], name=name)
        finally:
            book.close()
        table = Table(
            file=name, format="xlsx", sheet=best, encoding="utf-8", encoding_reason="XLSX 内部为 Unicode"
        )
    else:
        msg = f"{name}：历史案件只能从 .xlsx 或 .csv 文件导入，请在 Excel/WPS 中另存为其中一种"
        raise InvalidInput(msg)
    scores = [_score(r) for r in rows[:_HEADER_SCAN_ROWS]]
    if not scores or max(scores) < 2:
        msg = f"{name} 中找不到表头：前 {_HEADER_SCAN_ROWS} 行没有一行写着受理编号、上报时间、问题类别等列名"
        raise DataError(msg, findings=[Finding("找不到表头", file=name, hint=_header_hint(REQUIRED))])
    at = scores.index(max(scores))
    findings = []
    for i, value in enumerate(rows[at]):
        header = "" if value is None else str(value).strip()
        table.headers.append(header)
        found = _ALIASES.get(normalize_header(header))
        if found is None:
            if header:
                table.unused.append(header)
        elif found in table.columns:
            first = table.headers[table.columns[found]]
            findings.append(
                Finding(
                    f"列“{first}”和“{header}”都是{FIELDS[found][0]}",
                    file=name,
                    field=header,
                    hint="删去或改名其中一列",
                )
            )
        else:
            table.columns[found] = i
    for need in REQUIRED:
        if need not in table.columns:
            findings.append(Finding(f"缺少“{FIELDS[need][0]}”列", file=name, hint=_header_hint((need,))))
    if not ("lon" in table.columns and "lat" in table.columns) and "address" not in table.columns:
        findings.append(
            Finding(
                "缺少位置：既没有“经度”“纬度”两列，也没有“地址”列",
                file=name,
                hint=_header_hint(("lon", "lat", "address")),
            )
        )
    if findings:
        msg = f"{name} 的表头不全或有重复，未导入任何案件"
        raise DataError(msg, findings=findings)
    header_keys = [normalize_header(v) for v in rows[at]]
    for row, number in zip(rows[at + 1 :], numbers[at + 1 :]):
        filled = [v for v in row if not _blank(v)]
        if len(filled) == 1 or [normalize_header(v) for v in row] == header_keys:
            table.skipped.append(number)  # a note such as “填表人：…”, or the header repeated
        elif filled:
            table.rows.append(row)
            table.numbers.append(number)
    return table


def _header_hint(names: tuple[str, ...]) -> str:
    return "；".join(f"{FIELDS[n][0]}列的表头可写 {'、'.join(FIELDS[n][1])}" for n in names)


# --- cells -------------------------------------------------------------------------------------
def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


def text(value: object) -> str | None:
    """A cell as text (an integral number as Excel stores codes: 1001.0 -> "1001"); None if blank."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_time(value: object, *, excel: bool, end_of_day: bool = False) -> dt.datetime | None:
    """A time as an aware UTC datetime, None if blank: an Excel date cell or serial number, or text
    like 2026-11-03 08:30, 2026/11/3 8:30, 2026年11月3日 8时30分, ISO with an offset (honoured);
    without an offset it is China time. A plain date is its day's start (with ``end_of_day``: its end)."""
    if _blank(value):
        return None
    shown = str(value).strip()[:40]
    wrong = CellError(f"“{shown}”不是日期时间", TIME_HINT)
    if isinstance(value, dt.datetime):
        moment: object = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
        moment += dt.timedelta(days=1) if end_of_day else dt.timedelta(0)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not excel or not 1 <= value < 80_000:
            raise wrong
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
    else:
        cleaned = re.sub(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})", r"\1-\2-\3", shown)
        cleaned = re.sub(r"[年月/]", "-", cleaned.replace("日", " ").replace("时", ":").replace("分", ":"))
        cleaned = re.sub(r":?秒", "", cleaned).replace("：", ":").rstrip(":").strip()
        cleaned = re.sub(r"\s+", " ", cleaned)
        m = _DATE.match(cleaned)
        if m is None:
            raise wrong
        y, mo, d, h, mi, s, frac, zone = m.groups()
        moment = f"{y}-{int(mo):02d}-{int(d):02d}"
        if h is not None:
            moment += f"T{int(h):02d}:{int(mi):02d}:{int(s or 0):02d}{frac or ''}"
        if zone:
            moment += "+00:00" if zone.upper() == "Z" else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    try:
        return parse_datetime(moment, name="time", end_of_day=end_of_day)
    except InvalidInput:
        raise CellError(
            f"“{shown}”不是有效的日期时间（年份应在 {MIN_YEAR}–{MAX_YEAR} 之间，月、日、时、分应有效）",
            TIME_HINT,
        ) from None


def parse_count(value: object) -> int:
    """A count of reworks or extensions: a whole number 0–99; blank is 0."""
    if _blank(value):
        return 0
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not number.is_integer() or not 0 <= number <= 99:
        raise CellError(f"“{str(value)[:20]}”不是次数", "写 0 到 99 的整数；没有则留空或写 0")
    return int(number)


def parse_flag(value: object) -> bool:
    """是/否 (yes/no, 1/0, true/false); blank is no."""
    if _blank(value) or value is False:
        return False
    if value is True:
        return True
    word = text(value)
    if word is not None and word.lower() in _YES:
        return True
    if word is not None and word.lower() in _NO:
        return False
    raise CellError(f"“{str(value)[:20]}”不是“是”或“否”", "写“是”或“否”（也可写 yes/no、1/0）；不写即为否")


def parse_number(value: object, *, limit: float, label: str) -> float | None:
    """A coordinate in degrees within ±``limit``; None if blank."""
    if _blank(value):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > limit:
        raise CellError(
            f"{label}“{str(value)[:20]}”不是 -{limit:g} 到 {limit:g} 之间的数",
            "写 WGS84 经纬度的小数度数，如 106.52、33.91",
        )
    return number


def parse_status(value: object) -> str | None:
    """A status word (Chinese or English) as gridmap's status code; None if blank."""
    word = text(value)
    if word is None:
        return None
    found = STATUS_WORDS.get(word) or STATUS_WORDS.get(word.lower())
    if found is None:
        raise CellError(f"状态“{word[:20]}”不认识", STATUS_HINT)
    return found


def parse_source(value: object) -> str:
    """A source word (Chinese or English) as gridmap's source code."""
    word = text(value)
    if word is None:
        raise CellError("没有填写来源", SOURCE_HINT)
    found = SOURCE_WORDS.get(word) or SOURCE_WORDS.get(word.lower())
    if found is None:
        raise CellError(f"来源“{word[:20]}”不认识", SOURCE_HINT)
    return found


# --- addresses -------------------------------------------------------------------------------
class Places:
    """Names of inspection points (and their addresses), communities and roads, to place an address.

    An address matches the name it equals, else the longest name it contains (a point before a
    community before a road at equal length); a road with several segments is placed on the
    segment whose end (from/to name) the address also names, else its first segment's middle.
    """

    def __init__(self, model: ResponsibilityModel) -> None:
        entries: list[tuple[str, int, str, float, float]] = []  # key, rank, label, lon, lat

        def spots(frame):
            geoms = np.asarray(frame.geometry.values)
            line = shapely.get_type_id(geoms) == 1
            out = shapely.point_on_surface(geoms)
            out[line] = shapely.line_interpolate_point(geoms[line], 0.5, normalized=True)
            return shapely.get_coordinates(out)

        for (_, r), (x, y) in zip(model.points.iterrows(), spots(model.points)):
            for name in (r["name"], r.get("address")):
                if isinstance(name, str) and name.strip():
                    entries.append((normalize_header(name), 0, f"考察点位“{r['name']}”", x, y))
        for (_, r), (x, y) in zip(model.communities.iterrows(), spots(model.communities)):
            entries.append((normalize_header(r["name"]), 1, f"小区“{r['name']}”", x, y))
        self.ends: dict[str, list[tuple[set[str], float, float]]] = {}
        for (_, r), (x, y) in zip(model.segments.iterrows(), spots(model.segments)):
            key = normalize_header(r["road_name"])
            if not key:
                continue
            ends = {
                normalize_header(r[k]) for k in ("from_name", "to_name") if isinstance(r[k], str) and r[k]
            }
            self.ends.setdefault(key, []).append((ends, x, y))
            if len(self.ends[key]) == 1:
                entries.append((key, 2, f"道路“{r['road_name']}”", x, y))
        self.entries = [e for e in entries if len(e[0]) >= 2]
        self.seen: dict[str, tuple[str, float, float] | None] = {}

    def match(self, address: str) -> tuple[str, float, float] | None:
        """(what it matched, lon, lat) of an address, or None (answers kept: addresses repeat)."""
        key = normalize_header(address)
        if key not in self.seen:
            self.seen[key] = self._match(key)
        return self.seen[key]

    def _match(self, key: str) -> tuple[str, float, float] | None:
        hits = [e for e in self.entries if e[0] == key] or [e for e in self.entries if e[0] in key]
        if not hits:
            return None
        name, rank, label, x, y = max(hits, key=lambda e: (e[0] == key, len(e[0]), -e[1]))
        if rank == 2:
            for ends, sx, sy in self.ends[name]:
                if any(end and end in key for end in ends):
                    return f"{label}（{'、'.join(sorted(e for e in ends if e in key))}段）", sx, sy
        return label, x, y
