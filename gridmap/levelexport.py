"""The grid levels in data exports: sub-grids (with their derived level and town), shops, 门前五包
frontages, buildings and the people of every level, with public and office-only columns.

A shop's owner and owner_phone and a grid person's phone are personal data: like household heads
and inspectors (gridmap.dataexport.PERSONAL_TABLES) they leave only in the office's internal
export (``private=True``)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.publish import COORDINATE_PRECISION
from gridmap.responsibility import ResponsibilityModel

LEVEL_LAYERS: tuple[str, ...] = ("subgrids", "shops", "frontages", "buildings")
# The columns everyone may download, in order (derived ones after the imported ones).
LEVEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "subgrids": ("code", "name", "parent_code", "level", "level_name", "town_code", "grid_code", "area_m2"),
    "shops": ("code", "name", "category", "address", "grid_code"),
    "frontages": ("shop_code",),
    "buildings": ("code", "name", "community_code"),
}
PRIVATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "shops": ("owner", "owner_phone"),
    "grid_people": ("phone",),
}
GRID_PEOPLE_COLUMNS: tuple[str, ...] = ("grid_code", "name", "role")
# Shapefile (dBASE) names of the level layers' fields longer than 10 characters.
LEVEL_SHAPEFILE_FIELDS: dict[str, str] = {
    "parent_code": "parent",
    "level_name": "level_nm",
    "community_code": "community",
    "owner_phone": "owner_tel",
}
# Chinese names of the derived level columns.
LEVEL_LABELS: dict[str, str] = {
    "level_name": "网格层级名称",
    "town_code": "所属镇代码",
}
# What the name of a KML placemark is, per level layer.
KML_NAME_FIELDS: dict[str, str] = {"frontages": "shop_code"}


def level_layer(model: ResponsibilityModel, name: str, *, private: bool = False) -> gpd.GeoDataFrame:
    """A level layer with its public columns (and the office-only ones when ``private``),
    coordinates rounded to 1e-7 degree as the other exported layers."""
    gdf = model.layer(name)
    wanted = (*LEVEL_COLUMNS[name], *(PRIVATE_COLUMNS.get(name, ()) if private else ()))
    columns = [c for c in wanted if c in gdf.columns]
    out = gpd.GeoDataFrame(
        pd.DataFrame(gdf[columns]), geometry=gdf.geometry.values, crs=gdf.crs or "EPSG:4326"
    )
    if "area_m2" in out.columns:
        out["area_m2"] = out["area_m2"].astype(float).round(1)
    out.geometry = shapely.set_precision(out.geometry.values, COORDINATE_PRECISION, mode="pointwise")
    return out


def grid_people_table(model: ResponsibilityModel, *, private: bool = False) -> pd.DataFrame:
    """The people of every grid level (grid_code, name, role; phone only when ``private``)."""
    frame = model.grid_people
    wanted = (*GRID_PEOPLE_COLUMNS, *(PRIVATE_COLUMNS["grid_people"] if private else ()))
    return pd.DataFrame(frame[[c for c in wanted if c in frame.columns]]).reset_index(drop=True)
