"""The import pipeline: read → encoding/CRS → columns → repair and validate → checks → report → commit."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.coverage import CoverageRule, find_gaps_and_overlaps
from gridmap.crs import local_crs_for
from gridmap.errors import DataError, Finding, GridmapError, InvalidInput
from gridmap.io.columns import (
    KINDS,
    columns_of,
    header_list,
    kind_label,
    map_columns,
    missing_findings,
    read_mapping_file,
)
from gridmap.io.archive import ArchiveLimits
from gridmap.io.coordinates import parse_coordinates
from gridmap.io.formats import read_source
from gridmap.io.source import FORMAT_LABELS, Source
from gridmap.io.georef import georeference
from gridmap.io.read import Dataset, check_values, validate_layer
from gridmap.model import GRID_CODE_LAYERS, LAYER_BY_NAME, TABLE_BY_NAME
from gridmap.store import Store

__all__ = ["ImportReport", "KINDS", "preview_map", "run_import"]

# A feature farther than this from every town is outside the county.
OUTSIDE_BUFFER_DEG = 0.001
_REPORT_LIMIT = 200  # findings of one severity shown in the text report

# (column, target kind, target column) references checked for each imported kind.
_REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "grids": (("town_code", "towns", "code"),),
    "segments": (("unit_code", "units", "code"),),
    "points": (("unit_code", "units", "code"),),
    "communities": (("unit_code", "units", "code"),),
    "grid_roles": (("grid_code", "grids", "code"), ("lead_unit_code", "units", "code")),
    "grid_leaders": (("grid_code", "grids", "code"), ("leader_code", "leaders", "code")),
    "town_leaders": (("town_code", "towns", "code"), ("leader_code", "leaders", "code")),
    "household_heads": (("community_code", "communities", "code"),),
    "inspectors": (("grid_codes", "grids", "code"),),
}
_NAME_COLUMN = {"segments": "road_name"}
_DERIVED = GRID_CODE_LAYERS  # layers that store the code of the grid they lie in
_MODES = {"replace": "替换（导入后该类数据只剩本文件的内容）",
          "merge": "合并（编码相同的替换，其余保留）"}

Progress = Callable[[str, int, int | None], None]


@dataclass
class ImportReport:
    """What an import read, decided, found and did; printed in Chinese, or as JSON."""

    file: str
    kind: str
    mode: str = "replace"
    dry_run: bool = False
    format: str = ""
    layer: str | None = None
    encoding: str | None = None
    encoding_reason: str = ""
    crs: str | None = None
    crs_reason: str = ""
    geometry_from: str = ""
    columns: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    committed: bool = False
    version: int | None = None
    seconds: float = 0.0
    data: pd.DataFrame | None = None  # the validated rows (EPSG:4326), for previews
    feature_labels: pd.Index | None = None  # "FID 3" / "第 5 行" of each row of `data`

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def encoding_label(self) -> str:
        return _codec_label(self.encoding) if self.encoding else ""

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "committed": self.committed,
            "dry_run": self.dry_run,
            "version": self.version,
            "file": self.file,
            "format": self.format,
            "format_label": FORMAT_LABELS.get(self.format, self.format),
            "kind": self.kind,
            "kind_label": self.kind_label,
            "layer": self.layer,
            "mode": self.mode,
            "encoding": self.encoding,
            "encoding_label": self.encoding_label,
            "encoding_reason": self.encoding_reason,
            "crs": self.crs,
            "crs_reason": self.crs_reason,
            "geometry_from": self.geometry_from,
            "columns": self.columns,
            "unused_columns": self.unused_columns,
            "counts": self.counts,
            "notes": self.notes,
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
            "seconds": round(self.seconds, 3),
        }

    def to_text(self) -> str:
        fmt = FORMAT_LABELS.get(self.format, self.format) or "未识别"
        lines = [
            f"导入报告：{self.file}（{fmt}{'，图层/工作表 ' + self.layer if self.layer else ''}）"
            f"，作为“{self.kind_label}”（{self.kind}）导入，方式：{_MODES.get(self.mode, self.mode)}",
        ]
        if self.encoding:
            lines.append(f"编码：{_codec_label(self.encoding)}（{self.encoding_reason}）")
        if self.crs:
            lines.append(f"坐标系：{self.crs}（{self.crs_reason}），已转换为 EPSG:4326（WGS84 经纬度）存储")
        if self.geometry_from:
            lines.append(f"几何来源：{self.geometry_from}")
        if self.columns:
            lines.append("字段对应：" + "；".join(self.columns))
        if self.unused_columns:
            lines.append("未使用的列：" + header_list(self.unused_columns))
        lines += [f"说明：{n}" for n in self.notes]
        if self.counts:
            parts = {"read": "读入", "repaired": "自动修复", "imported": "可导入"}
            lines.append("数量：" + "，".join(f"{parts.get(k, k)} {v}" for k, v in self.counts.items()))
        for title, items in (("错误", self.errors), ("警告", self.warnings)):
            if not items:
                continue
            lines.append(f"{title} {len(items)} 条：")
            lines += [f"  {f}" for f in items[:_REPORT_LIMIT]]
            if len(items) > _REPORT_LIMIT:
                lines.append(f"  ……另有 {len(items) - _REPORT_LIMIT} 条（完整列表请用 --json 输出）")
        if self.errors:
            lines.append(f"结果：有 {len(self.errors)} 处错误，未导入，数据库保持原样。请按上面的提示改正后重新导入。")
        elif self.dry_run:
            lines.append("结果：检查通过（试运行 --dry-run），未写入数据库。")
        elif self.committed:
            lines.append(f"结果：已导入 {self.counts.get('imported', 0)} 条{self.kind_label}数据（数据版本 {self.version}）。")
        return "\n".join(lines)


def _codec_label(codec: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gbk": "GBK", "cp936": "GBK（CP936）",
            "gb18030": "GB18030（GBK 的超集）"}.get(codec, codec.upper())


# --- helpers ---------------------------------------------------------------------------------


def _empty_dataset() -> Dataset:
    from gridmap.model import LAYERS, TABLES

    layers = {
        spec.name: gpd.GeoDataFrame({c.name: pd.Series(dtype=object) for c in spec.columns},
                                    geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
        for spec in LAYERS
    }
    tables = {spec.name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns})
              for spec in TABLES}
    return Dataset(layers=layers, tables=tables)


def _relabel(findings: list[Finding], labels: pd.Index) -> list[Finding]:
    """validate_layer names rows "FID i" by position; give them the source's own labels."""
    out = []
    for f in findings:
        if isinstance(f.feature, str) and f.feature.startswith("FID "):
            try:
                new = labels[int(f.feature[4:])]
            except (ValueError, IndexError):
                out.append(f)
                continue
            message = f.message.replace(f"{f.feature} ", f"{new} ", 1)
            out.append(dataclasses.replace(f, feature=new, message=message))
        else:
            out.append(f)
    return out


def _county_lon(current: Dataset) -> float | None:
    for name in ("towns", "grids"):
        gdf = current.layers.get(name)
        if gdf is not None and len(gdf):
            minx, _, maxx, _ = gdf.total_bounds
            if np.isfinite([minx, maxx]).all():
                return float((minx + maxx) / 2)
    return None


def _prepare_geometries(geoms: np.ndarray, labels: pd.Index, *, spec, where: dict,
                        counts: dict) -> tuple[np.ndarray, list[Finding]]:
    """Drop Z, turn one-part multipoints into points, repair invalid geometries (reported)."""
    findings: list[Finding] = []
    geoms = shapely.force_2d(geoms)
    types = shapely.get_type_id(geoms)
    single_multipoint = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multipoint.any():
        geoms[single_multipoint] = shapely.get_geometry(geoms[single_multipoint], 0)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    counts["repaired"] = int(invalid.sum())
    if not invalid.any():
        return geoms, findings
    bad = geoms[invalid]
    reasons = shapely.is_valid_reason(bad)
    polygonal = np.isin(shapely.get_type_id(bad), (3, 6))
    fixed = np.empty(len(bad), dtype=object)
    fixed[polygonal] = shapely.make_valid(bad[polygonal], method="structure", keep_collapsed=False)
    fixed[~polygonal] = shapely.make_valid(bad[~polygonal])
    before = shapely.area(bad)
    after = shapely.area(fixed)
    for label, reason, geom, a0, a1, is_poly in zip(labels[invalid], reasons, fixed, before, after,
                                                    polygonal):
        if geom is None or geom.is_empty:
            findings.append(Finding(
                f"{label} 几何无效（{reason}），无法自动修复", feature=label,
                hint="请在 GIS 软件中重绘该要素", **where))
            continue
        change = f"，面积变化 {abs(a1 - a0) / a0 * 100:.1f}%" if is_poly and a0 > 0 else ""
        findings.append(Finding(
            f"{label} 几何无效（{reason}），已自动修复（make_valid）{change}", feature=label,
            severity="warning", hint="请核对修复后的形状；如不对，请在 GIS 软件中修正后重新导入",
            **where))
    geoms = geoms.copy()
    geoms[np.flatnonzero(invalid)] = fixed
    return geoms, findings


def _duplicate_and_multipart(geoms: np.ndarray, labels: pd.Index, *, spec,
                             where: dict) -> list[Finding]:
    findings: list[Finding] = []
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    if len(idx):
        keys = shapely.to_wkb(shapely.normalize(geoms[idx]))
        codes, _ = pd.factorize(pd.Series(keys))
        first = pd.Series(np.arange(len(idx))).groupby(codes).transform("min").to_numpy()
        for k in np.flatnonzero(first != np.arange(len(idx))):
            label = labels[idx[k]]
            findings.append(Finding(
                f"{label} 的几何与 {labels[idx[first[k]]]} 完全相同（重复要素）", feature=label,
                severity="warning", hint="如是重复录入，请删除其中一个", **where))
    parts = shapely.get_num_geometries(geoms)
    multi = present & (parts > 1) & np.isin(shapely.get_type_id(geoms), (5, 6))
    for label, n in zip(labels[multi], parts[multi]):
        findings.append(Finding(
            f"{label} 由 {n} 个互不相连的部分组成（多部件要素）", feature=label, severity="warning",
            hint=f"请确认这是同一个{spec.label}，不是误画或误合并", **where))
    return findings


def _column_mismatch(source: Source, geoms: gpd.GeoSeries, crs_used: str, *,
                     where: dict) -> list[Finding]:
    """Point geometries that disagree with the file's own lon/lat attribute columns (warning)."""
    from gridmap.io.georef import parse_crs_option

    if source.geometry_from != "几何字段" or not source.coordinate_pairs:
        return []
    values = geoms.to_numpy()
    is_point = shapely.get_type_id(values) == 0
    if not is_point.any():
        return []
    lon, lat, datum = source.coordinate_pairs[0]
    x = parse_coordinates(source.frame[lon])
    y = parse_coordinates(source.frame[lat])
    ok = is_point & np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return []
    try:
        system = parse_crs_option(datum) if datum else parse_crs_option(crs_used.split("（")[0])
    except InvalidInput:
        return []
    from gridmap.io.georef import to_store_crs

    columns = to_store_crs(gpd.GeoSeries(shapely.points(x[ok], y[ok])), system)
    local = local_crs_for(tuple(geoms[ok].total_bounds))
    a = gpd.GeoSeries(values[ok], crs="EPSG:4326").to_crs(local).to_numpy()
    b = gpd.GeoSeries(columns.to_numpy(), crs="EPSG:4326").to_crs(local).to_numpy()
    dist = shapely.distance(a, b)
    far = dist > 5.0
    if not far.any() or not np.isfinite(dist[far]).all():
        return []
    worst = int(np.argmax(dist))
    label = source.labels[np.flatnonzero(ok)[worst]]
    return [Finding(
        f"几何坐标与属性表中的坐标列“{lon}”“{lat}”不一致：{int(far.sum())} 个要素相差超过 5 m"
        f"（最大 {dist[worst]:.0f} m，见 {label}）",
        severity="warning", field=f"{lon},{lat}",
        hint=f"文件的 .prj 或几何可能有误；如属性列的坐标更准确，请加 --xy {lon},{lat} 用这两列导入",
        **where)]


def _coverage_findings(grids: gpd.GeoDataFrame, labels: dict, *, rule: CoverageRule,
                       what: str, where: dict) -> list[Finding]:
    """Gaps, overlaps and slivers between polygons (`gridmap.coverage`, in metres), as warnings."""
    if len(grids) < 1:
        return []
    codes = grids["code"].to_numpy(dtype=object)
    gaps, overlaps = find_gaps_and_overlaps(np.asarray(grids.geometry.values), rule=rule)
    findings: list[Finding] = []
    for o in overlaps:
        kind = "狭长重叠碎片" if o.sliver else "重叠"
        findings.append(Finding(
            f"{what} {codes[o.first]} 与{what} {codes[o.second]} {kind} {o.area_m2:.1f} m²"
            f"{f'（平均宽约 {o.width_m:.2f} m）' if o.sliver else ''}，位于 {o.lon:.6f},{o.lat:.6f}",
            feature=labels.get(o.first, labels.get(o.second)), severity="warning",
            hint="重叠处的责任不清：请在 GIS 软件中调整边界，使相邻两块共用同一条边", **where))
    for g in gaps:
        near = sorted(codes[list(g.neighbours)].tolist())
        kind = "狭长缝隙碎片" if g.sliver else "缝隙"
        findings.append(Finding(
            f"{what}之间有{kind} {g.area_m2:.1f} m²"
            f"{f'（平均宽约 {g.width_m:.2f} m）' if g.sliver else ''}，位于 {g.lon:.6f},{g.lat:.6f}，"
            f"相邻{what}：{'、'.join(map(str, near[:8])) or '无'}",
            severity="warning",
            hint="缝隙处没有人负责：请把缝隙并入相邻的一块，或确认是有意留出", **where))
    return findings


def _outside_findings(geoms: np.ndarray, labels: pd.Index, towns: gpd.GeoDataFrame, *,
                      where: dict, what: str) -> list[Finding]:
    if not len(towns) or not len(geoms):
        return []
    county = shapely.buffer(shapely.union_all(towns.geometry.to_numpy()), OUTSIDE_BUFFER_DEG)
    shapely.prepare(county)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    outside = present & ~shapely.intersects(county, geoms)
    if not outside.any():
        return []
    if outside.sum() == present.sum():
        return [Finding(
            f"全部 {int(outside.sum())} 个{what}都不在本县（镇/街道图层）范围内", severity="error",
            hint="多半是坐标系不对（如 GCJ-02/BD-09 未转换、投影带选错），请用 --crs 指定；"
                 "或先导入正确的镇/街道边界", **where)]
    return [Finding(f"{label} 不在本县（任何镇/街道）范围内", feature=label, severity="warning",
                    hint="请检查坐标，或确认镇/街道边界是否完整", **where)
            for label in labels[outside]]


def _reference_findings(frame: pd.DataFrame, kind: str, labels: pd.Index, combined: Dataset,
                        *, where: dict) -> tuple[pd.DataFrame, list[Finding]]:
    """Dangling references are errors; a name given instead of a code is resolved (warned)."""
    from gridmap.io.references import split_codes

    findings: list[Finding] = []
    for column, target, target_column in _REFERENCES.get(kind, ()):
        container = combined.layers if target in LAYER_BY_NAME else combined.tables
        target_frame = container[target]
        known = set(target_frame[target_column].dropna().astype(str))
        name_column = _NAME_COLUMN.get(target, "name")
        names = target_frame.dropna(subset=[name_column]) if name_column in target_frame else None
        by_name: dict[str, str] = {}
        if names is not None:
            counts = names[name_column].value_counts()
            for name, code in zip(names[name_column], names[target_column]):
                if counts[name] == 1:
                    by_name[str(name)] = str(code)
        values = frame[column]
        resolved: dict[str, str] = {}
        new_values = []
        for label, value in zip(labels, values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                new_values.append(value)
                continue
            parts = split_codes(value) if column == "grid_codes" else [str(value)]
            out_parts = []
            for part in parts:
                if part in known:
                    out_parts.append(part)
                elif part in by_name:
                    resolved[part] = by_name[part]
                    out_parts.append(by_name[part])
                else:
                    out_parts.append(part)
                    hint = (
                        f"请先导入{kind_label(target)}（--as {target}），或改正为已有的编码"
                        if not known else f"请改为已有的{kind_label(target)}编码，或先导入该{kind_label(target)}"
                    )
                    findings.append(Finding(
                        f"{label} 引用了不存在的{kind_label(target)}“{part}”", feature=label,
                        field=column, hint=hint, **where))
            new_values.append("、".join(out_parts) if column == "grid_codes" else out_parts[0])
        frame[column] = pd.Series(new_values, index=frame.index, dtype=object)
        for name, code in resolved.items():
            findings.append(Finding(
                f"“{column}”列填的是名称“{name}”，已按名称对应到{kind_label(target)}编码 {code}",
                field=column, severity="warning", hint="建议在表中直接填写编码", **where))
    return frame, findings


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
        container[kind] = (gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
                           if kind in LAYER_BY_NAME else merged)
    else:
        container[kind] = frame.reset_index(drop=True)
    return Dataset(layers=layers, tables=tables, source=current.source)


def _others_broken(before: Dataset, after: Dataset, kind: str) -> list[Finding]:
    """References in OTHER layers/tables that this import breaks (warnings)."""
    from gridmap.io.references import check_references

    def keyed(dataset: Dataset) -> dict[tuple, Finding]:
        return {(f.layer, f.feature, f.field, f.message): f
                for f in check_references(dataset.layers, dataset.tables)}

    old = keyed(before)
    label = kind_label(kind)
    out = []
    for key, f in keyed(after).items():
        if key in old or f.layer in (kind, label):
            continue
        out.append(dataclasses.replace(
            f, severity="warning", message=f"导入后，{f.message}",
            hint=f"本次导入的{label}中没有它；请补充，或随后改正该处引用"))
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
    return {n: pd.DataFrame({"code": getattr(model, n).index.to_numpy(dtype=object),
                             "grid_code": getattr(model, n)["grid_code"].to_numpy(dtype=object)})
            for n in _DERIVED}


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
    if mode not in _MODES:
        msg = "导入方式只能是替换（--replace）或合并（--merge）"
        raise InvalidInput(msg)
    name = display_name or Path(path).name
    report = ImportReport(file=name, kind=kind, mode=mode, dry_run=dry_run)
    try:
        _run(store, Path(path), report, kind=kind, layer=layer, crs=crs, encoding=encoding,
             columns=columns, xy=xy, mode=mode, dry_run=dry_run,
             rule=CoverageRule.from_settings(settings, tolerance_m2=tolerance_m2),
             progress=progress, limits=limits)
    except (DataError, InvalidInput) as error:
        report.findings += error.findings or [Finding(error.message, file=name)]
        if error.findings and not any(error.message in f.message for f in error.findings):
            report.notes.append(error.message)
    report.seconds = time.perf_counter() - started
    return report


def _run(store: Store, path: Path, report: ImportReport, *, kind, layer, crs, encoding, columns,
         xy, mode, dry_run, rule, progress, limits) -> None:
    overrides = None
    if isinstance(columns, dict):
        overrides = dict(columns)
    elif columns is not None:
        overrides = read_mapping_file(columns, kind=kind)
    try:
        source: Source = read_source(path, kind=kind, layer=layer, encoding=encoding, xy=xy,
                                     display_name=report.file, progress=progress, limits=limits)
    except GridmapError:
        raise
    except Exception as exc:  # any reader failure is a problem of the file, not a crash
        msg = f"无法读取 {report.file}：{type(exc).__name__}: {str(exc)[:300]}"
        raise DataError(msg, findings=[Finding(
            msg, file=report.file, hint="文件可能损坏、不完整或格式不对；请重新导出后再试")]) from exc
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
    attrs = pd.DataFrame({c.name: (mapping.values(frame, c.name) if c.name in mapping.used else None)
                          for c in spec_columns},
                         index=pd.RangeIndex(len(frame)))
    current = store.read_current()
    version = store.data_version()
    labels = source.labels

    if kind in TABLE_BY_NAME:
        spec = TABLE_BY_NAME[kind]
        out, found = check_values(attrs, spec.columns, key=spec.key, labels=labels, where=where)
        report.findings += found
        out = out[[c.name for c in spec.columns]]
    else:
        spec = LAYER_BY_NAME[kind]
        geoms, choice = georeference(source, user_crs=crs, county_lon=_county_lon(current))
        report.crs, report.crs_reason = choice.label, choice.reason
        report.findings += choice.findings
        report.findings += _column_mismatch(source, geoms, choice.label, where=where)
        values, found = _prepare_geometries(geoms.to_numpy(), labels, spec=spec, where=where,
                                            counts=report.counts)
        report.findings += found
        gdf = gpd.GeoDataFrame(attrs, geometry=values, crs="EPSG:4326")
        out, found = validate_layer(gdf, spec, file=report.file)
        report.findings += [dataclasses.replace(f, layer=source.layer) for f in _relabel(found, labels)]
        report.findings += _duplicate_and_multipart(out.geometry.to_numpy(), labels, spec=spec,
                                                    where=where)
        if kind != "towns":
            report.findings += _outside_findings(out.geometry.to_numpy(), labels,
                                                 current.layers["towns"], where=where,
                                                 what=spec.label)
    out, found = _reference_findings(out, kind, labels, current, where=where)
    report.findings += found
    report.counts["imported"] = len(out)
    report.data = out
    report.feature_labels = labels
    if report.errors:
        return
    combined = _combine(current, kind, out, mode=mode)
    if kind in ("grids", "towns"):
        first = len(combined.layers[kind]) - len(out) if mode == "merge" else 0
        own = dict(zip(range(first, first + len(out)), labels.tolist()))
        report.findings += _coverage_findings(
            combined.layers[kind], own, rule=rule,
            what=LAYER_BY_NAME[kind].label, where=where)
    report.findings += _others_broken(current, combined, kind)
    if report.errors or dry_run:
        return
    derived = _derived(combined, kind)
    to_write = out
    if kind in _DERIVED:
        own_codes = derived[kind].set_index("code")["grid_code"] if len(derived.get(kind, [])) else None
        to_write = out.copy()
        to_write["grid_code"] = (out["code"].map(own_codes).to_numpy(dtype=object)
                                 if own_codes is not None else None)
    if progress is not None:
        progress("写入数据库", 0, len(to_write))

    def written(done: int, total: int) -> None:
        if progress is not None:
            progress("写入数据库", done, total)

    try:
        report.version = store.import_reference(
            kind, to_write, mode=mode, expected_version=version, derived=derived,
            source=f"{report.file} → {kind}", progress=written)
    except GridmapError as error:
        report.findings.append(Finding(error.message, file=report.file))
        return
    report.committed = True


# --- preview ---------------------------------------------------------------------------------

PREVIEW_LIMIT = 5000  # features drawn on the preview map


def preview_map(report: ImportReport):
    """A folium map of what an import would write (first PREVIEW_LIMIT features), problems in colour.

    No basemap (works offline); the caller passes it through `gridmap.assets.localize`.
    Tooltips are plain text shown with ``textContent`` (gridmap.maps.FeatureText), never HTML.
    """
    import folium

    from gridmap import safe
    from gridmap.maps import FeatureText

    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True)
    data = report.data
    if data is None or not isinstance(data, gpd.GeoDataFrame) or not len(data):
        m.location = [33.91, 106.52]
        m.options["zoom"] = 10
        return m
    labels = (pd.Index(report.feature_labels) if report.feature_labels is not None
              else pd.Index([f"第 {i + 1} 个" for i in range(len(data))]))[:PREVIEW_LIMIT]
    data = data.iloc[:PREVIEW_LIMIT]
    keep = ~(data.geometry.is_empty | data.geometry.isna()).to_numpy()
    data, labels = data[keep], labels[keep]
    severity: dict[str, str] = {}
    for f in report.findings:
        if isinstance(f.feature, str):
            if f.severity == "error" or f.feature not in severity:
                severity[f.feature] = f.severity
    name_column = "road_name" if "road_name" in data.columns else "name"
    codes = data["code"].tolist() if "code" in data.columns else [None] * len(data)
    names = data[name_column].tolist() if name_column in data.columns else [None] * len(data)
    show = gpd.GeoDataFrame({
        "label": [f"要素/行：{safe.text(label)}\n编码：{safe.text(code)}\n名称：{safe.text(name)}"
                  for label, code, name in zip(labels, codes, names)],
        "state": [severity.get(str(v), "ok") for v in labels],
    }, geometry=data.geometry.values, crs="EPSG:4326")
    colours = {"ok": "#2563eb", "warning": "#f59e0b", "error": "#dc2626"}

    def style(feature):
        colour = colours[feature["properties"]["state"]]
        return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.25}

    layer = folium.GeoJson(
        show.to_json(),
        name=report.kind_label,
        style_function=style,
        marker=folium.CircleMarker(radius=5, fill=True),
    )
    layer.add_child(FeatureText(tooltip=True, popup=False))
    layer.add_to(m)
    minx, miny, maxx, maxy = show.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m
