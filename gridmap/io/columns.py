"""Map a file's headers to the model's columns: Chinese/English synonyms and a mapping file."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridmap.errors import Finding, InvalidInput
from gridmap.io.encoding import decode_text
from gridmap.model import LAYER_BY_NAME, TABLE_BY_NAME, Column

__all__ = [
    "KINDS",
    "ColumnMapping",
    "blank_cells",
    "columns_of",
    "header_list",
    "kind_label",
    "map_columns",
    "missing_findings",
    "normalize_header",
    "read_mapping_file",
    "score_header",
]

# Every kind that `gridmap import --as` accepts: the reference layers and the tables.
KINDS: tuple[str, ...] = (*LAYER_BY_NAME, *TABLE_BY_NAME)

_PHONE = (
    "联系电话",
    "电话",
    "手机",
    "手机号",
    "手机号码",
    "联系方式",
    "电话号码",
    "phone",
    "tel",
    "telephone",
    "mobile",
)
_CODE = ("编码", "代码", "编号", "code")
_NAME = ("名称", "名字", "name")

# Synonyms beyond Column.names(), most specific first, per kind and column. Matching ignores
# case, spaces, "_", "-", brackets and full/half width.
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "towns": {
        "code": ("镇编码", "乡镇代码", "乡镇编码", "街道代码", "行政区划代码", "区划代码", "adcode", *_CODE),
        "name": ("镇名", "乡镇名称", "乡镇", "街道名称", "镇街", "镇", "街道", *_NAME),
    },
    "grids": {
        "code": ("网格编号", "网格代码", "网格号", *_CODE),
        "name": ("网格名", "网格", *_NAME),
        "town_code": (
            "镇代码",
            "所属镇编码",
            "所属乡镇代码",
            "乡镇代码",
            "所属镇",
            "所属乡镇",
            "所属街道",
            "乡镇",
            "镇",
            "town",
        ),
    },
    "segments": {
        "code": ("路段编码", "路段代码", "路段号", *_CODE),
        "road_name": ("路名", "道路", "道路名", "街道名称", "街路巷名称", "路段名称", "路段", *_NAME, "road"),
        "from_name": ("起点名称", "起", "from"),
        "to_name": ("止点", "终点名称", "止", "to"),
        "unit_code": (
            "包段单位代码",
            "包抓单位代码",
            "单位代码",
            "责任单位",
            "包段单位",
            "包抓单位",
            "单位",
            "unit",
        ),
    },
    "points": {
        "code": ("点位编码", "点位代码", "点位号", *_CODE),
        "name": ("点位", "考察点位", *_NAME),
        "category": ("类别", "点位类型", "类型", "分类", "category", "type"),
        "address": ("详细地址", "位置", "address"),
        "unit_code": ("单位代码", "责任单位", "包抓单位", "单位", "unit"),
    },
    "communities": {
        "code": ("小区编码", "小区代码", *_CODE),
        "name": ("小区", "小区名", *_NAME),
        "property_company": ("物业", "物业服务企业", "物业单位", "物业公司名称"),
        "households": ("住户数", "总户数", "户", "households"),
        "unit_code": ("包抓单位", "责任单位代码", "责任单位", "单位代码", "单位", "unit"),
    },
    "rivers": {"name": ("河流", "河名", "河道名称", "水系名称", *_NAME)},
    "leaders": {
        "code": ("领导编号", "领导编码", "领导代码", *_CODE),
        "name": ("领导姓名", "县级领导", "包片领导", "名字", "name"),
        "title": ("职位", "现任职务", "title"),
        "phone": _PHONE,
    },
    "units": {
        "code": ("单位编码", "单位编号", *_CODE),
        "name": ("单位", "责任单位", "部门", "部门名称", *_NAME),
        "kind": ("类型", "单位性质", "性质", "kind"),
        "contact": ("负责人", "责任人", "联系人姓名", "contact"),
        "phone": _PHONE,
    },
    "grid_roles": {
        "grid_code": ("网格编号", "网格代码", "网格", "网格名称"),
        "grid_head": ("网格长姓名", "网格负责人", "负责人", "责任人"),
        "grid_head_phone": ("网格长联系电话", "网格长手机", "网格长手机号", "联系电话", "电话", "手机"),
        "lead_unit_code": ("牵头单位代码", "牵头部门", "牵头单位", "县级牵头部门"),
    },
    "grid_leaders": {
        "grid_code": ("网格编号", "网格代码", "网格", "网格名称"),
        "leader_code": ("领导编码", "包片领导", "县级领导", "包片县级领导", "领导"),
    },
    "town_leaders": {
        "town_code": ("镇编码", "乡镇代码", "镇", "乡镇", "镇名称", "街道"),
        "leader_code": ("领导编码", "联系领导", "联系镇领导", "县级领导", "领导"),
    },
    "household_heads": {
        "code": ("户长编号", *_CODE),
        "name": ("户长姓名", "中心户长", "志愿者", "名字", "name"),
        "phone": _PHONE,
        "community_code": ("小区编码", "小区", "小区名称"),
        "building": ("楼号", "楼栋号", "单元", "building"),
        "building_code": ("楼栋编码", "楼栋代码"),
    },
    "inspectors": {
        "code": ("巡查员编号", *_CODE),
        "name": ("巡查员", "巡查员姓名", "名字", "name"),
        "phone": _PHONE,
        "grid_codes": ("负责网格编码", "网格", "网格编码", "巡查网格"),
    },
    # Grid levels, shops and buildings (issue 15).
    "subgrids": {
        "code": ("网格编号", "网格代码", "网格号", *_CODE),
        "name": ("网格名", "网格", *_NAME),
        "parent_code": ("上级网格", "上级编号", "上级", "所属网格", "所属村", "parent"),
        "level": ("层级", "级别", "网格级别", "level"),
    },
    "shops": {
        "code": ("商户编码", "商户代码", "店铺编号", *_CODE),
        "name": ("商户", "店名", "店铺名称", "门店名称", *_NAME),
        "category": ("类别", "业态", "行业", "经营范围", "category"),
        "address": ("详细地址", "门牌", "位置", "address"),
        "owner": ("店主", "经营者", "经营者姓名", "联系人"),
        "owner_phone": ("店主电话", "经营者电话", *_PHONE),
    },
    "frontages": {"shop_code": ("商户编码", "商户代码", "店铺编号", "商户")},
    "buildings": {
        "code": ("楼栋编码", "楼栋代码", *_CODE),
        "name": ("楼栋", "楼号", "楼名", *_NAME),
        "community_code": ("小区编码", "所属小区", "小区"),
    },
    "grid_people": {
        "grid_code": ("网格编号", "网格代码", "所属网格", "网格"),
        "name": ("人员姓名", "名字", "name"),
        "role": ("职务", "岗位", "角色", "身份", "role"),
        "phone": _PHONE,
    },
}

# Headers that name coordinates or geometry (used to find the header row of a sheet).
COORDINATE_HEADERS: tuple[str, ...] = (
    "经度",
    "纬度",
    "lon",
    "lng",
    "long",
    "longitude",
    "lat",
    "latitude",
    "x",
    "y",
    "pointx",
    "pointy",
    "wkt",
    "geometry",
    "几何",
    "坐标",
)
_IGNORED = ("序号", "no", "序", "备注", "fid", "objectid")

_STRIP = re.compile(r"[\s_\-（）()\[\]【】:：.*#·/\\]+")


def normalize_header(text: object) -> str:
    """Header text for matching: NFKC, lower case, without spaces, "_", "-", brackets, colons."""
    value = unicodedata.normalize("NFKC", str(text if text is not None else "")).lower()
    return _STRIP.sub("", value)


def header_list(headers, *, limit: int = 40) -> str:
    """Headers joined for a message: at most `limit` of them, then how many more ("无" if none)."""
    names = [str(h) for h in headers]
    if not names:
        return "无"
    shown = "、".join(names[:limit])
    return shown + (f" 等共 {len(names)} 列" if len(names) > limit else "")


def columns_of(kind: str) -> tuple[Column, ...]:
    """The model columns of a kind (layer or table)."""
    if kind in LAYER_BY_NAME:
        return LAYER_BY_NAME[kind].columns
    if kind in TABLE_BY_NAME:
        return TABLE_BY_NAME[kind].columns
    msg = f"未知的数据类型“{kind}”；可用：{'、'.join(KINDS)}"
    raise InvalidInput(msg)


def kind_label(kind: str) -> str:
    """The Chinese name of a kind, e.g. 网格 for grids."""
    spec = LAYER_BY_NAME.get(kind) or TABLE_BY_NAME.get(kind)
    if spec is None:
        return kind
    return spec.label


def _candidates(kind: str, column: Column) -> list[str]:
    names = [*column.names(), *_SYNONYMS.get(kind, {}).get(column.name, ())]
    out: list[str] = []
    for name in names:
        key = normalize_header(name)
        if key and key not in out:
            out.append(key)
    return out


def score_header(cells: list[object], kind: str) -> int:
    """How many cells of a row look like headers of this kind (to find a sheet's header row)."""
    keys = {normalize_header(c) for c in cells if c is not None and str(c).strip()}
    known: set[str] = {normalize_header(h) for h in COORDINATE_HEADERS}
    for column in columns_of(kind):
        known.update(_candidates(kind, column))
    score = sum(1 for k in keys if k in known)
    return score + sum(1 for k in keys if k in {normalize_header(i) for i in _IGNORED}) // 2


def blank_cells(values: pd.Series) -> np.ndarray:
    """True where a cell is empty: None, NaN or only whitespace."""
    array = (
        values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    )
    blank = np.asarray(pd.isna(array), dtype=bool).copy()
    empty = array == ""
    if isinstance(empty, np.ndarray):
        blank |= empty
    rest = np.flatnonzero(~blank)  # whitespace-only text, column at a time when all of it is text
    if len(rest):
        text = array[rest]
        if pd.api.types.infer_dtype(text, skipna=False) == "string":
            blank[rest] = np.strings.isspace(text.astype(np.dtypes.StringDType()))
        else:
            blank[rest] = [not str(v).strip() for v in text]
    return blank


@dataclass
class ColumnMapping:
    """Which file column feeds which model column, and what was left unused or missing.

    When several file columns can feed one model column (say ``Name`` and ``网格名称`` for a
    grid's name), the filled one wins, per row: the first candidate (in the synonym order)
    that has any value is the column used; rows where it is empty take the value of the next
    candidate that is filled in that row (`fallbacks`). Candidates that are entirely empty are
    skipped (`skipped`). The report names all of it (`describe`).
    """

    used: dict[str, str] = field(default_factory=dict)  # model column -> file column
    unused: list[str] = field(default_factory=list)
    missing: list[Column] = field(default_factory=list)
    from_file: set[str] = field(default_factory=set)  # model columns set by the mapping file
    skipped: dict[str, list[str]] = field(default_factory=dict)  # -> empty candidates passed over
    fallbacks: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # -> (column, rows)

    def values(self, frame: pd.DataFrame, target: str) -> np.ndarray:
        """The model column's values: the used column, its empty rows filled from the fallbacks."""
        out = frame[self.used[target]].to_numpy(dtype=object).copy()
        for header, _ in self.fallbacks.get(target, []):
            empty = blank_cells(pd.Series(out, dtype=object))
            other = frame[header].to_numpy(dtype=object)
            take = empty & ~blank_cells(frame[header])
            out[take] = other[take]
        return out

    def describe(self, kind: str) -> list[str]:
        """Lines such as '网格名称（name）← 名称' for the report, naming every column choice."""
        by_name = {c.name: c for c in columns_of(kind)}
        lines = []
        for target, source in self.used.items():
            how = "（映射文件）" if target in self.from_file else ""
            skipped = self.skipped.get(target)
            if skipped:
                how += f"（另有“{'”“'.join(skipped)}”列，全部为空，未使用）"
            for header, rows in self.fallbacks.get(target, []):
                how += f"；其中 {rows} 行“{source}”为空，取自“{header}”"
            lines.append(f"{by_name[target].label}（{target}）← {source}{how}")
        return lines


def read_mapping_file(path: str | Path, *, kind: str) -> dict[str, str]:
    """Read a mapping file: JSON object or lines 'model column = file column' (label or name).

    Parameters
    ----------
    path : str or Path
        ``.json`` ({"name": "网格名"}), or text with one ``目标 = 源`` (or ``目标: 源``,
        ``目标,源``) per line; ``#`` starts a comment. Targets may be canonical names
        (``name``) or Chinese labels (``网格名称``).
    kind : str
        The kind being imported; targets are checked against its columns.

    Returns
    -------
    dict
        Canonical model column -> file header.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"无法读取字段映射文件 {path}：{exc}"
        raise InvalidInput(msg) from exc
    text = decode_text(raw, name=path.name, lenient=True).text
    pairs: list[tuple[str, str]] = []
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"字段映射文件 {path.name} 不是有效的 JSON（第 {exc.lineno} 行）：{exc.msg}"
            raise InvalidInput(msg) from exc
        if not isinstance(data, dict):
            msg = f'字段映射文件 {path.name} 应为 JSON 对象，如 {{"name": "网格名"}}'
            raise InvalidInput(msg)
        pairs = [(str(k), str(v)) for k, v in data.items()]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("["):
                continue
            parts = re.split(r"\s*[=:：,，]\s*", line, maxsplit=1)
            if len(parts) != 2 or not parts[0] or not parts[1]:
                msg = (
                    f"字段映射文件 {path.name} 第 {number} 行无法识别：{line!r}；"
                    "每行应写成“模型字段 = 文件列名”，如“网格名称 = 名称”"
                )
                raise InvalidInput(msg)
            pairs.append((parts[0].strip().strip("\"'"), parts[1].strip().strip("\"'")))
    columns = columns_of(kind)
    lookup: dict[str, str] = {}
    for column in columns:
        for name in column.names():
            lookup[normalize_header(name)] = column.name
    out: dict[str, str] = {}
    for target, source in pairs:
        canonical = lookup.get(normalize_header(target))
        if canonical is None:
            valid = "、".join(f"{c.label}（{c.name}）" for c in columns)
            msg = f"字段映射文件 {path.name} 中的“{target}”不是{kind_label(kind)}的字段；可用字段：{valid}"
            raise InvalidInput(msg)
        out[canonical] = source
    return out


def map_columns(
    headers: list[str],
    kind: str,
    *,
    overrides: dict[str, str] | None = None,
    reserved: tuple[str, ...] = (),
    frame: pd.DataFrame | None = None,
) -> ColumnMapping:
    """Choose a file column for each model column of a kind.

    The mapping file (``overrides``) wins; then, per model column in order, its canonical
    name, Chinese label, model aliases and the synonyms above, most specific first. A file
    column feeds at most one model column. ``reserved`` headers (coordinates, geometry) are
    never used for attributes.

    Given the data (``frame``), the filled column wins where two or more can feed one model
    column: a candidate that is entirely empty is passed over for the next one that has
    values (a QGIS/GDAL KML has an empty ``Name`` and the name in ``网格名称``), and rows
    where the chosen column is empty take the value of the next candidate filled in that row.
    Use `ColumnMapping.values` to get the combined values; `ColumnMapping.describe` says
    which column was used and how many rows came from each.

    Parameters
    ----------
    headers : list of str
        The file's column names, in order.
    kind : str
        A kind from `KINDS`.
    overrides : dict, optional
        Canonical model column -> file header, from `read_mapping_file`.
    reserved : tuple of str
        Headers already used for coordinates or geometry.
    frame : pandas.DataFrame, optional
        The file's rows, to prefer filled columns over empty ones (see above).

    Returns
    -------
    ColumnMapping
    """
    columns = columns_of(kind)
    overrides = dict(overrides or {})
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(normalize_header(header), header)
    taken: set[str] = set(reserved)
    mapping = ColumnMapping()
    bad: list[str] = []
    for target, source in overrides.items():
        match = source if source in headers else by_key.get(normalize_header(source))
        if match is None:
            bad.append(source)
            continue
        mapping.used[target] = match
        mapping.from_file.add(target)
        taken.add(match)
    if bad:
        available = header_list(headers)
        msg = f"字段映射文件指定的列“{'、'.join(bad)}”在文件中不存在；文件中的列：{available}"
        raise InvalidInput(msg)
    empty: dict[str, bool] = {}

    def is_empty(header: str) -> bool:
        if header not in empty:
            empty[header] = bool(blank_cells(frame[header]).all()) if frame is not None else False
        return empty[header]

    def candidates(column: Column) -> list[str]:
        found = [by_key.get(key) for key in _candidates(kind, column)]
        return [h for h in dict.fromkeys(found) if h is not None and h not in taken]

    for column in columns:  # the column used: the first candidate that has values
        if column.name in mapping.used:
            continue
        options = candidates(column)
        if not options:
            if column.required:
                mapping.missing.append(column)
            continue
        chosen = next((h for h in options if not is_empty(h)), options[0])
        mapping.used[column.name] = chosen
        taken.add(chosen)
        passed = [h for h in options[: options.index(chosen)] if is_empty(h)]
        if passed:
            mapping.skipped[column.name] = passed
    if frame is not None:  # then its empty rows, from the other candidates filled there
        for column in columns:
            if column.name not in mapping.used or column.name in mapping.from_file:
                continue
            current = blank_cells(frame[mapping.used[column.name]])
            for header in candidates(column):
                if not current.any():
                    break
                fills = current & ~blank_cells(frame[header])
                if fills.any():
                    mapping.fallbacks.setdefault(column.name, []).append((header, int(fills.sum())))
                    taken.add(header)
                    current = current & ~fills
    order = {c.name: i for i, c in enumerate(columns)}
    mapping.used = dict(sorted(mapping.used.items(), key=lambda kv: order[kv[0]]))
    mapping.unused = [str(h) for h in headers if h not in taken]
    return mapping


def missing_findings(mapping: ColumnMapping, kind: str, headers: list[str], *, where: dict) -> list[Finding]:
    """One error per required model column that no file column feeds."""
    available = header_list(headers)
    findings = []
    for column in mapping.missing:
        examples = "、".join(dict.fromkeys([column.label, *_SYNONYMS.get(kind, {}).get(column.name, ())[:3]]))
        findings.append(
            Finding(
                f"缺少必填字段“{column.label}”（{column.name}）；文件中的列：{available}",
                field=column.name,
                hint=(
                    f"请把对应的列改名为“{examples}”之一，或用字段映射文件指定"
                    f"（--columns，写一行“{column.label} = 文件中的列名”）"
                ),
                **where,
            )
        )
    return findings
