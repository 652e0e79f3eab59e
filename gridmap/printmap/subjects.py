"""What a printed page shows for a grid, a town, a unit, a leader or the county: title, focus,
features and the responsibility table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridmap.errors import InvalidInput, NotFound
from gridmap.printmap.content import PageContent, Table
from gridmap.printmap.content import grid_title as _grid_title
from gridmap.printmap.content import leaders_text as _leaders
from gridmap.printmap.content import people_text as _people
from gridmap.printmap.content import person as _person
from gridmap.printmap.content import sections as _sections
from gridmap.printmap.content import select as _select
from gridmap.printmap.content import text_of as _text
from gridmap.printmap.content import unit_line as _unit_line
from gridmap.printmap.levelpage import children as _children
from gridmap.printmap.levelpage import level_items as _level_items
from gridmap.printmap.levelpage import subgrid_page, town_levels
from gridmap.responsibility import ResponsibilityModel

KINDS: dict[str, str] = {
    "grid": "网格",
    "town": "镇（街道）",
    "unit": "责任单位",
    "leader": "包片县级领导",
    "county": "全县",
    "subgrid": "下级网格（村、组网格或子网格）",
}
# Colour segments by unit while the legend stays readable; by grid beyond that.
MAX_UNIT_COLOURS = 24


def _grid_table(model: ResponsibilityModel, codes: list[str], *, town: bool = True) -> Table:
    grids = model.grids.loc[[c for c in codes if c in model.grids.index]]
    rows, swatches = [], []
    for code, g in grids.iterrows():
        row = [_text(g["name"])]
        if town:
            row.append(_text(g["town_name"]) or "—")
        row += [
            "；".join(_person(r["name"], r["title"]) for r in model.leader_records(g["leader_codes"])) or "—",
            _person(g["grid_head"], None, g["grid_head_phone"]),
            _text(g["lead_department"]) or "—",
        ]
        rows.append(row)
        swatches.append(code)
    columns = [("网格", 0.14)]
    if town:
        columns.append(("所属镇", 0.10))
    columns += [("包片县级领导", 0.40), ("网格长", 0.17), ("牵头部门", 0.19)]
    return Table("网格责任一览", columns, rows, swatches, swatch_kind="grid")


def _grid_page(model: ResponsibilityModel, code: str) -> PageContent:
    if code not in model.grids.index:
        msg = f"网格编码“{code}”不存在；可在“网格”列表页查看全部网格编码"
        raise NotFound(msg)
    detail = model.grid_detail(code)  # who answers for the grid, its units, segments and points
    g = model.grids.loc[code]
    segs = model.segments[model.segments["grid_code"] == code]
    pts = model.points[model.points["grid_code"] == code]
    comms = model.communities[model.communities["grid_code"] == code]
    rows, swatches = [], []
    for unit in detail["units"]:
        contact = " ".join(v for v in (_text(unit["contact"]), _text(unit["phone"])) if v) or "—"
        rows.append(
            [
                unit["name"],
                contact,
                _sections(pd.DataFrame(unit["segments"])) if unit["segments"] else "—",
                "、".join(str(p["name"]) for p in unit["points"]) or "—",
            ]
        )
        swatches.append(unit["code"] if unit["segments"] else None)
    table = Table(
        "责任单位及包抓路段、考察点位",
        [("责任单位", 0.20), ("联系人 / 电话", 0.20), ("包抓路段（起止）", 0.38), ("考察点位", 0.22)],
        rows,
        swatches,
    )
    area_km2 = float(g["area_m2"]) / 1e6
    head = detail["grid_head"]
    facts = [
        ("包片县级领导", _people(detail["leaders"])),
        ("网格长", _person(head["name"], None, head["phone"])),
        ("牵头部门", _unit_line(detail["lead_department"])),
    ]
    if len(comms):
        facts.append((f"小区（{len(comms)} 个）", "、".join(comms["name"].astype(str))))
    return PageContent(
        kind="grid",
        code=code,
        title=_grid_title(_text(g["name"])),
        subtitle=(
            f"网格编码 {code} · {_text(g['town_name'])} · 面积 {area_km2:.2f} 平方公里 · "
            f"路段 {len(segs)} 条 · 考察点位 {len(pts)} 个 · 小区 {len(comms)} 个"
        ),
        stem=f"{_text(g['name'])}责任图",
        focus_grids=[code],
        extent_geoms=model.grids.geometry.loc[[code]],
        segments=segs,
        points=pts,
        communities=comms,
        colour_by="unit",
        facts=facts,
        table=table,
        **_level_items(model, shops=model.shops[model.shops["grid_code"] == code], communities=comms),
        child_subgrids=_children(model, code),
    )


def _town_page(model: ResponsibilityModel, code: str) -> PageContent:
    if code not in model.towns.index:
        msg = f"镇（街道）代码“{code}”不存在"
        raise NotFound(msg)
    t = model.towns.loc[code]
    grid_codes = list(model.grids.index[model.grids["town_code"] == code])
    segs = _select(model.segments, model.segments["grid_code"].isin(grid_codes))
    pts = _select(model.points, model.points["grid_code"].isin(grid_codes))
    comms = _select(model.communities, model.communities["grid_code"].isin(grid_codes))
    villages, town_people, village_table = town_levels(model, code)
    facts = [("联系镇县级领导", _leaders(model, t["liaison_codes"])), *town_people]
    if grid_codes and villages:  # the county town: its villages have pages of their own
        names = "、".join(str(model.subgrids.loc[v, "name"]) for v in villages)
        facts.append((f"村网格（{len(villages)} 个）", names))
    elif not grid_codes and villages:
        facts.append(("网格", f"村网格 {len(villages)} 个；村网格以外由镇（街道）属地兜底负责"))
    elif not grid_codes:
        facts.append(("网格", "本镇（街道）尚未划分网格，由镇（街道）属地兜底负责"))
    extent = model.grids.geometry.loc[grid_codes] if grid_codes else model.towns.geometry.loc[[code]]
    return PageContent(
        kind="town",
        code=code,
        title=f"{_text(t['name'])}网格责任图",
        subtitle=f"镇（街道）代码 {code} · 网格 {len(grid_codes)} 个 · "
        + (f"村网格 {len(villages)} 个 · " if villages else "")
        + f"路段 {len(segs)} 条 · 考察点位 {len(pts)} 个 · 小区 {len(comms)} 个",
        stem=f"{_text(t['name'])}网格责任图",
        focus_grids=grid_codes,
        extent_geoms=extent,
        segments=segs,
        points=pts,
        communities=comms,
        colour_by="unit" if segs["unit_code"].nunique() <= MAX_UNIT_COLOURS else "grid",
        facts=facts,
        table=village_table
        if village_table is not None and not grid_codes
        else _grid_table(model, grid_codes, town=False),
        focus_town=code,
        child_subgrids=villages,
    )


def _unit_page(model: ResponsibilityModel, code: str) -> PageContent:
    detail = model.unit_detail(code)  # NotFound for unknown codes
    segs = model.segments[model.segments["unit_code"] == code]
    pts = model.points[model.points["unit_code"] == code]
    comms = model.communities[model.communities["unit_code"] == code]
    grid_names = dict(model.grids["name"].items())
    rows: list[list[str]] = []
    swatches: list[str | None] = []
    for _, s in segs.iterrows():
        span = "—".join(v for v in (_text(s["from_name"]), _text(s["to_name"])) if v) or "—"
        rows.append(
            [
                f"路段：{s['road_name']}",
                span,
                f"{float(s['length_m']):.0f} 米",
                grid_names.get(s["grid_code"], "—"),
            ]
        )
        swatches.append(code)
    for _, p in pts.iterrows():
        rows.append(
            [
                f"点位：{p['name']}",
                f"{_text(p['category'])} · {_text(p['address']) or '—'}",
                "",
                grid_names.get(p["grid_code"], "—"),
            ]
        )
        swatches.append(None)
    for _, c in comms.iterrows():
        rows.append(
            [
                f"小区：{c['name']}",
                _text(c["property_company"]) or "—",
                "",
                grid_names.get(c["grid_code"], "—"),
            ]
        )
        swatches.append(None)
    parts = [g for g in (segs.geometry, pts.geometry, comms.geometry) if len(g)]
    grid_codes = [g["code"] for g in detail["grids"]]
    if parts:
        extent = gpd.GeoSeries(pd.concat(parts).values, crs="EPSG:4326")
    elif grid_codes:
        extent = model.grids.geometry.loc[grid_codes]
    else:
        extent = model.grids.geometry if len(model.grids) else model.towns.geometry
    facts = [
        ("联系人", " ".join(v for v in (_text(detail["contact"]), _text(detail["phone"])) if v) or "—"),
        ("所在网格", "、".join(g["name"] for g in detail["grids"]) or "—"),
    ]
    if detail["lead_of"]:
        facts.append(("牵头网格", "、".join(g["name"] for g in detail["lead_of"])))
    total = float(segs["length_m"].sum())
    return PageContent(
        kind="unit",
        code=code,
        title=f"{detail['name']}责任区图",
        subtitle=f"单位代码 {code}"
        + (f" · {_text(detail['kind'])}" if _text(detail["kind"]) else "")
        + f" · 包抓路段 {len(segs)} 条（共 {total:.0f} 米） · 考察点位 {len(pts)} 个 · 小区 {len(comms)} 个",
        stem=f"{detail['name']}责任区图",
        focus_grids=grid_codes,
        extent_geoms=extent,
        segments=segs,
        points=pts,
        communities=comms,
        colour_by="unit",
        facts=facts,
        table=Table(
            "包抓路段、考察点位和小区",
            [("路段 / 点位 / 小区", 0.32), ("起止 / 类别 · 地址", 0.38), ("长度", 0.10), ("所在网格", 0.20)],
            rows,
            swatches,
        ),
    )


def _leader_page(model: ResponsibilityModel, code: str) -> PageContent:
    detail = model.leader_detail(code)  # NotFound for unknown codes
    grid_codes = [g["code"] for g in detail["grids"]]
    town_codes = [t["code"] for t in detail["towns"]]
    segs = _select(model.segments, model.segments["grid_code"].isin(grid_codes))
    pts = _select(model.points, model.points["grid_code"].isin(grid_codes))
    comms = _select(model.communities, model.communities["grid_code"].isin(grid_codes))
    if grid_codes:
        extent = model.grids.geometry.loc[grid_codes]
    elif town_codes:
        extent = model.towns.geometry.loc[town_codes]
    else:
        extent = model.grids.geometry if len(model.grids) else model.towns.geometry
    facts = [
        ("职务", _text(detail["title"]) or "—"),
        ("联系电话", _text(detail["phone"]) or "—"),
        ("包片网格", "、".join(g["name"] for g in detail["grids"]) or "—"),
    ]
    if detail["towns"]:
        facts.append(("联系镇（街道）", "、".join(t["name"] for t in detail["towns"])))
    return PageContent(
        kind="leader",
        code=code,
        title=f"{detail['name']}包片网格责任图",
        subtitle=f"{_text(detail['title'])} · 包片网格 {len(grid_codes)} 个 · 路段 {len(segs)} 条 · "
        f"考察点位 {len(pts)} 个 · 小区 {len(comms)} 个",
        stem=f"{detail['name']}包片网格责任图",
        focus_grids=grid_codes,
        extent_geoms=extent,
        segments=segs,
        points=pts,
        communities=comms,
        colour_by="unit" if segs["unit_code"].nunique() <= MAX_UNIT_COLOURS else "grid",
        facts=facts,
        table=_grid_table(model, grid_codes),
        focus_town=town_codes[0] if town_codes and not grid_codes else None,
    )


def _county_page(model: ResponsibilityModel) -> PageContent:
    grid_codes = list(model.grids.index)
    extent = model.grids.geometry if len(model.grids) else model.towns.geometry
    n_leaders = len({c for codes in model.grids["leader_codes"] for c in codes})
    facts = [
        (
            "网格体系",
            f"{len(model.towns)} 个镇（街道）· {len(model.grids)} 个网格 · {n_leaders} 名包片县级领导 · "
            f"{model.grids['lead_unit_code'].nunique()} 个牵头部门 · {len(model.units)} 个责任单位",
        ),
        (
            "责任对象",
            f"路段 {len(model.segments)} 条 · 考察点位 {len(model.points)} 个"
            f"（{model.points['category'].nunique()} 类）· 小区 {len(model.communities)} 个",
        ),
    ]
    return PageContent(
        kind="county",
        code=None,
        title="全县网格责任总图",
        subtitle="县城网格划分、包片县级领导、网格长和牵头部门",
        stem="全县网格责任总图",
        focus_grids=grid_codes,
        extent_geoms=extent,
        segments=model.segments,
        points=model.points,
        communities=model.communities,
        colour_by="grid",
        facts=facts,
        table=_grid_table(model, grid_codes),
    )


def page_content(model: ResponsibilityModel, kind: str, code: str | None = None) -> PageContent:
    """What the page of a grid, town, unit, leader (by code) or the county (no code) shows.

    Raises InvalidInput for an unknown kind or a missing code, NotFound for an unknown code.
    """
    if kind not in KINDS:
        msg = f"不支持的出图对象“{kind}”：可选 {'、'.join(KINDS)}"
        raise InvalidInput(msg)
    if kind == "county":
        return _county_page(model)
    code = _text(code)
    if not code:
        msg = f"请给出{KINDS[kind]}的编码"
        raise InvalidInput(msg)
    if kind == "grid" and code not in model.grids.index and code in model.subgrids.index:
        kind = "subgrid"  # a village, group or sub-grid's code under --grid or /export/grids/
    builders = {
        "grid": _grid_page,
        "town": _town_page,
        "unit": _unit_page,
        "leader": _leader_page,
        "subgrid": subgrid_page,
    }
    return builders[kind](model, code)
