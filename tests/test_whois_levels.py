"""Whois across grid levels: random spots in each hand-drawn region get that region's chain, the
fallback at each level, the shop on its 门前五包 frontage and the household heads of a building."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridmap.reference import ReferenceCache, load_directory
from gridmap.settings import load_settings
from gridmap.spatial.dbwhois import DatabaseWhois
from gridmap.store import Store
from gridmap.whois import WhoisIndex
from tests import factory
from web import create_app

TOWN_A, TOWN_B = (
    "610330100",
    "610330101",
)  # factory: 双石铺镇 holds both county-town grids; 凤州镇 east of them
GRID_A, GRID_B = "610330100001", "610330100002"  # 滨江网格 x 106.510–106.520, 新建路网格 x 106.520–106.530
V1, V2 = "610330101201", "610330101202"
G1, G2 = "61033010120101", "61033010120102"
SUB = "610330100001-01"
V1_BOX = box(106.550, 33.850, 106.580, 33.880)
V2_BOX = box(106.600, 33.850, 106.630, 33.880)
G1_BOX = box(106.550, 33.850, 106.565, 33.870)  # V1's north strip (y > 33.870) is in no group grid
G2_BOX = box(106.565, 33.850, 106.580, 33.870)
SUB_BOX = box(106.510, 33.905, 106.515, 33.915)
OWNER, OWNER_PHONE = "王老板", "13911112222"
HEAD_PHONES = ("13900000031", "13900000032")
M_LAT = 1 / 111_000  # about one metre of latitude, in degrees
# A line frontage in V2, a polygon frontage in 新建路网格, a building with two heads, a point building.
LINE_Y = 33.8600
FRONT_LINE = LineString([(106.610, LINE_Y), (106.612, LINE_Y)])
FRONT_POLY = box(106.5230, 33.9120, 106.5240, 33.9124)
BUILDING = box(106.567, 33.853, 106.568, 33.854)  # in group G2
POINT_BUILDING = Point(106.605, 33.875)  # in V2


def level_layers() -> dict[str, gpd.GeoDataFrame]:
    def gdf(rows, geoms):
        return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")

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
            "code": [V1, V2, G1, G2, SUB],
            "name": ["红花铺村", "白石村", "红花铺村一组", "红花铺村二组", "滨江一号子网格"],
            "parent_code": [TOWN_B, TOWN_B, V1, V1, GRID_A],
        },
        [V1_BOX, V2_BOX, G1_BOX, G2_BOX, SUB_BOX],
    )
    out["shops"] = gdf(
        {
            "code": ["SH1", "SH2"],
            "name": ["白石村小卖部", "新建路饭店"],
            "category": ["零售", "餐饮"],
            "address": ["白石村 3 号", "新建路 9 号"],
            "owner": [OWNER, "刘老板"],
            "owner_phone": [OWNER_PHONE, "13911113333"],
        },
        [Point(106.611, LINE_Y + 5 * M_LAT), Point(106.5235, 33.9126)],
    )
    out["frontages"] = gdf({"shop_code": ["SH1", "SH2"]}, [FRONT_LINE, FRONT_POLY])
    out["buildings"] = gdf(
        {"code": ["B1", "B2"], "name": ["红花新村1号楼", "白石村3号楼"], "community_code": ["C2", "C2"]},
        [BUILDING, POINT_BUILDING],
    )
    return out


def level_tables() -> dict[str, list[list]]:
    out = factory.tables()
    out["household_heads"] = [
        ["H1", "郑大姐", "13900000009", "C1", "3号楼", None],
        ["H2", "孙大姐", HEAD_PHONES[0], "C2", "1号楼", "B1"],
        ["H3", "周大哥", HEAD_PHONES[1], "C2", "1号楼", "B1"],
    ]
    out["grid_people"] = [
        [TOWN_B, "马镇长", "镇干部", "13900000020"],
        [V1, "李书记", "村书记", "13900000021"],
        [V1, "陈网格员", "网格员", "13900000022"],
        [V2, "白书记", "村书记", "13900000024"],
        [G1, "赵组长", "网格员", "13900000023"],
        [G2, "钱志愿", "志愿者", None],
        [SUB, "吴网格员", "网格员", "13900000025"],
        [TOWN_A, "何镇长", "镇干部", "13900000026"],
    ]
    return out


# Each region as drawn, with the chain a spot inside it must get: (level, code, people's names).
TOWN_A_BOX = box(106.40, 33.80, 106.53, 34.00)
TOWN_B_BOX = box(106.53, 33.80, 106.70, 34.00)
GRID_A_BOX = box(106.510, 33.905, 106.520, 33.915)
GRID_B_BOX = box(106.520, 33.905, 106.530, 33.915)
CITY_TAIL = [("镇", TOWN_A, ["何镇长"])]
TOWN_B_TAIL = [("镇", TOWN_B, ["马镇长"]), ("县", "610330", ["张华"])]
REGIONS = {
    "group G1": (G1_BOX, [("组", G1, ["赵组长"]), ("村", V1, ["李书记", "陈网格员"]), *TOWN_B_TAIL]),
    "group G2": (G2_BOX, [("组", G2, ["钱志愿"]), ("村", V1, ["李书记", "陈网格员"]), *TOWN_B_TAIL]),
    "village V1 outside its groups": (
        V1_BOX.difference(G1_BOX.union(G2_BOX)),
        [("村", V1, ["李书记", "陈网格员"]), *TOWN_B_TAIL],
    ),
    "village V2 (no groups)": (V2_BOX, [("村", V2, ["白书记"]), *TOWN_B_TAIL]),
    "town outside every village": (TOWN_B_BOX.difference(V1_BOX.union(V2_BOX)), TOWN_B_TAIL),
    "sub-grid": (
        SUB_BOX,
        [
            ("子网格", SUB, ["吴网格员"]),
            ("网格", GRID_A, ["周网格长"]),
            *CITY_TAIL,
            ("县", "610330", ["王建国", "李明"]),
        ],
    ),
    "county-town grid outside its sub-grid": (
        GRID_A_BOX.difference(SUB_BOX),
        [("网格", GRID_A, ["周网格长"]), *CITY_TAIL, ("县", "610330", ["王建国", "李明"])],
    ),
    "county-town grid without sub-grids": (
        GRID_B_BOX,
        [("网格", GRID_B, ["吴网格长"]), *CITY_TAIL, ("县", "610330", ["张华"])],
    ),
    "county town outside every grid": (
        TOWN_A_BOX.difference(GRID_A_BOX.union(GRID_B_BOX)),
        [*CITY_TAIL, ("县", "610330", ["王建国"])],
    ),
    "outside the county": (box(106.75, 33.80, 106.90, 34.00), []),
}


def _spots_in(region, n: int, rng) -> list[tuple[float, float]]:
    """``n`` random spots inside ``region``, kept 0.5 m off its edges (rejection sampling)."""
    inner = region.buffer(-0.5 * M_LAT)
    x0, y0, x1, y1 = inner.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        x, y = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(inner, x, y)
        out += [(float(a), float(b)) for a, b in zip(x[inside], y[inside])][: n - len(out)]
    return out


@pytest.fixture(scope="module")
def whois_by_source(module_database, tmp_path_factory):
    """{"memory": WhoisIndex, "database": DatabaseWhois (PostgreSQL only)} over the hand-made county,
    loaded into the module's database (SQLite or PostgreSQL) through GDAL and the store."""
    _folder, url = module_database
    data = factory.write_dataset(
        tmp_path_factory.mktemp("levels") / "d", layers_=level_layers(), tables_=level_tables()
    )
    store = Store(url)
    load_directory(store, data)
    out = {"memory": ReferenceCache(store, tolerance_m=50.0).whois()}
    if url.startswith("postgresql"):
        out["database"] = ReferenceCache(store, tolerance_m=50.0, whois_source="database").whois()
    yield out
    store.engine.dispose()


def _summary(answer: dict) -> list[tuple]:
    return [(e["level"], e["code"], [p["name"] for p in e["people"]]) for e in answer["chain"]]


def test_random_spots_in_each_region_get_its_chain_and_the_fallback_at_each_level(whois_by_source):
    assert isinstance(whois_by_source["memory"], WhoisIndex)
    rng = np.random.default_rng(15)
    for label, (region, chain) in REGIONS.items():
        for lon, lat in _spots_in(region, 12, rng):
            answers = {source: w.lookup(lon, lat) for source, w in whois_by_source.items()}
            for source, answer in answers.items():
                assert _summary(answer) == chain, (label, source, lon, lat)
                assert answer["answered_at"] == (chain[0][0] if chain else None), (label, source)
            if "database" in answers:
                assert isinstance(whois_by_source["database"], DatabaseWhois)
                assert answers["database"] == answers["memory"], (label, lon, lat)


def test_each_level_names_its_leaders_head_and_department(whois_by_source):
    for whois in whois_by_source.values():
        chain = whois.lookup(106.512, 33.912)["chain"]  # in the sub-grid of 滨江网格
        grid = chain[1]
        assert grid["people"][0] == {"name": "周网格长", "role": "网格长", "phone": "13900000001"}
        assert [le["name"] for le in grid["leaders"]] == ["王建国", "李明"]  # 包片领导
        assert grid["lead_department"]["name"] == "县住建局"
        assert [le["name"] for le in chain[2]["leaders"]] == ["王建国"]  # 双石铺镇's liaison
        assert chain[3]["people"][0] == {"name": "王建国", "role": "县委书记", "phone": "0917-4700001"}
        village = whois.lookup(106.57, 33.875)["chain"]
        assert village[0]["people"][0] == {"name": "李书记", "role": "村书记", "phone": "13900000021"}
        assert [le["name"] for le in village[1]["leaders"]] == ["张华"]  # 凤州镇's liaison answers at 县
        assert "leaders" not in village[0]
        assert whois.lookup(106.57, 33.86)["chain"][0]["people"] == [
            {"name": "钱志愿", "role": "志愿者", "phone": None}
        ]


def test_a_spot_on_a_frontage_names_its_shop_within_the_tolerance_only(whois_by_source):
    x = 106.611
    for whois in whois_by_source.values():
        on_line = whois.lookup(x, LINE_Y + 4 * M_LAT)  # 4 m off the line frontage: default 5 m holds
        assert on_line["shop"] == {
            "code": "SH1",
            "name": "白石村小卖部",
            "category": "零售",
            "address": "白石村 3 号",
        }
        assert on_line["answered_at"] == "村"  # the shop comes with the chain, not instead of it
        assert whois.lookup(x, LINE_Y - 4 * M_LAT)["shop"]["code"] == "SH1"
        assert whois.lookup(x, LINE_Y + 6 * M_LAT)["shop"] is None
        assert whois.lookup(106.6125, LINE_Y)["shop"] is None  # ~46 m past the line's end
        assert whois.lookup(106.5235, 33.9122)["shop"]["code"] == "SH2"  # inside the polygon
        assert whois.lookup(106.5235, 33.9124 + 3 * M_LAT)["shop"]["code"] == "SH2"
        assert whois.lookup(106.5235, 33.9124 + 7 * M_LAT)["shop"] is None
        assert whois.lookup(106.515, 33.91)["shop"] is None


def test_the_frontage_tolerance_is_a_setting_the_server_uses(module_database, whois_by_source, tmp_path):
    _folder, url = module_database
    assert load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)}).frontage_tolerance_m == 5.0
    config = {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test-secret",
        "GRIDMAP_FRONTAGE_TOLERANCE_M": "10",
    }
    sources = ["memory", "database"] if url.startswith("postgresql") else ["memory"]
    for source in sources:
        app = create_app({**config, "GRIDMAP_WHOIS_SOURCE": source})
        answer = app.test_client().get(f"/api/whois?lon=106.611&lat={LINE_Y + 8 * M_LAT}").get_json()
        assert answer["shop"]["code"] == "SH1", source  # 8 m: on it at 10 m, not at the default 5 m
        assert answer["answered_at"] == "村"
    assert whois_by_source["memory"].lookup(106.611, LINE_Y + 8 * M_LAT)["shop"] is None


def test_no_owner_contact_in_any_answer(whois_by_source):
    for whois in whois_by_source.values():
        for lon, lat in ((106.611, LINE_Y), (106.611, LINE_Y + 2 * M_LAT), (106.5235, 33.9122)):
            text = json.dumps(whois.lookup(lon, lat), ensure_ascii=False, allow_nan=False)
            assert '"shop": {' in text
            assert OWNER_PHONE not in text and "13911113333" not in text
            assert OWNER not in text and "刘老板" not in text and "owner" not in text


def test_a_spot_in_a_building_names_its_household_heads_without_phones(whois_by_source):
    for whois in whois_by_source.values():
        answer = whois.lookup(106.5675, 33.8535)
        assert answer["building"] == {
            "code": "B1",
            "name": "红花新村1号楼",
            "community_code": "C2",
            "household_heads": [
                {"name": "孙大姐", "building": "1号楼"},
                {"name": "周大哥", "building": "1号楼"},
            ],
        }
        assert answer["answered_at"] == "组"
        text = json.dumps(answer, ensure_ascii=False)
        assert not any(phone in text for phone in HEAD_PHONES)
        assert whois.lookup(106.5675, 33.8545)["building"] is None  # ~55 m north of it
        near_point = whois.lookup(106.605 + 10 / 92_000, 33.875)  # 10 m from a point building
        assert near_point["building"]["code"] == "B2"
        assert near_point["building"]["household_heads"] == []
        assert whois.lookup(106.605 + 30 / 92_000, 33.875)["building"] is None
        assert whois.lookup(106.513, 33.907)["community"]["household_heads"] == [
            {"name": "郑大姐", "building": "3号楼"}
        ]  # the community's answer is unchanged
