"""The import pipeline: read → encoding/CRS → columns → repair and validate → checks → report → commit."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.coverage import CoverageRule
from gridmap.errors import DataError, Finding, GridmapError, InvalidInput
from gridmap.importer.checks import (
    column_mismatch,
    coverage_findings,
    duplicate_and_multipart,
    level_findings,
    level_geometry_findings,
    outside_findings,
    prepare_geometries,
    reference_findings,
    relabel,
)
from gridmap.importer.report import MODES, ImportReport, Progress
from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import (
    KINDS,
    columns_of,
    kind_label,
    map_columns,
    missing_findings,
    read_mapping_file,
)
from gridmap.io.formats import read_source
from gridmap.io.georef import georeference
from gridmap.io.read import Dataset, check_values, validate_layer
from gridmap.io.source import Source
from gridmap.model import GRID_CODE_LAYERS, LAYER_BY_NAME, TABLE_BY_NAME
from gridmap.store import Store

__all__ = ["run_import"]

_DERIVED = GRID_CODE_LAYERS  # layers that store the code of the grid they lie in


def _empty_dataset() -> Dataset:
    from gridmap.model import LAYERS, TABLES

    layers = {
        spec.name: gpd.GeoDataFrame(
            {c.name: pd.Series(dtype=object) for c in spec.columns},
            geometry=gpd.GeoSeries([], crs="EPSG:4326"),
            crs="EPSG:4326",
        )
        for spec in LAYERS
    }
    tables = {
        spec.name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns}) for spec in TABLES
    }
    return Dataset(layers=layers, tables=tables)


def _county_lon(current: Dataset) -> float | None:
    for name in ("towns", "grids"):
        gdf = current.layers.get(name)
        if gdf is not None and len(gdf):
            minx, _, maxx, _ = gdf.total_bounds
            if np.isfinite([minx, maxx]).all():
                return float((minx + maxx) / 2)
    return None


def _extent(data: pd.DataFrame, current: Dataset) -> tuple[float, float, float, float] | None:
    """Lon/lat bounds of the imported features, else of the county held now (towns, grids)."""
    frames = [data] if isinstance(data, gpd.GeoDataFrame) else []
    for frame in (*frames, current.layers.get("towns"), current.layers.get("grids")):
        if frame is None or not len(frame):
            continue
        bounds = frame.geometry.total_bounds
        if np.isfinite(bounds).all():
            minx, miny, maxx, maxy = (float(v) for v in bounds)
            return minx, miny, maxx, maxy
    return None


def _combine(current: Dataset, kind: str, frame: pd.DataFrame, *, mode: str) -> Dataset:
    layers = dict(current.layers)
    tables = dict(current.tables)
    container = layers if kind in LAYER_BY_NAME else tables
    if mode == "merge" and len(container[kind]):
        from gridmap.store import merge_key

        key = merge_key(kind)
        old = container[kind]
        if key is not None:
            old = old[~old[key].isin(set(frame[key].dropna()))]
        merged = pd.concat([old, frame[old.columns]], ignore_index=True)
        container[kind] = (
            gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
            if kind in LAYER_BY_NAME
            else merged
        )
    else:
        container[kind] = frame.reset_index(drop=True)
    return Dataset(layers=layers, tables=tables, source=current.source)


def _others_broken(before: Dataset, after: Dataset, kind: str) -> list[Finding]:
    """References in OTHER layers/tables that this import breaks (warnings)."""
    from gridmap.io.references import check_references

    def keyed(dataset: Dataset) -> dict[tuple, Finding]:
        return {
            (f.layer, f.feature, f.field, f.message): f
            for f in check_references(dataset.layers, dataset.tables)
        }

    old = keyed(before)
    label = kind_label(kind)
    out = []
    for key, f in keyed(after).items():
        if key in old or f.layer in (kind, label):
            continue
        out.append(
            dataclasses.replace(
                f,
                severity="warning",
                message=f"导入后，{f.message}",
                hint=f"本次导入的{label}中没有它；请补充，或随后改正该处引用",
            )
        )
    return out


def _derived(combined: Dataset, kind: str) -> dict[str, pd.DataFrame]:
    """Each segment's, point's and community's grid code in the combined data."""
    from gridmap.responsibility import build_model

    if kind not in ("grids", *_DERIVED):
        return {}
    layers = combined.layers
    if not any(len(layers[n]) for n in _DERIVED) or not len(layers["grids"]):
        return {n: pd.DataFrame({"code": layers[n]["code"], "grid_code": None}) for n in _DERIVED}
    empty = _empty_dataset().tables
    model = build_model(Dataset(layers=layers, tables=empty))
    return {
        n: pd.DataFrame(
            {
                "code": getattr(model, n).index.to_numpy(dtype=object),
                "grid_code": getattr(model, n)["grid_code"].to_numpy(dtype=object),
            }
        )
        for n in _DERIVED
    }


# --- the pipeline ----------------------------------------------------------------------------


def run_import(
    store: Store,
    path: str | Path,
    *,
    kind: str,
    layer: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    columns: str | Path | dict | None = None,
    xy: tuple[str, str] | None = None,
    mode: str = "replace",
    dry_run: bool = False,
    tolerance_m2: float | None = None,
    settings: Mapping[str, Any] | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    limits: ArchiveLimits | None = None,
) -> ImportReport:
    """Import one file as one kind of reference data; all or nothing.

    Reads the file (any supported format), decides its encoding and coordinate system,
    maps its columns, repairs and validates its geometries and values, checks references,
    gaps/overlaps/slivers and features outside the county against what the store already
    holds, then (unless there are errors or ``dry_run``) writes it in ONE transaction.

    Parameters
    ----------
    store : Store
        Where the data goes (and what references are checked against).
    path : str or Path
        The file (see `gridmap.io.formats.read_source`).
    kind : str
        One of `KINDS`: towns, grids, segments, points, communities, rivers, leaders, units,
        grid_roles, grid_leaders, town_leaders, household_heads, inspectors.
    layer, crs, encoding, xy
        Overrides: layer or sheet to read, coordinate system (EPSG:xxxx, gcj02, bd09),
        text encoding, longitude/latitude columns.
    columns : path or dict, optional
        A mapping file (see `gridmap.io.columns.read_mapping_file`) or a dict model column ->
        file column.
    mode : {"replace", "merge"}
    dry_run : bool
        Check and report only; write nothing.
    tolerance_m2 : float, optional
        Gaps and overlaps of this many m² or less are ignored (default:
        GRIDMAP_COVERAGE_TOLERANCE_M2).
    settings : mapping, optional
        The settings (`gridmap.settings.load_settings`, the default) with the coverage rule.
    display_name : str, optional
        The file name to show (for uploads stored under another name).
    progress : callable, optional
        ``progress(stage, done, total)``.
    limits : ArchiveLimits, optional
        How much a KMZ, zipped Shapefile or XLSX may unpack to (default: from the settings).

    Returns
    -------
    ImportReport
        ``ok`` False when errors stopped the import (nothing was written).
    """
    started = time.perf_counter()
    if kind not in KINDS:
        msg = f"未知的数据类型“{kind}”；--as 可用：{'、'.join(KINDS)}"
        raise InvalidInput(msg)
    if mode not in MODES:
        msg = "导入方式只能是替换（--replace）或合并（--merge）"
        raise InvalidInput(msg)
    name = display_name or Path(path).name
    report = ImportReport(file=name, kind=kind, mode=mode, dry_run=dry_run)
    try:
        _run(
            store,
            Path(path),
            report,
            kind=kind,
            layer=layer,
            crs=crs,
            encoding=encoding,
            columns=columns,
            xy=xy,
            mode=mode,
            dry_run=dry_run,
            rule=CoverageRule.from_settings(settings, tolerance_m2=tolerance_m2),
            progress=progress,
            limits=limits,
        )
    except (DataError, InvalidInput) as error:
        report.findings += error.findings or [Finding(error.message, file=name)]
        if error.findings and not any(error.message in f.message for f in error.findings):
            report.notes.append(error.message)
    report.seconds = time.perf_counter() - started
    return report


def _run(
    store: Store,
    path: Path,
    report: ImportReport,
    *,
    kind,
    layer,
    crs,
    encoding,
    columns,
    xy,
    mode,
    dry_run,
    rule,
    progress,
    limits,
) -> None:
    overrides = None
    if isinstance(columns, dict):
        overrides = dict(columns)
    elif columns is not None:
        overrides = read_mapping_file(columns, kind=kind)
    try:
        source: Source = read_source(
            path,
            kind=kind,
            layer=layer,
            encoding=encoding,
            xy=xy,
            display_name=report.file,
            progress=progress,
            limits=limits,
        )
    except GridmapError:
        raise
    except Exception as exc:  # any reader failure is a problem of the file, not a crash
        msg = f"无法读取 {report.file}：{type(exc).__name__}: {str(exc)[:300]}"
        raise DataError(
            msg,
            findings=[
                Finding(msg, file=report.file, hint="文件可能损坏、不完整或格式不对；请重新导出后再试")
            ],
        ) from exc
    report.file = source.file
    report.format = source.format
    report.layer = source.layer
    report.encoding, report.encoding_reason = source.encoding, source.encoding_reason
    report.geometry_from = source.geometry_from
    report.notes += source.notes
    report.findings += source.findings
    report.counts["read"] = len(source.frame)
    where = source.where()
    if progress is not None:
        progress("检查", 0, None)

    frame = source.frame
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    headers = [str(c) for c in frame.columns if c != geometry_name]
    mapping = map_columns(headers, kind, overrides=overrides, reserved=source.reserved, frame=frame)
    report.columns = mapping.describe(kind)
    report.unused_columns = mapping.unused
    if mapping.missing:
        report.findings += missing_findings(mapping, kind, headers, where=where)
        return
    spec_columns = columns_of(kind)
    attrs = pd.DataFrame(
        {c.name: (mapping.values(frame, c.name) if c.name in mapping.used else None) for c in spec_columns},
        index=pd.RangeIndex(len(frame)),
    )
    current = store.read_current()
    version = store.data_version()
    labels = source.labels

    if kind in TABLE_BY_NAME:
        table = TABLE_BY_NAME[kind]
        out, found = check_values(attrs, table.columns, key=table.key, labels=labels, where=where)
        report.findings += found
        out = out[[c.name for c in table.columns]]
    else:
        spec = LAYER_BY_NAME[kind]
        geoms, choice = georeference(source, user_crs=crs, county_lon=_county_lon(current))
        report.crs, report.crs_reason = choice.label, choice.reason
        report.findings += choice.findings
        report.findings += column_mismatch(source, geoms, choice.label, where=where)
        values, found = prepare_geometries(
            geoms.to_numpy(), labels, spec=spec, where=where, counts=report.counts
        )
        report.findings += found
        gdf = gpd.GeoDataFrame(attrs, geometry=values, crs="EPSG:4326")
        out, found = validate_layer(gdf, spec, file=report.file)
        report.findings += [dataclasses.replace(f, layer=source.layer) for f in relabel(found, labels)]
        report.findings += duplicate_and_multipart(out.geometry.to_numpy(), labels, spec=spec, where=where)
        if kind != "towns":
            report.findings += outside_findings(
                out.geometry.to_numpy(), labels, current.layers["towns"], where=where, what=spec.label
            )
    out, found = reference_findings(out, kind, labels, current, where=where, mode=mode)
    report.findings += found
    report.counts["imported"] = len(out)
    report.data = out
    report.feature_labels = labels
    report.extent = _extent(out, current)
    if report.errors:
        return
    combined = _combine(current, kind, out, mode=mode)
    stored = combined.layers.get(kind, combined.tables.get(kind))
    first = len(stored) - len(out) if mode == "merge" and stored is not None else 0
    own = dict(zip(range(first, first + len(out)), labels.tolist()))
    if kind == "subgrids":
        report.findings += level_findings(combined.layers[kind], own, combined, where=where)
        if not report.errors:
            codes = [str(c) for c in out["code"]]
            report.findings += level_geometry_findings(
                combined, set(codes), dict(zip(codes, labels.tolist())), rule=rule, where=where
            )
    if kind in ("grids", "towns"):
        report.findings += coverage_findings(
            combined.layers[kind], own, rule=rule, what=LAYER_BY_NAME[kind].label, where=where
        )
    report.findings += _others_broken(current, combined, kind)
    if report.errors or dry_run:
        return
    derived = _derived(combined, kind)
    to_write = out
    if kind in _DERIVED:
        own_codes = derived[kind].set_index("code")["grid_code"] if len(derived.get(kind, [])) else None
        to_write = out.copy()
        to_write["grid_code"] = (
            out["code"].map(own_codes).to_numpy(dtype=object) if own_codes is not None else None
        )
    if progress is not None:
        progress("写入数据库", 0, len(to_write))

    def written(done: int, total: int) -> None:
        if progress is not None:
            progress("写入数据库", done, total)

    try:
        report.version = store.import_reference(
            kind,
            to_write,
            mode=mode,
            expected_version=version,
            derived=derived,
            source=f"{report.file} → {kind}",
            progress=written,
        )
    except GridmapError as error:
        report.findings.append(Finding(error.message, file=report.file))
        return
    report.committed = True
