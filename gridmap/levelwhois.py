"""Whois across grid levels: the chain from the smallest grid to the county, 门前五包 shops, buildings' household heads."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely

from gridmap.levels import people_of
from gridmap.responsibility import ResponsibilityModel
from gridmap.settingslist import SETTINGS

BUILDING_RADIUS_M = 15.0  # a building drawn as a point stands for a plot of this radius
FRONTAGE_SETTING = "GRIDMAP_FRONTAGE_TOLERANCE_M"
MAX_CHAIN = 8  # sub-grid parents followed at most (levels.MAX_DEPTH is 4; a cycle stops here too)


def default_frontage_tolerance_m() -> float:
    """GRIDMAP_FRONTAGE_TOLERANCE_M's default, from the settings registry (for callers without Settings)."""
    return float(next(s.default for s in SETTINGS if s.name == FRONTAGE_SETTING))


class GridRecords(Protocol):
    """What the level chain asks of `gridmap.whois.Records` (positions into the model's frames)."""

    def town(self, i: int) -> dict: ...

    def town_leaders(self, i: int) -> list[dict]: ...

    def grid(self, i: int) -> dict: ...


def _plain(value: object) -> Any:
    """None for NaN/NA (not JSON), the value otherwise."""
    if value is None:
        return None
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # lists and other containers are kept
        return value


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    values = frame[name].to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def _first_positions(index: pd.Index, codes: list) -> dict[object, int]:
    """code -> its first position in ``index``, for the given codes only (one vectorised pass)."""
    wanted = {c for c in codes if c is not None}
    out: dict[object, int] = {}
    if wanted:
        labels = index.tolist()
        for i in np.flatnonzero(np.asarray(index.isin(list(wanted)), dtype=bool)).tolist():
            out.setdefault(labels[i], i)
    return out


def _as_person(leader: dict) -> dict:
    return {"name": leader["name"], "role": leader.get("title"), "phone": _plain(leader.get("phone"))}


class LevelIndex:
    """Spatial indexes (local metric CRS) over sub-grids, 门前五包 frontages and buildings of one model.

    ``frontage_tolerance_m`` (GRIDMAP_FRONTAGE_TOLERANCE_M): a spot this close to a frontage line or
    polygon is on it (the nearest frontage wins). Buildings drawn as points count as discs of
    BUILDING_RADIUS_M. ``own_projection``: project the layers here instead of using (and keeping)
    the model's metric copies — whois in the database frees those.
    """

    def __init__(
        self, model: ResponsibilityModel, *, frontage_tolerance_m: float, own_projection: bool = False
    ) -> None:
        self.model = model
        self.frontage_tolerance_m = float(frontage_tolerance_m)

        def metric(name: str) -> np.ndarray:
            if own_projection:
                return np.asarray(model.layer(name).geometry.to_crs(model.local_crs).values)
            return model.metric_geometries(name)

        sub = model.subgrids
        self._sub_tree = shapely.STRtree(metric("subgrids")) if len(sub) else None
        self._sub_code = sub.index.to_numpy(dtype=object)
        self._sub_name = _column(sub, "name")
        self._sub_level = _column(sub, "level")
        self._sub_parent = _column(sub, "parent_code")
        self._sub_town = _column(sub, "town_code")
        self._sub_grid = _column(sub, "grid_code")
        depth = sub["depth"].to_numpy() if "depth" in sub.columns else np.zeros(len(sub))
        self._sub_depth = np.asarray(depth, dtype=np.int64)
        area = sub["area_m2"].to_numpy() if "area_m2" in sub.columns else np.zeros(len(sub))
        self._sub_area = np.asarray(area, dtype=float)
        self._sub_pos = _first_positions(sub.index, self._sub_code.tolist())
        self._town_pos = _first_positions(model.towns.index, model.towns.index.tolist())
        self._grid_pos = _first_positions(model.grids.index, self._sub_grid.tolist())
        self._grid_town = (
            _column(model.grids, "town_code")
            if "town_code" in model.grids.columns
            else np.full(len(model.grids), None, dtype=object)
        )
        self._people = people_of(model.grid_people)

        front = model.frontages
        self._front_tree = shapely.STRtree(metric("frontages")) if len(front) else None
        self._front_shop = _column(front, "shop_code")
        shops = model.shops
        self._shop_pos = _first_positions(shops.index, self._front_shop.tolist())
        self._shop_fields = {n: _column(shops, n) for n in ("name", "category", "address")}
        self._shop_code = shops.index.to_numpy(dtype=object)

        b = model.buildings
        if len(b):
            geoms = metric("buildings")
            is_point = shapely.get_type_id(geoms) == 0
            plots = geoms.copy()
            plots[is_point] = shapely.buffer(geoms[is_point], BUILDING_RADIUS_M, quad_segs=4)
            self._building_geoms = geoms
            self._building_tree: shapely.STRtree | None = shapely.STRtree(plots)
        else:
            self._building_tree = None
        self._building_code = b.index.to_numpy(dtype=object)
        self._building_name = _column(b, "name")
        self._building_community = _column(b, "community_code")
        self._heads_of: dict[object, list[dict]] = {}
        heads = model.household_heads
        if len(heads) and "building_code" in heads.columns:
            for code, name, text in zip(
                _column(heads, "building_code").tolist(),
                _column(heads, "name").tolist(),
                _column(heads, "building").tolist(),
            ):
                if code is not None:
                    self._heads_of.setdefault(code, []).append({"name": name, "building": text})

    # --- what is at the spot ------------------------------------------------------------------
    def smallest_subgrid(self, spot: shapely.Point) -> int:
        """Position of the deepest sub-grid holding ``spot`` whose parents reach a town or grid (-1: none).

        Equal depth: the smaller area, then the first row.
        """
        if self._sub_tree is None:
            return -1
        hits = self._sub_tree.query(spot, predicate="intersects")
        hits = hits[self._sub_depth[hits] > 0]
        if not len(hits):
            return -1
        order = np.lexsort((hits, self._sub_area[hits], -self._sub_depth[hits]))
        return int(hits[order[0]])

    def shop_at(self, spot: shapely.Point) -> dict | None:
        """The shop whose frontage is nearest to ``spot`` within the tolerance (public fields only)."""
        if self._front_tree is None:
            return None
        idx = self._front_tree.query_nearest(spot, max_distance=self.frontage_tolerance_m, all_matches=False)
        if not len(idx):
            return None
        i = self._shop_pos.get(self._front_shop[int(idx[0])], -1)
        if i < 0:
            return None
        f = self._shop_fields
        # owner and owner_phone are office-only: never in a whois answer
        return {
            "code": self._shop_code[i],
            "name": f["name"][i],
            "category": f["category"][i],
            "address": f["address"][i],
        }

    def building_at(self, spot: shapely.Point) -> dict | None:
        """The building whose plot holds ``spot`` (the nearest drawn one of several), with its household heads' names."""
        if self._building_tree is None:
            return None
        hits = self._building_tree.query(spot, predicate="intersects")
        if not len(hits):
            return None
        hits = np.sort(hits)
        i = int(hits[np.argmin(shapely.distance(self._building_geoms[hits], spot))])
        code = self._building_code[i]
        return {
            "code": code,
            "name": self._building_name[i],
            "community_code": self._building_community[i],
            "household_heads": [dict(h) for h in self._heads_of.get(code, [])],
        }

    # --- the chain ------------------------------------------------------------------------------
    def _sub_entry(self, i: int) -> dict:
        code = self._sub_code[i]
        return {
            "level": self._sub_level[i],
            "code": code,
            "name": self._sub_name[i],
            "people": [dict(p) for p in self._people.get(code, [])],
        }

    def chain(self, spot: shapely.Point, *, town: int, grid: int, records: GridRecords) -> list[dict]:
        """The grids holding ``spot``, smallest first, up to the county's leaders.

        ``town`` and ``grid`` are the positions of the town and county-town grid holding the spot
        (-1: none); a sub-grid's own parents decide above it. Empty outside the county.
        """
        chain: list[dict] = []
        sub = self.smallest_subgrid(spot)
        if sub >= 0:
            seen: set[int] = set()
            i = sub
            while i >= 0 and i not in seen and len(seen) < MAX_CHAIN:
                seen.add(i)
                chain.append(self._sub_entry(i))
                i = self._sub_pos.get(self._sub_parent[i], -1)
            grid = self._grid_pos.get(self._sub_grid[sub], -1)
            town = self._town_pos.get(self._sub_town[sub], town)
        leaders: list[dict] = []
        if grid >= 0:
            g = records.grid(grid)
            head = g["grid_head"]
            people = (
                [{"name": head["name"], "role": "网格长", "phone": _plain(head["phone"])}] if head else []
            )
            code = g["grid"]["code"]
            people += [dict(p) for p in self._people.get(code, [])]
            chain.append(
                {
                    "level": "网格",
                    "code": code,
                    "name": g["grid"]["name"],
                    "people": people,
                    "leaders": g["leaders"],
                    "lead_department": g["lead_department"],
                }
            )
            leaders = g["leaders"]
            town = self._town_pos.get(self._grid_town[grid], town)
        if town >= 0:
            t = records.town(town)
            town_leaders = records.town_leaders(town)
            chain.append(
                {
                    "level": "镇",
                    "code": t["code"],
                    "name": t["name"],
                    "people": [dict(p) for p in self._people.get(t["code"], [])],
                    "leaders": town_leaders,
                }
            )
            if grid < 0:
                leaders = town_leaders
        if chain:
            town_code = str(chain[-1]["code"]) if chain[-1]["level"] == "镇" else ""
            chain.append(
                {
                    "level": "县",
                    "code": town_code[:6] if len(town_code) >= 9 and town_code.isdigit() else None,
                    "name": "包片县级领导" if grid >= 0 else "联系镇县级领导",
                    "people": [_as_person(le) for le in leaders],
                }
            )
        return chain

    def answer(self, spot: shapely.Point, *, town: int, grid: int, records: GridRecords) -> dict:
        """The keys whois adds for the levels: chain, answered_at, shop, building."""
        chain = self.chain(spot, town=town, grid=grid, records=records)
        return {
            "chain": chain,
            "answered_at": chain[0]["level"] if chain and chain[0]["level"] != "县" else None,
            "shop": self.shop_at(spot),
            "building": self.building_at(spot),
        }
