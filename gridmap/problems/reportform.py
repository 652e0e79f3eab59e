"""What the citizen's report page opens with: the town on the map, a key against double taps, the limits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import geopandas as gpd

from gridmap.errors import GridmapError
from gridmap.problems.categories import Categories
from gridmap.problems.context import ProblemContext
from gridmap.whois import parse_lonlat


@dataclass(frozen=True)
class ReportForm:
    """One load of the report form."""

    categories: Categories
    bounds: list[list[float]] | None  # [[south, west], [north, east]] the map opens on
    start: list[float] | None  # [lon, lat] given in the link (a patrol stop), else None
    key: str  # this load's Idempotency-Key stem: a double tap sends the same key, so one report
    max_photos: int
    max_mb: float


def opening_bounds(*, grids: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> list[list[float]] | None:
    """Where a citizen's map opens: the grids (the county town, where people report), else the towns.

    The whole county is mostly fields and hills at a zoom where no street can be read.
    """
    frame = grids if len(grids) else towns
    if not len(frame):
        return None
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    return [[miny, minx], [maxy, maxx]]


def report_form(ctx: ProblemContext, *, lon: object = None, lat: object = None) -> ReportForm:
    """The report form's opening state; ``lon``/``lat`` from the link preset the spot when they are valid."""
    try:
        model = ctx.reference.model()
        bounds = opening_bounds(grids=model.grids, towns=model.towns)
    except GridmapError:  # no reference data loaded yet: the page still works, the map opens wide
        bounds = None
    start = None
    if lon is not None:
        try:
            start = list(parse_lonlat(lon, lat))
        except GridmapError:
            start = None
    return ReportForm(
        categories=ctx.categories,
        bounds=bounds,
        start=start,
        key=secrets.token_urlsafe(12),
        max_photos=ctx.photo_max_count,
        max_mb=ctx.photo_max_bytes / 1e6,
    )
