"""The county's scoring scheme (a TOML file): composites, count bands, grades, minimum sample, ranking."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gridmap.errors import ConfigError
from gridmap.evaluation.indicators import COUNTS, INDICATORS

__all__ = ["DEFAULT_FILE", "GROUPINGS", "Scheme", "grade", "load_scheme", "rank", "score"]

DEFAULT_FILE = Path(__file__).with_name("scoring.toml")
GROUPINGS: dict[str, str] = {
    "town": "镇（街道）",
    "grid": "网格",
    "unit": "责任单位",
    "department": "牵头部门",
    "category": "问题类别",
    "inspector": "巡查员",
}
_RATES = {i.key: i for i in INDICATORS}
_COUNT_KEYS = {c.key for c in COUNTS}
_TOP = ("min_sample", "exclude_parked", "grey_flag", "filing_hours", "dispatch_hours", "check_hours")
_SECTIONS = ("composites", "use", "count_score", "grades")


@dataclass(frozen=True)
class Scheme:
    """A scoring scheme: how groups are scored, graded, ranked and flagged."""

    min_sample: int
    exclude_parked: bool
    grey_flag: bool
    filing_hours: float
    dispatch_hours: float
    check_hours: float
    composites: dict[str, dict[str, float]]  # name -> {indicator key or "count": weight}
    use: dict[str, str]  # grouping -> composite name
    count_of: str  # the count that the count score bands
    count_bands: tuple[tuple[int, float], ...]  # (at least, score), highest first
    grades: tuple[tuple[str, float], ...]  # (grade, at least), highest first
    source: str  # the file it came from

    def composite(self, grouping: str) -> dict[str, float]:
        """The weights that score groups of this grouping."""
        return self.composites[self.use[grouping]]


class _Reader:
    """Reads values from the parsed file, naming the file and key in every complaint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(
            f"评分方案文件 {self.path} 中 {key} {problem}；请改正后重试（格式见 README“考核指标与流动红旗”）"
        )

    def number(self, value: Any, key: str, *, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"应为数字，实际为“{str(value)[:40]}”")
        if value < minimum:
            raise self.fail(key, f"应不小于 {minimum:g}，实际为 {value:g}")
        return float(value)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "应为一个表（[节] 或 {键 = 值}）")
        return value

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"应为 true 或 false，实际为“{str(value)[:40]}”")
        return value


def _composites(r: _Reader, data: dict[str, Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, weights in r.table(data, "composites").items():
        where = f"composites.{name}"
        table = r.table(weights, where)
        if not table:
            raise r.fail(where, "没有任何指标权重")
        for key, weight in table.items():
            if key != "count" and key not in _RATES:
                raise r.fail(f"{where}.{key}", f"不是指标；可用：count、{'、'.join(_RATES)}")
            r.number(weight, f"{where}.{key}")
        if sum(float(w) for w in table.values()) <= 0:
            raise r.fail(where, "的权重之和应大于 0")
        out[str(name)] = {str(k): float(v) for k, v in table.items()}
    return out


def _use(r: _Reader, data: dict[str, Any], composites: dict[str, dict[str, float]]) -> dict[str, str]:
    use = r.table(data, "use")
    for grouping in GROUPINGS:
        if grouping not in use:
            raise r.fail(f"use.{grouping}", "缺失：每种分组都要指定用哪套综合评分")
        if use[grouping] not in composites:
            raise r.fail(f"use.{grouping}", f"指定的综合评分“{str(use[grouping])[:40]}”不存在于 [composites]")
    unknown = sorted(set(use) - set(GROUPINGS))
    if unknown:
        raise r.fail(f"use.{unknown[0]}", f"不是分组；可用：{'、'.join(GROUPINGS)}")
    return {g: str(use[g]) for g in GROUPINGS}


def _bands(r: _Reader, data: dict[str, Any]) -> tuple[str, tuple[tuple[int, float], ...]]:
    section = r.table(data, "count_score")
    of = section.get("of", "filed")
    if of not in _COUNT_KEYS:
        raise r.fail("count_score.of", f"不是计数；可用：{'、'.join(sorted(_COUNT_KEYS))}")
    raw = section.get("bands")
    if not isinstance(raw, list) or not raw:
        raise r.fail("count_score.bands", "应为 [[不少于, 得分], …] 的列表")
    bands = []
    for n, band in enumerate(raw, 1):
        key = f"count_score.bands 第 {n} 档"
        if not isinstance(band, list) or len(band) != 2:
            raise r.fail(key, "应为 [不少于, 得分] 两个数")
        bands.append((int(r.number(band[0], key)), r.number(band[1], key)))
    bands.sort(key=lambda b: -b[0])
    return str(of), tuple(bands)


def _grades(r: _Reader, data: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    table = r.table(data, "grades")
    if not table:
        raise r.fail("grades", "没有任何等级")
    grades = sorted(((str(g), r.number(v, f"grades.{g}")) for g, v in table.items()), key=lambda g: -g[1])
    if grades[-1][1] > 0:
        raise r.fail("grades", "最低一档应从 0 分起（如 E = 0），否则低分没有等级")
    return tuple(grades)


def load_scheme(path: str | Path | None = None) -> Scheme:
    """The scheme in a TOML file (empty or None: the shipped default); ConfigError naming file and key."""
    file = Path(path) if path else DEFAULT_FILE
    r = _Reader(file)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"评分方案文件 {file} 不存在；请检查 GRIDMAP_SCORING_FILE"
        raise ConfigError(msg) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"评分方案文件 {file} 不是有效的 UTF-8 TOML：{exc}；请改正后重试"
        raise ConfigError(msg) from None
    unknown = sorted(set(data) - set(_TOP) - set(_SECTIONS))
    if unknown:
        raise r.fail(unknown[0], f"不是评分方案的设置；可用：{'、'.join((*_TOP, *_SECTIONS))}")
    for key in (*_TOP, *_SECTIONS):
        if key not in data:
            raise r.fail(key, "缺失")
    composites = _composites(r, data["composites"])
    count_of, bands = _bands(r, data["count_score"])
    minimum = r.number(data["min_sample"], "min_sample")
    if minimum != int(minimum):
        raise r.fail("min_sample", "应为整数")
    return Scheme(
        min_sample=int(minimum),
        exclude_parked=r.flag(data["exclude_parked"], "exclude_parked"),
        grey_flag=r.flag(data["grey_flag"], "grey_flag"),
        filing_hours=r.number(data["filing_hours"], "filing_hours"),
        dispatch_hours=r.number(data["dispatch_hours"], "dispatch_hours"),
        check_hours=r.number(data["check_hours"], "check_hours"),
        composites=composites,
        use=_use(r, data["use"], composites),
        count_of=count_of,
        count_bands=bands,
        grades=_grades(r, data["grades"]),
        source=str(file),
    )


def count_score(count: float, scheme: Scheme) -> float:
    """A count as 0–100 by the scheme's bands (the first band it reaches, highest first)."""
    for least, points in scheme.count_bands:
        if count >= least:
            return points
    return 0.0


def grade(points: float | None, scheme: Scheme) -> str | None:
    """The grade of a score (A ≥ 90 … by default); None for no score."""
    if points is None or pd.isna(points):
        return None
    for name, least in scheme.grades:
        if points >= least:
            return name
    return scheme.grades[-1][0]


def score(table: pd.DataFrame, grouping: str, scheme: Scheme) -> pd.Series:
    """Each group's composite score (0–100, 2 decimals): the weighted mean of its components that
    have a value (rates under the minimum sample have none); NaN for a group with fewer reports
    than the minimum sample, which is shown but not ranked."""
    total = pd.Series(0.0, index=table.index)
    weight = pd.Series(0.0, index=table.index)
    for key, w in scheme.composite(grouping).items():
        if key == "count":
            value = table[scheme.count_of].map(lambda n: count_score(n, scheme))
        else:
            rate = table[key].astype(float)
            value = 100 * (rate if _RATES[key].higher_is_better else 1 - rate)
        have = value.notna()
        total += value.where(have, 0.0) * w
        weight += have * w
    out = (total / weight.where(weight > 0)).round(2)
    return out.where(table["reports"] >= max(scheme.min_sample, 1))


def rank(table: pd.DataFrame) -> pd.Series:
    """Ranks 1… of the scored groups (NaN for the others). Ties: the higher on-time closure rate,
    then fewer overdue cases, then the code."""
    scored = table[table["score"].notna()]
    order = pd.DataFrame(
        {
            "score": -scored["score"],
            "on_time": -scored["on_time_closure_rate"].astype(float).fillna(-1.0),
            "overdue": scored["overdue_pending"],
            "code": scored["code"].astype(str),
        }
    ).sort_values(["score", "on_time", "overdue", "code"], kind="mergesort")
    return pd.Series(range(1, len(order) + 1), index=order.index, dtype="float").reindex(table.index)
