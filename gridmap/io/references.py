"""Check the codes a dataset's layers and tables refer to, and split multi-code cells."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.errors import Finding
from gridmap.model import TABLE_BY_NAME

_SPLIT = re.compile(r"[、,，;；\s]+")


def split_codes(value: object) -> list[str]:
    """Split a cell such as '610330100001、610330100002' into codes."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [c for c in _SPLIT.split(str(value)) if c]


def _refs(
    frame: pd.DataFrame,
    column: str,
    known: pd.Index,
    *,
    what: str,
    file: str,
    layer: str,
    label_of,
    hint: str,
) -> list[Finding]:
    values = frame[column]
    bad = values.notna() & ~values.isin(known)
    return [
        Finding(
            f"引用了不存在的{what}“{value}”",
            file=file,
            layer=layer,
            feature=label_of(label),
            field=column,
            hint=hint,
        )
        for label, value in values[bad].items()
    ]


def check_references(
    layers: dict[str, gpd.GeoDataFrame],
    tables: dict[str, pd.DataFrame],
    *,
    files: tuple[str, str] = ("layers.gpkg", "responsibility.xlsx"),
) -> list[Finding]:
    """Every code a layer or table refers to must exist; return one finding per dangling reference."""
    gpkg, xlsx = files

    def fid(label):
        return f"FID {label}"

    def same(label):
        return label

    empty = pd.Index([])
    units = pd.Index(tables["units"]["code"])
    leaders = pd.Index(tables["leaders"]["code"])
    grids = pd.Index(layers["grids"]["code"]) if "grids" in layers else empty
    towns = pd.Index(layers["towns"]["code"]) if "towns" in layers else empty
    communities = pd.Index(layers["communities"]["code"]) if "communities" in layers else empty
    unit_hint = "请在“责任单位”表中添加该单位，或改正代码"
    findings: list[Finding] = []
    for name in ("segments", "points", "communities"):
        if name in layers:
            findings += _refs(
                layers[name],
                "unit_code",
                units,
                what="责任单位",
                file=gpkg,
                layer=name,
                label_of=fid,
                hint=unit_hint,
            )
    if "grids" in layers:
        findings += _refs(
            layers["grids"],
            "town_code",
            towns,
            what="镇",
            file=gpkg,
            layer="grids",
            label_of=fid,
            hint="请检查“所属镇代码”",
        )
    subgrids = pd.Index(layers["subgrids"]["code"]) if "subgrids" in layers else empty
    shops = pd.Index(layers["shops"]["code"]) if "shops" in layers else empty
    buildings = pd.Index(layers["buildings"]["code"]) if "buildings" in layers else empty
    any_grid = towns.append([grids, subgrids])
    for layer, column, known, what, hint in (
        (
            "subgrids",
            "parent_code",
            any_grid,
            "上级网格",
            "上级编码应为镇代码、县城网格编码或另一下级网格的编码",
        ),
        ("frontages", "shop_code", shops, "商户", "请检查门前五包范围的商户编号是否与“商户”图层一致"),
        ("buildings", "community_code", communities, "小区", "请检查楼栋所属的小区编号"),
    ):
        if layer in layers:
            findings += _refs(
                layers[layer], column, known, what=what, file=gpkg, layer=layer, label_of=fid, hint=hint
            )
    sheet = {name: spec.label for name, spec in TABLE_BY_NAME.items()}
    checks = (
        ("grid_roles", "grid_code", grids, "网格", "请检查网格编码是否与图层一致"),
        ("grid_roles", "lead_unit_code", units, "牵头部门", unit_hint),
        ("grid_leaders", "grid_code", grids, "网格", "请检查网格编码是否与图层一致"),
        ("grid_leaders", "leader_code", leaders, "领导", "请在“县级领导”表中添加该领导"),
        ("town_leaders", "town_code", towns, "镇", "请检查镇代码是否与图层一致"),
        ("town_leaders", "leader_code", leaders, "领导", "请在“县级领导”表中添加该领导"),
        ("household_heads", "community_code", communities, "小区", "请检查小区编号"),
        ("household_heads", "building_code", buildings, "楼栋", "请检查楼栋编号是否与“楼栋”图层一致"),
        ("grid_people", "grid_code", any_grid, "网格", "网格编码应为镇代码、县城网格编码或下级网格编码"),
    )
    for table, column, known, what, hint in checks:
        if table not in tables or column not in tables[table]:
            continue
        findings += _refs(
            tables[table],
            column,
            known,
            what=what,
            file=tables[table].attrs.get("file", xlsx),  # a CSV or GeoPackage, when read from one
            layer=sheet[table],
            label_of=same,
            hint=hint,
        )
    for label, value in tables["inspectors"]["grid_codes"].items():
        for code in split_codes(value):
            if code not in grids:
                findings.append(
                    Finding(
                        f"引用了不存在的网格“{code}”",
                        file=tables["inspectors"].attrs.get("file", xlsx),
                        layer=sheet["inspectors"],
                        feature=label,
                        field="grid_codes",
                        hint="请检查负责网格编码",
                    )
                )
    return findings
