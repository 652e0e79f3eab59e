"""Grid levels: each sub-grid's level, town and county-town grid follow its parent chain."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from gridmap.levels import derive_subgrids, people_of


def _subgrids(rows: list[tuple]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        [{"code": c, "name": c, "parent_code": p, "level": lv} for c, p, lv in rows],
        geometry=[box(0, 0, 1, 1)] * len(rows),
        crs="EPSG:4326",
    )
    frame.index = pd.Index(frame["code"], name="code")
    return frame


def test_levels_follow_the_parent_chain_in_any_row_order():
    rows = [
        ("T1001", "T1", None),  # village of town T1
        ("T100101", "T1001", None),  # group of that village (listed after its parent)
        ("T100201", "T1002", ""),  # group listed before its village
        ("T1002", "T1", None),
        ("G1-01", "G1", None),  # sub-grid of a county-town grid
        ("G1-01-1", "G1-01", None),  # sub-grid of a sub-grid
    ]
    out = derive_subgrids(_subgrids(rows), towns=pd.Index(["T1", "T2"]), grids=pd.Series({"G1": "T2"}))
    got = {c: (r.level, r.town_code, r.grid_code, r.depth) for c, r in out.iterrows()}
    assert got == {
        "T1001": ("村", "T1", None, 1),
        "T100101": ("组", "T1", None, 2),
        "T100201": ("组", "T1", None, 2),
        "T1002": ("村", "T1", None, 1),
        "G1-01": ("子网格", "T2", "G1", 1),
        "G1-01-1": ("子网格", "T2", "G1", 2),
    }
    assert out.loc["T100101", "level_name"] == "组网格"


def test_unknown_parents_and_cycles_reach_no_town_and_a_given_level_is_kept():
    rows = [("A", "B", None), ("B", "A", None), ("X", "NOPE", None), ("V", "T1", "组")]
    out = derive_subgrids(_subgrids(rows), towns=pd.Index(["T1"]), grids=pd.Series(dtype=object))
    assert out.loc[["A", "B", "X"], "town_code"].isna().all()
    assert (out.loc[["A", "B", "X"], "depth"] == 0).all()
    assert out.loc["V", "level"] == "组" and out.loc["V", "town_code"] == "T1"  # the audit names the mismatch


def test_people_are_grouped_by_grid_in_table_order_without_nan_phones():
    table = pd.DataFrame(
        {
            "grid_code": ["V1", "T1", "V1", None],
            "name": ["甲", "乙", "丙", "丁"],
            "role": ["村书记", "镇干部", "网格员", "志愿者"],
            "phone": ["13900000001", float("nan"), None, "1"],
        }
    )
    out = people_of(table)
    assert [p["name"] for p in out["V1"]] == ["甲", "丙"]
    assert out["T1"] == [{"name": "乙", "role": "镇干部", "phone": None}]
    assert None not in out
