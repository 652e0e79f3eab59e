"""A map being drawn: its frame at a round scale (extent in metres, view, obstacles) and its drawn layers."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from gridmap.printmap import furniture, style
from gridmap.printmap.content import PageContent
from gridmap.printmap.draw import in_view, to_local
from gridmap.printmap.labels import Label
from gridmap.printmap.page import MM_PER_INCH
from gridmap.responsibility import ResponsibilityModel


def extent(geoms: gpd.GeoSeries, crs: str, box_mm) -> tuple[tuple[float, float, float, float], int]:
    """The map frame in metres at a round scale so that the focus fits with a margin."""
    _, _, fw, fh = box_mm
    local = geoms.to_crs(crs)
    minx, miny, maxx, maxy = local.total_bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        minx, miny, maxx, maxy = -500.0, -500.0, 500.0, 500.0
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w = max(maxx - minx, 150.0) * 1.12
    h = max(maxy - miny, 150.0) * 1.12
    denominator = furniture.nice_scale(max(w / fw, h / fh) * 1000.0)
    ew, eh = fw / 1000.0 * denominator, fh / 1000.0 * denominator
    return (cx - ew / 2, cy - eh / 2, cx + ew / 2, cy + eh / 2), denominator


@dataclass
class Frame:
    """One map being drawn: its axes, extent in metres, scale, and what labels must avoid."""

    ax: Axes
    model: ResponsibilityModel
    content: PageContent
    s: float
    crs: str
    bounds: tuple[float, float, float, float]
    denominator: int
    mpp: float  # map metres per point
    view: shapely.Polygon
    view_ll: shapely.Polygon  # the view in longitude/latitude, with a margin
    obstacles: list = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def local(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return to_local(in_view(gdf, self.view_ll), self.crs)


@dataclass
class Drawn:
    """The layers drawn on a map, in map metres, as the labels and the legend need them."""

    towns: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    focus: set
    is_focus: np.ndarray
    grid_colours: dict[str, str]
    focus_town: gpd.GeoDataFrame
    context: gpd.GeoDataFrame | None = None
    comms: gpd.GeoDataFrame | None = None
    segs: gpd.GeoDataFrame | None = None
    palette: dict[str, str] = field(default_factory=dict)


def make_frame(ax: Axes, model: ResponsibilityModel, content: PageContent, *, box_mm, s: float) -> Frame:
    crs = model.local_crs
    (x0, y0, x1, y1), denominator = extent(content.extent_geoms, crs, box_mm)
    mpp = denominator * (MM_PER_INCH / 72.0) / 1000.0  # map metres per point
    view = shapely.box(x0, y0, x1, y1)
    view_ll = gpd.GeoSeries([view], crs=crs).to_crs("EPSG:4326").iloc[0].buffer(0.002)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    ax.add_patch(
        Rectangle(
            (0, 0), 1, 1, transform=ax.transAxes, facecolor=style.MAP_BACKGROUND, edgecolor="none", zorder=0
        )
    )
    return Frame(ax, model, content, s, crs, (x0, y0, x1, y1), denominator, mpp, view, view_ll)
