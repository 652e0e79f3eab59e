"""Tiny hand-made datasets for tests: two towns, two grids, a few roads, points and tables."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import openpyxl
from shapely.geometry import LineString, Point, box

from gridmap.model import LAYERS_FILE, TABLE_BY_NAME, TABLES_FILE

# Around 106.52E 33.91N. Grid A: x 106.510–106.520, grid B: x 106.520–106.530; y 33.905–33.915.
X0, X1, X2 = 106.510, 106.520, 106.530
Y0, Y1 = 33.905, 33.915
TOWN_A = box(106.40, 33.80, X2, 34.00)  # contains both grids
TOWN_B = box(X2, 33.80, 106.70, 34.00)


def layers() -> dict[str, gpd.GeoDataFrame]:
    def gdf(rows, geoms):
        return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")

    return {
        "towns": gdf({"code": ["610330100", "610330101"], "name": ["双石铺镇", "凤州镇"]}, [TOWN_A, TOWN_B]),
        "grids": gdf(
            {
                "code": ["610330100001", "610330100002"],
                "name": ["滨江网格", "新建路网格"],
                "town_code": ["610330100", "610330100"],
            },
            [box(X0, Y0, X1, Y1), box(X1, Y0, X2, Y1)],
        ),
        "segments": gdf(
            {
                "code": ["S1", "S2", "S3"],
                "road_name": ["滨江路", "新建路", "汉中路"],
                "from_name": ["东桥", "滨江路", "新建路"],
                "to_name": ["西桥", "汉中路", "凤州路"],
                "unit_code": ["U1", "U2", "U3"],
            },
            [
                LineString([(106.511, 33.910), (106.519, 33.910)]),
                LineString([(106.521, 33.910), (106.529, 33.910)]),
                LineString([(106.525, 33.906), (106.525, 33.914)]),
            ],
        ),
        "points": gdf(
            {
                "code": ["P1", "P2"],
                "name": ["城关农贸市场", "县医院"],
                "category": ["农贸市场", "医院"],
                "address": ["滨江路 1 号", "新建路 8 号"],
                "unit_code": ["U1", "U2"],
            },
            [Point(106.515, 33.912), Point(106.522, 33.907)],
        ),
        "communities": gdf(
            {
                "code": ["C1"],
                "name": ["花园小区"],
                "property_company": ["凤县物业公司"],
                "households": [120],
                "unit_code": ["U1"],
            },
            [box(106.512, 33.906, 106.514, 33.908)],
        ),
        "rivers": gdf({"name": ["嘉陵江"]}, [LineString([(106.50, 33.909), (106.54, 33.909)])]),
    }


def tables() -> dict[str, list[list]]:
    return {
        "leaders": [
            ["L01", "王建国", "县委书记", "0917-4700001"],
            ["L02", "李明", "县长", "0917-4700002"],
            ["L03", "张华", "副县长", "0917-4700003"],
        ],
        "units": [
            ["U1", "县住建局", "县级部门", "赵科长", "0917-4711111"],
            ["U2", "县城管执法局", "县级部门", "钱科长", "0917-4722222"],
            ["U3", "县供电分公司", "国有企业", "孙经理", "0917-4733333"],
        ],
        "grid_roles": [
            ["610330100001", "周网格长", "13900000001", "U1"],
            ["610330100002", "吴网格长", "13900000002", "U2"],
        ],
        "grid_leaders": [["610330100001", "L01"], ["610330100001", "L02"], ["610330100002", "L03"]],
        "town_leaders": [["610330100", "L01"], ["610330101", "L03"]],
        "household_heads": [["H1", "郑大姐", "13900000009", "C1", "3号楼"]],
        "inspectors": [["I01", "冯巡查", "13900000010", "610330100001、610330100002"]],
    }


def write_dataset(
    directory: Path,
    *,
    layers_: dict[str, gpd.GeoDataFrame] | None = None,
    tables_: dict[str, list[list]] | None = None,
    headers: dict[str, list[str]] | None = None,
) -> Path:
    """Write a dataset directory (GeoPackage + workbook); arguments replace parts of the default."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, gdf in (layers_ or layers()).items():
        gdf.to_file(directory / LAYERS_FILE, layer=name, driver="GPKG", engine="pyogrio")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (tables_ or tables()).items():
        spec = TABLE_BY_NAME[name]
        sheet = book.create_sheet(spec.label)
        sheet.append((headers or {}).get(name) or [c.label for c in spec.columns])
        for row in rows:
            sheet.append(row)
    book.save(directory / TABLES_FILE)
    return directory


PASSWORD = "secret-pass-1"  # every test user's password (tests/conftest.py ``login``)


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on ``path`` (a Flask test client's session)."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
