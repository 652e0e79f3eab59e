"""Geometry and text onto matplotlib axes: polygons, lines, and text that stays text in PDF."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from gridmap.printmap.page import MM_PER_INCH

AREA_TYPES = ["Polygon", "MultiPolygon"]  # geometry types drawn as areas

__all__ = [
    "PT_PER_MM",
    "add_lines",
    "add_polygons",
    "in_view",
    "line_parts",
    "polygon_path",
    "put",
    "to_local",
]

PT_PER_MM = 72.0 / MM_PER_INCH


def polygon_path(geom) -> MplPath | None:
    paths = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        part = shapely.geometry.polygon.orient(part, 1.0)
        paths.append(MplPath(np.asarray(part.exterior.coords)[:, :2], closed=True))
        paths.extend(MplPath(np.asarray(r.coords)[:, :2], closed=True) for r in part.interiors)
    return MplPath.make_compound_path(*paths) if paths else None


def add_polygons(ax: Axes, geoms, *, zorder: float, **kwargs) -> None:
    patches, colours = [], []
    facecolors = kwargs.pop("facecolors", None)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        path = polygon_path(geom)
        if path is not None:
            patches.append(PathPatch(path))
            if facecolors is not None:
                colours.append(facecolors[i])
    if patches:
        if facecolors is not None:
            kwargs["facecolors"] = colours
        ax.add_collection(PatchCollection(patches, zorder=zorder, **kwargs), autolim=False)


def line_parts(geoms) -> tuple[list[np.ndarray], np.ndarray]:
    """Coordinate arrays of every line part and the index of the geometry each came from."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return [], np.array([], dtype=int)
    boundary = np.array([g is not None and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms])
    if boundary.any():
        geoms = geoms.copy()
        geoms[boundary] = shapely.boundary(geoms[boundary])
    parts, index = shapely.get_parts(geoms, return_index=True)
    coords, ring = shapely.get_coordinates(parts, return_index=True)
    splits = np.flatnonzero(np.diff(ring)) + 1
    arrays = np.split(coords, splits) if len(coords) else []
    owners = index[np.unique(ring)] if len(ring) else np.array([], dtype=int)
    return arrays, owners


def add_lines(ax: Axes, geoms, *, colors, zorder: float, linewidth: float, **kwargs) -> None:
    arrays, owners = line_parts(geoms)
    if not arrays:
        return
    if (
        isinstance(colors, (list, tuple, np.ndarray))
        and len(colors) == len(geoms)
        and not isinstance(colors, str)
    ):
        colours = [colors[i] for i in owners]
    else:
        colours = colors
    ax.add_collection(
        LineCollection(
            arrays,
            colors=colours,
            linewidths=linewidth,
            zorder=zorder,
            capstyle="round",
            joinstyle="round",
            **kwargs,
        ),
        autolim=False,
    )


def to_local(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    return gdf.to_crs(crs) if gdf.crs is not None else gdf.set_crs("EPSG:4326").to_crs(crs)


def in_view(gdf: gpd.GeoDataFrame, view) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    return gdf[shapely.intersects(gdf.geometry.values, view)]


def put(target, x: float, y: float, text: str, *, halo: float = 0.0, bold: float = 0.0, **kwargs):
    """Write text that stays real, selectable text in PDF. A white halo and a faux-bold stroke
    (the font has one weight) are drawn by a stroke-only copy underneath: matplotlib turns text
    with path effects into outlines, so the text itself gets none."""
    kwargs.setdefault("parse_math", False)  # user text: "$" is a dollar sign, not math
    kwargs.setdefault("clip_on", False)  # placed inside its box already; clipping costs time
    effects = []
    colour = kwargs.get("color", "#111")
    if halo:
        effects.append(patheffects.Stroke(linewidth=halo, foreground="white"))
    if bold:
        effects.append(patheffects.Stroke(linewidth=bold, foreground=colour))
    if effects:
        under = dict(kwargs, zorder=kwargs.get("zorder", 3) - 0.01)
        shadow = target.text(x, y, text, path_effects=effects, **under)
        shadow.set_gid("stroke")
    return target.text(x, y, text, **kwargs)
