"""Read XLSX worksheets within a budget: streamed, never padded to a declared size, a cap on cells.

A 2 KB workbook with one cell in A1 and one in XFD1048576 (or a ``<dimension>`` that says
so) would make openpyxl produce 17 billion cells; here only rows that hold a value are
kept, each as wide as its own last value, and reading stops with a Chinese message once
`MAX_CELLS` cells would be held. Merged ranges are read from the sheet's XML (openpyxl's
read-only mode does not expose them) and filled with their top-left value.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from gridmap.errors import DataError, Finding
from gridmap.io.archive import ArchiveLimits, check_workbook

__all__ = ["MAX_CELLS", "open_workbook", "sheet_frame", "sheet_rows"]

MAX_CELLS = 5_000_000  # rows × columns held for one sheet (a county table has well under 1 million)
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def open_workbook(path: str | Path, *, name: str, limits: ArchiveLimits | None = None):
    """Open an XLSX read-only (streamed), after the archive checks; external links are not loaded.

    Returns
    -------
    (openpyxl workbook, list of external link parts)
    """
    import openpyxl

    external = check_workbook(path, name=name, limits=limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException …
        msg = f"无法读取 Excel 文件 {name}：{exc}"
        raise DataError(
            msg,
            findings=[
                Finding(f"不是有效的 XLSX 文件：{exc}", file=name, hint="请在 Excel/WPS 中打开并另存为 .xlsx")
            ],
        ) from exc
    return book, external


def _column(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _merged_ranges(ws) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of every merged range, from the sheet's XML."""
    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(ws.parent, "_archive", None)
    if not path or not isinstance(archive, zipfile.ZipFile):
        return []
    out = []
    with archive.open(path) as src:
        for _, element in ElementTree.iterparse(src):
            if element.tag.endswith("}mergeCell") or element.tag == "mergeCell":
                ends = [m for p in (element.get("ref") or "").upper().split(":") if (m := _REF.match(p))]
                if len(ends) == 2:
                    (c0, r0), (c1, r1) = ((_column(m.group(1)), int(m.group(2))) for m in ends)
                    out.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
            element.clear()
    return out


def _too_big(name: str, sheet: str, rows: int, width: int) -> DataError:
    msg = (
        f"{name} 的工作表“{sheet}”过大：超过 {MAX_CELLS:,} 个单元格（已读到第 {rows:,} 行，"
        f"最宽 {width:,} 列），已停止读取"
    )
    return DataError(
        msg,
        findings=[
            Finding(
                msg,
                file=name,
                layer=sheet,
                hint="请删除多余的行和列（包括远处只有格式或零星内容的单元格）后另存，或把数据拆成几个文件",
            )
        ],
    )


def sheet_rows(
    ws, *, name: str, limit: int | None = None, max_row: int | None = None, max_cells: int = MAX_CELLS
) -> tuple[list[list], list[int]]:
    """The rows of a worksheet that hold any value, with their 1-based row numbers.

    Each row is as wide as its last value; merged ranges are filled with their top-left
    value (rows they cover are included). ``limit`` stops after that many rows with values
    and ``max_row`` at that row number (both for a quick look at the top, merges not filled).

    Raises
    ------
    DataError
        When the sheet would hold more than ``max_cells`` cells.
    """
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # never pad to the <dimension> the file declares
    rows: dict[int, list] = {}
    widest = 0
    for number, row in enumerate(ws.iter_rows(values_only=True, max_row=max_row), start=1):
        if not row:
            continue
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if not values:
            continue
        widest = max(widest, len(values))
        if (len(rows) + 1) * widest > max_cells:  # the table is as wide as its widest row
            raise _too_big(name, ws.title, number, widest)
        rows[number] = values
        if limit is not None and len(rows) >= limit:
            break
    if limit is None and max_row is None:
        for r0, c0, r1, c1 in _merged_ranges(ws):
            anchor = rows.get(r0, [])
            value = anchor[c0 - 1] if c0 - 1 < len(anchor) else None
            if value is None:
                continue
            widest = max(widest, c1)
            added = r1 - r0 + 1 if r1 - r0 >= max_cells else sum(r not in rows for r in range(r0, r1 + 1))
            if (len(rows) + added) * widest > max_cells:
                raise _too_big(name, ws.title, r1, widest)
            for r in range(r0, r1 + 1):
                row = rows.setdefault(r, [])
                if len(row) < c1:
                    row.extend([None] * (c1 - len(row)))
                for c in range(c0 - 1, c1):
                    row[c] = value
    numbers = sorted(rows)
    return [rows[n] for n in numbers], numbers


def sheet_frame(rows: list[list], numbers: list[int]) -> pd.DataFrame:
    """`sheet_rows` as a frame: columns 0 … width-1 (short rows padded with None), index = row numbers."""
    width = max((len(r) for r in rows), default=1)
    padded = [r if len(r) == width else [*r, *([None] * (width - len(r)))] for r in rows]
    frame = pd.DataFrame(padded, columns=range(width), dtype=object)
    frame.index = pd.Index(numbers, dtype=np.int64)
    return frame
