"""Whois and grid assignment in the database: PostGIS ``ST_Intersects``/``ST_DWithin`` on the GiST indexes.

The in-memory :class:`gridmap.whois.WhoisIndex` stays the answer for a county; these queries give
the same codes from the stored layers when the data is too large to hold in every worker. They
need PostgreSQL with PostGIS (``GRIDMAP_DATABASE_URL=postgresql+psycopg://…``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from gridmap.errors import ConfigError
from gridmap.store import Store, is_postgresql, reference_tables
from gridmap.whois import POINT_RADIUS_M

# Metres per degree of latitude, a little short so that boxes in degrees always cover the
# circle in metres (the exact distance is then measured on the spheroid).
_M_PER_DEG = 110_000.0


@dataclass(frozen=True)
class Spot:
    """The codes answering for one spot (None: nothing there); the segment's distance in metres."""

    town: str | None
    grid: str | None
    segment: str | None
    segment_distance: float | None
    point: str | None
    community: str | None


def _table(name: str) -> str:
    return reference_tables[name].name


def _locate_sql() -> str:
    """One statement: the spots unnested, each joined laterally to the hit of every layer."""

    def contains(layer: str) -> str:
        return f"SELECT code FROM {_table(layer)} WHERE geom && s.pt AND ST_Intersects(geom, s.pt) ORDER BY id LIMIT 1"

    def near_box(metres: str) -> str:
        # A box in degrees around the spot at least `metres` wide; the GiST index answers `&&`.
        return f"ST_Expand(s.pt, {metres} / ({_M_PER_DEG} * cos(radians(s.lat))), {metres} / {_M_PER_DEG})"

    def at_point_or_inside(layer: str) -> str:
        # Points count as discs of POINT_RADIUS_M (as WhoisIndex buffers them); areas by containment.
        return (
            f"SELECT code FROM {_table(layer)} WHERE geom && {near_box(':radius')} AND CASE "
            "WHEN GeometryType(geom) = 'POINT' THEN ST_DWithin(geom::geography, s.pt::geography, :radius) "
            "ELSE ST_Intersects(geom, s.pt) END ORDER BY id LIMIT 1"
        )

    return (
        "SELECT s.n, town.code, grid.code, seg.code, seg.d, pnt.code, com.code FROM ("
        "  SELECT n, lat, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt"
        "  FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS u(lon, lat, n)"
        ") s"
        f" LEFT JOIN LATERAL ({contains('towns')}) town ON true"
        f" LEFT JOIN LATERAL ({contains('grids')}) grid ON true"
        " LEFT JOIN LATERAL ("
        f"  SELECT code, ST_Distance(geom::geography, s.pt::geography) AS d FROM {_table('segments')}"
        f"  WHERE geom && {near_box(':tolerance')} ORDER BY d, id LIMIT 1"
        ") seg ON seg.d <= :tolerance"
        f" LEFT JOIN LATERAL ({at_point_or_inside('points')}) pnt ON true"
        f" LEFT JOIN LATERAL ({at_point_or_inside('communities')}) com ON true"
        " ORDER BY s.n"
    )


def require_postgis(store: Store) -> None:
    """ConfigError unless ``store`` is PostgreSQL (with PostGIS, which the store sets up)."""
    if not is_postgresql(store.engine):
        msg = (
            "在数据库中查询责任归属需要 PostgreSQL/PostGIS（GRIDMAP_DATABASE_URL=postgresql+psycopg://…）；"
            "SQLite 上请使用内存索引（gridmap.whois.WhoisIndex）"
        )
        raise ConfigError(msg)


def locate_many(
    store: Store, lons: Sequence[float], lats: Sequence[float], *, tolerance_m: float
) -> list[Spot]:
    """For each WGS84 spot: the town and grid containing it, the nearest segment within
    ``tolerance_m`` metres, the inspection point (within 30 m) and community there."""
    require_postgis(store)
    if len(lons) != len(lats):
        msg = f"经度与纬度的个数不一致：{len(lons)} 与 {len(lats)}"
        raise ValueError(msg)
    params = {
        "lons": [float(x) for x in lons],
        "lats": [float(y) for y in lats],
        "tolerance": float(tolerance_m),
        "radius": POINT_RADIUS_M,
    }
    with store.reading() as conn:
        rows = conn.execute(text(_locate_sql()), params).all()
    return [
        Spot(
            town=r[1],
            grid=r[2],
            segment=r[3],
            segment_distance=None if r[4] is None else float(r[4]),
            point=r[5],
            community=r[6],
        )
        for r in rows
    ]


def locate(store: Store, lon: float, lat: float, *, tolerance_m: float) -> Spot:
    """:func:`locate_many` for one spot."""
    return locate_many(store, [lon], [lat], tolerance_m=tolerance_m)[0]


def grids_at(store: Store, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
    """The code of the grid containing each spot (None outside every grid): ``ST_Intersects`` on the index."""
    require_postgis(store)
    sql = (
        "SELECT g.code FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS u(lon, lat, n)"
        f" LEFT JOIN LATERAL (SELECT code FROM {_table('grids')} WHERE geom && ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)"
        " AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)) ORDER BY id LIMIT 1) g ON true"
        " ORDER BY u.n"
    )
    with store.reading() as conn:
        return [
            r[0]
            for r in conn.execute(text(sql), {"lons": list(map(float, lons)), "lats": list(map(float, lats))})
        ]


def has_postgis(store: Store) -> bool:
    """Whether ``store`` is PostgreSQL (with PostGIS, which the store sets up)."""
    return is_postgresql(store.engine)


def _mvt_sql(layer: str) -> str:
    """One tile of a layer by ST_AsMVT: the given features' stored geometry in Web Mercator, simplified,
    clipped to the buffered tile and snapped to its grid by ST_AsMVTGeom; properties as given (jsonb)."""
    return (
        "SELECT ST_AsMVT(t, :layer, :extent, 'geom', 'fid') FROM ("
        "  SELECT f.fid, f.props, ST_AsMVTGeom("
        "    ST_SimplifyPreserveTopology(ST_Transform(r.geom, 3857), :tolerance),"
        "    ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true) AS geom"
        "  FROM unnest(CAST(:codes AS text[]), CAST(:fids AS int[]), CAST(:props AS jsonb[]))"
        "    WITH ORDINALITY AS f(code, fid, props, n)"
        f"  JOIN LATERAL (SELECT geom FROM {_table(layer)} WHERE code = f.code ORDER BY id LIMIT 1) r ON true"
        "  ORDER BY f.n"
        ") t WHERE t.geom IS NOT NULL"
    )


def mvt_tile(
    store: Store,
    *,
    layer: str,
    codes: Sequence[str],
    ids: Sequence[int],
    properties: Sequence[str],
    z: int,
    x: int,
    y: int,
    extent: int,
    buffer: int,
    tolerance_m: float,
) -> bytes:
    """An MVT tile made by PostGIS (ST_AsMVT) of these features of a reference layer: ``codes`` name
    them, ``ids`` are their feature ids, ``properties`` their properties as JSON objects."""
    require_postgis(store)
    params = {
        "layer": layer,
        "codes": list(codes),
        "fids": [int(i) for i in ids],
        "props": list(properties),
        "z": z,
        "x": x,
        "y": y,
        "extent": extent,
        "buffer": buffer,
        "tolerance": float(tolerance_m),
    }
    with store.reading() as conn:
        found = conn.execute(text(_mvt_sql(layer)), params).scalar()
    return bytes(found) if found else b""
