"""The coverage rule: gaps and overlaps between polygons that should tile an area, in metres."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridmap.crs import local_crs_for

__all__ = ["CoverageRule", "Gap", "Overlap", "find_gaps_and_overlaps"]

# A gap's neighbours: the polygons within this many metres of it (they touch it, up to rounding).
NEIGHBOUR_M = 0.5


@dataclass(frozen=True)
class CoverageRule:
    """When a gap or overlap counts: thresholds in metres, from the settings registry.

    ``tolerance_m2``: pieces of this area or less are ignored. ``min_width_m``: pieces thinner
    than this on average (2·area/perimeter) are rounding noise. ``sliver_width_m``: pieces
    thinner than this are slivers (edges that do not quite meet) rather than real seams.
    """

    tolerance_m2: float
    min_width_m: float
    sliver_width_m: float

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any] | None = None, *, tolerance_m2: float | None = None
    ) -> CoverageRule:
        """The rule of the settings (GRIDMAP_COVERAGE_*); ``tolerance_m2`` overrides the area."""
        if settings is None:
            from gridmap.settings import load_settings

            settings = load_settings()
        area = settings["GRIDMAP_COVERAGE_TOLERANCE_M2"] if tolerance_m2 is None else tolerance_m2
        return cls(
            tolerance_m2=float(area),
            min_width_m=float(settings["GRIDMAP_COVERAGE_MIN_WIDTH_M"]),
            sliver_width_m=float(settings["GRIDMAP_COVERAGE_SLIVER_WIDTH_M"]),
        )


@dataclass(frozen=True)
class Overlap:
    """Polygons ``first`` and ``second`` (positions) share ``area_m2`` at (lon, lat)."""

    first: int
    second: int
    area_m2: float
    width_m: float
    lon: float
    lat: float
    sliver: bool


@dataclass(frozen=True)
class Gap:
    """A hole of ``area_m2`` inside the union of the polygons, at (lon, lat), and who borders it."""

    area_m2: float
    width_m: float
    lon: float
    lat: float
    neighbours: tuple[int, ...]
    sliver: bool


def find_gaps_and_overlaps(
    geoms: np.ndarray, *, rule: CoverageRule, crs: str | None = None
) -> tuple[list[Gap], list[Overlap]]:
    """Gaps and overlaps between lon/lat (EPSG:4326) polygons, measured in metres.

    The pieces are cut where the edges really are, in the stored lon/lat: projecting first
    would bend edges whose vertices the neighbour does not share (T-junctions) into slivers.
    Every piece is then measured in ``crs`` (default: the local Gauss-Krüger zone of the
    polygons, `gridmap.crs.local_crs_for`) and kept when its area exceeds
    ``rule.tolerance_m2`` and its mean width ``rule.min_width_m``.

    Parameters
    ----------
    geoms : array of shapely polygons, EPSG:4326
    rule : CoverageRule
    crs : str, optional
        The projected CRS to measure in.

    Returns
    -------
    (gaps, overlaps)
        Positions refer to ``geoms``; overlaps come in (first < second) pair order.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return [], []
    crs = crs or local_crs_for(tuple(shapely.total_bounds(geoms)))
    tree = shapely.STRtree(geoms)
    overlaps: list[Overlap] = []
    if shapely.coverage_is_valid(geoms):
        union = shapely.coverage_union_all(geoms)
    else:
        overlaps = _overlaps(geoms, tree, rule=rule, crs=crs)
        union = shapely.union_all(geoms)
    holes = [
        shapely.Polygon(ring)
        for poly in shapely.get_parts(union)
        if poly.geom_type == "Polygon"
        for ring in poly.interiors
    ]
    return _gaps(np.array(holes, dtype=object), geoms, tree, rule=rule, crs=crs), overlaps


def measure(pieces: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area (m²), mean width 2·area/perimeter (m) and the pieces themselves, lon/lat pieces measured in ``crs``."""
    metric = gpd.GeoSeries(pieces, crs="EPSG:4326").to_crs(crs).to_numpy()
    area = shapely.area(metric)
    perimeter = shapely.length(metric)
    width = np.divide(2 * area, perimeter, out=np.zeros_like(area), where=perimeter > 0)
    return area, width, metric


def _overlaps(geoms: np.ndarray, tree: shapely.STRtree, *, rule: CoverageRule, crs: str) -> list[Overlap]:
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return []
    inter = shapely.intersection(geoms[a], geoms[b])
    polygonal = np.isin(shapely.get_type_id(inter), (3, 6, 7)) & ~shapely.is_empty(inter)
    a, b, inter = a[polygonal], b[polygonal], inter[polygonal]
    if not len(a):
        return []
    area, width, _ = measure(inter, crs)
    big = (area > rule.tolerance_m2) & (width > rule.min_width_m)
    at = shapely.point_on_surface(inter[big])
    return [
        Overlap(
            first=int(i),
            second=int(j),
            area_m2=float(ar),
            width_m=float(w),
            lon=float(p.x),
            lat=float(p.y),
            sliver=bool(w < rule.sliver_width_m),
        )
        for i, j, ar, w, p in zip(a[big], b[big], area[big], width[big], at)
    ]


def _gaps(
    holes: np.ndarray, geoms: np.ndarray, tree: shapely.STRtree, *, rule: CoverageRule, crs: str
) -> list[Gap]:
    if not len(holes):
        return []
    area, width, metric = measure(holes, crs)
    big = (area > rule.tolerance_m2) & (width > rule.min_width_m)
    holes, area, width, metric = holes[big], area[big], width[big], metric[big]
    if not len(holes):
        return []
    # Neighbours: candidates from a box a little wider than NEIGHBOUR_M, then the metric distance.
    margin = 2e-5  # degrees, > NEIGHBOUR_M anywhere south of 60° N
    minx, miny, maxx, maxy = shapely.bounds(holes).T
    boxes = shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin)
    h, g = tree.query(boxes, predicate="intersects")
    near = np.zeros(len(h), dtype=bool)
    if len(h):
        used = np.unique(g)
        projected = np.empty(len(geoms), dtype=object)
        projected[used] = gpd.GeoSeries(geoms[used], crs="EPSG:4326").to_crs(crs).to_numpy()
        near = shapely.distance(metric[h], projected[g]) <= NEIGHBOUR_M
    order = np.argsort(h[near], kind="stable")
    h, g = h[near][order], g[near][order]
    groups = np.split(g, np.searchsorted(h, np.arange(1, len(holes))))
    at = shapely.point_on_surface(holes)
    return [
        Gap(
            area_m2=float(area[k]),
            width_m=float(width[k]),
            lon=float(at[k].x),
            lat=float(at[k].y),
            neighbours=tuple(sorted(int(i) for i in groups[k])),
            sliver=bool(width[k] < rule.sliver_width_m),
        )
        for k in range(len(holes))
    ]
