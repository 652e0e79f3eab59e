"""Tile warm-up: the first view Leaflet asks for, and a big county's tiles encoded before any request."""

from __future__ import annotations

import math

import pytest

from gridmap import serving, tilewarm, vectortiles

# a generated 10,000-grid county (scripts/gencounty.py, seed 1) and the tiles chromium asked for
# when it opened that county's page on a phone (map 390x790 below the header)
COUNTY_10K = (106.6, 34.05, 106.9252593, 34.32131152)


def test_fit_zoom_and_first_view_match_what_leaflet_asked_for():
    assert tilewarm.fit_zoom(COUNTY_10K, (390, 790)) == 10
    tiles = set(tilewarm.first_view(COUNTY_10K, (390, 790)))
    assert tiles == {(10, x, y) for x in range(814, 817) for y in range(406, 410)}
    assert tilewarm.fit_zoom(COUNTY_10K, (880, 740)) == 11  # a bigger map: one zoom closer
    # a map smaller than its padding still gets a view, never a negative zoom
    assert tilewarm.fit_zoom(COUNTY_10K, (30, 30)) == 0


def _app(settings, embed_max: int):
    from web import create_app

    return create_app({**settings, "GRIDMAP_EMBED_MAX_FEATURES": str(embed_max)})


def test_a_tiled_county_has_its_first_view_encoded_before_the_fork(settings, loaded_store):
    app = _app(settings, 0)  # every county is "big": drawn from tiles
    serving.ready()  # what gunicorn's master runs before forking (gridmap.gunicorn_conf)
    warmer = app.extensions["gridmap.tilewarmer"]
    assert warmer.result is not None and warmer.result["tiles"] > 0
    box = vectortiles.bounds(app.extensions["gridmap.reference"].model())
    view = sorted(tilewarm.first_view(box, tilewarm.VIEW_SIZES[0]))
    cache = vectortiles._CACHE  # the process's tile LRU, whichever encoder fills it (Python or PostGIS)
    made = cache.misses
    client = app.test_client()
    for z, x, y in view:
        for layer in ("towns", "grids"):
            assert client.get(f"/vt/{layer}/{z}/{x}/{y}.pbf").status_code == 200
    assert cache.misses == made  # every first-view tile came from the cache
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    n = 2**17
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    assert client.get(f"/vt/grids/17/{x}/{y}.pbf").status_code == 200
    assert cache.misses == made + 1  # elsewhere tiles are still made on demand


@pytest.mark.parametrize("embed_max", [2000])
def test_a_small_county_warms_nothing(settings, loaded_store, embed_max):
    app = _app(settings, embed_max)  # the test county embeds its layers
    serving.ready()
    assert app.extensions["gridmap.tilewarmer"].result is None
