"""Vector tiles made in the database by PostGIS ST_AsMVT when the store is PostgreSQL, else in Python."""

from __future__ import annotations

import json

from gridmap import vectortiles
from gridmap.responsibility import ResponsibilityModel
from gridmap.spatial import repository
from gridmap.store import Store

BUFFER_UNITS = vectortiles.BUFFER_PX * vectortiles.EXTENT // vectortiles.TILE_PX  # the same margin
# Layers whose features the model keys by their stored code (rivers and 门前五包 frontages have none:
# the model numbers them, so they stay with the Python encoder).
CODED_LAYERS = frozenset(
    {"towns", "grids", "segments", "points", "communities", "subgrids", "shops", "buildings"}
)


def postgis_encoder(store: Store) -> tuple[str, vectortiles.Encoder]:
    """An encoder for vectortiles that has PostGIS clip, simplify and encode the selected features
    (the same features, ids and properties as the Python encoder; geometry from the stored layer)."""

    def encode(
        spec: vectortiles.LayerSpec, chosen: vectortiles.TileSelection, z: int, x: int, y: int
    ) -> bytes:
        return repository.mvt_tile(
            store,
            layer=spec.name,
            codes=chosen.codes,
            ids=chosen.ids,
            properties=[json.dumps(p, ensure_ascii=False) for p in chosen.properties],
            z=z,
            x=x,
            y=y,
            extent=vectortiles.EXTENT,
            buffer=BUFFER_UNITS,
            tolerance_m=chosen.simplify_m,
        )

    return f"postgis:{store.url}", encode


def vector_tile(
    store: Store,
    model: ResponsibilityModel,
    *,
    version: int,
    layer: str,
    z: int,
    x: int,
    y: int,
    crs: str = "wgs84",
    postgis: bool = True,
) -> vectortiles.Tile:
    """A reference layer's tile: by PostGIS ST_AsMVT on PostgreSQL in WGS84 (GCJ-02 tiles shift the
    geometry in Python), by the Python encoder otherwise; cached per data version either way."""
    use = postgis and crs == "wgs84" and layer in CODED_LAYERS and repository.has_postgis(store)
    encoder = postgis_encoder(store) if use else None
    return vectortiles.vector_tile(
        model, version=version, layer=layer, z=z, x=x, y=y, crs=crs, encoder=encoder
    )
