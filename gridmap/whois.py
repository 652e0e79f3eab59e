"""Answer "who is responsible for this spot?" with spatial indexes in a metric CRS."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridmap.crs import convert_lonlat
from gridmap.errors import InvalidInput
from gridmap.levelwhois import LevelIndex, default_frontage_tolerance_m
from gridmap.responsibility import ResponsibilityModel

POINT_RADIUS_M = 30.0  # a spot this close to an inspection point or point community is "at" it


def parse_lonlat(lon: object, lat: object, *, crs: str | None = None) -> tuple[float, float]:
    """Validate user-given coordinates and bring them to WGS84; InvalidInput says what is wrong.

    ``crs`` names the datum the numbers were typed in: wgs84/cgcs2000 (default), or gcj02/bd09
    as read off phone map apps (Amap, Tencent, Baidu).
    """
    values = []
    for name, label, raw, limit in (("lon", "经度", lon, 180.0), ("lat", "纬度", lat, 90.0)):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            msg = f"缺少参数 {name}（{label}），例如 ?lon=106.52&lat=33.91"
            raise InvalidInput(msg)
        try:
            value = float(raw)  # type: ignore[arg-type]  # anything else is refused just below
        except (TypeError, ValueError):
            msg = f"参数 {name}（{label}）应为数字，实际为“{raw}”"
            raise InvalidInput(msg) from None
        if not math.isfinite(value) or abs(value) > limit:
            msg = f"参数 {name}（{label}）应在 -{limit:g} 到 {limit:g} 之间，实际为 {raw}"
            raise InvalidInput(msg)
        values.append(value)
    if crs in (None, "", "wgs84", "cgcs2000"):
        return values[0], values[1]
    if crs not in ("gcj02", "bd09"):
        msg = f"参数 crs 应为 wgs84、gcj02 或 bd09，实际为“{crs}”"
        raise InvalidInput(msg)
    lon_w, lat_w = convert_lonlat(values[0], values[1], source=crs, target="wgs84")
    return float(lon_w), float(lat_w)


@dataclass
class Located:
    """Vectorised lookup result: for each spot, positions into the model's frames (-1: none)."""

    town: np.ndarray
    grid: np.ndarray
    segment: np.ndarray
    segment_distance: np.ndarray
    point: np.ndarray
    community: np.ndarray


def _positions(index: pd.Index) -> dict[object, int]:
    """Code -> first position in ``index``."""
    out: dict[object, int] = {}
    for i, code in enumerate(index.tolist()):
        out.setdefault(code, i)
    return out


def code_positions(index: pd.Index, codes: list[str | None]) -> np.ndarray:
    """The first position in ``index`` of each code (-1 for None or a code not there)."""
    if index.is_unique:
        try:  # a target of the index's own dtype (pandas' str) uses its hash table as it is
            target = pd.Index(codes, dtype=index.dtype)
        except (TypeError, ValueError):
            target = pd.Index(codes, dtype=object)
        return np.asarray(index.get_indexer(target), dtype=np.int64)
    first = _positions(index)
    return np.fromiter((first.get(c, -1) for c in codes), dtype=np.int64, count=len(codes))


class Whois(Protocol):
    """What answers whois: the in-memory `WhoisIndex`, or `gridmap.spatial.dbwhois.DatabaseWhois`."""

    model: ResponsibilityModel
    tolerance_m: float

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Located: ...

    def lookup(self, lon: object, lat: object, *, crs: str | None = None) -> dict: ...


def _first_hit(n: int, query_idx: np.ndarray, tree_idx: np.ndarray) -> np.ndarray:
    out = np.full(n, -1, dtype=np.int64)
    if len(query_idx):
        order = np.lexsort((tree_idx, query_idx))
        q, t = query_idx[order], tree_idx[order]
        first = np.unique(q, return_index=True)[1]
        out[q[first]] = t[first]
    return out


class WhoisIndex:
    """Spatial indexes over one responsibility model, built once and queried many times."""

    def __init__(
        self, model: ResponsibilityModel, *, tolerance_m: float, frontage_tolerance_m: float | None = None
    ) -> None:
        """Index ``model``; a spot within ``tolerance_m`` metres (GRIDMAP_WHOIS_TOLERANCE_M) of a road
        segment is answered for by that segment's unit; within ``frontage_tolerance_m``
        (GRIDMAP_FRONTAGE_TOLERANCE_M, None: its registry default) of a 门前五包 frontage, the shop
        is named too."""
        self.model = model
        self.tolerance_m = float(tolerance_m)
        self._to_local = Transformer.from_crs("EPSG:4326", model.local_crs, always_xy=True)

        metric = model.metric_geometries  # projected once per model, shared with build_model
        self._towns = shapely.STRtree(metric("towns"))
        self._grids = shapely.STRtree(metric("grids"))
        self._segments = shapely.STRtree(metric("segments"))
        self._points = shapely.STRtree(self._areas(metric("points")))
        self._communities = shapely.STRtree(self._areas(metric("communities")))
        self._records = Records(model)
        if frontage_tolerance_m is None:
            frontage_tolerance_m = default_frontage_tolerance_m()
        self._levels = LevelIndex(model, frontage_tolerance_m=frontage_tolerance_m)

    @staticmethod
    def _areas(geoms: np.ndarray) -> np.ndarray:
        """Points become small discs so that "at the point" is a containment test."""
        is_point = shapely.get_type_id(geoms) == 0
        out = geoms.copy()
        out[is_point] = shapely.buffer(geoms[is_point], POINT_RADIUS_M, quad_segs=4)
        return out

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Located:
        """Find the town, grid, nearest segment, point and community for many spots at once."""
        x, y = self._to_local.transform(np.asarray(lon, float), np.asarray(lat, float))
        spots = shapely.points(x, y)
        n = len(spots)

        def containing(tree):
            q, t = tree.query(spots, predicate="intersects")
            return _first_hit(n, q, t)

        seg = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        if len(self._segments):
            (q, t), d = self._segments.query_nearest(
                spots, max_distance=self.tolerance_m, return_distance=True, all_matches=False
            )
            seg[q], dist[q] = t, d
        return Located(
            town=containing(self._towns),
            grid=containing(self._grids),
            segment=seg,
            segment_distance=dist,
            point=containing(self._points),
            community=containing(self._communities),
        )

    def lookup(self, lon: object, lat: object, *, crs: str | None = None) -> dict:
        """Everything about who answers for one spot, as a JSON-ready dict.

        ``crs`` names the datum of the given coordinates (wgs84, the default, or gcj02/bd09
        as typed from phone map apps); the answer's lon/lat are always WGS84.
        """
        lon_f, lat_f = parse_lonlat(lon, lat, crs=crs)
        # One spot: scalar calls skip the array bookkeeping of locate() (same trees, same rules).
        spot = shapely.Point(*self._to_local.transform(lon_f, lat_f))

        def first(tree) -> int:
            hits = tree.query(spot, predicate="intersects")
            return int(hits.min()) if len(hits) else -1

        segment, distance = -1, float("nan")
        if len(self._segments):
            idx, dist = self._segments.query_nearest(
                spot, max_distance=self.tolerance_m, return_distance=True, all_matches=False
            )
            if len(idx):
                segment, distance = int(idx[0]), float(dist[0])
        town, grid = first(self._towns), first(self._grids)
        answer = self._records.answer(
            lon_f,
            lat_f,
            town=town,
            grid=grid,
            segment=segment,
            distance=distance,
            point=first(self._points),
            community=first(self._communities),
        )
        answer.update(self._levels.answer(spot, town=town, grid=grid, records=self._records))
        return answer


class Records:
    """JSON records of features, each built on first use from column arrays and kept.

    Nothing is prepared per row up front: a lookup builds (once) only the records of the
    town, grid, segment, point and community it hits, so indexing 100,000 grids costs a few
    array copies, not 100,000 pandas rows.
    """

    def __init__(self, model: ResponsibilityModel) -> None:
        self.model = model

        def columns(frame, names) -> dict[str, np.ndarray]:
            out = {}
            for n in names:
                values = frame[n].to_numpy(dtype=object, copy=True)
                values[pd.isna(values)] = None  # NaN is not JSON: the browser could not read the answer
                out[n] = values
            return out

        self._town = columns(model.towns, ("name", "liaison_codes"))
        self._town_code = model.towns.index.to_numpy(dtype=object)
        self._grid = columns(
            model.grids, ("name", "leader_codes", "grid_head", "grid_head_phone", "lead_unit_code")
        )
        self._grid_code = model.grids.index.to_numpy(dtype=object)
        self._segment = columns(model.segments, ("road_name", "from_name", "to_name", "unit_code"))
        self._segment_code = model.segments.index.to_numpy(dtype=object)
        self._point = columns(model.points, ("name", "category", "unit_code"))
        self._point_code = model.points.index.to_numpy(dtype=object)
        self._community = columns(model.communities, ("name", "property_company", "unit_code"))
        self._community_code = model.communities.index.to_numpy(dtype=object)
        self._unit_pos = _positions(model.units.index)
        self._leader_pos = _positions(model.leaders.index)
        self._units = columns(model.units, ("name", "kind", "contact", "phone"))
        self._leaders = columns(model.leaders, ("name", "title", "phone"))
        self._leader_code = model.leaders.index.to_numpy(dtype=object)
        heads = model.household_heads
        self._heads_of: dict[object, list[int]] | None = None if len(heads) else {}
        self._cache: dict[tuple[str, int], Any] = {}

    def _cached(self, kind: str, i: int, make) -> Any:
        key = (kind, i)
        rec = self._cache.get(key)
        if rec is None:
            rec = self._cache[key] = make(i)
        return rec

    def unit(self, code: object) -> dict | None:
        """As `ResponsibilityModel.unit_record`: a new dict per call."""
        if code is None or code not in self._unit_pos:
            return None
        i, u = self._unit_pos[code], self._units
        return {
            "code": code,
            "name": u["name"][i],
            "kind": u["kind"][i],
            "contact": u["contact"][i],
            "phone": u["phone"][i],
        }

    def leaders(self, codes: Any) -> list[dict]:
        """As `ResponsibilityModel.leader_records`."""
        out = []
        for c in codes:
            i = self._leader_pos.get(c)
            if i is not None:
                le = self._leaders
                out.append(
                    {
                        "code": self._leader_code[i],
                        "name": le["name"][i],
                        "title": le["title"][i],
                        "phone": le["phone"][i],
                    }
                )
        return out

    def town(self, i: int) -> dict:
        return self._cached("town", i, lambda i: {"code": self._town_code[i], "name": self._town["name"][i]})

    def town_leaders(self, i: int) -> list[dict]:
        return self._cached("town_leaders", i, lambda i: self.leaders(self._town["liaison_codes"][i]))

    def grid(self, i: int) -> dict:
        def make(i: int) -> dict:
            g = self._grid
            head = g["grid_head"][i]
            return {
                "grid": {"code": self._grid_code[i], "name": g["name"][i]},
                "leaders": self.leaders(g["leader_codes"][i]),
                "grid_head": {"name": head, "phone": g["grid_head_phone"][i]} if head else None,
                "lead_department": self.unit(g["lead_unit_code"][i]),
            }

        return self._cached("grid", i, make)

    def segment(self, i: int) -> dict:
        def make(i: int) -> dict:
            s = self._segment
            return {
                "code": self._segment_code[i],
                "road_name": s["road_name"][i],
                "from_name": s["from_name"][i],
                "to_name": s["to_name"][i],
                "unit": self.unit(s["unit_code"][i]),
            }

        return self._cached("segment", i, make)

    def point(self, i: int) -> dict:
        def make(i: int) -> dict:
            p = self._point
            return {
                "code": self._point_code[i],
                "name": p["name"][i],
                "category": p["category"][i],
                "unit": self.unit(p["unit_code"][i]),
            }

        return self._cached("point", i, make)

    def _household_heads(self, code: object) -> list[dict]:
        if self._heads_of is None:  # one grouping of the whole table, on first need
            heads = self.model.household_heads
            keys, uniques = pd.factorize(heads["community_code"].to_numpy(dtype=object))
            grouped: dict[object, list[int]] = {}
            for row, k in enumerate(keys.tolist()):
                if k >= 0:
                    grouped.setdefault(uniques[k], []).append(row)
            self._heads_of = grouped
            self._head_name = heads["name"].to_numpy(dtype=object)
            self._head_building = heads["building"].to_numpy(dtype=object)
        rows = self._heads_of.get(code, [])
        return [{"name": self._head_name[r], "building": self._head_building[r]} for r in rows]

    def community(self, i: int) -> dict:
        def make(i: int) -> dict:
            c = self._community
            code = self._community_code[i]
            return {
                "code": code,
                "name": c["name"][i],
                "property_company": c["property_company"][i],
                "unit": self.unit(c["unit_code"][i]),
                "household_heads": self._household_heads(code),
            }

        return self._cached("community", i, make)

    def answer(self, lon, lat, *, town, grid, segment, distance, point, community) -> dict:
        town_rec = self.town(town) if town >= 0 else None
        grid_rec = self.grid(grid) if grid >= 0 else None
        seg = None
        if segment >= 0:
            seg = dict(self.segment(segment), distance_m=round(distance, 1))
        pt = self.point(point) if point >= 0 else None
        comm = self.community(community) if community >= 0 else None
        fallback = grid_rec is None and town_rec is not None
        if grid_rec is not None:
            leaders = grid_rec["leaders"]
        elif town_rec is not None:
            leaders = self.town_leaders(town)
        else:
            leaders = []
        responsible = None
        for candidate in (seg, pt, comm):
            if candidate is not None and candidate["unit"] is not None:
                responsible = candidate["unit"]
                break
        if responsible is None and grid_rec is not None:
            responsible = grid_rec["lead_department"]
        return {
            "lon": lon,
            "lat": lat,
            "town": town_rec,
            "grid": grid_rec["grid"] if grid_rec else None,
            "leaders": leaders,
            "grid_head": grid_rec["grid_head"] if grid_rec else None,
            "lead_department": grid_rec["lead_department"] if grid_rec else None,
            "segment": seg,
            "point": pt,
            "community": comm,
            "responsible_unit": responsible,
            "fallback": fallback,
            "in_county": town_rec is not None,
        }
