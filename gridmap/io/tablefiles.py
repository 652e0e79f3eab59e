"""Where a dataset's responsibility tables are: XLSX sheets, CSV files or GeoPackage attribute tables.

A county's tables fit in `responsibility.xlsx`; a province's do not (1.75 million household
heads, an Excel sheet holds 1,048,576 rows). Any table may therefore come, in a dataset
directory, from

1. a CSV file named as its sheet or table (``中心户长.csv`` or ``household_heads.csv``; UTF-8
   with or without BOM, or GBK/GB18030, found as for every text file),
2. ``responsibility.gpkg``: a table (or a layer, its geometry ignored) named as the sheet or table,
3. ``responsibility.xlsx``: a sheet named as the sheet or table (as always),
4. ``layers.gpkg``: an attribute table (no geometry) named so, as `gridmap export-data --format
   gpkg` writes them.

The first place that has it wins; a warning names the others. Each source gives the same raw
table (header texts as columns, cells as read, a label per row for messages), which
`gridmap.io.read.read_tables` maps to the model's columns and validates as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from gridmap.errors import DataError, Finding
from gridmap.io.columns import blank_cells
from gridmap.io.offline import no_network
from gridmap.io.sheets import open_workbook, sheet_frame, sheet_rows
from gridmap.io.tables import is_blank, read_csv_cells, row_labels
from gridmap.io.vector import gdal_message
from gridmap.model import LAYERS_FILE, TABLES, TABLES_FILE, TableSpec

__all__ = ["TABLES_GPKG", "RawTable", "raw_tables"]

TABLES_GPKG = "responsibility.gpkg"


@dataclass
class RawTable:
    """One table as found: header texts as columns, every cell as read, a label per row."""

    frame: pd.DataFrame
    labels: pd.Index  # '第 n 行' (sheet or CSV row) or 'FID n' (GeoPackage)
    file: str
    layer: str  # the sheet or table, as messages name it

    def where(self) -> dict:
        return {"file": self.file, "layer": self.layer}


def _filled_rows(cells: pd.DataFrame) -> np.ndarray:
    """Rows with any value, found column by column among the rows still undecided (the first
    column, a code, settles almost every row at once)."""
    filled = np.zeros(len(cells), dtype=bool)
    undecided = np.arange(len(cells))
    for column in cells.columns:
        if not len(undecided):
            break
        blank = blank_cells(cells[column].to_numpy(dtype=object)[undecided])
        filled[undecided[~blank]] = True
        undecided = undecided[blank]
    return filled


def _with_header(cells: pd.DataFrame, *, file: str, layer: str) -> tuple[RawTable | None, list[Finding]]:
    """The first non-blank row as the header, the non-blank rows below it as data (as for sheets)."""
    rows = np.flatnonzero(_filled_rows(cells))
    if not len(rows):
        return None, [Finding("工作表为空", hint="第一行应为表头", file=file, layer=layer)]
    numbers = cells.index.to_numpy()
    header = [
        f"_col{i}" if is_blank(v) else str(v).strip() for i, v in enumerate(cells.iloc[rows[0]].tolist())
    ]
    data = cells.iloc[rows[1:]] if len(rows) < len(cells) or rows[0] != 0 else cells.iloc[1:]
    data = data.set_axis(header, axis=1)
    data.index = pd.RangeIndex(len(data))
    return RawTable(data, row_labels(numbers[rows[1:]]), file, layer), []


def _from_csv(path: Path, *, layer: str) -> tuple[RawTable | None, list[Finding]]:
    cells = read_csv_cells(path, codec=None, name=path.name).frame
    while len(cells.columns) > 1 and (cells[cells.columns[-1]] == "").all():
        cells = cells.drop(columns=cells.columns[-1])  # trailing empty columns (a trailing delimiter)
    return _with_header(cells, file=path.name, layer=layer)


def _from_sheet(book, sheet: str, *, file: str, layer: str) -> tuple[RawTable | None, list[Finding]]:
    rows, numbers = sheet_rows(book[sheet], name=file)  # streamed, never padded, within a cell budget
    return _with_header(sheet_frame(rows, numbers), file=file, layer=layer)


def _text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """GeoPackage columns as text cells: numbers as text (whole ones without '.0'), NULL as None."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
            text = values.astype(str).astype(object)
        elif pd.api.types.is_float_dtype(values):
            whole = values.notna() & (values % 1 == 0)
            text = values.astype(str).astype(object)
            text[whole] = values[whole].astype("int64").astype(str).astype(object)
        else:
            text = values.astype(object)
        out[column] = text.where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _from_gpkg(path: Path, table: str) -> tuple[RawTable | None, list[Finding]]:
    try:
        frame = pyogrio.read_dataframe(path, layer=table, read_geometry=False, fid_as_index=True)
    except Exception as exc:  # GDAL raises several types for unreadable files
        msg = f"无法读取 {path.name} 中的表“{table}”：{gdal_message(exc)}"
        return None, [Finding(msg, file=path.name, layer=table, hint="文件可能损坏；请重新导出")]
    frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    labels = pd.Index(list(map("FID {}".format, frame.index.tolist())), dtype=object)
    frame = _text_columns(frame)
    frame.index = pd.RangeIndex(len(frame))
    return RawTable(frame, labels, path.name, table), []


def _gpkg_tables(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL raises several types for unreadable files
        msg = f"无法读取 {path}：{gdal_message(exc)}"
        raise DataError(msg, findings=[Finding(f"文件无法打开：{exc}", file=path.name)]) from exc


@dataclass
class _Places:
    """Where tables may be, in the order they are looked for."""

    csvs: dict[str, Path]  # file stem -> CSV file
    packages: list[tuple[Path, list[str]]]  # GeoPackage -> its tables, before the workbook
    book: object | None  # the open workbook
    book_name: str
    later: list[tuple[Path, list[str]]]  # GeoPackages after the workbook (layers.gpkg)

    def find(self, spec: TableSpec) -> list[tuple[str, tuple]]:
        """(where, how to read it) of every place that has the table, first one wins."""
        names = (spec.label, spec.name)
        found: list[tuple[str, tuple]] = [
            (self.csvs[n].name, ("csv", self.csvs[n])) for n in names if n in self.csvs
        ]
        for path, tables in self.packages:
            found += [(f"{path.name}（表“{n}”）", ("gpkg", path, n)) for n in names if n in tables][:1]
        if self.book is not None:
            sheets = self.book.sheetnames  # type: ignore[attr-defined]
            found += [(f"{self.book_name}（工作表“{n}”）", ("sheet", n)) for n in names if n in sheets][:1]
        for path, tables in self.later:
            found += [(f"{path.name}（表“{n}”）", ("gpkg", path, n)) for n in names if n in tables][:1]
        return found

    def missing(self, spec: TableSpec) -> Finding:
        if self.book is not None:
            have = f"现有工作表：{'、'.join(self.book.sheetnames)}"  # type: ignore[attr-defined]
        else:
            have = "现有表：" + ("、".join(n for _, t in self.packages + self.later for n in t) or "无")
        return Finding(
            f"缺少工作表“{spec.label}”",
            hint=(
                f"{have}；也可放入 {spec.label}.csv，或在 {TABLES_GPKG} 中加表“{spec.label}”"
                "（数据超过 Excel 一个工作表的 1,048,576 行时须用 CSV 或 GeoPackage）"
            ),
            file=self.book_name,
            layer=spec.label,
        )


def _places(path: Path) -> _Places:
    if path.is_dir():
        csvs = {p.stem: p for p in sorted(path.iterdir()) if p.suffix.lower() == ".csv" and p.is_file()}
        packages = [(path / TABLES_GPKG, _gpkg_tables(path / TABLES_GPKG))]
        later = [(path / LAYERS_FILE, _gpkg_tables(path / LAYERS_FILE))]
        workbook = path / TABLES_FILE
        wanted = {n for spec in TABLES for n in (spec.label, spec.name)}
        anywhere = csvs.keys() | {n for _, t in packages + later for n in t}
        if not workbook.is_file() and not anywhere & wanted:
            msg = (
                f"找不到责任表：{path} 中没有 {TABLES_FILE}，也没有 {TABLES_GPKG} 或"
                "按工作表命名的 CSV 文件（如 县级领导.csv、中心户长.csv）"
            )
            raise DataError(msg, findings=[Finding("文件不存在", file=TABLES_FILE)])
    elif not path.is_file():
        msg = f"找不到责任表 {path}"
        raise DataError(msg, findings=[Finding("文件不存在", file=path.name)])
    elif path.suffix.lower() == ".gpkg":
        return _Places({}, [(path, _gpkg_tables(path))], None, path.name, [])
    else:
        csvs, packages, later, workbook = {}, [], [], path
    book = open_workbook(workbook, name=workbook.name)[0] if workbook.is_file() else None
    return _Places(csvs, packages, book, workbook.name, later)


def _read(how: tuple, *, spec: TableSpec, places: _Places) -> tuple[RawTable | None, list[Finding]]:
    if how[0] == "csv":
        return _from_csv(how[1], layer=spec.label)
    if how[0] == "sheet":
        return _from_sheet(places.book, how[1], file=places.book_name, layer=spec.label)
    return _from_gpkg(how[1], how[2])


def raw_tables(path: str | Path) -> tuple[dict[str, RawTable], list[Finding]]:
    """The responsibility tables of a dataset directory (see the module), or of one workbook or
    GeoPackage: every required table missing is an error finding, a table in two places a warning.

    Raises
    ------
    DataError
        When there is no table at all, or a workbook fails the archive checks.
    """
    no_network()
    places = _places(Path(path))
    tables: dict[str, RawTable] = {}
    findings: list[Finding] = []
    try:
        for spec in TABLES:
            found = places.find(spec)
            if not found:
                if spec.required:
                    findings.append(places.missing(spec))
                continue
            shown, how = found[0]
            if len(found) > 1:
                findings.append(
                    Finding(
                        f"“{spec.label}”有 {len(found)} 处：{'、'.join(w for w, _ in found)}；使用了 {shown}",
                        severity="warning",
                        hint="如不对，请删除或改名多余的一处",
                        file=shown.split("（")[0],
                        layer=spec.label,
                    )
                )
            table, here = _read(how, spec=spec, places=places)
            findings += here
            if table is not None:
                tables[spec.name] = table
    finally:
        if places.book is not None:
            places.book.close()  # type: ignore[attr-defined]
    return tables, findings
