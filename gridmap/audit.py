"""Audit the responsibility map: seams and overlaps between grids, unassigned items, bad references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridmap.auditlevels import audit_levels
from gridmap.coverage import CoverageRule, find_gaps_and_overlaps
from gridmap.errors import Finding
from gridmap.settings import load_settings


@dataclass
class AuditReport:
    """Findings of an audit, grouped, with counts a command centre reads first."""

    gaps: list[dict] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)
    unassigned: list[dict] = field(default_factory=list)
    references: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Grid levels, shops and buildings (`gridmap.auditlevels`): findings with a severity, and the
    # share of each town / grid / village its children cover.
    levels: list[dict] = field(default_factory=list)
    coverage: list[dict] = field(default_factory=list)

    @property
    def level_errors(self) -> list[dict]:
        return [f for f in self.levels if f["severity"] == "error"]

    @property
    def error_count(self) -> int:
        return (
            len(self.gaps)
            + len(self.overlaps)
            + len(self.unassigned)
            + len(self.references)
            + len(self.level_errors)
        )

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
                "level_errors": len(self.level_errors),
                "level_warnings": len(self.levels) - len(self.level_errors),
            },
            "gaps": self.gaps,
            "overlaps": self.overlaps,
            "unassigned": self.unassigned,
            "references": [f.as_dict() for f in self.references],
            "warnings": self.warnings,
            "levels": self.levels,
            "coverage": self.coverage,
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
        if self.levels or self.coverage:
            errors = len(self.level_errors)
            lines.append(f"分级网格、商户与楼栋：错误 {errors} 处，提示 {len(self.levels) - errors} 条")
            for f in sorted(self.levels, key=lambda f: f["severity"] != "error"):
                head = "错误" if f["severity"] == "error" else "提示"
                name = f"（{f['name']}）" if f.get("name") else ""
                lines.append(
                    f"  {head}：图层 {f['layer_label']}（{f['layer']}），编码/要素 {f['code']}{name}："
                    f"{f['message']}。处理：{f['hint']}"
                )
            for c in self.coverage:
                lines.append(
                    f"  覆盖：{c['parent_label']} {c['parent_code']}（{c['parent_name']}）的"
                    f" {c['children']} 个{c['child_label']}覆盖 {c['covered_share'] * 100:.1f}%，"
                    f"未覆盖 {c['uncovered_m2']:.0f} m²（落到该{c['parent_label']}兜底）"
                )
        return "\n".join(lines)


def _item_names(frame: pd.DataFrame):
    """The display name of row ``i``: its ``name``, else its ``road_name`` (segments)."""
    none = np.full(len(frame), None, dtype=object)
    name = frame["name"].to_numpy(dtype=object) if "name" in frame.columns else none
    road = frame["road_name"].to_numpy(dtype=object) if "road_name" in frame.columns else none
    return lambda i: name[i] or road[i]


def audit_model(
    model, *, tolerance_m2: float | None = None, settings: Mapping[str, Any] | None = None
) -> AuditReport:
    """Check the joined model for seams, overlaps, unassigned items and broken references.

    Gaps and overlaps follow `gridmap.coverage` with the thresholds of ``settings`` (default:
    `load_settings()`); ``tolerance_m2`` overrides GRIDMAP_COVERAGE_TOLERANCE_M2.
    """
    report = AuditReport()
    if settings is None:
        settings = load_settings()
    rule = CoverageRule.from_settings(settings, tolerance_m2=tolerance_m2)
    codes = model.grids.index.to_numpy(dtype=object)
    gaps, overlaps = find_gaps_and_overlaps(
        np.asarray(model.grids.geometry.values), rule=rule, crs=model.local_crs
    )
    for o in overlaps:
        report.overlaps.append(
            {
                "grids": [codes[o.first], codes[o.second]],
                "area_m2": round(o.area_m2, 2),
                "lon": o.lon,
                "lat": o.lat,
            }
        )
    for g in gaps:
        report.gaps.append(
            {
                "area_m2": round(g.area_m2, 2),
                "lon": g.lon,
                "lat": g.lat,
                "grids": sorted(codes[list(g.neighbours)].tolist()),
            }
        )

    # Items with no grid or no unit: masks over whole columns, records only for the rows flagged.
    for name, label in (("segments", "路段"), ("points", "考察点位"), ("communities", "小区")):
        frame = model.layer(name)
        no_grid = frame["grid_code"].isna().to_numpy()
        names = _item_names(frame)
        codes_of = frame.index.to_numpy(dtype=object)
        for i in np.flatnonzero(no_grid):
            report.unassigned.append(
                {
                    "layer": name,
                    "layer_label": label,
                    "code": codes_of[i],
                    "name": names(i),
                    "problem": "不在任何网格内",
                    "kind": "outside_grid",
                }
            )
        if name != "communities":
            no_unit = frame["unit_name"].isna().to_numpy()
            for i in np.flatnonzero(no_unit & ~no_grid):
                report.unassigned.append(
                    {
                        "layer": name,
                        "layer_label": label,
                        "code": codes_of[i],
                        "name": names(i),
                        "problem": "没有有效的责任单位",
                        "kind": "no_unit",
                    }
                )
    grids = model.grids
    grid_names = grids["name"].to_numpy(dtype=object)
    no_leader = np.array([not v for v in grids["leader_codes"].tolist()], dtype=bool)
    no_head = np.array([not v for v in grids["grid_head"].tolist()], dtype=bool)
    no_head = no_head | grids["lead_department"].isna().to_numpy()
    for i in np.flatnonzero(no_leader | no_head):
        if no_leader[i]:
            report.unassigned.append(
                {
                    "layer": "grids",
                    "layer_label": "网格",
                    "code": codes[i],
                    "name": grid_names[i],
                    "problem": "没有包片县级领导",
                    "kind": "no_leader",
                }
            )
        if no_head[i]:
            report.unassigned.append(
                {
                    "layer": "grids",
                    "layer_label": "网格",
                    "code": codes[i],
                    "name": grid_names[i],
                    "problem": "缺少网格长或牵头部门",
                    "kind": "no_head",
                }
            )
    levels = audit_levels(
        model,
        rule=rule,
        frontage_max_m=float(settings["GRIDMAP_AUDIT_FRONTAGE_MAX_M"]),
    )
    report.levels, report.coverage = levels.findings, levels.coverage
    idle = model.units[model.units["segment_count"] == 0]
    leads = set(grids["lead_unit_code"])
    for code, unit_name in zip(idle.index, idle["name"]):
        if code not in leads:
            report.warnings.append(f"单位 {code}（{unit_name}）没有包抓任何路段")
    return report
