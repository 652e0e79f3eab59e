"""Grid levels below the towns and the county-town grids: villages, groups and sub-grids, their people."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import safe
from gridmap.model import GRID_LEVELS

# How deep sub-grids may nest below a town or a county-town grid (village → group is 2).
MAX_DEPTH = 4
LEVEL_LAYER_NAMES = ("subgrids", "shops", "frontages", "buildings")


def derive_subgrids(subgrids: gpd.GeoDataFrame, *, towns: pd.Index, grids: pd.Series) -> gpd.GeoDataFrame:
    """Add each sub-grid's derived ``level_name``, ``town_code``, ``grid_code`` and ``depth``.

    ``subgrids`` is indexed by code with ``parent_code`` and ``level``; ``towns`` are the town
    codes; ``grids`` maps a county-town grid's code to its town code. A village grid's parent is a
    town (level 村), a group grid's a village grid (组), a sub-grid's a county-town grid or another
    sub-grid (子网格). A given ``level`` is kept; an empty one is derived from the parent. A
    sub-grid whose parent chain does not reach a town or a grid keeps ``town_code`` None (the
    audit names it).
    """
    out = subgrids
    n = len(out)
    parent = out["parent_code"].to_numpy(dtype=object)
    given = out["level"].to_numpy(dtype=object) if "level" in out else np.full(n, None, dtype=object)
    given = np.array([v if isinstance(v, str) and v.strip() else None for v in given], dtype=object)
    town = np.full(n, None, dtype=object)
    grid = np.full(n, None, dtype=object)
    level = np.full(n, None, dtype=object)
    depth = np.zeros(n, dtype=np.int64)
    town_set = set(towns.tolist())
    in_town = np.array([p in town_set for p in parent], dtype=bool)
    town[in_town] = parent[in_town]
    level[in_town] = "村"
    depth[in_town] = 1
    in_grid = np.asarray(pd.Index(parent, dtype=object).isin(grids.index), dtype=bool) & ~in_town
    grid[in_grid] = parent[in_grid]
    town[in_grid] = grids.reindex(parent[in_grid]).to_numpy(dtype=object)
    level[in_grid] = "子网格"
    depth[in_grid] = 1
    position = pd.Series(np.arange(n), index=out.index)
    position = position[~position.index.duplicated()]
    for _ in range(MAX_DEPTH):  # one vectorised step per level of nesting
        todo = np.flatnonzero(depth == 0)
        if not len(todo):
            break
        at = position.reindex(parent[todo]).to_numpy()
        ok = ~np.isnan(at)
        rows, up = todo[ok], at[ok].astype(np.int64)
        ready = depth[up] > 0
        rows, up = rows[ready], up[ready]
        town[rows], grid[rows], depth[rows] = town[up], grid[up], depth[up] + 1
        level[rows] = np.where(level[up] == "村", "组", level[up])
    derived = np.where(given != None, given, level)  # noqa: E711  # elementwise on object arrays
    names = np.array([GRID_LEVELS.get(v, v) if v else None for v in derived], dtype=object)
    for column, values in (
        ("level", derived),
        ("level_name", names),
        ("town_code", town),
        ("grid_code", grid),
    ):
        out[column] = pd.Series(values, index=out.index, dtype=object)  # None stays None, not NaN
    out["depth"] = depth
    return out


def people_of(grid_people: pd.DataFrame) -> dict[object, list[dict]]:
    """grid code -> its people as records (name, role, phone), in table order."""
    out: dict[object, list[dict]] = {}
    if grid_people.empty:
        return out
    for code, name, role, phone in zip(
        grid_people["grid_code"].tolist(),
        grid_people["name"].tolist(),
        grid_people["role"].tolist(),
        grid_people["phone"].tolist(),
    ):
        if code is None:
            continue
        out.setdefault(code, []).append(
            {"name": name, "role": role, "phone": None if pd.isna(phone) else phone}
        )
    return out


def row_of(frame: pd.DataFrame, code: object) -> pd.Series:
    """The row of ``code`` in a code-indexed frame (the first one when a code is repeated)."""
    found = frame.loc[code]
    return found.iloc[0] if isinstance(found, pd.DataFrame) else found


def lineage(
    code: str, *, towns: pd.DataFrame, grids: pd.DataFrame, subgrids: pd.DataFrame
) -> list[tuple[object, str, pd.Series]]:
    """(level, code, row) of ``code`` and every level above it, smallest first, up to its town.

    A sub-grid's level is its row's ``level`` as stored; a county-town grid is 网格, a town 镇.
    The walk follows parent codes (a grid's ``town_code``) and stops at an unknown code or a cycle.
    """
    out: list[tuple[object, str, pd.Series]] = []
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current not in seen:
        seen.add(current)
        if current in subgrids.index:
            row = row_of(subgrids, current)
            out.append((row.get("level"), current, row))
            parent = row.get("parent_code")
        elif current in grids.index:
            row = row_of(grids, current)
            out.append(("网格", current, row))
            parent = row.get("town_code")
        elif current in towns.index:
            out.append(("镇", current, row_of(towns, current)))
            break
        else:
            break
        current = None if safe.is_missing(parent) else str(parent)
    return out
