"""A tiny hand-made dataset with grid levels: tests/factory's county plus a village grid of 凤州镇
with two group grids, a sub-grid of 滨江网格, shops with 门前五包 frontages, a building and the
people of each level."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point, box

from tests import factory

TOWN = "610330101"  # 凤州镇 (factory.TOWN_B: x 106.53–106.70)
VILLAGE = "610330101201"
GROUPS = ("61033010120101", "61033010120102")
SUBGRID = "610330100001-01"  # a sub-grid of 滨江网格 (x 106.510–106.520)
VILLAGE_BOX = (106.550, 33.850, 106.580, 33.880)
OWNER_PHONE = "13911112222"  # a shop owner's phone: office only
SECRETARY_PHONE = "13900000021"


def layers() -> dict[str, gpd.GeoDataFrame]:
    def gdf(rows, geoms):
        return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")

    x0, y0, x1, y1 = VILLAGE_BOX
    xm = (x0 + x1) / 2
    out = factory.layers()
    out["communities"] = gdf(
        {
            "code": ["C1", "C2"],
            "name": ["花园小区", "红花新村"],
            "property_company": ["凤县物业公司", None],
            "households": [120, 40],
            "unit_code": ["U1", None],
        },
        [box(106.512, 33.906, 106.514, 33.908), box(106.566, 33.852, 106.569, 33.855)],
    )
    out["subgrids"] = gdf(
        {
            "code": [VILLAGE, *GROUPS, SUBGRID],
            "name": ["红花铺村", "红花铺村一组", "红花铺村二组", "滨江一号子网格"],
            "parent_code": [TOWN, VILLAGE, VILLAGE, "610330100001"],
        },
        [box(*VILLAGE_BOX), box(x0, y0, xm, y1), box(xm, y0, x1, y1), box(106.510, 33.905, 106.515, 33.915)],
    )
    out["shops"] = gdf(
        {
            "code": ["SH1", "SH2"],
            "name": ["红花铺小卖部", "滨江饭店"],
            "category": ["零售", "餐饮"],
            "address": ["红花铺村 3 号", "滨江路 9 号"],
            "owner": ["王老板", "刘老板"],
            "owner_phone": [OWNER_PHONE, "13911113333"],
        },
        [Point(0.7 * x0 + 0.3 * x1, 33.865), Point(106.5125, 33.9105)],
    )
    out["frontages"] = gdf(
        {"shop_code": ["SH1", "SH2"]},
        [
            LineString([(0.7 * x0 + 0.3 * x1 - 0.0005, 33.8645), (0.7 * x0 + 0.3 * x1 + 0.0005, 33.8645)]),
            LineString([(106.512, 33.9102), (106.513, 33.9102)]),
        ],
    )
    out["buildings"] = gdf(
        {"code": ["B1"], "name": ["红花新村1号楼"], "community_code": ["C2"]},
        [box(106.567, 33.853, 106.568, 33.854)],
    )
    return out


def tables() -> dict[str, list[list]]:
    out = factory.tables()
    out["grid_people"] = [
        [TOWN, "马镇长", "镇干部", "13900000020"],
        [VILLAGE, "李书记", "村书记", SECRETARY_PHONE],
        [VILLAGE, "陈网格员", "网格员", "13900000022"],
        [GROUPS[0], "赵组长", "网格员", "13900000023"],
        [GROUPS[1], "钱志愿", "志愿者", None],
    ]
    return out


def write_dataset(directory: Path) -> Path:
    return factory.write_dataset(directory, layers_=layers(), tables_=tables())


def build(directory: Path):
    """The responsibility model of the dataset, read back through GDAL like a real import."""
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    return build_model(read_dataset(write_dataset(directory)))
