"""What a printed page says, independent of how it is drawn: its content and the text helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.responsibility import ResponsibilityModel


@dataclass
class Table:
    """A responsibility table: headers with relative widths, rows of text, a swatch per row."""

    title: str
    columns: list[tuple[str, float]]
    rows: list[list[str]]
    swatches: list[str | None] = field(default_factory=list)  # unit or grid code per row
    swatch_kind: str = "unit"  # what the swatch codes are: "unit" or "grid"


@dataclass
class PageContent:
    """Everything a page says, independent of how it is drawn."""

    kind: str
    code: str | None
    title: str
    subtitle: str
    stem: str  # file name stem, Chinese allowed
    focus_grids: list[str]  # grids drawn as the subject (others are faded)
    extent_geoms: gpd.GeoSeries  # what the map frame must show (EPSG:4326)
    segments: gpd.GeoDataFrame  # drawn in colour
    points: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    colour_by: str  # "unit" | "grid"
    facts: list[tuple[str, str]]
    table: Table
    focus_town: str | None = None
    # Grid levels (issue 15): the sub-grid drawn as the subject, the sub-grids drawn and named as
    # its children, the shops (with their 门前五包 frontages) and buildings inside, and the
    # county-town grids the locator marks when focus_grids is empty.
    subject_subgrids: list[str] = field(default_factory=list)
    child_subgrids: list[str] = field(default_factory=list)
    shops: gpd.GeoDataFrame | None = None
    frontages: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    locator_grids: list[str] = field(default_factory=list)


def text_of(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def person(name: object, title: object = None, phone: object = None) -> str:
    out = text_of(name) or "—"
    if text_of(title):
        out += f"（{text_of(title)}）"
    if text_of(phone):
        out += f" {text_of(phone)}"
    return out


def people_text(records: list[dict]) -> str:
    return "；".join(person(r["name"], r["title"], r["phone"]) for r in records) or "—"


def leaders_text(model: ResponsibilityModel, codes: list[str]) -> str:
    return people_text(model.leader_records(codes))


def unit_line(rec: dict | None) -> str:
    if rec is None:
        return "—"
    out = rec["name"]
    contact = " ".join(v for v in (text_of(rec["contact"]), text_of(rec["phone"])) if v)
    return f"{out}（{contact}）" if contact else out


def grid_title(name: str) -> str:
    return f"{name}责任图" if name.endswith("网格") else f"{name}网格责任图"


def sections(segs: pd.DataFrame) -> str:
    """Road sections of one unit, grouped by road: 滨江路（东桥—西桥、西桥—北街）."""
    parts = []
    for road, group in segs.groupby("road_name", sort=False):
        spans = [
            "—".join(v for v in (text_of(a), text_of(b)) if v)
            for a, b in zip(group["from_name"], group["to_name"])
        ]
        spans = [s for s in spans if s]
        parts.append(f"{road}（{'、'.join(spans)}）" if spans else str(road))
    return "；".join(parts) or "—"


def select(frame: gpd.GeoDataFrame, mask) -> gpd.GeoDataFrame:
    return frame[np.asarray(mask, dtype=bool)]
