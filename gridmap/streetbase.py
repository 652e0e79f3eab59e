"""The named-street base drawn when no tiles are configured: imported OSM streets and the road segments."""

from __future__ import annotations

import hashlib

import shapely

from gridmap import safe
from gridmap.basemaps import street_features
from gridmap.responsibility import ResponsibilityModel
from gridmap.routing import repository as routing_repository
from gridmap.store import Store


def street_base(store: Store, model: ResponsibilityModel) -> tuple[str, str]:
    """(JSON text, ETag) of the street base: imported OSM streets (if any) and the road segments.

    Kept on the model per street import, so it is built once per data version.
    """
    current = routing_repository.current_import(store)
    key = ("street_base", current["id"] if current else None)
    cache = model.__dict__.setdefault("street_base_cache", {})
    if key not in cache:
        osm = []
        if current:
            osm = [(n, shapely.from_wkb(g)) for n, g in routing_repository.street_lines(store, current["id"])]
        segments = list(zip(model.segments["road_name"], model.segments.geometry))
        data = street_features(osm + segments, osm_count=len(osm))
        text = safe.script_json(data)
        cache.clear()
        cache[key] = (text, hashlib.sha256(text.encode("utf-8")).hexdigest()[:20])
    return cache[key]
