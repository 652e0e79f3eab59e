"""Read a dataset directory (GeoPackage layers + XLSX tables) and validate it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import DataError, Finding
from gridmap.io.columns import blank_cells
from gridmap.io.offline import no_network
from gridmap.io.tablefiles import raw_tables
from gridmap.model import LAYERS, LAYERS_FILE, TABLES, TABLES_FILE, Column, LayerSpec

STORE_CRS = "EPSG:4326"
# CRSs that we take as equal to EPSG:4326 to map accuracy (CGCS2000 differs by centimetres).
_LONLAT_EQUIVALENT = {4326, 4490, 4610}


@dataclass
class Dataset:
    """Reference layers (GeoDataFrames in EPSG:4326) and responsibility tables (DataFrames)."""

    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame]
    source: str = ""
    warnings: list[Finding] = field(default_factory=list)


def _canonical_columns(
    frame: pd.DataFrame, columns: tuple[Column, ...], *, where: dict
) -> tuple[pd.DataFrame, list[Finding]]:
    """Rename accepted headers to canonical names; report required columns that are missing.

    Where several headers are accepted for one column (``name`` and ``网格名称``), the filled
    one wins: the first (in `Column.names` order) that has any value, its empty cells filled
    from the others; a warning says which header was used.
    """
    findings: list[Finding] = []
    present = {str(c).strip(): c for c in frame.columns}
    rename: dict = {}
    frame = frame.copy()
    for column in columns:
        matches = list(dict.fromkeys(present[n] for n in column.names() if n in present))
        match = matches[0] if len(matches) == 1 else None  # one header: nothing to choose between
        if len(matches) > 1:
            match = next((m for m in matches if not blank_cells(frame[m]).all()), matches[0])
        if len(matches) > 1:
            others = [m for m in matches if m != match]
            values = frame[match].to_numpy(dtype=object).copy()
            filled = []
            for other in others:
                take = blank_cells(pd.Series(values, dtype=object)) & ~blank_cells(frame[other])
                if take.any():
                    values[take] = frame[other].to_numpy(dtype=object)[take]
                    filled.append(f"{int(take.sum())} 个空值取自“{other}”")
            frame[match] = pd.Series(values, index=frame.index, dtype=object)
            frame = frame.drop(columns=others)
            findings.append(
                Finding(
                    f"“{column.label}”（{column.name}）有多个列：{'、'.join(map(str, matches))}；"
                    f"使用了有值的“{match}”{'，' + '，'.join(filled) if filled else ''}",
                    field=column.name,
                    severity="warning",
                    hint="如不对，请删除或改名多余的列",
                    **where,
                )
            )
        if match is None:
            if column.required:
                findings.append(
                    Finding(
                        f"缺少必填字段“{column.label}”（{column.name}）",
                        field=column.name,
                        hint=f"请在表头添加“{column.label}”或“{column.name}”列",
                        **where,
                    )
                )
            continue
        rename[match] = column.name
    out = frame.rename(columns=rename)
    for column in columns:
        if column.name not in out.columns:
            out[column.name] = None
    return out, findings


def _text(series: pd.Series) -> pd.Series:
    """Cell values as stripped text; empty cells as None. Whole floats lose their '.0'."""
    values = series.to_numpy(dtype=object)
    present = ~np.asarray(pd.isna(values), dtype=bool)
    if pd.api.types.infer_dtype(values[present], skipna=False) == "string":  # CSV, GeoPackage: at once
        kept = values[present]  # the cells' own strings, but where stripping changes them
        text = kept.astype(np.dtypes.StringDType())
        stripped = np.strings.strip(text)
        length = np.strings.str_len(stripped)
        changed = np.flatnonzero(length != np.strings.str_len(text))
        kept[changed] = stripped[changed].astype(object)
        kept[length == 0] = None
        out = np.full(len(values), None, dtype=object)
        out[present] = kept
        return pd.Series(out, index=series.index, dtype=object)

    def one(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text or None

    return series.map(one).astype(object)


def check_values(
    frame: pd.DataFrame,
    columns: tuple[Column, ...],
    *,
    key: str | None,
    labels: pd.Index,
    where: dict,
) -> tuple[pd.DataFrame, list[Finding]]:
    """Normalise cell types; report empty required cells and duplicate keys (tables and layers)."""
    findings: list[Finding] = []
    for column in columns:
        if column.kind == "int":
            values = pd.to_numeric(frame[column.name], errors="coerce")
            bad = frame[column.name].notna() & values.isna()
            for label in labels[bad.to_numpy()]:
                findings.append(
                    Finding(
                        f"{label} 的“{column.label}”应为整数",
                        feature=label,
                        field=column.name,
                        **where,
                    )
                )
            frame[column.name] = values.astype("Int64")
            continue
        frame[column.name] = _text(frame[column.name])
        if column.required:
            empty = frame[column.name].isna().to_numpy()
            for label in labels[empty]:
                findings.append(
                    Finding(
                        f"{label} 的必填字段“{column.label}”为空",
                        feature=label,
                        field=column.name,
                        hint="请补全该值",
                        **where,
                    )
                )
    if key is not None:
        dup = frame[key].notna() & frame[key].duplicated(keep=False)
        for label, value in zip(labels[dup.to_numpy()], frame.loc[dup, key]):
            findings.append(
                Finding(
                    f"{label} 的编号“{value}”重复",
                    feature=label,
                    field=key,
                    hint="编号必须唯一",
                    **where,
                )
            )
    return frame, findings


def validate_layer(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, *, file: str
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Check one layer's CRS, columns, values and geometries; return it in EPSG:4326."""
    where = {"file": file, "layer": spec.name}
    findings: list[Finding] = []
    if gdf.crs is None:
        findings.append(
            Finding(
                "图层没有坐标系（CRS）",
                hint="请在 GIS 软件中为图层定义坐标系（如 EPSG:4490 或 EPSG:4326）后重新导出",
                **where,
            )
        )
    frame, found = _canonical_columns(gdf, spec.columns, where=where)
    findings += found
    labels = pd.Index([f"FID {fid}" for fid in gdf.index])
    frame, found = check_values(
        frame,
        spec.columns,
        key="code" if "code" in frame else None,
        labels=labels,
        where=where,
    )
    findings += found
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = np.array(shapely.get_type_id(geoms))
    type_names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ]
    )
    for label in labels[missing]:
        findings.append(Finding("几何为空", feature=label, hint="请删除该要素或补绘几何", **where))
    present = ~missing
    wrong = present & ~np.isin(np.where(types >= 0, type_names[np.clip(types, 0, 7)], ""), spec.geom_types)
    allowed = "、".join(spec.geom_types)
    for label, t in zip(labels[wrong], types[wrong]):
        findings.append(
            Finding(
                f"几何类型为 {type_names[t]}，{spec.label}图层只接受 {allowed}",
                feature=label,
                hint="请检查是否导入了错误的图层",
                **where,
            )
        )
    check = present & ~wrong
    invalid = check & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        for label, reason in zip(labels[invalid], reasons):
            findings.append(
                Finding(
                    f"几何无效：{reason}",
                    feature=label,
                    hint="多边形自相交或环方向错误，请在 GIS 软件中修复（如“修复几何”）",
                    **where,
                )
            )
    keep = [c.name for c in spec.columns]
    out = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry.values, crs=gdf.crs)
    out.index = gdf.index
    if gdf.crs is not None and not findings:
        epsg = gdf.crs.to_epsg()
        if epsg not in _LONLAT_EQUIVALENT:
            out = out.to_crs(STORE_CRS)
        else:
            out = out.set_crs(STORE_CRS, allow_override=True)
    return out, findings


def read_layers(path: str | Path) -> tuple[dict[str, gpd.GeoDataFrame], list[Finding]]:
    """Read every reference layer of a GeoPackage; report what is missing or wrong."""
    path = Path(path)
    where_file = path.name
    no_network()
    if not path.is_file():
        msg = f"找不到图层文件 {path}"
        raise DataError(msg, findings=[Finding("文件不存在", file=where_file)])
    try:
        available = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # GDAL raises several types for unreadable files
        msg = f"无法读取 {path}：{exc}"
        raise DataError(msg, findings=[Finding(f"文件无法打开：{exc}", file=where_file)]) from exc
    layers: dict[str, gpd.GeoDataFrame] = {}
    findings: list[Finding] = []
    for spec in LAYERS:
        if spec.name not in available:
            if spec.required:
                findings.append(
                    Finding(
                        f"缺少图层“{spec.name}”（{spec.label}）",
                        file=where_file,
                        layer=spec.name,
                        hint=f"现有图层：{'、'.join(sorted(available)) or '无'}",
                    )
                )
            continue
        gdf = pyogrio.read_dataframe(path, layer=spec.name, fid_as_index=True)
        layer, found = validate_layer(gdf, spec, file=where_file)
        layers[spec.name] = layer
        findings += found
    return layers, findings


def read_tables(path: str | Path) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Read the responsibility tables of a dataset directory (its workbook, CSV files and
    GeoPackage tables, see `gridmap.io.tablefiles`) or of one workbook or GeoPackage."""
    raw, findings = raw_tables(path)
    tables: dict[str, pd.DataFrame] = {}
    for spec in TABLES:
        table = raw.get(spec.name)
        if table is None:
            tables[spec.name] = pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns})
            continue
        frame, found = _canonical_columns(table.frame, spec.columns, where=table.where())
        findings += found
        frame, found = check_values(
            frame, spec.columns, key=spec.key, labels=table.labels, where=table.where()
        )
        findings += found
        frame = frame[[c.name for c in spec.columns]].reset_index(drop=True)
        frame.index = table.labels
        frame.attrs["file"] = table.file  # named by gridmap.io.references
        tables[spec.name] = frame
    return tables, findings


def read_dataset(directory: str | Path) -> Dataset:
    """Read and validate a dataset directory; raise DataError listing every error found."""
    directory = Path(directory)
    if not directory.is_dir():
        msg = f"数据目录 {directory} 不存在"
        raise DataError(msg)
    layers, findings = read_layers(directory / LAYERS_FILE)
    tables, found = read_tables(directory)
    findings += found
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        msg = f"数据集 {directory} 有 {len(errors)} 处错误，未导入"
        raise DataError(msg, findings=errors)
    from gridmap.io.references import check_references

    findings += check_references(layers, tables, files=(LAYERS_FILE, TABLES_FILE))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        msg = f"数据集 {directory} 有 {len(errors)} 处引用错误，未导入"
        raise DataError(msg, findings=errors)
    return Dataset(layers=layers, tables=tables, source=str(directory), warnings=findings)
