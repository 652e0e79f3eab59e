"""CSV and XLSX tables: delimiter, sheet and header row found, blank and note rows skipped.

CSV files are read by pandas' C parser (every cell as text, one frame row per record, so a
record's number is its spreadsheet row) and cleaned column by column: a table of millions of
rows (1.75 million household heads of a province) reads in seconds, with no cell budget, since
the file's own size bounds it. Workbooks are streamed within `MAX_CELLS` (see gridmap.io.sheets).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import blank_cells, normalize_header, score_header
from gridmap.io.encoding import decode_text, detect_file_codec
from gridmap.io.sheets import MAX_CELLS, open_workbook, sheet_frame, sheet_rows
from gridmap.io.source import Source

__all__ = ["CsvCells", "blank_matrix", "is_blank", "read_csv", "read_csv_cells", "read_xlsx", "row_labels"]

_HEADER_SCAN_ROWS = 30
_HEAD_BYTES = 1 << 16  # read to find the delimiter and the width of the first records
_MAX_COLUMNS = 16_384  # as wide as an Excel sheet
_SAW = re.compile(r"saw (\d+)")


@dataclass
class CsvCells:
    """Every cell of a CSV file as text ("" when empty), one frame row per record (blank ones too)."""

    frame: pd.DataFrame  # columns 0 … width-1
    codec: str
    reason: str
    delimiter: str


def _delimiter(head: str) -> str:
    first = head.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def read_csv_cells(path: Path, *, codec: str | None, name: str) -> CsvCells:
    """Read a CSV with pandas' C parser, every cell as text; ragged records padded with "".

    The encoding is chosen as `decode_text` does (--encoding, UTF-8 BOM, UTF-8, GBK/GB18030)
    from the file's head and then holds for the whole file, which the parser decodes strictly;
    when it does not (a UTF-8 head over GBK rows), the file is checked in streamed chunks
    (`detect_file_codec`) and read again with what that finds, or refused with the byte at fault.
    """
    with path.open("rb") as fh:
        head_bytes = fh.read(_HEAD_BYTES)
    whole = len(head_bytes) < _HEAD_BYTES
    cut = head_bytes if whole else head_bytes[: head_bytes.rfind(b"\n") + 1] or head_bytes
    try:
        decoded = decode_text(cut, codec=codec, name=name)
        used, reason, head = decoded.codec, decoded.reason, decoded.text
    except DataError:
        used, reason = detect_file_codec(path, codec=codec, name=name)  # raises with the byte at fault
        head = codecs.getincrementaldecoder(used)("replace").decode(cut)
    delimiter = _delimiter(head)
    try:
        records = list(csv.reader(io.StringIO(head), delimiter=delimiter))
    except csv.Error:
        records = []
    width = max((len(r) for r in records), default=1) or 1
    try:
        frame = _parse(path, delimiter=delimiter, codec=used, width=width, name=name)
    except UnicodeDecodeError:
        checked, reason = detect_file_codec(path, codec=codec, name=name)
        if checked == used:
            raise
        used = checked
        frame = _parse(path, delimiter=delimiter, codec=used, width=width, name=name)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # record numbers (spreadsheet rows)
    return CsvCells(frame=frame, codec=used, reason=reason, delimiter=delimiter)


def _parse(path: Path, *, delimiter: str, codec: str, width: int, name: str) -> pd.DataFrame:
    for _ in range(8):  # a record wider than any seen so far: read again as wide as it
        try:
            return pd.read_csv(
                path,
                sep=delimiter,
                encoding=codec,
                encoding_errors="strict",
                header=None,
                names=list(range(width)),
                index_col=False,
                dtype=object,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
        except pd.errors.EmptyDataError:
            return pd.DataFrame({0: pd.Series(dtype=object)})
        except pd.errors.ParserError as exc:
            seen = _SAW.search(str(exc))
            wider = int(seen.group(1)) if seen else 0
            if wider <= width or wider > _MAX_COLUMNS:
                msg = f"无法读取 CSV 文件 {name}：{str(exc).strip()[:200]}"
                raise DataError(
                    msg,
                    findings=[
                        Finding(msg, file=name, hint="请检查引号是否成对，或在 Excel/WPS 中打开后另存为 CSV")
                    ],
                ) from exc
            width = wider
    msg = f"无法读取 CSV 文件 {name}：各行的列数相差太大"
    raise DataError(msg, findings=[Finding(msg, file=name, hint="请在 Excel/WPS 中打开后另存为 CSV")])


def read_csv(path: Path, *, kind: str, codec: str | None, name: str) -> Source:
    cells = read_csv_cells(path, codec=codec, name=name)
    source = _table_source(cells.frame, kind=kind, name=name, sheet=None)
    source.format = "csv"
    source.encoding, source.encoding_reason = cells.codec, cells.reason
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
    source = _table_source(sheet_frame(rows, numbers), kind=kind, name=name, sheet=sheet_name)
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


def blank_matrix(cells: pd.DataFrame) -> np.ndarray:
    """True where a cell is empty (None, NaN, "" or only whitespace), column by column."""
    if not len(cells.columns):
        return np.zeros((len(cells), 0), dtype=bool)
    return np.column_stack([blank_cells(cells[c]) for c in cells.columns])


def row_labels(numbers) -> pd.Index:
    """'第 n 行' for each 1-based row number, as messages name rows."""
    return pd.Index(list(map("第 {} 行".format, np.asarray(numbers).tolist())), dtype=object)


def _header_cells(row: list) -> list[str]:
    headers: list[str] = []
    for i, value in enumerate(row):
        text = "" if is_blank(value) else str(value).strip()
        text = text or f"第{i + 1}列"
        while text in headers:
            text += "_"
        headers.append(text)
    return headers


def _table_source(cells: pd.DataFrame, *, kind: str, name: str, sheet: str | None) -> Source:
    """Find the header row, keep the rows below it, skip blank, repeated-header and note rows.

    ``cells``: one row per file row (index = its 1-based number), columns 0 … width-1.
    Everything is done column by column; only the top rows (header search) and rows with a
    single filled cell (notes) are looked at one by one.
    """
    where: dict[str, Any] = {"file": name, "layer": sheet}
    numbers = cells.index.to_numpy()
    blank = blank_matrix(cells)
    filled_count = (~blank).sum(axis=1) if blank.size else np.zeros(len(cells), dtype=int)
    nonblank = np.flatnonzero(filled_count > 0)
    if not len(nonblank):
        msg = f"{name}{'（工作表 ' + sheet + '）' if sheet else ''} 是空的"
        raise DataError(msg, findings=[Finding("表格为空", hint="第一行应为表头", **where)])
    top = cells.iloc[:_HEADER_SCAN_ROWS].to_numpy(dtype=object).tolist()
    scores = [score_header([v for v in r if not is_blank(v)], kind) for r in top]
    best = max(scores) if scores else 0
    header_at = scores.index(best) if best > 0 else int(nonblank[0])
    width = len(cells.columns)
    if sheet is not None and len(cells) * width > MAX_CELLS:
        msg = f"{name}（工作表 {sheet}）过大：{len(cells):,} 行 × {width:,} 列，超过 {MAX_CELLS:,} 个单元格"
        raise DataError(
            msg,
            findings=[
                Finding(
                    msg,
                    hint="请删除多余的行和列（包括远处零星内容的单元格）后另存，或把数据拆成几个文件；"
                    "数据行多时请用 CSV 或 GeoPackage",
                    **where,
                )
            ],
        )
    header_row = cells.iloc[header_at].tolist()
    headers = _header_cells(header_row)
    notes = []
    if header_at != int(nonblank[0]):
        notes.append(f"表头在第 {numbers[header_at]} 行（上方的标题行已跳过）")
    keep = filled_count > 0
    keep[: header_at + 1] = False
    # the header repeated (printed tables repeat it on every page): compared as normalised text,
    # on the rows whose first cell is the header's first cell
    first = cells[cells.columns[0]].to_numpy(dtype=object)
    first_header = "" if is_blank(header_row[0]) else str(header_row[0]).strip()
    header_key = [normalize_header(h) if not is_blank(h) else "" for h in header_row]
    maybe = np.flatnonzero(keep & _equal_text(first, header_row[0], first_header))
    for i in maybe:
        row = cells.iloc[i].tolist()
        if [normalize_header(v) if not is_blank(v) else "" for v in row] == header_key:
            keep[i] = False
    # a note such as “填表人：…” or “备注：…”: one long cell in a wide table
    skipped = []
    if width > 2:
        for i in np.flatnonzero(keep & (filled_count == 1)):
            value = cells.iloc[i].to_numpy(dtype=object)[~blank[i]][0]
            if len(str(value)) > 8:
                keep[i] = False
                skipped.append(int(numbers[i]))
    frame = cells.loc[keep].copy() if not keep.all() else cells.copy()
    frame.columns = headers
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
        labels=row_labels(numbers[keep]),
        notes=notes,
        findings=findings,
    )


def _equal_text(values: np.ndarray, cell: object, text: str) -> np.ndarray:
    """Where values hold the cell as written or its stripped text (a vectorised prefilter)."""
    same = np.zeros(len(values), dtype=bool)
    for wanted in {str(cell), text} if text else ():
        found = values == wanted
        if isinstance(found, np.ndarray):
            same |= found
    return same
