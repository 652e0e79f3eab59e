"""Answer "who is responsible for this spot?" with spatial indexes in a metric CRS."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from gridmap.crs import convert_lonlat
from gridmap.errors import InvalidInput
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

    def __init__(self, model: ResponsibilityModel, *, tolerance_m: float) -> None:
        """Index ``model``; a spot within ``tolerance_m`` metres (GRIDMAP_WHOIS_TOLERANCE_M) of a road
        segment is answered for by that segment's unit."""
        self.model = model
        self.tolerance_m = float(tolerance_m)
        self._to_local = Transformer.from_crs("EPSG:4326", model.local_crs, always_xy=True)

        def metric(frame):
            return np.asarray(frame.geometry.to_crs(model.local_crs).values)

        self._towns = shapely.STRtree(metric(model.towns))
        self._grids = shapely.STRtree(metric(model.grids))
        self._segments = shapely.STRtree(metric(model.segments))
        self._points = shapely.STRtree(self._areas(metric(model.points)))
        self._communities = shapely.STRtree(self._areas(metric(model.communities)))
        self._records = _Records(model)

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
        return self._records.answer(
            lon_f,
            lat_f,
            town=first(self._towns),
            grid=first(self._grids),
            segment=segment,
            distance=distance,
            point=first(self._points),
            community=first(self._communities),
        )


class _Records:
    """JSON records for every feature, prepared once so a lookup only assembles them."""

    def __init__(self, model: ResponsibilityModel) -> None:
        self.model = model
        unit = model.unit_record
        self.towns = [{"code": c, "name": r["name"]} for c, r in model.towns.iterrows()]
        self.town_leaders = [model.leader_records(r["liaison_codes"]) for _, r in model.towns.iterrows()]
        self.grids = []
        for code, r in model.grids.iterrows():
            self.grids.append(
                {
                    "grid": {"code": code, "name": r["name"]},
                    "leaders": model.leader_records(r["leader_codes"]),
                    "grid_head": {"name": r["grid_head"], "phone": r["grid_head_phone"]}
                    if r["grid_head"]
                    else None,
                    "lead_department": unit(r["lead_unit_code"]),
                }
            )
        self.segments = [
            {
                "code": c,
                "road_name": r["road_name"],
                "from_name": r["from_name"],
                "to_name": r["to_name"],
                "unit": unit(r["unit_code"]),
            }
            for c, r in model.segments.iterrows()
        ]
        self.points = [
            {"code": c, "name": r["name"], "category": r["category"], "unit": unit(r["unit_code"])}
            for c, r in model.points.iterrows()
        ]
        heads = model.household_heads
        by_community = (
            {
                c: [{"name": h["name"], "building": h["building"]} for _, h in group.iterrows()]
                for c, group in heads.groupby("community_code", sort=False)
            }
            if len(heads)
            else {}
        )
        self.communities = [
            {
                "code": c,
                "name": r["name"],
                "property_company": r["property_company"],
                "unit": unit(r["unit_code"]),
                "household_heads": by_community.get(c, []),
            }
            for c, r in model.communities.iterrows()
        ]

    def answer(self, lon, lat, *, town, grid, segment, distance, point, community) -> dict:
        town_rec = self.towns[town] if town >= 0 else None
        grid_rec = self.grids[grid] if grid >= 0 else None
        seg = None
        if segment >= 0:
            seg = dict(self.segments[segment], distance_m=round(distance, 1))
        pt = self.points[point] if point >= 0 else None
        comm = self.communities[community] if community >= 0 else None
        fallback = grid_rec is None and town_rec is not None
        if grid_rec is not None:
            leaders = grid_rec["leaders"]
        elif town_rec is not None:
            leaders = self.town_leaders[town]
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
