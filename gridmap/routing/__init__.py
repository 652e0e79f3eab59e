"""Patrol routing: near-optimal daily patrols for inspectors, single tours and many budgeted routes.

Three levels, three names: the solver's `Tour`/`TourSet` (node indices), a stop file's
`PatrolRoute`/`PatrolPlan` (stop ids), and the county's `DayRoute`/`DayPlan` (inspectors along
the streets, with turns; saved per inspector and day by `patrols`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridmap.routing.county import plan_county_day
    from gridmap.routing.daily import plan_day
    from gridmap.routing.day import DayPlan, DayRoute
    from gridmap.routing.matrix import MatrixProvider, planar_matrix, provider_for, street_matrix
    from gridmap.routing.plan import PatrolPlan, PatrolRoute, plan_patrols
    from gridmap.routing.stops import Stop, read_stops, validate_stops
    from gridmap.routing.streets import StreetNetwork
    from gridmap.routing.tsp import DEFAULT_TIME_LIMIT, path_length, solve_tour
    from gridmap.routing.vrp import Tour, TourSet, solve_tours

# Loaded on first use, so that `gridmap --help` and other commands do not pay for the solvers.
_HOME = {
    "MatrixProvider": "matrix",
    "planar_matrix": "matrix",
    "provider_for": "matrix",
    "street_matrix": "matrix",
    "PatrolPlan": "plan",
    "PatrolRoute": "plan",
    "plan_patrols": "plan",
    "Stop": "stops",
    "read_stops": "stops",
    "validate_stops": "stops",
    "DEFAULT_TIME_LIMIT": "tsp",
    "path_length": "tsp",
    "solve_tour": "tsp",
    "Tour": "vrp",
    "TourSet": "vrp",
    "solve_tours": "vrp",
    "StreetNetwork": "streets",
    "DayPlan": "day",
    "DayRoute": "day",
    "plan_day": "daily",
    "plan_county_day": "county",
}
__all__ = [
    "DEFAULT_TIME_LIMIT",
    "DayPlan",
    "DayRoute",
    "MatrixProvider",
    "PatrolPlan",
    "PatrolRoute",
    "Stop",
    "StreetNetwork",
    "Tour",
    "TourSet",
    "path_length",
    "plan_county_day",
    "plan_day",
    "plan_patrols",
    "planar_matrix",
    "provider_for",
    "read_stops",
    "solve_tour",
    "solve_tours",
    "street_matrix",
    "validate_stops",
]
assert sorted(_HOME) == __all__


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        msg = f"module 'gridmap.routing' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"gridmap.routing.{_HOME[name]}"), name)
