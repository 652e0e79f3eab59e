"""Whois answered by PostGIS queries instead of a spatial index held in every worker.

`DatabaseWhois` has the interface of :class:`gridmap.whois.WhoisIndex` (``model``, ``locate``,
``lookup``) and builds its answers with the same :class:`gridmap.whois.Records` from the model's
frames, so the JSON is the same; only the question "what is at this spot" goes to the database
(:func:`gridmap.spatial.repository.locate_many`, ``ST_Intersects``/``ST_DWithin`` on the GiST
indexes). Chosen by ``GRIDMAP_WHOIS_SOURCE=database``.

The grid levels (sub-grids, 门前五包 frontages, buildings: small layers) are answered by the same
in-memory :class:`gridmap.levelwhois.LevelIndex` as in memory mode, over its own metric copies of
those layers only; the county-town layers stay in PostGIS.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

from gridmap.levelwhois import LevelIndex, default_frontage_tolerance_m
from gridmap.responsibility import ResponsibilityModel
from gridmap.spatial import repository
from gridmap.store import Store
from gridmap.whois import Located, Records, code_positions, parse_lonlat

# The database measures on the spheroid, the index in the local metric CRS: the database is asked
# for segments this much further, and the metric distance then decides as the index does.
SEGMENT_MARGIN_M = 1.0


class DatabaseWhois:
    """Whois over one model whose spatial questions PostGIS answers; no STRtree, no metric copies."""

    def __init__(
        self,
        store: Store,
        model: ResponsibilityModel,
        *,
        tolerance_m: float,
        frontage_tolerance_m: float | None = None,
    ) -> None:
        """Answer for ``model`` (the store's data) from ``store``, which must be PostgreSQL/PostGIS;
        ``tolerance_m`` is GRIDMAP_WHOIS_TOLERANCE_M, ``frontage_tolerance_m``
        GRIDMAP_FRONTAGE_TOLERANCE_M (None: its registry default)."""
        repository.require_postgis(store)
        self.store = store
        self.model = model
        self.tolerance_m = float(tolerance_m)
        self._to_local = Transformer.from_crs("EPSG:4326", model.local_crs, always_xy=True)
        self._records = Records(model)
        if frontage_tolerance_m is None:
            frontage_tolerance_m = default_frontage_tolerance_m()
        self._levels = LevelIndex(model, frontage_tolerance_m=frontage_tolerance_m, own_projection=True)

    def _project(self, xy: np.ndarray) -> np.ndarray:
        """WGS84 coordinates to the local CRS, as ``GeoSeries.to_crs`` projects them for the index."""
        x, y = self._to_local.transform(xy[:, 0], xy[:, 1])
        return np.column_stack((x, y))

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Located:
        """The town, grid, nearest segment, point and community of many spots, as positions into
        the model's frames (as `WhoisIndex.locate`); one query for all of them."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        model = self.model
        if not len(lon):
            empty = np.empty(0, dtype=np.int64)
            return Located(empty, empty, empty, np.empty(0), empty, empty)
        spots = repository.locate_many(
            self.store, lon.tolist(), lat.tolist(), tolerance_m=self.tolerance_m + SEGMENT_MARGIN_M
        )
        segment = code_positions(model.segments.index, [s.segment for s in spots])
        distance = np.full(len(spots), np.nan)
        hit = np.flatnonzero(segment >= 0)
        if len(hit):
            # The distance in the local CRS, as the index measures it (same projection, same rounding).
            lines = shapely.transform(model.segments.geometry.to_numpy()[segment[hit]], self._project)
            x, y = self._to_local.transform(lon[hit], lat[hit])
            metres = shapely.distance(lines, shapely.points(x, y))
            near = metres <= self.tolerance_m
            distance[hit[near]] = metres[near]
            segment[hit[~near]] = -1
        return Located(
            town=code_positions(model.towns.index, [s.town for s in spots]),
            grid=code_positions(model.grids.index, [s.grid for s in spots]),
            segment=segment,
            segment_distance=distance,
            point=code_positions(model.points.index, [s.point for s in spots]),
            community=code_positions(model.communities.index, [s.community for s in spots]),
        )

    def lookup(self, lon: object, lat: object, *, crs: str | None = None) -> dict:
        """Everything about who answers for one spot, as `WhoisIndex.lookup` gives it."""
        lon_f, lat_f = parse_lonlat(lon, lat, crs=crs)
        found = self.locate(np.array([lon_f]), np.array([lat_f]))
        town, grid = int(found.town[0]), int(found.grid[0])
        answer = self._records.answer(
            lon_f,
            lat_f,
            town=town,
            grid=grid,
            segment=int(found.segment[0]),
            distance=float(found.segment_distance[0]),
            point=int(found.point[0]),
            community=int(found.community[0]),
        )
        spot = shapely.Point(*self._to_local.transform(lon_f, lat_f))
        answer.update(self._levels.answer(spot, town=town, grid=grid, records=self._records))
        return answer
