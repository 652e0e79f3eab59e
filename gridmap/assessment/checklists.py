"""Field-assessment checklists: per inspection-point category, criteria with weights and the problem a fail becomes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from gridmap.errors import DataError, Finding, GridmapError
from gridmap.io.encoding import decode_text
from gridmap.problems.categories import URGENCY_WORDS, Categories

DEFAULT_FILE = Path(__file__).with_name("checklists.csv")
MAX_WEIGHT = 100.0

# field -> the headers a file may use for it (English or Chinese)
HEADERS: dict[str, tuple[str, ...]] = {
    "point_category": ("point_category", "点位类别"),
    "text": ("criterion", "测评标准"),
    "weight": ("weight", "权重"),
    "problem_category": ("problem_category", "问题类别"),
    "urgency": ("urgency", "紧急程度"),
}
REQUIRED = ("point_category", "text", "weight", "problem_category")
LABELS = {
    "point_category": "点位类别",
    "text": "测评标准",
    "weight": "权重",
    "problem_category": "问题类别",
    "urgency": "紧急程度",
}


@dataclass(frozen=True)
class Criterion:
    """One line of a checklist: what is checked, its weight, and the problem a fail files."""

    key: str  # "<point category>-<n>", n counted from 1 within the category, in file order
    point_category: str
    text: str
    weight: float
    problem_category: str  # a problem category code
    urgency: str  # normal / urgent: with the category, it decides the problem's deadline

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "point_category": self.point_category,
            "text": self.text,
            "weight": self.weight,
            "problem_category": self.problem_category,
            "urgency": self.urgency,
        }


@dataclass(frozen=True)
class Checklists:
    """Every point category's criteria, in file order; ``source`` is the file read."""

    by_category: dict[str, tuple[Criterion, ...]]
    source: str

    def for_category(self, category: str) -> tuple[Criterion, ...]:
        """The criteria of a point category; NotFound-like InvalidInput when the file has none."""
        found = self.by_category.get(category)
        if not found:
            msg = (
                f"测评清单中没有点位类别“{category}”的测评标准；请在清单文件 {self.source} 中为它加上几条，"
                "或联系县创建办"
            )
            raise DataError(msg)
        return found


def _where(path: str, line: int, field: str | None = None) -> str:
    text = f"测评清单文件 {path} 第 {line} 行"
    return f"{text}“{LABELS.get(field, field)}”" if field else text


def _bad(path: str, line: int, field: str | None, problem: str) -> DataError:
    msg = f"{_where(path, line, field)}{problem}"
    return DataError(msg, findings=[Finding(msg, field=field)])


def _columns(header: list[str], path: str) -> dict[str, int]:
    found: dict[str, int] = {}
    names = [h.strip().lstrip("\ufeff") for h in header]
    for key, options in HEADERS.items():
        for i, name in enumerate(names):
            if name in options:
                found[key] = i
                break
    missing = [LABELS[k] for k in REQUIRED if k not in found]
    if missing:
        expected = "、".join(HEADERS[k][1] for k in HEADERS)
        msg = (
            f"测评清单文件 {path} 第 1 行（表头）缺少列：{'、'.join(missing)}；"
            f"表头应为 {expected}（紧急程度可省略），也可用英文 {'、'.join(HEADERS[k][0] for k in HEADERS)}"
        )
        raise DataError(msg)
    return found


def _weight(text: str, path: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(path, line, "weight", f"应为正数（如 2），实际为“{text[:20]}”") from None
    if not 0 < value <= MAX_WEIGHT:
        raise _bad(path, line, "weight", f"应大于 0 且不超过 {MAX_WEIGHT:g}，实际为“{text[:20]}”")
    return value


def parse_checklists(text: str, *, path: str, categories: Categories) -> Checklists:
    """Read checklist CSV text; a bad line is a DataError naming the file, the line and the field."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        msg = f"测评清单文件 {path} 是空的；第 1 行应为表头 点位类别,测评标准,权重,问题类别,紧急程度"
        raise DataError(msg)
    cols = _columns(rows[0], path)
    out: dict[str, list[Criterion]] = {}
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            i = cols.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""

        for key in REQUIRED:
            if not cell(key):
                raise _bad(path, line, key, "为空；每行都要写明点位类别、测评标准、权重和问题类别")
        point_category, criterion = cell("point_category"), cell("text")
        if (point_category, criterion) in seen:
            raise _bad(path, line, "text", f"“{criterion[:40]}”在点位类别“{point_category}”下重复")
        seen.add((point_category, criterion))
        try:
            problem = categories.get(cell("problem_category")).code
        except GridmapError:
            known = "、".join(f"{c.code}（{c.name}）" for c in categories)
            raise _bad(
                path,
                line,
                "problem_category",
                f"“{cell('problem_category')[:40]}”不是问题类别；可用：{known}",
            ) from None
        urgency_text = cell("urgency")
        urgency = (
            URGENCY_WORDS.get(urgency_text.lower(), URGENCY_WORDS.get(urgency_text)) if urgency_text else None
        )
        if urgency_text and urgency is None:
            raise _bad(
                path, line, "urgency", f"应为 一般/紧急（normal/urgent）或留空，实际为“{urgency_text[:20]}”"
            )
        items = out.setdefault(point_category, [])
        items.append(
            Criterion(
                key=f"{point_category}-{len(items) + 1}",
                point_category=point_category,
                text=criterion,
                weight=_weight(cell("weight"), path, line),
                problem_category=problem,
                urgency=urgency or categories.get(problem).urgency,
            )
        )
    if not out:
        msg = f"测评清单文件 {path} 只有表头，没有测评标准；每行写一条：点位类别,测评标准,权重,问题类别,紧急程度"
        raise DataError(msg)
    return Checklists({k: tuple(v) for k, v in out.items()}, source=path)


def load_checklists(path: str | Path | None, *, categories: Categories) -> Checklists:
    """The checklist file in force: ``path`` (GRIDMAP_CHECKLIST_FILE) or the default shipped one."""
    where = Path(path) if path else DEFAULT_FILE
    try:
        raw = where.read_bytes()
    except OSError as exc:
        msg = f"读不到测评清单文件 {where}（{exc.strerror or exc}）；请检查 GRIDMAP_CHECKLIST_FILE 的路径"
        raise DataError(msg) from None
    text = decode_text(raw, name=str(where), hint="请把测评清单文件另存为 UTF-8 编码的 CSV").text
    return parse_checklists(text, path=str(where), categories=categories)
