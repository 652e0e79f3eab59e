"""The report of a history import: what was read, refused and stored, in Chinese text or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridmap.errors import Finding
from gridmap.io.columns import header_list
from gridmap.io.encoding import codec_label

__all__ = ["HistoryReport"]


@dataclass
class HistoryReport:
    """What an import of past cases read, found and did; printed in Chinese, or as JSON."""

    file: str
    format: str = ""
    sheet: str | None = None
    encoding: str | None = None
    encoding_reason: str = ""
    columns: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skip_bad: bool = False
    dry_run: bool = False
    committed: bool = False
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        """Nothing refused, or the good rows imported under --skip-bad."""
        return not self.errors or (self.skip_bad and (self.committed or self.dry_run))

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "committed": self.committed,
            "dry_run": self.dry_run,
            "skip_bad": self.skip_bad,
            "file": self.file,
            "format": self.format,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "encoding_reason": self.encoding_reason,
            "columns": self.columns,
            "unused_columns": self.unused_columns,
            "counts": self.counts,
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.findings if f.severity != "error"],
            "seconds": round(self.seconds, 3),
        }

    def to_text(self, *, limit: int = 200) -> str:
        sheet = f"，工作表 {self.sheet}" if self.sheet else ""
        lines = [f"历史案件导入报告：{self.file}（{self.format.upper()}{sheet}）"]
        if self.format == "csv" and self.encoding:
            lines.append(f"编码：{codec_label(self.encoding)}（{self.encoding_reason}）")
        lines.append("字段对应：" + "；".join(self.columns))
        if self.unused_columns:
            lines.append("未使用的列：" + header_list(self.unused_columns))
        c = self.counts
        lines.append(
            f"数量：读入 {c.get('read', 0)} 行，有错 {c.get('bad', 0)} 行，可导入 {c.get('good', 0)} 行"
            f"（其中按地址定位 {c.get('by_address', 0)} 行）"
        )
        for f in self.findings[:limit]:
            lines.append(f"  {f}")
        if len(self.findings) > limit:
            lines.append(f"  ……另有 {len(self.findings) - limit} 条（完整列表请用 --json 输出）")
        if self.committed:
            rest = f"；有错的 {c.get('bad', 0)} 行未导入，见上" if c.get("bad") else ""
            lines.append(f"结果：已导入 {c.get('imported', 0)} 件历史案件{rest}。")
        elif self.dry_run and self.ok:
            lines.append("结果：检查完毕（试运行 --dry-run），未写入数据库。")
        elif self.errors:
            lines.append(
                f"结果：有 {c.get('bad', 0)} 行有错，未导入任何案件，数据库保持原样。请按提示改正后重新导入，"
                "或加 --skip-bad 只导入没有错的行。"
            )
        else:
            lines.append("结果：文件中没有案件，未导入。")
        return "\n".join(lines)
