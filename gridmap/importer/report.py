"""What an import read, decided, found and did: the report, in Chinese text or as JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from gridmap.errors import Finding
from gridmap.io.columns import header_list, kind_label
from gridmap.io.encoding import codec_label
from gridmap.io.source import FORMAT_LABELS

__all__ = ["MODES", "ImportReport", "Progress"]

REPORT_LIMIT = 200  # findings of one severity shown in the text report
MODES = {"replace": "替换（导入后该类数据只剩本文件的内容）", "merge": "合并（编码相同的替换，其余保留）"}

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
    # Lon/lat bounds (minx, miny, maxx, maxy) of the data, else of the county: where previews look.
    extent: tuple[float, float, float, float] | None = None

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
        return codec_label(self.encoding) if self.encoding else ""

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
            f"，作为“{self.kind_label}”（{self.kind}）导入，方式：{MODES.get(self.mode, self.mode)}",
        ]
        if self.encoding:
            lines.append(f"编码：{codec_label(self.encoding)}（{self.encoding_reason}）")
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
            lines += [f"  {f}" for f in items[:REPORT_LIMIT]]
            if len(items) > REPORT_LIMIT:
                lines.append(f"  ……另有 {len(items) - REPORT_LIMIT} 条（完整列表请用 --json 输出）")
        if self.errors:
            lines.append(
                f"结果：有 {len(self.errors)} 处错误，未导入，数据库保持原样。请按上面的提示改正后重新导入。"
            )
        elif self.dry_run:
            lines.append("结果：检查通过（试运行 --dry-run），未写入数据库。")
        elif self.committed:
            lines.append(
                f"结果：已导入 {self.counts.get('imported', 0)} 条{self.kind_label}数据（数据版本 {self.version}）。"
            )
        return "\n".join(lines)
