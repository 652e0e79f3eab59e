"""Possible duplicates: open problems of the same category within a distance, in metres."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pyproj import Transformer

from gridmap.problems import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import public_view, records
from gridmap.problems.states import OPEN_STATUSES
from gridmap.whois import parse_lonlat


@lru_cache(maxsize=8)
def _to_local(local) -> Transformer:
    """A WGS84 to local-metric transformer, built once per CRS (building one costs ~100 ms)."""
    return Transformer.from_crs("EPSG:4326", local, always_xy=True)


def find_duplicates(
    ctx: ProblemContext,
    *,
    lon: object,
    lat: object,
    category: object,
    radius_m: float | None = None,
    limit: int = 5,
) -> list[dict]:
    """Open problems of this category within ``radius_m`` metres of the spot, nearest first.

    Public records (no personal data) with ``distance_m``.
    """
    lon_f, lat_f = parse_lonlat(lon, lat)
    cat = ctx.categories.get(category)
    radius = float(radius_m if radius_m is not None else ctx.duplicate_radius_m)
    # a generous box in degrees narrows the candidates; the distance is then exact, in metres
    dlat = radius / 111_000.0 * 1.5
    dlon = dlat / max(math.cos(math.radians(lat_f)), 0.01)
    rows = repository.select_problems(
        ctx.store,
        repository.Criteria(
            equal=(("category", cat.code),),
            among=(("status", OPEN_STATUSES),),
            lon_between=(lon_f - dlon, lon_f + dlon),
            lat_between=(lat_f - dlat, lat_f + dlat),
        ),
    )
    if not rows:
        return []
    local = ctx.reference.model().local_crs
    to_local = _to_local(local)
    xs, ys = to_local.transform(
        np.array([r.lon for r in rows] + [lon_f]), np.array([r.lat for r in rows] + [lat_f])
    )
    distance = np.hypot(xs[:-1] - xs[-1], ys[:-1] - ys[-1])
    order = [i for i in np.argsort(distance) if distance[i] <= radius][:limit]
    chosen = [rows[i] for i in order]
    out = []
    for i, rec in zip(order, records(ctx, chosen, history=False)):
        rec = public_view(rec)
        rec["distance_m"] = round(float(distance[i]), 1)
        out.append(rec)
    return out
