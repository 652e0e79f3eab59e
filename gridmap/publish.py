"""Public representations of the model: GeoJSON layers and JSON lists for pages and APIs."""

from __future__ import annotations

import geopandas as gpd
import shapely

from gridmap.responsibility import LAYER_NAMES, ResponsibilityModel

# The public columns of each layer; nothing else (no private data) leaves through the API.
PUBLIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "towns": ("code", "name", "liaison_leaders"),
    "grids": (
        "code",
        "name",
        "town_code",
        "town_name",
        "grid_head",
        "grid_head_phone",
        "lead_unit_code",
        "lead_department",
        "leaders",
        "area_m2",
    ),
    "segments": (
        "code",
        "road_name",
        "from_name",
        "to_name",
        "unit_code",
        "unit_name",
        "grid_code",
        "length_m",
    ),
    "points": ("code", "name", "category", "address", "unit_code", "unit_name", "grid_code"),
    "communities": ("code", "name", "property_company", "households", "unit_code", "unit_name", "grid_code"),
    "rivers": ("name",),
}
COORDINATE_PRECISION = 1e-7  # degrees; about 1 cm


def _leader_text(model: ResponsibilityModel, codes: list[str]) -> str:
    return "、".join(f"{r['name']}（{r['title']}）" for r in model.leader_records(codes))


def public_layer(model: ResponsibilityModel, name: str) -> gpd.GeoDataFrame:
    """A layer with only its public columns, coordinates rounded to 1e-7 degrees."""
    gdf = model.layer(name).copy()
    if name == "grids":
        gdf["leaders"] = [_leader_text(model, codes) for codes in gdf["leader_codes"]]
        gdf["area_m2"] = gdf["area_m2"].round(1)
    if name == "towns":
        gdf["liaison_leaders"] = [_leader_text(model, codes) for codes in gdf["liaison_codes"]]
    if name == "segments":
        gdf["length_m"] = gdf["length_m"].round(1)
    columns = [c for c in PUBLIC_COLUMNS[name] if c in gdf.columns]
    out = gpd.GeoDataFrame(gdf[columns], geometry=gdf.geometry.values, crs=gdf.crs)
    out.index = gdf.index
    out.geometry = shapely.set_precision(out.geometry.values, COORDINATE_PRECISION, mode="pointwise")
    return out


def layer_geojson(model: ResponsibilityModel, name: str, *, version: int = 0) -> str:
    """The layer as RFC 7946 GeoJSON text (lon/lat), cached per model."""
    model.layer(name)  # raises NotFound for unknown names
    cache = model.__dict__.setdefault("_geojson_cache", {})
    if name not in cache:
        gdf = public_layer(model, name)
        gdf = gdf.astype({c: object for c in gdf.columns if c != "geometry"})
        gdf = gdf.where(gdf.notna(), None)
        cache[name] = gdf.to_json(ensure_ascii=False, drop_id=False)
    return cache[name]


def _counts(series, index) -> list[int]:
    """How often each of ``index`` occurs in ``series``, in the order of ``index``."""
    return [int(n) for n in series.value_counts().reindex(index, fill_value=0).to_numpy()]


def grid_list(model: ResponsibilityModel) -> list[dict]:
    """One entry per grid, in the model's order (column-wise: no per-row Series at 10,000 grids)."""
    grids = model.grids
    codes = list(grids.index)
    columns = (
        grids[c].tolist() for c in ("name", "town_name", "grid_head", "lead_department", "leader_codes")
    )
    counts = (
        _counts(getattr(model, layer)["grid_code"], codes) for layer in ("segments", "points", "communities")
    )
    return [
        {
            "code": code,
            "name": name,
            "town": town,
            "grid_head": head,
            "lead_department": department,
            "leaders": [x["name"] for x in model.leader_records(leaders)],
            "segments": segments,
            "points": points,
            "communities": communities,
        }
        for code, name, town, head, department, leaders, segments, points, communities in zip(
            codes, *columns, *counts, strict=True
        )
    ]


def unit_list(model: ResponsibilityModel) -> list[dict]:
    units = model.units
    columns = (units[c].tolist() for c in ("name", "kind", "contact", "phone", "grid_codes"))
    return [
        {
            "code": code,
            "name": name,
            "kind": kind,
            "contact": contact,
            "phone": phone,
            "grids": grids,
            "segments": int(segments),
        }
        for code, name, kind, contact, phone, grids, segments in zip(
            list(units.index), *columns, units["segment_count"].tolist(), strict=True
        )
    ]


def leader_list(model: ResponsibilityModel) -> list[dict]:
    return [
        {
            "code": code,
            "name": r["name"],
            "title": r["title"],
            "phone": r["phone"],
            "grids": r["grid_codes"],
            "towns": r["town_codes"],
        }
        for code, r in model.leaders.iterrows()
    ]


# Lists that `/`, /grids, /units, /leaders and their APIs show: derived once per data version by
# the reference cache (ReferenceCache.cached), not per request (the grid list takes seconds at 10,000 grids).
CACHED_LISTS = {"grid_list": grid_list, "unit_list": unit_list, "leader_list": leader_list}


def status(model: ResponsibilityModel, *, version: int) -> dict:
    return {
        "data_version": version,
        "counts": {
            **{name: len(model.layer(name)) for name in LAYER_NAMES},
            "categories": int(model.points["category"].nunique()),
            "leaders": len(model.leaders),
            "units": len(model.units),
            "household_heads": len(model.household_heads),
            "inspectors": len(model.inspectors),
        },
    }


def shift_hits(hits: list[dict], *, crs: str | None) -> list[dict]:
    """Give search hits' positions in the display datum (GCJ-02 on Amap tiles)."""
    if crs != "gcj02":
        return hits
    from gridmap.crs import gcj02_from_wgs84

    for hit in hits:
        if "lon" in hit:
            lon, lat = gcj02_from_wgs84(hit["lon"], hit["lat"])
            hit["lon"], hit["lat"] = round(float(lon), 7), round(float(lat), 7)
    return hits
