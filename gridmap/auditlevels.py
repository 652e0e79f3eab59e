"""Audit the grid levels: per-level gaps, overlaps and containment, parent chains, shops and buildings."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.coverage import CoverageRule, measure
from gridmap.levels import derive_subgrids
from gridmap.model import GRID_LEVELS

__all__ = ["ChainProblem", "LevelAudit", "audit_levels", "chain_problems"]

# How the parent of each level is called in messages.
_PARENT_LABEL = {"towns": "镇/街道", "grids": "县城网格", "subgrids": "下级网格"}


@dataclass
class LevelAudit:
    """Findings about the grid levels (``findings``) and how much of each parent its children cover."""

    findings: list[dict]
    coverage: list[dict]


def _finding(
    layer: str,
    label: str,
    code: object,
    name: object,
    *,
    kind: str,
    severity: str,
    message: str,
    hint: str,
    **extra: object,
) -> dict:
    return {
        "layer": layer,
        "layer_label": label,
        "code": code,
        "name": None if name is None or (isinstance(name, float) and np.isnan(name)) else name,
        "kind": kind,
        "severity": severity,
        "message": message,
        "hint": hint,
        **extra,
    }


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (intersections may add lines and points)."""
    types = shapely.get_type_id(geoms)
    out = geoms.copy()
    mixed = np.flatnonzero(types == 7)
    for i in mixed:  # geometry collections only: rare, one per odd intersection
        parts = [p for p in shapely.get_parts(geoms[i]) if p.geom_type in ("Polygon", "MultiPolygon")]
        out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    out[~np.isin(types, (3, 6, 7))] = shapely.Polygon()
    return out


def _parents(model) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Every possible parent code -> (geometry, layer, name): towns first, then grids, then sub-grids."""
    frames = [(n, model.layer(n)) for n in ("towns", "grids", "subgrids")]
    geom = pd.concat([pd.Series(f.geometry.to_numpy(), index=f.index, dtype=object) for _, f in frames])
    layer = pd.concat([pd.Series(n, index=f.index, dtype=object) for n, f in frames])
    name = pd.concat([pd.Series(f["name"].to_numpy(dtype=object), index=f.index) for _, f in frames])
    keep = ~geom.index.duplicated()
    return geom[keep], layer[keep], name[keep]


def _labels(model, codes: np.ndarray, layers: np.ndarray) -> list[str]:
    """What each parent is called: 镇/街道, 县城网格, or the sub-grid's level (村网格, 组网格…)."""
    level_name = model.subgrids["level_name"]
    level_name = level_name[~level_name.index.duplicated()]
    return [
        str(level_name.get(c) or "下级网格") if layer == "subgrids" else _PARENT_LABEL[str(layer)]
        for c, layer in zip(codes, layers)
    ]


def audit_levels(model, *, rule: CoverageRule, frontage_max_m: float) -> LevelAudit:
    """Check the sub-grids level by level, shops against their frontages, buildings and household heads.

    Errors: a sub-grid whose parent does not exist or whose parent chain never reaches a town or a
    county-town grid (a cycle), a level that does not fit the parent (组 under a town), a child
    reaching outside its parent, siblings overlapping, a frontage or household head naming an
    unknown shop or building. Warnings: areas of a parent its children leave uncovered (villages
    need not cover a whole town; a spot there falls to the parent), shops without a frontage,
    frontages farther than ``frontage_max_m`` from their shop, buildings outside their community,
    household heads without a building. Pieces count when larger than ``rule.tolerance_m2`` and
    wider on average than ``rule.min_width_m``, measured in the model's local metric CRS.
    """
    findings: list[dict] = []
    coverage: list[dict] = []
    subgrids = model.subgrids
    if len(subgrids):
        findings += _chains(model)
        out_findings, overlap_findings, cover = _geometry_checks(model, rule=rule)
        findings += out_findings + overlap_findings
        findings += cover[0]
        coverage += cover[1]
    findings += _shops(model, frontage_max_m=frontage_max_m)
    findings += _buildings(model, rule=rule)
    return LevelAudit(findings=findings, coverage=coverage)


@dataclass(frozen=True)
class ChainProblem:
    """A sub-grid (by position) whose parent or level is wrong, said so it reads after "<row> 的"."""

    position: int
    kind: str  # unknown_parent | broken_chain | unknown_level | level_mismatch
    field: str  # parent_code | level
    message: str
    hint: str


def chain_problems(
    codes: np.ndarray, parents: np.ndarray, levels: np.ndarray, *, towns: pd.Index, grids: pd.Series
) -> list[ChainProblem]:
    """Unknown parents, parent chains that never reach a town or a county-town grid (cycles, too
    deep), levels that are unknown or do not fit the parent (组 directly under a town).

    ``levels`` are the given levels (None or blank: derived, never wrong); ``towns`` the town
    codes; ``grids`` maps a county-town grid's code to its town (as `derive_subgrids`).
    """
    frame = pd.DataFrame(
        {"parent_code": parents, "level": None}, index=pd.Index(np.asarray(codes, dtype=object))
    )
    derived = derive_subgrids(frame, towns=towns, grids=grids)
    expected = derived["level"].to_numpy(dtype=object)
    stranded = derived["town_code"].isna().to_numpy() & (derived["depth"].to_numpy() == 0)
    known = pd.Index(towns).append([pd.Index(grids.index), frame.index])
    exists = np.asarray(pd.Index(parents, dtype=object).isin(known), dtype=bool)
    given = pd.Series(levels, dtype=object).str.strip()
    given = given.where(given.notna() & (given != ""), None).to_numpy(dtype=object)
    unknown = (given != None) & ~np.isin(given, list(GRID_LEVELS))  # noqa: E711  # elementwise
    wrong = (given != None) & ~unknown & (expected != None) & (given != expected)  # noqa: E711
    out: list[ChainProblem] = []
    for i in np.flatnonzero(~exists):
        out.append(
            ChainProblem(
                int(i),
                "unknown_parent",
                "parent_code",
                f"上级编码“{parents[i]}”不是任何镇、县城网格或下级网格的编码",
                "请改正“上级编码”，或先导入该上级网格",
            )
        )
    for i in np.flatnonzero(stranded & exists):
        out.append(
            ChainProblem(
                int(i),
                "broken_chain",
                "parent_code",
                f"上级链（经“{parents[i]}”）成环或过深，到不了任何镇或县城网格",
                "请检查这一串网格的“上级编码”，使每条上级链最终指向镇代码或县城网格编码",
            )
        )
    for i in np.flatnonzero(unknown):
        out.append(
            ChainProblem(
                int(i),
                "unknown_level",
                "level",
                f"网格层级“{given[i]}”不是 {'、'.join(GRID_LEVELS)} 之一",
                "请改正“网格层级”，或留空由上级自动推出",
            )
        )
    for i in np.flatnonzero(wrong):
        out.append(
            ChainProblem(
                int(i),
                "level_mismatch",
                "level",
                f"网格层级为“{given[i]}”，但其上级“{parents[i]}”之下应为“{expected[i]}”",
                "请改正“网格层级”（或留空自动推出），或改正“上级编码”",
            )
        )
    return out


def _chains(model) -> list[dict]:
    """The model's sub-grids' chain problems (`chain_problems`) as audit findings."""
    sub = model.subgrids
    codes = sub.index.to_numpy(dtype=object)
    names = sub["name"].to_numpy(dtype=object)
    problems = chain_problems(
        codes,
        sub["parent_code"].to_numpy(dtype=object),
        sub["level"].to_numpy(dtype=object),
        towns=model.towns.index,
        grids=model.grids["town_code"].astype(object),
    )
    return [
        _finding(
            "subgrids",
            "下级网格",
            codes[p.position],
            names[p.position],
            kind=p.kind,
            severity="error",
            message=p.message,
            hint=p.hint,
        )
        for p in problems
    ]


def _geometry_checks(model, *, rule: CoverageRule) -> tuple[list[dict], list[dict], tuple[list, list]]:
    """Children outside their parent, overlapping siblings, and what each parent's children leave."""
    sub = model.subgrids
    crs = model.local_crs
    geoms = np.asarray(sub.geometry.to_numpy(), dtype=object)
    codes = sub.index.to_numpy(dtype=object)
    names = sub["name"].to_numpy(dtype=object)
    levels = sub["level"].to_numpy(dtype=object)
    parent = sub["parent_code"].to_numpy(dtype=object)
    p_geom, p_layer, p_name = _parents(model)
    at = p_geom.reindex(parent)
    has = at.notna().to_numpy() & (parent != codes)
    parent_geoms = at.to_numpy(dtype=object)

    # Children outside their parent: child − parent, only where the parent does not cover the child.
    outside: list[dict] = []
    idx = np.flatnonzero(has)
    idx = idx[~shapely.covers(parent_geoms[idx], geoms[idx])]
    if len(idx):
        pieces = _polygonal(shapely.difference(geoms[idx], parent_geoms[idx]))
        area, width, _ = measure(pieces, crs)
        big = (area > rule.tolerance_m2) & (width > rule.min_width_m)
        spots = shapely.point_on_surface(pieces[big])
        layer_of = p_layer.reindex(parent[idx[big]]).to_numpy(dtype=object)
        called = _labels(model, parent[idx[big]], layer_of)
        for i, a, spot, plabel in zip(idx[big], area[big], spots, called):
            label = GRID_LEVELS.get(levels[i], "下级网格")
            outside.append(
                _finding(
                    "subgrids",
                    "下级网格",
                    codes[i],
                    names[i],
                    kind="outside_parent",
                    severity="error",
                    message=f"{label}有 {a:.1f} m² 在其上级{plabel}“{parent[i]}”之外，"
                    f"位于 {spot.x:.6f},{spot.y:.6f}",
                    hint=f"请在 GIS 软件中把该{label}的边界收进上级范围内，或改正“上级编码”",
                    area_m2=round(float(a), 2),
                    lon=spot.x,
                    lat=spot.y,
                )
            )

    # Overlapping siblings (same parent): one tree query for all, then the pairs of one parent.
    overlaps: list[dict] = []
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = (a < b) & (parent[a] == parent[b])
    a, b = a[keep], b[keep]
    if len(a):
        inter = _polygonal(shapely.intersection(geoms[a], geoms[b]))
        area, width, _ = measure(inter, crs)
        big = (area > rule.tolerance_m2) & (width > rule.min_width_m)
        spots = shapely.point_on_surface(inter[big])
        for i, j, ar, w, spot in zip(a[big], b[big], area[big], width[big], spots):
            label = GRID_LEVELS.get(levels[i], "下级网格")
            what = "狭长重叠碎片" if w < rule.sliver_width_m else "重叠"
            overlaps.append(
                _finding(
                    "subgrids",
                    "下级网格",
                    codes[i],
                    names[i],
                    kind="overlap",
                    severity="error",
                    message=f"{label} {codes[i]} 与同属“{parent[i]}”的 {codes[j]} {what} {ar:.1f} m²，"
                    f"位于 {spot.x:.6f},{spot.y:.6f}",
                    hint="重叠处的责任不清：请调整边界，使相邻两块共用同一条边",
                    other=codes[j],
                    area_m2=round(float(ar), 2),
                    lon=spot.x,
                    lat=spot.y,
                )
            )
    return outside, overlaps, _uncovered(model, has=has, rule=rule, parents=(p_geom, p_layer, p_name))


def _uncovered(model, *, has: np.ndarray, rule: CoverageRule, parents) -> tuple[list[dict], list[dict]]:
    """Per parent: the share its children cover, and each uncovered piece (a warning)."""
    p_geom, p_layer, p_name = parents
    sub = model.subgrids[has]
    if not len(sub):
        return [], []
    crs = model.local_crs
    union = sub.geometry.groupby(sub["parent_code"].to_numpy(dtype=object)).agg(
        lambda s: shapely.union_all(s.to_numpy())
    )
    pcodes = union.index.to_numpy(dtype=object)
    pgeoms = p_geom.reindex(pcodes).to_numpy(dtype=object)
    left = _polygonal(shapely.difference(pgeoms, union.to_numpy(dtype=object)))
    parent_area, _, _ = measure(pgeoms, crs)
    left_area, _, _ = measure(left, crs)
    counts = sub["parent_code"].value_counts()
    child_level = sub.groupby("parent_code")["level"].first()
    players = p_layer.reindex(pcodes).to_numpy(dtype=object)
    called = dict(zip(pcodes, _labels(model, pcodes, players)))
    coverage = []
    for k, code in enumerate(pcodes):
        share = 1.0 - left_area[k] / parent_area[k] if parent_area[k] > 0 else 0.0
        coverage.append(
            {
                "parent_code": code,
                "parent_name": p_name.get(code),
                "parent_layer": p_layer.get(code),
                "parent_label": called[code],
                "child_level": child_level.get(code),
                "child_label": GRID_LEVELS.get(str(child_level.get(code)), "下级网格"),
                "children": int(counts.get(code, 0)),
                "covered_share": round(float(max(share, 0.0)), 4),
                "uncovered_m2": round(float(left_area[k]), 1),
            }
        )
    pieces, which = shapely.get_parts(left, return_index=True)
    area, width, _ = measure(pieces, crs)
    big = (area > rule.tolerance_m2) & (width > rule.min_width_m)
    spots = shapely.point_on_surface(pieces[big])
    gaps = []
    for k, ar, w, spot in zip(which[big], area[big], width[big], spots):
        code = pcodes[k]
        level = GRID_LEVELS.get(str(child_level.get(code)), "下级网格")
        sliver = w < rule.sliver_width_m
        what = "狭长缝隙" if sliver else "未覆盖区域"
        gaps.append(
            _finding(
                str(p_layer.get(code)),
                called[code],
                code,
                p_name.get(code),
                kind="gap",
                severity="warning",
                message=f"其下的{level}之间或边缘有{what} {ar:.1f} m²，位于 {spot.x:.6f},{spot.y:.6f}；"
                f"此处的问题由“{code}”兜底",
                hint="边界没有对齐：请让相邻网格共用同一条边"
                if sliver
                else f"如需覆盖，请把该区域并入相邻{level}或新划一块；有意不划分的可不处理",
                area_m2=round(float(ar), 2),
                lon=spot.x,
                lat=spot.y,
            )
        )
    return gaps, coverage


def _shops(model, *, frontage_max_m: float) -> list[dict]:
    """Shops without a frontage, frontages of unknown shops or far from their shop."""
    out: list[dict] = []
    shops, fronts = model.shops, model.frontages
    if not len(shops) and not len(fronts):
        return out
    shop_of = fronts["shop_code"].to_numpy(dtype=object) if len(fronts) else np.zeros(0, dtype=object)
    bare = ~np.asarray(shops.index.isin(pd.Index(shop_of, dtype=object)), dtype=bool)
    shop_names = shops["name"].to_numpy(dtype=object)
    for i in np.flatnonzero(bare):
        out.append(
            _finding(
                "shops",
                "商户",
                shops.index[i],
                shop_names[i],
                kind="no_frontage",
                severity="warning",
                message="没有门前五包范围，门前路面上的查询和问题派发找不到该商户",
                hint="请在“门前五包范围”图层为该商户画出门前路段或区域（商户编号相同）",
            )
        )
    if not len(fronts):
        return out
    position = pd.Series(np.arange(len(shops)), index=shops.index)
    position = position[~position.index.duplicated()]
    at = position.reindex(shop_of).to_numpy()
    known = ~np.isnan(at)
    for i in np.flatnonzero(~known):
        out.append(
            _finding(
                "frontages",
                "门前五包范围",
                i,
                f"商户 {shop_of[i]} 的门前范围",
                kind="unknown_shop",
                severity="error",
                message=f"商户编号“{shop_of[i]}”不在“商户”图层中",
                hint="请改正商户编号，或先在“商户”图层添加该商户",
            )
        )
    f_idx = np.flatnonzero(known)
    s_idx = at[known].astype(np.int64)
    dist = shapely.distance(
        model.metric_geometries("frontages")[f_idx], model.metric_geometries("shops")[s_idx]
    )
    far = dist > frontage_max_m
    for i, j, d in zip(f_idx[far], s_idx[far], dist[far]):
        out.append(
            _finding(
                "frontages",
                "门前五包范围",
                i,
                f"商户 {shop_of[i]} 的门前范围",
                kind="frontage_far",
                severity="warning",
                message=f"离其商户“{shops.index[j]}”（{shop_names[j]}）{d:.0f} m，超过 {frontage_max_m:g} m",
                hint="请核对商户位置或门前五包范围，门前范围应紧挨商户门口",
                distance_m=round(float(d), 1),
            )
        )
    return out


def _buildings(model, *, rule: CoverageRule) -> list[dict]:
    """Buildings outside their community; household heads without (or with an unknown) building."""
    out: list[dict] = []
    buildings, comms = model.buildings, model.communities
    b_names = buildings["name"].to_numpy(dtype=object) if len(buildings) else np.zeros(0, dtype=object)
    if len(buildings) and len(comms):
        comm_geom = pd.Series(comms.geometry.to_numpy(), index=comms.index, dtype=object)
        comm_geom = comm_geom[~comm_geom.index.duplicated()]
        cc = buildings["community_code"].to_numpy(dtype=object)
        target = comm_geom.reindex(cc).to_numpy(dtype=object)
        ok = pd.notna(target)
        ok[ok] &= np.isin(shapely.get_type_id(target[ok]), (3, 6))  # point communities: nothing to check
        idx = np.flatnonzero(ok)
        geoms = np.asarray(buildings.geometry.to_numpy(), dtype=object)
        idx = idx[~shapely.covers(target[idx], geoms[idx])]
        if len(idx):
            diff = shapely.difference(geoms[idx], target[idx])
            polygon = np.isin(shapely.get_type_id(geoms[idx]), (3, 6))
            area, width, _ = measure(_polygonal(diff), model.local_crs)
            metric = gpd.GeoSeries(geoms[idx], crs="EPSG:4326").to_crs(model.local_crs).to_numpy()
            metric_c = gpd.GeoSeries(target[idx], crs="EPSG:4326").to_crs(model.local_crs).to_numpy()
            dist = shapely.distance(metric, metric_c)
            bad = np.where(
                polygon, (area > rule.tolerance_m2) & (width > rule.min_width_m), dist > rule.min_width_m
            )
            for i, a, d, poly in zip(idx[bad], area[bad], dist[bad], polygon[bad]):
                how = f"有 {a:.1f} m² 在" if poly else "离"
                tail = "之外" if poly else f" {d:.1f} m"
                out.append(
                    _finding(
                        "buildings",
                        "楼栋",
                        buildings.index[i],
                        b_names[i],
                        kind="outside_community",
                        severity="warning",
                        message=f"{how}所属小区“{cc[i]}”{tail}",
                        hint="请核对楼栋位置或其“小区编号”",
                    )
                )
    heads = model.household_heads
    if len(heads) and len(buildings) and "building_code" in heads:
        values = heads["building_code"].to_numpy(dtype=object)
        empty = np.array([v is None or (isinstance(v, float) and np.isnan(v)) or v == "" for v in values])
        unknown = ~empty & ~np.asarray(pd.Index(values, dtype=object).isin(buildings.index), dtype=bool)
        head_names = heads["name"].to_numpy(dtype=object)
        for i in np.flatnonzero(empty | unknown):
            out.append(
                _finding(
                    "household_heads",
                    "中心户长",
                    heads.index[i],
                    head_names[i],
                    kind="unknown_building" if unknown[i] else "no_building",
                    severity="error" if unknown[i] else "warning",
                    message=f"楼栋编号“{values[i]}”不在“楼栋”图层中"
                    if unknown[i]
                    else "没有绑定楼栋，楼栋内的查询找不到这位中心户长",
                    hint="请在“中心户长”表中填写其负责楼栋的“楼栋编号”",
                )
            )
    return out
