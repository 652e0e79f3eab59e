"""Audit the responsibility map: seams and overlaps between grids, unassigned items, bad references."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.errors import Finding

DEFAULT_TOLERANCE_M2 = 1.0  # slivers smaller than this are numerical noise, not seams
# Pieces thinner than this on average (2 * area / perimeter) are artefacts of projecting
# edges with unshared vertices (T-junctions), not real seams or overlaps.
MIN_WIDTH_M = 0.05


def _significant(pieces: np.ndarray, tolerance_m2: float) -> np.ndarray:
    area = shapely.area(pieces)
    perimeter = shapely.length(pieces)
    width = np.divide(2 * area, perimeter, out=np.zeros_like(area), where=perimeter > 0)
    return (area > tolerance_m2) & (width > MIN_WIDTH_M)


@dataclass
class AuditReport:
    """Findings of an audit, grouped, with counts a command centre reads first."""

    gaps: list[dict] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)
    unassigned: list[dict] = field(default_factory=list)
    references: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return len(self.gaps) + len(self.overlaps) + len(self.unassigned) + len(self.references)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "counts": {
                "gaps": len(self.gaps),
                "overlaps": len(self.overlaps),
                "unassigned": len(self.unassigned),
                "references": len(self.references),
                "warnings": len(self.warnings),
            },
            "gaps": self.gaps,
            "overlaps": self.overlaps,
            "unassigned": self.unassigned,
            "references": [f.as_dict() for f in self.references],
            "warnings": self.warnings,
        }

    def to_text(self) -> str:
        lines = [
            f"缝隙 {len(self.gaps)} 处，重叠 {len(self.overlaps)} 处，"
            f"未落实责任 {len(self.unassigned)} 处，错误引用 {len(self.references)} 处，"
            f"提示 {len(self.warnings)} 条"
        ]
        for g in self.gaps:
            lines.append(
                f"  缝隙：面积 {g['area_m2']:.1f} m²，位于 {g['lon']:.6f},{g['lat']:.6f}，"
                f"相邻网格 {'、'.join(g['grids']) or '无'}"
            )
        for o in self.overlaps:
            lines.append(
                f"  重叠：网格 {o['grids'][0]} 与 {o['grids'][1]} 重叠 {o['area_m2']:.1f} m²，"
                f"位于 {o['lon']:.6f},{o['lat']:.6f}"
            )
        for u in self.unassigned:
            lines.append(f"  未落实：{u['layer_label']} {u['code']}（{u['name']}）{u['problem']}")
        lines += [f"  {f}" for f in self.references]
        lines += [f"  提示：{w}" for w in self.warnings]
        return "\n".join(lines)


def _lonlat(geoms: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(shapely.point_on_surface(geoms), crs=crs).to_crs("EPSG:4326")
    return pts.x.to_numpy(), pts.y.to_numpy()


def audit_model(model, *, tolerance_m2: float = DEFAULT_TOLERANCE_M2) -> AuditReport:
    """Check the joined model for seams, overlaps, unassigned items and broken references."""
    report = AuditReport()
    crs = model.local_crs
    grids = np.asarray(model.grids.geometry.to_crs(crs).values)
    codes = model.grids.index.to_numpy(dtype=object)
    tree = shapely.STRtree(grids)

    # Overlaps: every pair of grids whose shared area exceeds the tolerance.
    a, b = tree.query(grids, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a):
        inter = shapely.intersection(grids[a], grids[b])
        area = shapely.area(inter)
        big = _significant(inter, tolerance_m2)
        lon, lat = _lonlat(inter[big], crs) if big.any() else ([], [])
        for i, j, ar, x, y in zip(a[big], b[big], area[big], lon, lat):
            report.overlaps.append(
                {"grids": [codes[i], codes[j]], "area_m2": round(float(ar), 2),
                 "lon": float(x), "lat": float(y)}
            )

    # Gaps: holes inside the union of all grids (seams between neighbours).
    if len(grids):
        union = shapely.union_all(grids)
        polys = shapely.get_parts(union)
        holes = []
        for poly in polys:
            holes += [shapely.Polygon(r) for r in poly.interiors]
        holes = np.array(holes, dtype=object)
        if len(holes):
            holes = holes[_significant(holes, tolerance_m2)]
            if len(holes):
                lon, lat = _lonlat(holes, crs)
                hq, ht = tree.query(shapely.buffer(holes, 0.5), predicate="intersects")
                for k, hole in enumerate(holes):
                    report.gaps.append(
                        {"area_m2": round(float(hole.area), 2), "lon": float(lon[k]),
                         "lat": float(lat[k]), "grids": sorted(codes[ht[hq == k]].tolist())}
                    )

    # Items with no grid or no unit.
    for name, label in (("segments", "路段"), ("points", "考察点位"), ("communities", "小区")):
        frame = model.layer(name)
        no_grid = frame["grid_code"].isna()
        for code, row in frame[no_grid].iterrows():
            report.unassigned.append(
                {"layer": name, "layer_label": label, "code": code,
                 "name": row.get("name") or row.get("road_name"),
                 "problem": "不在任何网格内", "kind": "outside_grid"}
            )
        if name != "communities":
            no_unit = frame["unit_name"].isna()
            for code, row in frame[no_unit & ~no_grid].iterrows():
                report.unassigned.append(
                    {"layer": name, "layer_label": label, "code": code,
                     "name": row.get("name") or row.get("road_name"),
                     "problem": "没有有效的责任单位", "kind": "no_unit"}
                )
    for code, row in model.grids.iterrows():
        if not row["leader_codes"]:
            report.unassigned.append(
                {"layer": "grids", "layer_label": "网格", "code": code, "name": row["name"],
                 "problem": "没有包片县级领导", "kind": "no_leader"}
            )
        if not row["grid_head"] or pd.isna(row["lead_department"]):
            report.unassigned.append(
                {"layer": "grids", "layer_label": "网格", "code": code, "name": row["name"],
                 "problem": "缺少网格长或牵头部门", "kind": "no_head"}
            )
    idle = model.units[model.units["segment_count"] == 0]
    for code, row in idle.iterrows():
        if code not in set(model.grids["lead_unit_code"]):
            report.warnings.append(f"单位 {code}（{row['name']}）没有包抓任何路段")
    return report
