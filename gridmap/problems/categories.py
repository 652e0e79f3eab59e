"""Problem categories: code, Chinese name, group and deadline, built in or read from a file."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridmap.errors import ConfigError, Finding, InvalidInput
from gridmap.settings import SETTINGS


@dataclass(frozen=True)
class Category:
    """One kind of problem and how many working hours the responsible unit has to fix it.

    ``urgent_hours``: the deadline of an urgent case (None: GRIDMAP_URGENT_HOURS);
    ``urgency``: the class a new report of this kind starts in (normal or urgent).
    """

    code: str
    name: str
    group: str
    deadline_hours: float
    urgent_hours: float | None = None
    urgency: str = "normal"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "group": self.group,
            "deadline_hours": self.deadline_hours,
            "urgent_hours": self.urgent_hours,
            "urgency": self.urgency,
        }


# The civilized-city campaign's everyday problems (全国文明城市测评常见问题). Deadlines are working
# hours. Urgent by default: hazards to life and traffic that cannot wait for the normal queue, a
# missing manhole cover (people fall in) and muck spilt on the road (vehicles skid).
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("garbage", "垃圾暴露", "市容环境", 24),
    Category("bin_overflow", "垃圾桶满溢", "市容环境", 12),
    Category("road_dirty", "道路不洁", "市容环境", 24),
    Category("stall", "占道经营", "市容秩序", 24),
    Category("out_of_store", "店外经营", "市容秩序", 24),
    Category("car_parking", "机动车乱停", "交通秩序", 12),
    Category("bike_parking", "非机动车乱停", "交通秩序", 12),
    Category("flyposting", "小广告", "市容环境", 48),
    Category("facility_damage", "设施损坏", "公共设施", 72),
    Category("manhole", "井盖缺失", "公共设施", 4, urgent_hours=2, urgency="urgent"),
    Category("streetlight", "路灯不亮", "公共设施", 48),
    Category("toilet", "公厕脏乱", "市容环境", 24),
    Category("billboard", "违规户外广告", "市容秩序", 72),
    Category("dog", "不文明养犬", "文明行为", 48),
    Category("hoarding", "施工围挡破损", "工地管理", 48),
    Category("construction_dust", "工地扬尘", "工地管理", 24),
    Category("muck_truck", "渣土撒漏", "工地管理", 12, urgency="urgent"),
    Category("green_damage", "绿化带破坏", "园林绿化", 72),
    Category("road_damage", "道路破损", "公共设施", 72),
    Category("sewage", "污水外溢", "市容环境", 24),
    Category("laundry", "乱搭乱挂", "市容秩序", 48),
    Category("graffiti", "乱涂乱画", "市容环境", 48),
    Category("public_ads", "公益广告缺失破损", "宣传氛围", 72),
    Category("uncivil", "不文明行为", "文明行为", 24),
    Category("other", "其他", "其他", 72),
)

_HEADERS = {
    "code": ("code", "编码", "类别编码"),
    "name": ("name", "名称", "类别名称"),
    "group": ("group", "分组", "类别分组"),
    "deadline_hours": ("deadline_hours", "处置时限（小时）", "处置时限(小时)", "时限"),
    "urgent_hours": ("urgent_hours", "紧急处置时限（小时）", "紧急处置时限(小时)", "紧急时限"),
    "urgency": ("urgency", "默认紧急程度", "紧急程度"),
}
# How a category file may write the urgency class (empty: normal).
URGENCY_WORDS = {"normal": "normal", "一般": "normal", "普通": "normal", "urgent": "urgent", "紧急": "urgent"}


CATEGORY_HINT = "类别编码或名称，例如 garbage 或 垃圾暴露；可用类别见 /api/categories"


def category_finding(message: str) -> Finding:
    """Where a category error is, for API clients: the field and the list to pick from."""
    return Finding(message, field="category", hint=CATEGORY_HINT)


class Categories:
    """The list of categories in force, looked up by code or by Chinese name."""

    def __init__(self, items: tuple[Category, ...] | list[Category]) -> None:
        self.items = tuple(items)
        self._by_code = {c.code: c for c in self.items}
        self._by_name = {c.name: c for c in self.items}

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: object) -> Category:
        """The category with this code (or Chinese name); InvalidInput if there is none."""
        text = "" if key is None else str(key).strip()
        if not text:
            msg = "请选择问题类别"
            raise InvalidInput(msg, findings=[category_finding("缺少问题类别 category")])
        found = self._by_code.get(text) or self._by_name.get(text)
        if found is None:
            msg = f"问题类别“{text[:40]}”不存在，请从列表中选择"
            raise InvalidInput(msg, findings=[category_finding(f"问题类别 category“{text[:40]}”不存在")])
        return found

    def name(self, code: str) -> str:
        found = self._by_code.get(code)
        return found.name if found else code


def load_categories(path: str | Path | None = None) -> Categories:
    """The built-in categories, or those of a CSV/JSON file (which replace them)."""
    if not path:
        return Categories(DEFAULT_CATEGORIES)
    path = Path(path)
    if not path.is_file():
        msg = f"GRIDMAP_PROBLEM_CATEGORIES 指向的文件 {path} 不存在"
        raise ConfigError(msg)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"问题类别文件 {path} 不是有效的 JSON：{exc}"
            raise ConfigError(msg) from exc
        if isinstance(rows, dict):
            rows = rows.get("categories", [])
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    return Categories(_parse_rows(rows, path))


def _parse_rows(rows: list, path: Path) -> list[Category]:
    out: list[Category] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2 if path.suffix.lower() != ".json" else 1):
        if not isinstance(row, dict):
            msg = f"问题类别文件 {path} 第 {number} 项应为对象"
            raise ConfigError(msg)
        values: dict[str, Any] = {}
        for key, names in _HEADERS.items():
            values[key] = next((row[n] for n in names if n in row and row[n] not in (None, "")), None)
        missing = [k for k in ("code", "name", "deadline_hours") if values[k] is None]
        if missing:
            msg = f"问题类别文件 {path} 第 {number} 行缺少字段 {'、'.join(missing)}"
            raise ConfigError(msg)
        try:
            hours = float(values["deadline_hours"])
        except (TypeError, ValueError):
            hours = -1.0
        if not hours > 0:
            msg = f"问题类别文件 {path} 第 {number} 行 deadline_hours 应为正数，实际为 {values['deadline_hours']!r}"
            raise ConfigError(msg)
        urgent = _urgent_hours(values["urgent_hours"], hours, where=f"问题类别文件 {path} 第 {number} 行")
        word = str(values["urgency"] or "normal").strip()
        urgency = URGENCY_WORDS.get(word.lower(), URGENCY_WORDS.get(word))
        if urgency is None:
            msg = f"问题类别文件 {path} 第 {number} 行：默认紧急程度应为 一般（normal）或 紧急（urgent），实际为 {word!r}"
            raise ConfigError(msg)
        code = str(values["code"]).strip()
        if code in seen:
            msg = f"问题类别文件 {path} 第 {number} 行：编码 {code} 重复"
            raise ConfigError(msg)
        seen.add(code)
        group = str(values["group"] or "其他").strip()
        out.append(Category(code, str(values["name"]).strip(), group, hours, urgent, urgency))
    if not out:
        msg = f"问题类别文件 {path} 中没有任何类别"
        raise ConfigError(msg)
    return out


def _urgent_hours(value: object, hours: float, *, where: str) -> float | None:
    """The urgent deadline of a category file row: empty for none, else positive and not over ``hours``."""
    if value is None:
        return None
    try:
        urgent = float(str(value).strip())
    except ValueError:
        urgent = -1.0
    if not urgent > 0:
        msg = f"{where}：紧急处置时限 urgent_hours 应为正数（工作小时），或留空，实际为 {value!r}"
        raise ConfigError(msg)
    if urgent > hours:
        msg = f"{where}：紧急处置时限 {urgent:g} 小时长于处置时限 {hours:g} 小时，紧急时限应不超过处置时限"
        raise ConfigError(msg)
    return urgent


# GRIDMAP_FRONTAGE_CATEGORIES as the registry declares it (its names need not all be categories)
FRONTAGE_DEFAULT: tuple[str, ...] = next(
    s.default for s in SETTINGS if s.name == "GRIDMAP_FRONTAGE_CATEGORIES"
)


def frontage_codes(
    categories: Categories, names: tuple[str, ...] | list[str], *, default: tuple[str, ...] = FRONTAGE_DEFAULT
) -> frozenset[str]:
    """The codes of the 门前五包 categories named by GRIDMAP_FRONTAGE_CATEGORIES (codes or Chinese names).

    A name that is no category stops start-up with a ConfigError, unless the setting is its
    ``default``: a county's own category file need not have every built-in 门前五包 category.
    """
    codes: set[str] = set()
    unknown: list[str] = []
    for name in names:
        try:
            codes.add(categories.get(name).code)
        except InvalidInput:
            unknown.append(name)
    if unknown and tuple(names) != tuple(default):
        msg = (
            f"GRIDMAP_FRONTAGE_CATEGORIES 中的问题类别 {'、'.join(unknown)} 不存在；"
            f"请写现有类别的编码或名称（如 {'、'.join(c.code for c in list(categories)[:4])}），逗号分隔，"
            "或留空表示不交办商户"
        )
        raise ConfigError(msg)
    return frozenset(codes)
