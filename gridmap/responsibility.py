"""Join reference layers with responsibility tables into one responsibility model."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import local_crs_for
from gridmap.errors import NotFound
from gridmap.io.read import Dataset
from gridmap.io.references import split_codes
from gridmap.levels import LEVEL_LAYER_NAMES, derive_subgrids


@dataclass
class ResponsibilityModel:
    """Everything about who answers for what, joined, in EPSG:4326 with metres precomputed."""

    towns: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    leaders: pd.DataFrame
    units: pd.DataFrame
    household_heads: pd.DataFrame
    inspectors: pd.DataFrame
    grid_leaders: pd.DataFrame
    town_leaders: pd.DataFrame
    local_crs: str
    # Grid levels (issue 15): village/group/sub-grids with derived level, town_code, grid_code and
    # depth; shops (with the county-town grid they lie in), their 门前五包 frontages, buildings;
    # the people of every level (grid_people: grid_code, name, role, phone).
    subgrids: gpd.GeoDataFrame = field(default_factory=lambda: _empty_layer())
    shops: gpd.GeoDataFrame = field(default_factory=lambda: _empty_layer())
    frontages: gpd.GeoDataFrame = field(default_factory=lambda: _empty_layer())
    buildings: gpd.GeoDataFrame = field(default_factory=lambda: _empty_layer())
    grid_people: pd.DataFrame = field(default_factory=pd.DataFrame)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        if name not in LAYER_NAMES and name not in LEVEL_LAYER_NAMES:
            msg = f"没有名为“{name}”的图层；可用图层：{'、'.join(LAYER_NAMES)}"
            raise NotFound(msg)
        return getattr(self, name)

    # --- records for pages and APIs -------------------------------------------------
    def metric_geometries(self, name: str) -> np.ndarray:
        """The geometries of layer ``name`` in ``local_crs`` (metres), projected once per model."""
        cache = self.__dict__.setdefault("_metric_geometries", {})
        if name not in cache:
            cache[name] = np.asarray(self.layer(name).geometry.to_crs(self.local_crs).values)
        return cache[name]

    def drop_metric_geometries(self) -> None:
        """Free the metre-CRS copies of the layers (whois in the database needs none); made again on use."""
        self.__dict__.pop("_metric_geometries", None)

    def _rows_by_code(self, frame_name: str, columns: tuple[str, ...]) -> dict:
        """code -> that row's values of ``columns``, built once per model (a dict, not a .loc per call)."""
        key = f"_rows_by_code_{frame_name}"
        table = self.__dict__.get(key)
        if table is None:
            frame = getattr(self, frame_name)
            table = {}
            for code, *values in zip(frame.index.tolist(), *(frame[c].tolist() for c in columns)):
                table.setdefault(code, values)
            self.__dict__[key] = table
        return table

    def leader_records(self, codes: list[str]) -> list[dict]:
        table = self._rows_by_code("leaders", ("name", "title", "phone"))
        return [
            {"code": code, "name": r[0], "title": r[1], "phone": r[2]}
            for code in codes
            if (r := table.get(code)) is not None
        ]

    def unit_record(self, code: str | None) -> dict | None:
        if code is None:
            return None
        r = self._rows_by_code("units", ("name", "kind", "contact", "phone")).get(code)
        if r is None:
            return None
        return {"code": code, "name": r[0], "kind": r[1], "contact": r[2], "phone": r[3]}

    def grid_detail(self, code: str) -> dict:
        """A grid with its leaders, head, lead department, units, segments and points."""
        if code not in self.grids.index:
            msg = f"网格编码“{code}”不存在"
            raise NotFound(msg)
        g = self.grids.loc[code]
        segs = self.segments[self.segments["grid_code"] == code]
        pts = self.points[self.points["grid_code"] == code]
        comms = self.communities[self.communities["grid_code"] == code]
        unit_codes = list(dict.fromkeys([*segs["unit_code"], *pts["unit_code"]]))
        units = []
        for uc in unit_codes:
            rec = self.unit_record(uc)
            if rec is None:
                continue
            rec["segments"] = [_segment_record(c, r) for c, r in segs[segs["unit_code"] == uc].iterrows()]
            rec["points"] = [
                {"code": c, "name": r["name"], "category": r["category"]}
                for c, r in pts[pts["unit_code"] == uc].iterrows()
            ]
            units.append(rec)
        return {
            "code": code,
            "name": g["name"],
            "town": {"code": g["town_code"], "name": g["town_name"]},
            "area_m2": round(float(g["area_m2"]), 1),
            "leaders": self.leader_records(g["leader_codes"]),
            "grid_head": {"name": g["grid_head"], "phone": g["grid_head_phone"]},
            "lead_department": self.unit_record(g["lead_unit_code"]),
            "units": units,
            "communities": [
                {
                    "code": c,
                    "name": r["name"],
                    "property_company": r["property_company"],
                    "households": None if pd.isna(r["households"]) else int(r["households"]),
                }
                for c, r in comms.iterrows()
            ],
            "counts": {
                "segments": len(segs),
                "points": len(pts),
                "communities": len(comms),
                "units": len(units),
            },
        }

    def unit_detail(self, code: str) -> dict:
        rec = self.unit_record(code)
        if rec is None:
            msg = f"单位代码“{code}”不存在"
            raise NotFound(msg)
        segs = self.segments[self.segments["unit_code"] == code]
        pts = self.points[self.points["unit_code"] == code]
        rec["segments"] = [_segment_record(c, r) for c, r in segs.iterrows()]
        rec["points"] = [
            {"code": c, "name": r["name"], "category": r["category"], "grid_code": r["grid_code"]}
            for c, r in pts.iterrows()
        ]
        rec["grids"] = self._grid_refs(self.units.loc[code, "grid_codes"])
        rec["lead_of"] = self._grid_refs(list(self.grids.index[self.grids["lead_unit_code"] == code]))
        return rec

    def leader_detail(self, code: str) -> dict:
        if code not in self.leaders.index:
            msg = f"领导编号“{code}”不存在"
            raise NotFound(msg)
        r = self.leaders.loc[code]
        towns = self.towns.loc[[t for t in r["town_codes"] if t in self.towns.index]]
        return {
            "code": code,
            "name": r["name"],
            "title": r["title"],
            "phone": r["phone"],
            "grids": self._grid_refs(r["grid_codes"]),
            "towns": [{"code": c, "name": t["name"]} for c, t in towns.iterrows()],
        }

    def _grid_refs(self, codes: list[str]) -> list[dict]:
        return [{"code": c, "name": self.grids.loc[c, "name"]} for c in codes if c in self.grids.index]

    def search(self, query: str, *, limit: int = 20) -> list[dict]:
        """Find grids, units, leaders, points, communities and roads whose name contains query.

        Each hit says what it is (``kind_label``, ``detail``: a road section's ends, a point's
        category, a unit's or leader's post) and where (``grid_name``, ``town_name`` and ``where``,
        the two joined), so that five sections of one road can be told apart.
        """
        query = query.strip()
        if not query:
            return []
        hits: list[dict] = []
        sources = (
            ("grid", "网格", self.grids, "name"),
            ("unit", "单位", self.units, "name"),
            ("leader", "领导", self.leaders, "name"),
            ("point", "点位", self.points, "name"),
            ("community", "小区", self.communities, "name"),
            ("segment", "路段", self.segments, "road_name"),
        )
        for kind, label, frame, column in sources:
            names = frame[column].fillna("")
            matched = frame[names.str.contains(query, regex=False)]
            for code, row in matched.iterrows():
                hit = {"kind": kind, "kind_label": label, "code": code, "name": row[column]}
                hit["detail"] = _search_detail(kind, row, self)
                if isinstance(frame, gpd.GeoDataFrame):
                    c = row.geometry.representative_point()
                    hit["lon"], hit["lat"] = round(c.x, 6), round(c.y, 6)
                    grid_code = code if kind == "grid" else row.get("grid_code")
                    hit["grid_code"] = grid_code
                    grid = (
                        self.grids.loc[grid_code]
                        if _present(grid_code) and grid_code in self.grids.index
                        else None
                    )
                    hit["grid_name"] = None if grid is None else grid["name"]
                    hit["town_name"] = None if grid is None else grid["town_name"]
                    hit["where"] = " · ".join(
                        str(v)
                        for v in (hit["grid_name"] if kind != "grid" else None, hit["town_name"])
                        if _present(v)
                    )
                hits.append(hit)
        if len(hits) > limit:
            hits = hits[:limit]
        return hits


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value != ""


def _search_detail(kind: str, row: pd.Series, model: ResponsibilityModel) -> str:
    """The words that tell one hit from another of the same name."""
    if kind == "segment":
        ends = "—".join(str(row[c]) for c in ("from_name", "to_name") if _present(row.get(c)))
        unit = model.units["name"].get(row.get("unit_code")) if _present(row.get("unit_code")) else None
        parts = [f"{ends}段" if ends else "", f"{unit}包段" if _present(unit) else ""]
        return "，".join(p for p in parts if p)
    if kind == "point":
        return str(row.get("category") or "") if _present(row.get("category")) else ""
    if kind == "leader":
        return str(row.get("title") or "") if _present(row.get("title")) else ""
    if kind == "unit":
        return str(row.get("kind") or "") if _present(row.get("kind")) else ""
    return ""


LAYER_NAMES = ("towns", "grids", "segments", "points", "communities", "rivers")


def _empty_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")


def _level_layer(name: str) -> gpd.GeoDataFrame:
    """An empty layer with its spec's columns (a dataset without that optional layer)."""
    from gridmap.model import LAYER_BY_NAME

    spec = LAYER_BY_NAME.get(name)
    columns = [c.name for c in spec.columns] if spec else ["name"]
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs="EPSG:4326")


def _segment_record(code: str, r: pd.Series) -> dict:
    return {
        "code": code,
        "road_name": r["road_name"],
        "from_name": r["from_name"],
        "to_name": r["to_name"],
        "length_m": round(float(r["length_m"]), 1),
    }


def _assign_by_overlap(
    items: gpd.GeoSeries, grids: gpd.GeoSeries, grid_codes: np.ndarray, *, measure: str
) -> np.ndarray:
    """For each item (in a metric CRS), the code of the grid it overlaps most, or None."""
    result = np.full(len(items), None, dtype=object)
    if len(items) == 0 or len(grids) == 0:
        return result
    tree = shapely.STRtree(grids.values)
    item_idx, grid_idx = tree.query(items.values, predicate="intersects")
    if len(item_idx) == 0:
        return result
    if measure in ("length", "area"):
        measure_of = shapely.length if measure == "length" else shapely.area
        item_geoms, grid_geoms = np.asarray(items.values)[item_idx], np.asarray(grids.values)[grid_idx]
        # An item inside its only candidate grid overlaps it by its whole size: no intersection
        # to compute (most items of a county); the others are cut as before.
        single = np.bincount(item_idx, minlength=len(items))[item_idx] == 1
        whole = np.zeros(len(item_idx), dtype=bool)
        whole[single] = shapely.contains(grid_geoms[single], item_geoms[single])
        size = np.empty(len(item_idx))
        size[whole] = measure_of(item_geoms[whole])
        cut = ~whole
        size[cut] = measure_of(shapely.intersection(item_geoms[cut], grid_geoms[cut]))
    else:  # points: any intersecting grid counts the same
        size = np.ones(len(item_idx))
    order = np.lexsort((grid_idx, -size, item_idx))
    item_idx, grid_idx, size = item_idx[order], grid_idx[order], size[order]
    first = np.unique(item_idx, return_index=True)[1]
    chosen = first[size[first] > 0]
    result[item_idx[chosen]] = grid_codes[grid_idx[chosen]]
    return result


def _lists(frame: pd.DataFrame, key: str, value: str) -> dict[str, list[str]]:
    """Group a link table: key -> list of values, in table order (rows without a key dropped).

    One stable sort and one split for the whole table, so 100,000 keys cost one pass.
    """
    if frame.empty:
        return {}
    codes, uniques = pd.factorize(frame[key].to_numpy(dtype=object))
    values = frame[value].to_numpy(dtype=object)
    keep = codes >= 0
    codes, values = codes[keep], values[keep]
    order = np.argsort(codes, kind="stable")
    codes, values = codes[order], values[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(codes)]]).astype(np.int64)
    listed = values.tolist()
    return {uniques[codes[a]]: listed[a:b] for a, b in zip(starts.tolist(), ends.tolist()) if b > a}


def build_model(dataset: Dataset) -> ResponsibilityModel:
    """Join layers and tables; derive each item's grid, lengths and areas in metres."""
    layers = {name: gdf.copy() for name, gdf in dataset.layers.items()}
    tables = {name: frame.copy() for name, frame in dataset.tables.items()}
    for name in (*LAYER_NAMES, *LEVEL_LAYER_NAMES):
        if name not in layers:
            layers[name] = _level_layer(name)
    for gdf in layers.values():
        if "code" in gdf.columns:
            gdf.index = pd.Index(gdf["code"].astype(str), name="code")
        else:
            gdf.index = pd.RangeIndex(len(gdf))
    bounds = layers["grids"].total_bounds if len(layers["grids"]) else layers["towns"].total_bounds
    local = local_crs_for(tuple(bounds)) if np.isfinite(bounds).all() else "EPSG:4545"
    metric = {name: gdf.geometry.to_crs(local) for name, gdf in layers.items()}

    leaders = tables["leaders"].set_index("code", drop=False)
    units = tables["units"].set_index("code", drop=False)
    grid_leaders = tables["grid_leaders"].reset_index(drop=True)
    town_leaders = tables["town_leaders"].reset_index(drop=True)
    roles = tables["grid_roles"].set_index("grid_code")

    towns = layers["towns"]
    liaisons = _lists(town_leaders, "town_code", "leader_code")
    towns["liaison_codes"] = [liaisons.get(c, []) for c in towns.index]
    grids = layers["grids"]
    grids["town_name"] = grids["town_code"].map(towns["name"])
    for column in ("grid_head", "grid_head_phone", "lead_unit_code"):
        grids[column] = grids.index.map(roles[column]) if len(roles) else None
    grids["lead_department"] = grids["lead_unit_code"].map(units["name"])
    leaders_of_grid = _lists(grid_leaders, "grid_code", "leader_code")
    grids["leader_codes"] = [leaders_of_grid.get(c, []) for c in grids.index]
    grids["area_m2"] = metric["grids"].area.to_numpy()
    grid_codes = grids.index.to_numpy(dtype=object)

    segments = layers["segments"]
    segments["grid_code"] = _assign_by_overlap(
        metric["segments"], metric["grids"], grid_codes, measure="length"
    )
    segments["length_m"] = metric["segments"].length.to_numpy()
    points = layers["points"]
    points["grid_code"] = _assign_by_overlap(
        metric["points"],
        metric["grids"],
        grid_codes,
        measure="area" if points.geom_type.isin(["Polygon", "MultiPolygon"]).all() and len(points) else "any",
    )
    communities = layers["communities"]
    communities["grid_code"] = _assign_by_overlap(
        metric["communities"],
        metric["grids"],
        grid_codes,
        measure="area" if communities.geom_type.isin(["Polygon", "MultiPolygon"]).all() else "any",
    )
    for frame in (segments, points, communities):
        frame["unit_name"] = frame["unit_code"].map(units["name"])

    grids_of_leader = _lists(grid_leaders, "leader_code", "grid_code")
    towns_of_leader = _lists(town_leaders, "leader_code", "town_code")
    leaders["grid_codes"] = [grids_of_leader.get(c, []) for c in leaders.index]
    leaders["town_codes"] = [towns_of_leader.get(c, []) for c in leaders.index]
    unit_grids = pd.concat(
        [
            segments[["unit_code", "grid_code"]],
            points[["unit_code", "grid_code"]],
            pd.DataFrame({"unit_code": grids["lead_unit_code"].to_numpy(), "grid_code": grids.index}),
        ]
    ).dropna()
    unit_grids = unit_grids.drop_duplicates().sort_values(["unit_code", "grid_code"])
    grouped = _lists(unit_grids, "unit_code", "grid_code")
    units["grid_codes"] = [grouped.get(c, []) for c in units.index]
    units["segment_count"] = units.index.map(segments["unit_code"].value_counts()).fillna(0)
    units["segment_count"] = units["segment_count"].astype(int)

    inspectors = tables["inspectors"].set_index("code", drop=False)
    inspectors["grid_list"] = [split_codes(v) for v in inspectors["grid_codes"]]
    model = ResponsibilityModel(
        towns=towns,
        grids=grids,
        segments=segments,
        points=points,
        communities=communities,
        rivers=layers["rivers"],
        leaders=leaders,
        units=units,
        household_heads=tables["household_heads"].set_index("code", drop=False),
        inspectors=inspectors,
        grid_leaders=grid_leaders,
        town_leaders=town_leaders,
        local_crs=local,
    )
    model.subgrids = derive_subgrids(
        layers["subgrids"], towns=towns.index, grids=grids["town_code"].astype(object)
    )
    model.subgrids["area_m2"] = metric["subgrids"].area.to_numpy()
    model.shops = layers["shops"]
    model.shops["grid_code"] = _assign_by_overlap(metric["shops"], metric["grids"], grid_codes, measure="any")
    model.frontages = layers["frontages"]
    model.buildings = layers["buildings"]
    model.grid_people = tables.get(
        "grid_people", pd.DataFrame(columns=["grid_code", "name", "role", "phone"])
    )
    model.__dict__["_metric_geometries"] = {name: np.asarray(geoms.values) for name, geoms in metric.items()}
    return model
