"""One grid level's page: a town, county-town grid or sub-grid with its parents, children, people, shops, buildings."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely

from gridmap import safe
from gridmap.errors import NotFound
from gridmap.levels import lineage, people_of, row_of
from gridmap.model import GRID_LEVELS
from gridmap.responsibility import ResponsibilityModel

# How each level is called on a page (the county-town grids are 县城网格 next to 村网格 and 组网格).
LEVEL_LABELS: dict[str, str] = {"县": "县", "镇": "镇（街道）", "网格": "县城网格", **GRID_LEVELS}


def _text(value: object) -> str | None:
    return None if safe.is_missing(value) else str(value)


def _bbox(geom) -> list[float] | None:
    """[west, south, east, north] of a geometry in degrees, None when it has none."""
    if geom is None or geom.is_empty:
        return None
    box = [round(float(v), 7) for v in geom.bounds]
    return box if all(math.isfinite(v) for v in box) else None


def _node(model: ResponsibilityModel, code: str) -> tuple[str, pd.Series] | None:
    """(level, row) of a town, county-town grid or sub-grid code; None for an unknown code."""
    if code in model.subgrids.index:
        row = row_of(model.subgrids, code)
        return (_text(row.get("level")) or "子网格"), row
    if code in model.grids.index:
        return "网格", row_of(model.grids, code)
    if code in model.towns.index:
        return "镇", row_of(model.towns, code)
    return None


def parent_chain(model: ResponsibilityModel, code: str) -> list[dict]:
    """The levels above ``code``, from the county down to its parent: [{level, level_label, code, name}]."""
    out = []
    for level, current, row in lineage(code, towns=model.towns, grids=model.grids, subgrids=model.subgrids)[
        1:
    ]:
        lv = _text(level) or "子网格"
        out.append(
            {
                "level": lv,
                "level_label": LEVEL_LABELS.get(lv, lv),
                "code": current,
                "name": _text(row.get("name")),
            }
        )
    out.append({"level": "县", "level_label": "县", "code": None, "name": "全县"})
    return out[::-1]


def _children(model: ResponsibilityModel, code: str, level: str) -> list[dict]:
    people = people_of(model.grid_people)
    out: list[dict] = []
    if level == "镇":  # the county-town grids of a town come first
        for c, r in model.grids[model.grids["town_code"] == code].iterrows():
            out.append(
                {
                    "level": "网格",
                    "level_label": LEVEL_LABELS["网格"],
                    "code": str(c),
                    "name": _text(r["name"]),
                    "people": len(people.get(c, [])),
                }
            )
    subgrids = model.subgrids
    if "parent_code" in subgrids.columns:
        for c, r in subgrids[subgrids["parent_code"] == code].iterrows():
            lv = _text(r.get("level")) or "子网格"
            out.append(
                {
                    "level": lv,
                    "level_label": LEVEL_LABELS.get(lv, lv),
                    "code": str(c),
                    "name": _text(r["name"]),
                    "people": len(people.get(c, [])),
                }
            )
    return out


def _inside(frame: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    """The features of ``frame`` whose representative point lies in ``area`` (both EPSG:4326)."""
    if not len(frame) or area is None or area.is_empty:
        return frame.iloc[:0]
    present = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    anchors = shapely.point_on_surface(present.geometry.values)
    shapely.prepare(area)
    return present[shapely.covers(area, anchors)]


def level_detail(model: ResponsibilityModel, code: str) -> dict:
    """A town, county-town grid or sub-grid: its level, parents (county first), children, people
    (name, role, phone: the public contacts whois names too), the shops (name, category, address;
    never the owner's contact) and buildings inside it. NotFound for an unknown code."""
    node = _node(model, code)
    if node is None:
        msg = f"编码“{code}”不是任何镇（街道）、网格或下级网格：请从全县地图或网格列表进入"
        raise NotFound(msg)
    level, row = node
    geom = row.geometry
    shops = _inside(model.shops, geom)
    buildings = _inside(model.buildings, geom)
    communities = (
        model.communities["name"] if "name" in model.communities.columns else pd.Series(dtype=object)
    )
    people = [
        {"name": _text(p["name"]), "role": _text(p["role"]), "phone": _text(p["phone"])}
        for p in people_of(model.grid_people).get(code, [])
    ]
    area = row.get("area_m2")
    children = _children(model, code, level)
    return {
        "code": code,
        "name": _text(row.get("name")),
        "level": level,
        "level_label": LEVEL_LABELS.get(level, level),
        "area_m2": None if safe.is_missing(area) else round(float(area), 1),
        "bbox": _bbox(geom),
        "parents": parent_chain(model, code),
        "children": children,
        "people": people,
        "shops": [
            {
                "code": str(c),
                "name": _text(r.get("name")),
                "category": _text(r.get("category")),
                "address": _text(r.get("address")),
            }
            for c, r in shops.iterrows()
        ],
        "buildings": [
            {
                "code": str(c),
                "name": _text(r.get("name")),
                "community_code": _text(r.get("community_code")),
                "community": _text(communities.get(r.get("community_code")))
                if not safe.is_missing(r.get("community_code"))
                else None,
            }
            for c, r in buildings.iterrows()
        ],
        "counts": {
            "children": len(children),
            "people": len(people),
            "shops": len(shops),
            "buildings": len(buildings),
        },
    }
