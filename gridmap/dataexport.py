"""Data exports of the reference layers and responsibility tables: GeoPackage, GeoJSON, KML,
zipped Shapefile (UTF-8 with .cpg), CSV and XLSX.

Layers carry their public columns (as `gridmap.publish.public_layer`, coordinates rounded to
1e-7 degree, EPSG:4326) under the canonical English field names of the import format, so that a
GeoPackage plus the XLSX workbook can be loaded again with `gridmap load`. The responsibility
tables exported are the public ones (县级领导, 责任单位, 网格责任, 包片领导, 联系镇领导, and 网格人员
without phones); household heads and inspectors hold personal data: they are exported only in the
office's internal export, with problems and their history (`Sheet` extras, see
gridmap.problems.exports). The grid levels (下级网格, 商户, 门前五包范围, 楼栋: gridmap.levelexport)
follow the same rule: shops' owner and owner_phone and grid people's phones are in the internal
export only. Empty layers and tables are left out.

Shapefile field names are cut to 10 characters by `SHAPEFILE_FIELDS` below (the other fields are
10 characters or shorter and keep their names); each Shapefile ZIP carries the mapping as
字段对照.csv.

An Excel worksheet holds 1,048,576 rows (`XLSX_MAX_ROWS`, the header row included); a province's
household heads do not fit. A table or layer with more rows is never cut: it is left out of the
workbook and written beside it as CSV (UTF-8 with BOM, the sheet's headers; a table's file is named
as its sheet, so a dataset directory loads it again), the workbook's 说明 sheet says why, and the
web download becomes a ZIP of the workbook and those files. The CSV export (a ZIP with a CSV per
table and per layer, geometry as WKT) and the GeoPackage have no such limit.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import InvalidInput
from gridmap.levelexport import (
    KML_NAME_FIELDS,
    LEVEL_LABELS,
    LEVEL_LAYERS,
    LEVEL_SHAPEFILE_FIELDS,
    grid_people_table,
    level_layer,
)
from gridmap.model import LAYER_BY_NAME, TABLE_BY_NAME
from gridmap.publish import public_layer
from gridmap.responsibility import LAYER_NAMES, ResponsibilityModel

EXPORT_FORMATS: dict[str, str] = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/zip",
    "kml": "application/zip",
    "shp": "application/zip",
    "csv": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMAT_LABELS = {
    "gpkg": "GeoPackage",
    "geojson": "GeoJSON",
    "kml": "KML",
    "shp": "Shapefile",
    "csv": "CSV",
    "xlsx": "Excel 工作簿",
}
SINGLE_LAYER_FORMATS = ("geojson", "kml", "shp", "csv")
XLSX_MAX_ROWS = 1_048_576  # rows of one Excel worksheet, the header row included
PUBLIC_TABLES = ("leaders", "units", "grid_roles", "grid_leaders", "town_leaders")
PERSONAL_TABLES = ("household_heads", "inspectors")

# Shapefile (dBASE) field names hold at most 10 characters.
SHAPEFILE_FIELDS: dict[str, str] = {
    "liaison_leaders": "liaison",
    "grid_head_phone": "head_phone",
    "lead_unit_code": "lead_unit",
    "lead_department": "lead_dept",
    "property_company": "prop_co",
    **LEVEL_SHAPEFILE_FIELDS,
}
# Chinese names of the derived (not imported) columns.
DERIVED_LABELS: dict[str, str] = {
    "liaison_leaders": "联系镇县级领导",
    "town_name": "所属镇名称",
    "grid_head": "网格长",
    "grid_head_phone": "网格长电话",
    "lead_unit_code": "牵头部门代码",
    "lead_department": "牵头部门",
    "leaders": "包片县级领导",
    "area_m2": "面积（平方米）",
    "unit_name": "责任单位名称",
    "grid_code": "所在网格编码",
    "length_m": "长度（米）",
    "wkt": "几何（WKT，EPSG:4326）",
    **LEVEL_LABELS,
}
_KML_DRIVER = "LIBKML" if "LIBKML" in pyogrio.list_drivers(write=True) else "KML"
_EXCEL_CELL_LIMIT = 32767


@dataclass(frozen=True)
class Exported:
    """An export as one file: bytes, MIME type and a suggested file name."""

    data: bytes
    mimetype: str
    filename: str
    ascii_filename: str  # for clients that cannot read a UTF-8 file name


@dataclass(frozen=True)
class Sheet:
    """Data beyond the public reference, for internal exports: a layer (GeoDataFrame) or a table."""

    name: str  # file / layer name, ASCII
    label: str  # Chinese name: the workbook sheet and the GeoPackage identifier
    frame: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)  # column -> Chinese header

    @property
    def is_layer(self) -> bool:
        return isinstance(self.frame, gpd.GeoDataFrame)

    def labelled(self) -> pd.DataFrame:
        """The attributes with Chinese headers; a layer's points also as 经度/纬度 columns."""
        frame = pd.DataFrame(self.frame.drop(columns="geometry") if self.is_layer else self.frame)
        if self.is_layer:
            centre = self.frame.geometry.representative_point()
            frame["lon"] = np.round(centre.x.to_numpy(), 7)
            frame["lat"] = np.round(centre.y.to_numpy(), 7)
        return frame.rename(columns={**self.labels, "lon": "经度", "lat": "纬度"})


def personal_sheets(model: ResponsibilityModel) -> list[Sheet]:
    """The household heads and inspectors (personal data), as in the import workbook."""
    frames = {"household_heads": model.household_heads, "inspectors": model.inspectors}
    out = []
    for name in PERSONAL_TABLES:
        spec = TABLE_BY_NAME[name]
        frame = frames[name].reset_index(drop=True)
        frame = frame[[c.name for c in spec.columns if c.name in frame.columns]].astype(object)
        labels = {c.name: c.label for c in spec.columns}
        out.append(Sheet(name, spec.label, frame.where(frame.notna(), None), labels))
    return out


def field_label(layer: str, name: str) -> str:
    """The Chinese label of a layer's field."""
    spec = LAYER_BY_NAME.get(layer)
    if spec is not None:
        for column in spec.columns:
            if column.name == name:
                return column.label
    return DERIVED_LABELS.get(name, name)


def export_layers(model: ResponsibilityModel, *, private: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """The reference layers and the grid levels' layers (non-empty ones), attributes as plain
    Python values; shops' owner contact only when ``private`` (the office's internal export)."""
    out: dict[str, gpd.GeoDataFrame] = {}
    for name in (*LAYER_NAMES, *LEVEL_LAYERS):
        gdf = public_layer(model, name) if name in LAYER_NAMES else level_layer(model, name, private=private)
        if not len(gdf):
            continue
        gdf = gdf.reset_index(drop=True)
        for column in gdf.columns:
            if column == "geometry":
                continue
            if pd.api.types.is_integer_dtype(gdf[column]) and gdf[column].isna().any():
                gdf[column] = gdf[column].astype("Int64")
            elif pd.api.types.is_float_dtype(gdf[column]) or pd.api.types.is_integer_dtype(gdf[column]):
                continue
            else:
                gdf[column] = gdf[column].astype(object).where(gdf[column].notna(), None)
        out[name] = gdf
    return out


def export_tables(model: ResponsibilityModel, *, private: bool = False) -> dict[str, pd.DataFrame]:
    """The public responsibility tables with their canonical columns, in table order, then the
    people of the grid levels (网格人员; their phones only when ``private``) if there are any."""
    frames = {
        "leaders": model.leaders,
        "units": model.units,
        "grid_roles": model.grids.assign(grid_code=model.grids.index),
        "grid_leaders": model.grid_leaders,
        "town_leaders": model.town_leaders,
    }
    out = {}
    for name in PUBLIC_TABLES:
        columns = [c.name for c in TABLE_BY_NAME[name].columns]
        frame = frames[name].reset_index(drop=True)
        frame = frame[[c for c in columns if c in frame.columns]].astype(object)
        out[name] = frame.where(frame.notna(), None)
    people = grid_people_table(model, private=private).astype(object)
    if len(people):
        out["grid_people"] = people.where(people.notna(), None)
    return out


def check_format(fmt: object) -> str:
    """Validate an export format name (gpkg, geojson, kml, shp, xlsx; a few aliases)."""
    text = str(fmt or "").strip().lower().lstrip(".")
    aliases = {"shapefile": "shp", "json": "geojson", "xls": "xlsx", "excel": "xlsx", "kmz": "kml"}
    text = aliases.get(text, text)
    if text not in EXPORT_FORMATS:
        msg = f"不支持的导出格式“{fmt}”：可选 {'、'.join(EXPORT_FORMATS)}"
        raise InvalidInput(msg)
    return text


def _write_gpkg(model: ResponsibilityModel, path: Path, extra: Sequence[Sheet] = ()) -> None:
    for sheet in extra:
        if len(sheet.frame):  # an empty layer has no geometry type for the GeoPackage
            pyogrio.write_dataframe(
                sheet.frame, path, layer=sheet.name, driver="GPKG", layer_options={"IDENTIFIER": sheet.label}
            )
    private = bool(extra)  # the internal export: personal columns of the level layers too
    for name, gdf in export_layers(model, private=private).items():
        pyogrio.write_dataframe(
            gdf, path, layer=name, driver="GPKG", layer_options={"IDENTIFIER": LAYER_BY_NAME[name].label}
        )
    for name, frame in export_tables(model, private=private).items():
        pyogrio.write_dataframe(
            frame, path, layer=name, driver="GPKG", layer_options={"IDENTIFIER": TABLE_BY_NAME[name].label}
        )


def _write_kml(gdf: gpd.GeoDataFrame, path: Path, name: str) -> None:
    """KML (UTF-8) with each feature's name as the placemark's name, other fields as
    ExtendedData; the layer's Chinese name as the document's name."""
    name_field = "road_name" if name == "segments" else KML_NAME_FIELDS.get(name, "name")
    label = LAYER_BY_NAME[name].label
    if _KML_DRIVER == "LIBKML":
        previous = pyogrio.get_gdal_config_option("LIBKML_NAME_FIELD")
        pyogrio.set_gdal_config_options({"LIBKML_NAME_FIELD": name_field})
        try:
            pyogrio.write_dataframe(
                gdf,
                path,
                driver="LIBKML",
                layer=name,
                dataset_options={"DOCUMENT_ID": name},
                layer_options={"NAME": label},
            )
        finally:
            pyogrio.set_gdal_config_options({"LIBKML_NAME_FIELD": previous})
    else:
        pyogrio.write_dataframe(
            gdf, path, driver="KML", layer=name, dataset_options={"NameField": name_field}
        )


def _split_shapefile(gdf: gpd.GeoDataFrame, name: str) -> dict[str, gpd.GeoDataFrame]:
    """A Shapefile holds one geometry family: split mixed layers into name_point, name_polygon."""
    family = gdf.geom_type.map(lambda t: "point" if "Point" in t else "line" if "Line" in t else "polygon")
    if family.nunique() <= 1:
        return {name: gdf}
    return {f"{name}_{f}": gdf[family == f] for f in sorted(family.unique())}


def _write_single_layer(
    model: ResponsibilityModel, fmt: str, folder: Path, extra: Sequence[Sheet] = ()
) -> list[Path]:
    """One file per layer in folder (Shapefile: .shp .shx .dbf .prj .cpg), the tables as CSV."""
    written: list[Path] = []
    folder.mkdir(parents=True, exist_ok=True)
    for sheet in extra:
        if sheet.is_layer and fmt == "geojson" and len(sheet.frame):
            path = folder / f"{sheet.name}.geojson"
            pyogrio.write_dataframe(
                sheet.frame, path, driver="GeoJSON", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"}
            )
            written.append(path)
        path = folder / f"{sheet.name}.csv"  # every extra also as CSV (points with 经度/纬度)
        sheet.labelled().to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    private = bool(extra)
    for name, gdf in export_layers(model, private=private).items():
        if fmt == "geojson":
            path = folder / f"{name}.geojson"
            pyogrio.write_dataframe(
                gdf, path, driver="GeoJSON", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"}
            )
            written.append(path)
        elif fmt == "kml":
            path = folder / f"{name}.kml"
            _write_kml(gdf, path, name)
            written.append(path)
        elif fmt == "csv":
            path = folder / f"{name}.csv"
            _layer_sheet(name, gdf, cell_limit=None).to_csv(path, index=False, encoding="utf-8-sig")
            written.append(path)
        else:
            renamed = gdf.rename(columns=SHAPEFILE_FIELDS)
            for part_name, part in _split_shapefile(renamed, name).items():
                path = folder / f"{part_name}.shp"
                pyogrio.write_dataframe(part, path, driver="ESRI Shapefile", encoding="UTF-8")
                written.extend(sorted(folder.glob(f"{part_name}.*")))
    for name, frame in export_tables(model, private=private).items():
        path = folder / f"{name}.csv"
        frame.rename(columns={c.name: c.label for c in TABLE_BY_NAME[name].columns}).to_csv(
            path, index=False, encoding="utf-8-sig"
        )  # BOM: Excel opens UTF-8 CSV correctly
        written.append(path)
    written.append(_write_readme(model, fmt, folder, private=private))
    return written


def _write_readme(model: ResponsibilityModel, fmt: str, folder: Path, *, private: bool = False) -> Path:
    """字段对照.csv: every file's fields with their Chinese names (and Shapefile short names)."""
    path = folder / "字段对照.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["文件", "字段", "中文名", "说明"])
        for name, gdf in export_layers(model, private=private).items():
            for column in gdf.columns:
                if column == "geometry":
                    continue
                field = SHAPEFILE_FIELDS.get(column, column) if fmt == "shp" else column
                if fmt == "csv":  # the CSV files carry the Chinese headers
                    field = field_label(name, column)
                note = f"原字段名 {column}（Shapefile 字段名最长 10 个字符）" if field != column else ""
                if fmt == "csv":
                    note = f"导入格式字段 {column}"
                writer.writerow([name, field, field_label(name, column), note])
        for name, frame in export_tables(model, private=private).items():
            for column in TABLE_BY_NAME[name].columns:
                if column.name in frame.columns:
                    writer.writerow(
                        [f"{name}.csv", column.label, column.label, f"导入格式字段 {column.name}"]
                    )
    return path


def _layer_sheet(name: str, gdf: gpd.GeoDataFrame, *, cell_limit: int | None) -> pd.DataFrame:
    """A layer's attributes with Chinese headers, its geometry as WKT and a representative point."""
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    wkt = shapely.to_wkt(gdf.geometry.values, rounding_precision=7, trim=True)
    frame["wkt"] = [w if cell_limit is None or len(w) <= cell_limit else None for w in wkt]
    centre = gdf.geometry.representative_point()
    frame["lon"] = np.round(centre.x.to_numpy(), 7)
    frame["lat"] = np.round(centre.y.to_numpy(), 7)
    labels = {c: field_label(name, c) for c in frame.columns}
    labels.update({"lon": "经度（代表点）", "lat": "纬度（代表点）"})
    return frame.rename(columns=labels)


def too_long_for_excel(rows: int) -> bool:
    """Whether a table of ``rows`` data rows (plus its header) exceeds one Excel worksheet."""
    return rows + 1 > XLSX_MAX_ROWS


def _write_xlsx(model: ResponsibilityModel, path: Path, extra: Sequence[Sheet] = ()) -> list[Path]:
    """The responsibility tables as in the import workbook (same sheet names and headers), then
    one sheet per layer with its attributes and the geometry as WKT. A sheet over `XLSX_MAX_ROWS`
    is written beside the workbook as CSV instead; returns those files."""
    sheets: list[tuple[str, str, pd.DataFrame]] = []  # (sheet, CSV file name, frame)
    private = bool(extra)
    for name, frame in export_tables(model, private=private).items():
        spec = TABLE_BY_NAME[name]
        labelled = frame.rename(columns={c.name: c.label for c in spec.columns})
        sheets.append((spec.label, f"{spec.label}.csv", labelled))
    for name, gdf in export_layers(model, private=private).items():
        sheet = "图层-" + LAYER_BY_NAME[name].label.replace("/", "")
        sheets.append((sheet, f"{sheet}.csv", _layer_sheet(name, gdf, cell_limit=_EXCEL_CELL_LIMIT)))
    for extra_sheet in extra:
        sheets.append((extra_sheet.label[:31], f"{extra_sheet.label}.csv", extra_sheet.labelled()))
    beside: list[Path] = []
    notes = [
        "前几个工作表为责任表，表名和表头与导入用的 responsibility.xlsx 相同，可直接再导入。",
        "“图层-”开头的工作表为各图层的属性，几何以 WKT 文本给出（EPSG:4326 经纬度，保留 7 位小数）；"
        "超过 Excel 单元格长度上限的几何留空，请使用 GeoPackage 导出。",
        "中心户长、巡查员、商户负责人及其电话和网格人员的电话含个人信息，不在导出之列。"
        if not extra
        else "本文件为内部导出，含个人信息（"
        + "、".join(s.label for s in extra)
        + "），仅供县文明办内部使用，请勿外传。",
    ]
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, file_name, frame in sheets:
            if too_long_for_excel(len(frame)):
                csv_path = path.parent / file_name
                frame.to_csv(csv_path, index=False, encoding="utf-8-sig")  # BOM: Excel opens it
                beside.append(csv_path)
                notes.append(
                    f"“{sheet}”有 {len(frame):,} 行，超过 Excel 一个工作表的上限（{XLSX_MAX_ROWS:,} 行，含表头），"
                    f"没有放进本工作簿，也没有截断：完整数据另存为 {file_name}（UTF-8 CSV，表头与工作表相同，"
                    "与本文件一同下载；放进数据目录即可用 gridmap load 导入）。也可改用 GeoPackage 或 CSV 导出。"
                )
                continue
            frame.to_excel(writer, sheet_name=sheet, index=False)
        pd.DataFrame({"说明": notes}).to_excel(writer, sheet_name="说明", index=False)
    return beside


def _zip_folder(files: list[Path], folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, arcname=str(path.relative_to(folder)))
    return out.getvalue()


def export_data(model: ResponsibilityModel, *, fmt: object, extra: Sequence[Sheet] = ()) -> Exported:
    """Export the reference layers and public responsibility tables in one file.

    Parameters
    ----------
    model : ResponsibilityModel
    fmt : str
        "gpkg" or "xlsx" (one file; a ZIP of the workbook and CSV files when a sheet would exceed
        `XLSX_MAX_ROWS`), or "geojson", "kml", "shp", "csv" (a ZIP with a file per layer).

    extra : sequence of Sheet
        Internal data (personal tables, problems) added as layers, sheets or CSV files; the
        file names then say 内部.

    Returns
    -------
    Exported
    """
    fmt = check_format(fmt)
    internal = bool(extra)
    title = "网格责任数据（内部）" if internal else "网格责任数据"
    ascii_title = "gridmap-data-internal" if internal else "gridmap-data"
    with tempfile.TemporaryDirectory(prefix="gridmap-export-") as tmp:
        folder = Path(tmp)
        if fmt == "gpkg":
            path = folder / "gridmap.gpkg"
            _write_gpkg(model, path, extra)
            return Exported(path.read_bytes(), EXPORT_FORMATS[fmt], f"{title}.gpkg", f"{ascii_title}.gpkg")
        if fmt == "xlsx":
            (folder / "data").mkdir()
            path = folder / "data" / f"{title}.xlsx"
            beside = _write_xlsx(model, path, extra)
            if not beside:
                return Exported(
                    path.read_bytes(), EXPORT_FORMATS[fmt], f"{title}.xlsx", f"{ascii_title}.xlsx"
                )
            # a sheet over the Excel limit: the workbook and the CSV files, together
            return Exported(
                _zip_folder([path, *beside], folder / "data"),
                "application/zip",
                f"{title}_Excel（大表另存为CSV）.zip",
                f"{ascii_title}-xlsx.zip",
            )
        files = _write_single_layer(model, fmt, folder / "data", extra)
        return Exported(
            _zip_folder(files, folder / "data"),
            EXPORT_FORMATS[fmt],
            f"{title}_{FORMAT_LABELS[fmt]}.zip",
            f"{ascii_title}-{fmt}.zip",
        )


def write_export(model: ResponsibilityModel, *, fmt: object, path: str | Path) -> list[Path]:
    """Write an export to path, nothing half-written: GeoPackage and XLSX as one file; GeoJSON,
    KML and Shapefile as a ZIP when path ends in .zip, else as a folder with a file per layer.
    Returns the paths written."""
    fmt = check_format(fmt)
    target = Path(path)
    if (
        target.exists()
        and target.is_dir()
        and (fmt not in SINGLE_LAYER_FORMATS or target.suffix.lower() == ".zip")
    ):
        msg = f"输出路径 {target} 是一个文件夹；请给出文件名，如 {target / ('网格责任数据.' + fmt)}"
        raise InvalidInput(msg)
    if not target.parent.exists():
        msg = f"输出文件夹 {target.parent} 不存在"
        raise InvalidInput(msg)
    if fmt in SINGLE_LAYER_FORMATS and target.suffix.lower() != ".zip":
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            msg = f"输出文件夹 {target} 已存在且不为空；请换一个文件夹名，或以 .zip 结尾输出压缩包"
            raise InvalidInput(msg)
        staging = Path(tempfile.mkdtemp(prefix=".gridmap-export-", dir=target.parent))
        files = _write_single_layer(model, fmt, staging)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
        return [target / f.relative_to(staging) for f in files]
    if fmt == "xlsx":
        staging = Path(tempfile.mkdtemp(prefix=".gridmap-export-", dir=target.parent))
        try:
            beside = _write_xlsx(model, staging / "book.xlsx")
            placed = [target.with_name(f"{target.stem}-{p.name}") for p in beside]
            for source, destination in zip(beside, placed):
                os.replace(source, destination)
            os.replace(staging / "book.xlsx", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return [target, *placed]
    exported = export_data(model, fmt=fmt)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(exported.data)
    os.replace(tmp, target)
    return [target]
