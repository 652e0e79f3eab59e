"""The small map on a problem's page: the spot, its grid's outline and the named streets around it."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely
from shapely.geometry import box, mapping

from gridmap.errors import GridmapError
from gridmap.reference import ReferenceCache

AROUND_M = 300.0  # streets within this many metres of the spot are drawn
MAX_STREETS = 60  # at most this many pieces of street, nearest first
_M_PER_DEG_LAT = 110_540.0
_DIGITS = 6  # ~0.1 m


def _rounded(geometry) -> dict:
    return json.loads(json.dumps(mapping(shapely.set_precision(geometry, 10**-_DIGITS))))


def around(reference: ReferenceCache, *, lon: float, lat: float, grid_code: str | None = None) -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326) of the streets (responsibility segments) within
    AROUND_M of the spot, with their names, and the outline of the problem's grid.

    Drawn under the spot's marker, it shows where the problem is with no basemap tiles at all.
    Empty when no responsibility data is loaded.
    """
    try:
        model = reference.model()
    except GridmapError:
        return {"type": "FeatureCollection", "features": []}
    dlat = AROUND_M / _M_PER_DEG_LAT
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    window = box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    features: list[dict] = []
    if grid_code is not None and grid_code in model.grids.index:
        outline = model.grids.geometry.loc[grid_code].boundary
        features.append({"type": "Feature", "properties": {"kind": "grid"}, "geometry": _rounded(outline)})
    segments = model.segments
    if len(segments):
        near = segments.iloc[segments.sindex.query(window, predicate="intersects")]
        spot = shapely.Point(lon, lat)
        order = np.argsort(shapely.distance(np.asarray(near.geometry.array), spot), kind="stable")
        for _index, row in near.iloc[order[:MAX_STREETS]].iterrows():
            piece = row.geometry.intersection(window)
            if piece.is_empty:
                continue
            name = row.get("road_name")
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "kind": "street",
                        "name": str(name) if isinstance(name, str) and name else None,
                    },
                    "geometry": _rounded(piece),
                }
            )
    return {"type": "FeatureCollection", "features": features}
