"""Distance matrices between stops: planar Euclidean, or along the street network (scipy.sparse.csgraph)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from gridmap.errors import InvalidInput
from gridmap.routing.streets import DEFAULT_MAX_SNAP_M, Placement, StreetNetwork

# A provider takes stop coordinates (n × 2: x, y or lon, lat) and returns an n × n matrix of
# non-negative lengths in metres, with np.inf where one stop cannot be reached from another
# (a stop on a piece of the network not connected to the rest). A provider that cannot place a
# stop at all (far from any street) raises InvalidInput naming the stop.
MatrixProvider = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def planar_matrix(xy: NDArray[np.floating] | list, *, rounded: bool = True) -> NDArray[np.float64]:
    """Euclidean distances between planar points; `rounded` gives TSPLIB EUC_2D whole units.

    Parameters
    ----------
    xy
        n × 2 array of planar coordinates (metres in a projected CRS, or TSPLIB units).
    rounded
        Round each distance to the nearest integer as TSPLIB does (nint = floor(d + 0.5)),
        so that tour lengths match published TSPLIB optima.
    """
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        msg = f"坐标数组应为 n×2，实际形状为 {pts.shape}"
        raise ValueError(msg)
    diff = pts[:, None, :] - pts[None, :, :]
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    if rounded:
        dist = np.floor(dist + 0.5)
    return dist


def street_matrix(
    lonlat: NDArray[np.float64],
    *,
    network: StreetNetwork | None = None,
    ids: list[str] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> NDArray[np.float64]:
    """Lengths along the street network between lon/lat stops (EPSG:4326), np.inf across pieces.

    Every stop is snapped to its nearest street (InvalidInput names those farther than
    `max_snap_m`); the lengths come from one multi-source Dijkstra run (scipy.sparse.csgraph).
    Without a network this refuses with a message that says what to do instead.
    """
    if network is None:
        msg = (
            f"路网尚未导入：无法按街道计算 {len(lonlat)} 个点位之间的步行距离。"
            "请先导入路网（gridmap load 含 segments 图层的数据，或 gridmap import-streets 文件.osm.pbf），"
            "或使用 --planar 按平面坐标（米）的直线距离规划。"
        )
        raise InvalidInput(msg)
    return network.place(lonlat, ids=ids, max_snap_m=max_snap_m).matrix()


class StreetRouter:
    """A matrix provider over a street network that keeps the stops' placement for drawing routes."""

    def __init__(
        self, network: StreetNetwork, *, ids: list[str] | None = None, max_snap_m: float = DEFAULT_MAX_SNAP_M
    ) -> None:
        self.network = network
        self.ids = ids
        self.max_snap_m = max_snap_m
        self.placement: Placement | None = None

    def __call__(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        self.placement = self.network.place(lonlat, ids=self.ids, max_snap_m=self.max_snap_m)
        return self.placement.matrix()


def provider_for(
    *,
    planar: bool,
    network: StreetNetwork | None = None,
    ids: list[str] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> MatrixProvider:
    """The matrix provider for planar coordinates or for lon/lat on the street network."""
    if planar:
        return planar_matrix
    if network is None:
        return street_matrix
    return StreetRouter(network, ids=ids, max_snap_m=max_snap_m)
