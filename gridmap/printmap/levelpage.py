"""Print-map pages of the grid levels below the towns and the county-town grids: village, group
and sub-grids with their people, children, shops (门前五包) and buildings."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.errors import NotFound
from gridmap.levels import lineage, people_of, row_of
from gridmap.model import GRID_LEVELS as GRID_LEVEL_NAMES
from gridmap.model import GRID_ROLES
from gridmap.printmap.content import (
    PageContent,
    Table,
    grid_title,
    leaders_text,
    person,
    sections,
    select,
    text_of,
)
from gridmap.responsibility import ResponsibilityModel


def _where(frame: gpd.GeoDataFrame, column: str, values) -> gpd.GeoDataFrame:
    """Rows whose ``column`` is one of ``values`` (none when the layer lacks the column)."""
    if column not in frame.columns:
        return frame.iloc[:0]
    return select(frame, frame[column].isin(list(values)))


def children(model: ResponsibilityModel, code: str) -> list[str]:
    """The sub-grids whose parent is ``code`` (a town, a county-town grid or a sub-grid)."""
    return [str(c) for c in _where(model.subgrids, "parent_code", [code]).index]


def level_items(
    model: ResponsibilityModel, *, shops: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, area=None
) -> dict:
    """A page's shops, their 门前五包 frontages and its buildings (in ``communities`` or ``area``)."""
    frontages = _where(model.frontages, "shop_code", shops.index)
    buildings = _where(model.buildings, "community_code", communities.index)
    if area is not None:
        buildings = _inside(model.buildings, area)
    return {"shops": shops, "frontages": frontages, "buildings": buildings}


def _inside(frame: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    """The features of ``frame`` whose representative point lies in ``area`` (EPSG:4326)."""
    if not len(frame):
        return frame
    anchors = shapely.point_on_surface(frame.geometry.values)
    shapely.prepare(area)
    return select(frame, shapely.covers(area, anchors))


def _item_rows(
    model: ResponsibilityModel,
    pts: gpd.GeoDataFrame,
    shops: gpd.GeoDataFrame,
    comms: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
) -> list[list[str]]:
    """Table rows of a level page's points (one each, or one row when many), shops (one row,
    names by category) and communities with their buildings (one row per community), so that a
    busy street's hundred shops and buildings stay a readable table."""
    rows: list[list[str]] = []
    if len(pts) > 3:  # many points: one row, names by category
        kinds = pts.groupby(pts["category"].map(text_of), sort=True)["name"]
        counts = " · ".join(f"{k or '其他'} {len(v)}" for k, v in kinds)
        names = "；".join(f"{k or '其他'}：{'、'.join(map(text_of, v))}" for k, v in kinds)
        rows.append([f"考察点位（{len(pts)} 个）", counts, names])
    else:
        for _, p in pts.iterrows():
            rows.append(
                [f"考察点位：{p['name']}", text_of(p["category"]) or "—", text_of(p["address"]) or "—"]
            )
    if len(shops):  # one row: names by category
        categories = shops["category"] if "category" in shops.columns else pd.Series("", index=shops.index)
        kinds = shops.groupby(categories.map(text_of).replace("", "其他"), sort=True)["name"]
        counts = " · ".join(f"{k} {len(v)}" for k, v in kinds)
        names = "；".join(f"{k}：{'、'.join(map(text_of, v))}" for k, v in kinds)
        rows.append([f"门前五包商户（{len(shops)} 户）", counts, names])
    community_names = dict(model.communities["name"].items())
    listed = set(comms.index)
    by_community: dict[str, list[str]] = {}
    for community, name in zip(buildings["community_code"], buildings["name"]) if len(buildings) else ():
        prefix = text_of(community_names.get(community))  # 文化路10号院1号楼 -> 1号楼
        short = text_of(name).removeprefix(prefix) if prefix else text_of(name)
        by_community.setdefault(text_of(community), []).append(short or text_of(name))
    for code, c in comms.iterrows():
        held_names = by_community.pop(str(code), [])
        held = f"楼栋 {len(held_names)} 栋：{'、'.join(held_names)}" if held_names else ""
        rows.append([f"小区：{c['name']}", text_of(c["property_company"]) or "—", held])
    for community, outside in by_community.items():  # buildings of communities outside the page
        label = text_of(community_names.get(community)) or community
        rows.append([f"楼栋：{label}", "—" if community in listed else "小区在本网格外", "、".join(outside)])
    return rows


def level_chain(model: ResponsibilityModel, code: str) -> list[tuple[str, str, str]]:
    """(level, code, name) from the town down to the sub-grid ``code``: 镇, 网格, 村, 组, 子网格."""
    found = lineage(code, towns=model.towns, grids=model.grids, subgrids=model.subgrids)
    return [(text_of(level), current, text_of(row["name"])) for level, current, row in found[::-1]]


def _people_facts(people: list[dict]) -> list[tuple[str, str]]:
    """The people of a grid as facts, one per role in the order of GRID_ROLES: 村书记：张三 139…"""
    by_role: dict[str, list[str]] = {}
    for p in people:
        by_role.setdefault(text_of(p["role"]) or "网格人员", []).append(person(p["name"], None, p["phone"]))
    rank = {role: i for i, role in enumerate(GRID_ROLES)}
    order = sorted(by_role, key=lambda r: rank.get(r, len(rank)))
    return [(role, "；".join(by_role[role])) for role in order]


def _people_line(people: list[dict]) -> str:
    return "；".join(person(p["name"], p["role"], p["phone"]) for p in people) or "—"


def subgrid_page(model: ResponsibilityModel, code: str) -> PageContent:
    if code not in model.subgrids.index:
        msg = f"网格编码“{code}”不存在（既不是县城网格，也不是村、组网格或子网格）；可在“网格”列表页查看网格编码"
        raise NotFound(msg)
    row = row_of(model.subgrids, code)
    name = text_of(row["name"])
    area = model.subgrids.geometry.loc[[code]].iloc[0]
    chain = level_chain(model, code)
    people = people_of(model.grid_people)
    kids = children(model, code)
    subs = model.subgrids
    segs = _inside(model.segments, area)
    pts = _inside(model.points, area)
    comms = _inside(model.communities, area)
    items = level_items(model, shops=_inside(model.shops, area), communities=comms, area=area)
    shops, buildings = items["shops"], items["buildings"]
    rows: list[list[str]] = []
    swatches: list[str | None] = []
    for child in kids:
        c = row_of(subs, child)
        rows.append(
            [f"{text_of(c['level_name'])}：{text_of(c['name'])}", child, _people_line(people.get(child, []))]
        )
        swatches.append(child)
    for unit_code, group in segs.groupby("unit_code", sort=False):
        unit = model.unit_record(str(unit_code))
        contact = " ".join(v for v in (text_of(unit["contact"]), text_of(unit["phone"])) if v) if unit else ""
        rows.append([f"责任单位：{unit['name'] if unit else unit_code}", contact or "—", sections(group)])
        swatches.append(None)
    rows += _item_rows(model, pts, shops, comms, buildings)
    swatches += [None] * (len(rows) - len(swatches))
    facts = _people_facts(people.get(code, [])) or [("网格人员", "尚未登记（请在“网格人员”表中补充）")]
    if len(chain) > 1:
        _, parent_code, parent_name = chain[-2]
        if people.get(parent_code):
            facts.append((f"上级（{parent_name}）", _people_line(people[parent_code])))
    town_code = text_of(row.get("town_code"))
    if town_code in model.towns.index:
        liaison = model.towns.loc[town_code, "liaison_codes"]
        if liaison:
            facts.append(("联系镇县级领导", leaders_text(model, liaison)))
    names = [n for _, _, n in chain] or [name]
    counts = (
        [f"{GRID_LEVEL_NAMES.get(text_of(row_of(subs, kids[0])['level']), '下级网格')} {len(kids)} 个"]
        if kids
        else []
    )
    counts += [
        f"{label} {n} {unit}"
        for label, n, unit in (
            ("路段", len(segs), "条"),
            ("考察点位", len(pts), "个"),
            ("商户", len(shops), "户"),
            ("楼栋", len(buildings), "栋"),
        )
        if n
    ]
    grid_code = text_of(row.get("grid_code"))
    return PageContent(
        kind="subgrid",
        code=code,
        title=" › ".join([*names[:-1], grid_title(names[-1])]),
        subtitle=" · ".join(
            [
                f"网格编码 {code}",
                text_of(row["level_name"]) or "下级网格",
                f"面积 {float(row['area_m2']) / 1e6:.2f} 平方公里",
                *counts,
            ]
        ),
        stem=f"{name}责任图",
        focus_grids=[],
        extent_geoms=model.subgrids.geometry.loc[[code]],
        segments=segs,
        points=pts,
        communities=comms,
        colour_by="unit",
        facts=facts,
        table=Table(
            "下级网格、责任单位、商户和楼栋",
            [("名称", 0.28), ("编码 / 类别 / 联系人", 0.24), ("人员 / 地址 / 包抓路段", 0.48)],
            rows,
            swatches,
            swatch_kind="level",
        ),
        focus_town=town_code or None,
        subject_subgrids=[code],
        child_subgrids=kids,
        locator_grids=[grid_code] if grid_code in model.grids.index else [],
        **items,
    )


def town_levels(
    model: ResponsibilityModel, code: str
) -> tuple[list[str], list[tuple[str, str]], Table | None]:
    """A town page's village grids, the town's people (镇干部…) as facts, and a table of the
    village grids with their people (None when the town has none)."""
    kids = children(model, code)
    people = people_of(model.grid_people)
    facts = _people_facts(people.get(code, []))
    if not kids:
        return kids, facts, None
    rows = [
        [text_of(row_of(model.subgrids, kid)["name"]), kid, _people_line(people.get(kid, []))] for kid in kids
    ]
    table = Table(
        "村网格及网格人员",
        [("村网格", 0.24), ("网格编码", 0.20), ("村书记、网格员等（电话）", 0.56)],
        rows,
        list(kids),
        swatch_kind="level",
    )
    return kids, facts, table
