"""Assign many problem points to grid and unit at once, with the same rules as whois.

``WhoisIndex.locate`` answers every question about a spot (town, grid, nearest segment, point,
community) for every spot. Bulk assignment needs less: the grid, and the unit by the whois
order (segment within tolerance, else inspection point, else community, else the grid's lead
department). This module answers just that: containment by prepared polygons over
coordinate arrays (no point objects), candidates by a sorted-coordinate window, and exact
distances in metres (the local projected CRS) only for spots near a segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridmap.responsibility import ResponsibilityModel
from gridmap.whois import POINT_RADIUS_M

_MARGIN_M = 1.0  # candidate windows are this much wider than the tolerance


@dataclass
class Assigned:
    """Per spot: positions into the model's frames (-1: none) and the resulting codes."""

    grid: np.ndarray
    town: np.ndarray
    segment: np.ndarray
    segment_distance: np.ndarray  # metres; NaN where only one segment is clearly within tolerance
    grid_code: np.ndarray
    unit_code: np.ndarray
    fallback: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"grid_code": self.grid_code, "unit_code": self.unit_code, "fallback": self.fallback}
        )


class _Window:
    """Spots sorted by longitude, to find those inside a box without touching the rest."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray) -> None:
        self.order = np.argsort(lon, kind="stable")
        self.xs = lon[self.order]
        self.lat = lat

    def inside(self, box, subset: np.ndarray | None = None) -> np.ndarray:
        minx, miny, maxx, maxy = box
        lo = np.searchsorted(self.xs, minx, side="left")
        hi = np.searchsorted(self.xs, maxx, side="right")
        idx = self.order[lo:hi]
        ys = self.lat[idx]
        idx = idx[(ys >= miny) & (ys <= maxy)]
        if subset is not None:
            idx = idx[subset[idx]]
        return idx


def _first_containing(
    polys: np.ndarray, boxes: np.ndarray, window: _Window, lon, lat, *, subset: np.ndarray | None = None
) -> np.ndarray:
    """Position of the first polygon (lowest index) that holds each spot, -1 if none."""
    out = np.full(len(lon), -1, dtype=np.int64)
    for i, (poly, box) in enumerate(zip(polys, boxes)):
        idx = window.inside(box, subset)
        idx = idx[out[idx] == -1]
        if len(idx):
            hit = shapely.intersects_xy(poly, lon[idx], lat[idx])
            out[idx[hit]] = i
    return out


class BulkAssigner:
    """Prepared geometries of one responsibility model for assigning many spots quickly."""

    def __init__(self, model: ResponsibilityModel, *, tolerance_m: float = 50.0) -> None:
        self.model = model
        self.tolerance_m = float(tolerance_m)
        local = model.local_crs
        self._to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)

        def geo(geoms) -> np.ndarray:  # metric geometries back to lon/lat, prepared
            out = np.asarray(gpd.GeoSeries(geoms, crs=local).to_crs("EPSG:4326").values)
            shapely.prepare(out)
            return out

        def lonlat(frame) -> np.ndarray:
            out = np.asarray(frame.geometry.values).copy()
            shapely.prepare(out)
            return out

        self._grids = lonlat(model.grids)
        self._towns = lonlat(model.towns)
        seg_local = np.asarray(model.segments.geometry.to_crs(local).values)
        self._seg_local = seg_local
        zones = geo(shapely.buffer(seg_local, self.tolerance_m + _MARGIN_M, quad_segs=4))
        self._seg_zones = zones
        # spots inside just one segment's inner zone need no distance computation
        self._seg_inner = geo(shapely.buffer(seg_local, max(self.tolerance_m - _MARGIN_M, 0.0), quad_segs=4))
        self._seg_boxes = shapely.bounds(zones) if len(zones) else np.empty((0, 4))

        def discs(frame) -> np.ndarray:
            metric = np.asarray(frame.geometry.to_crs(local).values)
            is_point = shapely.get_type_id(metric) == 0
            metric = metric.copy()
            metric[is_point] = shapely.buffer(metric[is_point], POINT_RADIUS_M, quad_segs=4)
            return geo(metric)

        self._points = discs(model.points)
        self._communities = discs(model.communities)
        units = set(model.units.index)

        def codes(values) -> np.ndarray:
            return np.array([v if v in units else None for v in values], dtype=object)

        self._seg_unit = codes(model.segments["unit_code"])
        self._point_unit = codes(model.points["unit_code"])
        self._comm_unit = codes(model.communities["unit_code"])
        self._grid_lead = codes(model.grids["lead_unit_code"])
        self._grid_codes = np.asarray(model.grids.index, dtype=object)

    def assign(self, lon, lat) -> Assigned:
        """Grid and responsible unit for every spot (EPSG:4326 lon/lat arrays)."""
        lon = np.ascontiguousarray(lon, dtype=float)
        lat = np.ascontiguousarray(lat, dtype=float)
        n = len(lon)
        window = _Window(lon, lat)
        grid = _first_containing(self._grids, shapely.bounds(self._grids), window, lon, lat)
        outside = grid == -1
        town = np.full(n, -1, dtype=np.int64)
        if outside.any():
            town = _first_containing(
                self._towns, shapely.bounds(self._towns), window, lon, lat, subset=outside
            )
        segment, distance = self._nearest_segment(window, lon, lat)
        unit = np.full(n, None, dtype=object)
        has = segment >= 0
        unit[has] = self._seg_unit[segment[has]]
        need = pd.isna(unit)
        for polys, units in ((self._points, self._point_unit), (self._communities, self._comm_unit)):
            if not need.any() or not len(polys):
                continue
            hit = _first_containing(polys, shapely.bounds(polys), window, lon, lat, subset=need)
            found = hit >= 0
            unit[found] = units[hit[found]]
            need = need & pd.isna(unit)
        in_grid = grid >= 0
        lead = need & in_grid
        unit[lead] = self._grid_lead[grid[lead]]
        grid_code = np.full(n, None, dtype=object)
        grid_code[in_grid] = self._grid_codes[grid[in_grid]]
        return Assigned(
            grid=grid,
            town=town,
            segment=segment,
            segment_distance=distance,
            grid_code=grid_code,
            unit_code=unit,
            fallback=~in_grid & (town >= 0),
        )

    def _nearest_segment(self, window: _Window, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        n = len(lon)
        segment = np.full(n, -1, dtype=np.int64)
        distance = np.full(n, np.nan)
        pairs_q, pairs_t, pairs_inner = [], [], []
        for i, (zone, inner, box) in enumerate(zip(self._seg_zones, self._seg_inner, self._seg_boxes)):
            idx = window.inside(box)
            idx = idx[shapely.intersects_xy(zone, lon[idx], lat[idx])]  # within tolerance + margin
            if len(idx):
                pairs_q.append(idx)
                pairs_t.append(np.full(len(idx), i, dtype=np.int64))
                pairs_inner.append(shapely.intersects_xy(inner, lon[idx], lat[idx]))
        if not pairs_q:
            return segment, distance
        q = np.concatenate(pairs_q)
        t = np.concatenate(pairs_t)
        inner = np.concatenate(pairs_inner)
        direct = inner & (np.bincount(q, minlength=n)[q] == 1)
        segment[q[direct]] = t[direct]  # the only segment near, and surely within tolerance
        q, t = q[~direct], t[~direct]
        if not len(q):
            return segment, distance
        spots, where = np.unique(q, return_inverse=True)
        x, y = self._to_local.transform(lon[spots], lat[spots])
        d = shapely.distance(self._seg_local[t], shapely.points(x[where], y[where]))
        keep = d <= self.tolerance_m
        q, t, d = q[keep], t[keep], d[keep]
        order = np.lexsort((t, d, q))  # per spot: nearest first, then lowest segment index
        q, t, d = q[order], t[order], d[order]
        first = np.unique(q, return_index=True)[1]
        segment[q[first]] = t[first]
        distance[q[first]] = d[first]
        return segment, distance


def assign_points(model: ResponsibilityModel, lon, lat, *, tolerance_m: float = 50.0) -> pd.DataFrame:
    """Grid code, unit code and the out-of-grid flag for many spots (EPSG:4326)."""
    return BulkAssigner(model, tolerance_m=tolerance_m).assign(lon, lat).frame()
