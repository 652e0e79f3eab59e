"""CSV and XLSX tables: delimiter, sheet and header row found, blank and note rows skipped."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import normalize_header, score_header
from gridmap.io.encoding import decode_text
from gridmap.io.sheets import MAX_CELLS, open_workbook, sheet_rows
from gridmap.io.source import Source

__all__ = ["is_blank", "read_csv", "read_xlsx"]

_HEADER_SCAN_ROWS = 30


def read_csv(path: Path, *, kind: str, codec: str | None, name: str) -> Source:
    decoded = decode_text(path.read_bytes(), codec=codec, name=name)
    text = decoded.text
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(
            sample.split("\n", 1)[0] if "\n" in sample else sample, delimiters=",\t;|"
        )
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    source = _table_source(rows, list(range(1, len(rows) + 1)), kind=kind, name=name, sheet=None)
    source.format = "csv"
    source.encoding, source.encoding_reason = decoded.codec, decoded.reason
    return source


def read_xlsx(path: Path, *, kind: str, sheet: str | None, name: str, limits: ArchiveLimits | None) -> Source:
    book, external = open_workbook(path, name=name, limits=limits)
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                msg = f"{name} 中没有工作表“{sheet}”；现有：{'、'.join(book.sheetnames)}"
                raise InvalidInput(msg)
            candidates = [sheet]
        else:
            candidates = book.sheetnames
        best = None
        for sheet_name in candidates:  # choose by the header found near the top
            if len(candidates) == 1:
                best = (0, sheet_name)
                break
            top, _ = sheet_rows(book[sheet_name], name=name, limit=_HEADER_SCAN_ROWS, max_row=10_000)
            score = max((score_header(r, kind) for r in top), default=0)
            if best is None or score > best[0]:
                best = (score, sheet_name)
        assert best is not None
        sheet_name = best[1]
        rows, numbers = sheet_rows(book[sheet_name], name=name)
    finally:
        book.close()
    source = _table_source(rows, numbers, kind=kind, name=name, sheet=sheet_name)
    source.format = "xlsx"
    source.encoding, source.encoding_reason = "utf-8", "XLSX 内部为 Unicode，无需判断编码"
    if len(candidates) > 1:
        source.notes.append(
            f"工作簿有 {len(candidates)} 个工作表，按表头选用了“{sheet_name}”（可用 --layer 指定）"
        )
    if external:
        source.notes.append(
            f"工作簿引用了 {len(external)} 个外部文件（外部链接）：只读取单元格中保存的值，"
            "不会打开或下载外部文件"
        )
    return source


def is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def _table_source(rows: list[list], numbers: list[int], *, kind: str, name: str, sheet: str | None) -> Source:
    """Find the header row, build a frame of the rows below it, skip blank and note rows."""
    where: dict[str, Any] = {"file": name, "layer": sheet}
    scores = [score_header(r, kind) for r in rows[:_HEADER_SCAN_ROWS]]
    nonblank = [i for i, r in enumerate(rows) if any(not is_blank(v) for v in r)]
    if not nonblank:
        msg = f"{name}{'（工作表 ' + sheet + '）' if sheet else ''} 是空的"
        raise DataError(msg, findings=[Finding("表格为空", hint="第一行应为表头", **where)])
    best = max(scores) if scores else 0
    header_at = scores.index(best) if best > 0 else nonblank[0]
    width = max(len(r) for r in rows)
    if len(rows) * width > MAX_CELLS:
        msg = (
            f"{name}{'（工作表 ' + sheet + '）' if sheet else ''} 过大：{len(rows):,} 行 × {width:,} 列，"
            f"超过 {MAX_CELLS:,} 个单元格"
        )
        raise DataError(
            msg,
            findings=[
                Finding(
                    msg,
                    hint="请删除多余的行和列（包括远处零星内容的单元格）后另存，或把数据拆成几个文件",
                    **where,
                )
            ],
        )
    header_cells = list(rows[header_at]) + [None] * (width - len(rows[header_at]))
    headers: list[str] = []
    for i, value in enumerate(header_cells):
        text = "" if is_blank(value) else str(value).strip()
        text = text or f"第{i + 1}列"
        while text in headers:
            text += "_"
        headers.append(text)
    notes = []
    if header_at != nonblank[0]:
        notes.append(f"表头在第 {numbers[header_at]} 行（上方的标题行已跳过）")
    header_key = [normalize_header(h) for h in headers]
    data, labels, skipped = [], [], []
    for i in range(header_at + 1, len(rows)):
        row = list(rows[i]) + [None] * (width - len(rows[i]))
        filled = [v for v in row if not is_blank(v)]
        if not filled:
            continue
        if [normalize_header(v) for v in row] == header_key:
            continue  # the header repeated (printed tables repeat it on every page)
        if len(filled) == 1 and len(str(filled[0])) > 8 and width > 2:
            skipped.append(numbers[i])  # a note such as “填表人：…” or “备注：…”
            continue
        data.append(row)
        labels.append(f"第 {numbers[i]} 行")
    frame = pd.DataFrame(data, columns=headers, dtype=object)
    frame.index = pd.RangeIndex(len(frame))
    findings = []
    if skipped:
        findings.append(
            Finding(
                f"第 {'、'.join(map(str, skipped[:10]))} 行只有一个单元格有内容，看起来是说明或备注，已跳过",
                severity="warning",
                hint="如果这些行是数据，请补全其他列",
                **where,
            )
        )
    return Source(
        frame=frame,
        format="table",
        file=name,
        layer=sheet,
        labels=pd.Index(labels),
        notes=notes,
        findings=findings,
    )
