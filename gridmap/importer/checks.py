"""The import's checks: geometry repair, duplicates, coverage, the county's extent, references."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.coverage import CoverageRule, find_gaps_and_overlaps
from gridmap.crs import local_crs_for
from gridmap.errors import Finding, InvalidInput
from gridmap.io.columns import columns_of, kind_label
from gridmap.io.coordinates import parse_coordinates
from gridmap.io.read import Dataset
from gridmap.io.source import Source
from gridmap.model import LAYER_BY_NAME

# A feature farther than this from every town is outside the county.
OUTSIDE_BUFFER_DEG = 0.001
# Point geometries farther than this (metres) from the file's own lon/lat columns are reported.
COLUMN_MISMATCH_M = 5.0

# (column, target kind, target column) references checked for each imported kind.
REFERENCES: dict[str, tuple[tuple[str, str | tuple[str, ...], str], ...]] = {
    "grids": (("town_code", "towns", "code"),),
    "segments": (("unit_code", "units", "code"),),
    "points": (("unit_code", "units", "code"),),
    "communities": (("unit_code", "units", "code"),),
    "grid_roles": (("grid_code", "grids", "code"), ("lead_unit_code", "units", "code")),
    "grid_leaders": (("grid_code", "grids", "code"), ("leader_code", "leaders", "code")),
    "town_leaders": (("town_code", "towns", "code"), ("leader_code", "leaders", "code")),
    "household_heads": (("community_code", "communities", "code"), ("building_code", "buildings", "code")),
    "inspectors": (("grid_codes", "grids", "code"),),
    # Grid levels: a sub-grid's parent is a town, a county-town grid or another sub-grid (of the
    # same file, or already stored when merging); the people of a level name any of them.
    "subgrids": (("parent_code", ("towns", "grids", "subgrids"), "code"),),
    "frontages": (("shop_code", "shops", "code"),),
    "buildings": (("community_code", "communities", "code"),),
    "grid_people": (("grid_code", ("towns", "grids", "subgrids"), "code"),),
}
NAME_COLUMN = {"segments": "road_name"}
# What a reference to several kinds is called in messages.
_ANY_GRID = "镇、县城网格或下级网格"


def relabel(findings: list[Finding], labels: pd.Index) -> list[Finding]:
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


def prepare_geometries(
    geoms: np.ndarray, labels: pd.Index, *, spec, where: dict, counts: dict
) -> tuple[np.ndarray, list[Finding]]:
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
    for label, reason, geom, a0, a1, is_poly in zip(
        labels[invalid], reasons, fixed, before, after, polygonal
    ):
        if geom is None or geom.is_empty:
            findings.append(
                Finding(
                    f"{label} 几何无效（{reason}），无法自动修复",
                    feature=label,
                    hint="请在 GIS 软件中重绘该要素",
                    **where,
                )
            )
            continue
        change = f"，面积变化 {abs(a1 - a0) / a0 * 100:.1f}%" if is_poly and a0 > 0 else ""
        findings.append(
            Finding(
                f"{label} 几何无效（{reason}），已自动修复（make_valid）{change}",
                feature=label,
                severity="warning",
                hint="请核对修复后的形状；如不对，请在 GIS 软件中修正后重新导入",
                **where,
            )
        )
    geoms = geoms.copy()
    geoms[np.flatnonzero(invalid)] = fixed
    return geoms, findings


def duplicate_and_multipart(geoms: np.ndarray, labels: pd.Index, *, spec, where: dict) -> list[Finding]:
    """Features with the same geometry as an earlier one, and polygons/lines in several parts."""
    findings: list[Finding] = []
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    if len(idx):
        keys = shapely.to_wkb(shapely.normalize(geoms[idx]))
        codes, _ = pd.factorize(pd.Series(keys))
        first = pd.Series(np.arange(len(idx))).groupby(codes).transform("min").to_numpy()
        for k in np.flatnonzero(first != np.arange(len(idx))):
            label = labels[idx[k]]
            findings.append(
                Finding(
                    f"{label} 的几何与 {labels[idx[first[k]]]} 完全相同（重复要素）",
                    feature=label,
                    severity="warning",
                    hint="如是重复录入，请删除其中一个",
                    **where,
                )
            )
    parts = shapely.get_num_geometries(geoms)
    multi = present & (parts > 1) & np.isin(shapely.get_type_id(geoms), (5, 6))
    for label, n in zip(labels[multi], parts[multi]):
        findings.append(
            Finding(
                f"{label} 由 {n} 个互不相连的部分组成（多部件要素）",
                feature=label,
                severity="warning",
                hint=f"请确认这是同一个{spec.label}，不是误画或误合并",
                **where,
            )
        )
    return findings


def column_mismatch(source: Source, geoms: gpd.GeoSeries, crs_used: str, *, where: dict) -> list[Finding]:
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
    far = dist > COLUMN_MISMATCH_M
    if not far.any() or not np.isfinite(dist[far]).all():
        return []
    worst = int(np.argmax(dist))
    label = source.labels[np.flatnonzero(ok)[worst]]
    return [
        Finding(
            f"几何坐标与属性表中的坐标列“{lon}”“{lat}”不一致：{int(far.sum())} 个要素"
            f"相差超过 {COLUMN_MISMATCH_M:g} m"
            f"（最大 {dist[worst]:.0f} m，见 {label}）",
            severity="warning",
            field=f"{lon},{lat}",
            hint=f"文件的 .prj 或几何可能有误；如属性列的坐标更准确，请加 --xy {lon},{lat} 用这两列导入",
            **where,
        )
    ]


def coverage_findings(
    grids: gpd.GeoDataFrame, labels: dict, *, rule: CoverageRule, what: str, where: dict
) -> list[Finding]:
    """Gaps, overlaps and slivers between polygons (`gridmap.coverage`, in metres), as warnings."""
    if len(grids) < 1:
        return []
    codes = grids["code"].to_numpy(dtype=object)
    gaps, overlaps = find_gaps_and_overlaps(np.asarray(grids.geometry.values), rule=rule)
    findings: list[Finding] = []
    for o in overlaps:
        kind = "狭长重叠碎片" if o.sliver else "重叠"
        findings.append(
            Finding(
                f"{what} {codes[o.first]} 与{what} {codes[o.second]} {kind} {o.area_m2:.1f} m²"
                f"{f'（平均宽约 {o.width_m:.2f} m）' if o.sliver else ''}，位于 {o.lon:.6f},{o.lat:.6f}",
                feature=labels.get(o.first, labels.get(o.second)),
                severity="warning",
                hint="重叠处的责任不清：请在 GIS 软件中调整边界，使相邻两块共用同一条边",
                **where,
            )
        )
    for g in gaps:
        near = sorted(codes[list(g.neighbours)].tolist())
        kind = "狭长缝隙碎片" if g.sliver else "缝隙"
        findings.append(
            Finding(
                f"{what}之间有{kind} {g.area_m2:.1f} m²"
                f"{f'（平均宽约 {g.width_m:.2f} m）' if g.sliver else ''}，位于 {g.lon:.6f},{g.lat:.6f}，"
                f"相邻{what}：{'、'.join(map(str, near[:8])) or '无'}",
                severity="warning",
                hint="缝隙处没有人负责：请把缝隙并入相邻的一块，或确认是有意留出",
                **where,
            )
        )
    return findings


def outside_findings(
    geoms: np.ndarray, labels: pd.Index, towns: gpd.GeoDataFrame, *, where: dict, what: str
) -> list[Finding]:
    """Features outside every town (warnings), or all of them outside (an error: wrong CRS?)."""
    if not len(towns) or not len(geoms):
        return []
    county = shapely.buffer(shapely.union_all(towns.geometry.to_numpy()), OUTSIDE_BUFFER_DEG)
    shapely.prepare(county)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    outside = present & ~shapely.intersects(county, geoms)
    if not outside.any():
        return []
    if outside.sum() == present.sum():
        return [
            Finding(
                f"全部 {int(outside.sum())} 个{what}都不在本县（镇/街道图层）范围内",
                severity="error",
                hint="多半是坐标系不对（如 GCJ-02/BD-09 未转换、投影带选错），请用 --crs 指定；"
                "或先导入正确的镇/街道边界",
                **where,
            )
        ]
    return [
        Finding(
            f"{label} 不在本县（任何镇/街道）范围内",
            feature=label,
            severity="warning",
            hint="请检查坐标，或确认镇/街道边界是否完整",
            **where,
        )
        for label in labels[outside]
    ]


def _targets(
    target: str | tuple[str, ...],
    kind: str,
    frame: pd.DataFrame,
    combined: Dataset,
    *,
    mode: str,
    column: str = "code",
) -> tuple[pd.DataFrame, str]:
    """The rows a reference may point to (code and name columns) and what they are called.

    A reference to the imported kind itself (a sub-grid's parent) may point to a row of the file,
    and, when merging, to a stored row.
    """
    kinds = (target,) if isinstance(target, str) else target
    frames = []
    for t in kinds:
        container = combined.layers if t in LAYER_BY_NAME else combined.tables
        name_column = NAME_COLUMN.get(t, "name")
        sources = [container[t]] if t != kind or mode == "merge" else []
        if t == kind:
            sources.append(frame)
        for source in sources:
            part = pd.DataFrame(
                {
                    "code": source[column].to_numpy(dtype=object),
                    "name": source[name_column].to_numpy(dtype=object) if name_column in source else None,
                }
            )
            frames.append(part)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"code": [], "name": []})
    what = kind_label(target) if isinstance(target, str) else _ANY_GRID
    return rows, what


def reference_findings(
    frame: pd.DataFrame,
    kind: str,
    labels: pd.Index,
    combined: Dataset,
    *,
    where: dict,
    mode: str = "replace",
) -> tuple[pd.DataFrame, list[Finding]]:
    """Dangling references are errors; a name given instead of a code is resolved (warned)."""
    from gridmap.io.references import split_codes

    findings: list[Finding] = []
    for column, target, target_column in REFERENCES.get(kind, ()):
        if column not in frame:
            continue
        target_frame, what = _targets(target, kind, frame, combined, mode=mode, column=target_column)
        known = set(target_frame["code"].dropna().astype(str))
        names = target_frame.dropna(subset=["name"])
        by_name: dict[str, str] = {}
        counts = names["name"].value_counts()
        for name, code in zip(names["name"], names["code"]):
            if counts[name] == 1 and str(name) not in known:
                by_name[str(name)] = str(code)
        field_label = next((c.label for c in columns_of(kind) if c.name == column), column)
        kinds = (target,) if isinstance(target, str) else target
        values = frame[column]
        resolved: dict[str, str] = {}
        new_values: list[object] = []
        for label, value in zip(labels, values):
            if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
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
                    if isinstance(target, str) and target != kind:
                        hint = (
                            f"请先导入{what}（--as {target}），或改正为已有的编码"
                            if not known
                            else f"请改为已有的{what}编码，或先导入该{what}"
                        )
                    else:
                        first = "、".join(f"--as {t}" for t in kinds if t != kind)
                        hint = (
                            f"请把“{field_label}”改为已有的{what}编码（本文件中的也可以），"
                            f"或先导入该上级（{first}）"
                        )
                    findings.append(
                        Finding(
                            f"{label} 的“{field_label}”引用了不存在的{what}“{part}”",
                            feature=label,
                            field=column,
                            hint=hint,
                            **where,
                        )
                    )
            new_values.append("、".join(out_parts) if column == "grid_codes" else out_parts[0])
        frame[column] = pd.Series(new_values, index=frame.index, dtype=object)
        for name, code in resolved.items():
            findings.append(
                Finding(
                    f"“{column}”列填的是名称“{name}”，已按名称对应到{what}编码 {code}",
                    field=column,
                    severity="warning",
                    hint="建议在表中直接填写编码",
                    **where,
                )
            )
    return frame, findings


def level_findings(
    subgrids: pd.DataFrame, own: dict[int, str], combined: Dataset, *, where: dict
) -> list[Finding]:
    """Sub-grids of the file whose parent chain never reaches a town or a county-town grid (a
    cycle), or whose level is unknown or does not fit the parent (组 directly under a town);
    `gridmap.auditlevels.chain_problems`, as the audit finds them. Unknown parents are left to
    `reference_findings`.

    ``subgrids`` are all sub-grids after the import (positional); ``own`` maps the positions of
    the file's rows to their labels.
    """
    from gridmap.auditlevels import chain_problems

    if not own:
        return []
    grids = combined.layers["grids"]
    problems = chain_problems(
        subgrids["code"].astype(str).to_numpy(dtype=object),
        subgrids["parent_code"].to_numpy(dtype=object),
        subgrids["level"].to_numpy(dtype=object)
        if "level" in subgrids
        else np.full(len(subgrids), None, dtype=object),
        towns=pd.Index(combined.layers["towns"]["code"].astype(str)),
        grids=pd.Series(grids["town_code"].to_numpy(dtype=object), index=grids["code"].astype(str)),
    )
    return [
        Finding(
            f"{own[p.position]} 的{p.message}",
            feature=own[p.position],
            field=p.field,
            hint=p.hint,
            **where,
        )
        for p in problems
        if p.position in own and p.kind != "unknown_parent"
    ]


def level_geometry_findings(
    combined: Dataset, codes: set[str], labels: dict[str, str], *, rule: CoverageRule, where: dict
) -> list[Finding]:
    """The audit's per-level geometry checks for the imported sub-grids, as warnings: a child
    reaching outside its parent, overlapping siblings, and what the children leave uncovered.

    ``codes`` are the imported sub-grids; ``labels`` their "FID n" / "第 n 行" by code.
    """
    from gridmap.auditlevels import audit_levels
    from gridmap.model import TABLE_BY_NAME
    from gridmap.responsibility import build_model

    tables = {
        name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns})
        for name, spec in TABLE_BY_NAME.items()
    }
    layers = {n: combined.layers[n] for n in ("towns", "grids", "subgrids")}  # no roads to assign
    model = build_model(Dataset(layers=layers, tables=tables))
    audit = audit_levels(model, rule=rule, frontage_max_m=float("inf"))
    sub = model.subgrids
    parents = set(sub.loc[sub.index.isin(list(codes)), "parent_code"].dropna().astype(str))
    findings = []
    for f in audit.findings:
        kind, code = f["kind"], str(f["code"])
        if kind == "gap":
            keep = code in parents
        elif kind == "outside_parent":
            keep = code in codes
        elif kind == "overlap":
            keep = code in codes or str(f.get("other")) in codes
            code = code if code in codes else str(f.get("other"))
        else:
            keep = False
        if not keep:
            continue
        label = None if kind == "gap" else labels.get(code)
        name = f"{f['layer_label']} {f['code']}" if label is None else f"{label}（{f['code']}）"
        findings.append(
            Finding(f"{name}：{f['message']}", feature=label, severity="warning", hint=f["hint"], **where)
        )
    return findings
