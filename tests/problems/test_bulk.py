"""Bulk assignment gives the same grid and unit as whois for every spot."""

from __future__ import annotations

import numpy as np

from gridmap.problems.bulk import BulkAssigner
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD, OUTSIDE_GRIDS


def test_bulk_assignment_equals_whois(ctx):
    whois = ctx.reference.whois()
    rng = np.random.default_rng(7)
    lon = np.concatenate(
        [
            rng.uniform(106.505, 106.535, 1500),
            # around segment ends and tolerance edges, and on grid borders
            106.519 + rng.uniform(-0.0008, 0.0008, 300),
            np.full(50, 106.520),
            [ON_BINJIANG_ROAD[0], ON_XINJIAN_ROAD[0], NEAR_HOSPITAL[0], OUTSIDE_GRIDS[0]],
        ]
    )
    lat = np.concatenate(
        [
            rng.uniform(33.900, 33.920, 1500),
            33.910 + rng.uniform(-0.0006, 0.0006, 300),
            rng.uniform(33.906, 33.914, 50),
            [ON_BINJIANG_ROAD[1], ON_XINJIAN_ROAD[1], NEAR_HOSPITAL[1], OUTSIDE_GRIDS[1]],
        ]
    )
    result = BulkAssigner(ctx.reference.model(), tolerance_m=whois.tolerance_m).assign(lon, lat)
    kinds = set()
    for i in range(len(lon)):
        answer = whois.lookup(lon[i], lat[i])
        grid = answer["grid"]["code"] if answer["grid"] else None
        unit = answer["responsible_unit"]["code"] if answer["responsible_unit"] else None
        assert (result.grid_code[i], result.unit_code[i]) == (grid, unit), (lon[i], lat[i], answer)
        assert bool(result.fallback[i]) == answer["fallback"]
        kinds.add((grid is None, answer["segment"] is None, unit is None))
    assert len(kinds) >= 3  # the sample covers in/out of grids, near/far from roads
