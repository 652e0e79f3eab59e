"""Draw one print page (title, map, legend, responsibility table, footer) with matplotlib's
Agg/PDF/SVG backends into PNG, PDF or SVG bytes."""

from __future__ import annotations

import datetime as dt
import io
import math
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from PIL import Image, PngImagePlugin

from gridmap.printmap import fonts, furniture, style
from gridmap.printmap import text as tm
from gridmap.printmap.labels import CENTRE, POINT_OFFSETS, Label, line_anchors, place_labels
from gridmap.printmap.overlays import Overlay
from gridmap.printmap.page import MM_PER_INCH, PageOptions
from gridmap.printmap.subjects import PageContent, Table
from gridmap.responsibility import ResponsibilityModel

TIMEZONE = ZoneInfo("Asia/Shanghai")
PT_PER_MM = 72.0 / MM_PER_INCH
# matplotlib's font cache and text layout are not thread-safe: one page at a time per process.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Footer:
    """What the foot of the page says: map date (China Standard Time) and the data source."""

    today: dt.date | None = None
    source: str = ""
    extra: str = ""


@dataclass
class _Legend:
    sections: list[tuple[str, list[tuple[dict, str]]]] = field(default_factory=list)

    def add(self, heading: str, entries: list[tuple[dict, str]]) -> None:
        if entries:
            self.sections.append((heading, entries))


# --- geometry to matplotlib -----------------------------------------------------------------


def _polygon_path(geom) -> MplPath | None:
    paths = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        part = shapely.geometry.polygon.orient(part, 1.0)
        paths.append(MplPath(np.asarray(part.exterior.coords)[:, :2], closed=True))
        paths.extend(MplPath(np.asarray(r.coords)[:, :2], closed=True) for r in part.interiors)
    return MplPath.make_compound_path(*paths) if paths else None


def _add_polygons(ax: Axes, geoms, *, zorder: float, **kwargs) -> None:
    patches, colours = [], []
    facecolors = kwargs.pop("facecolors", None)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        path = _polygon_path(geom)
        if path is not None:
            patches.append(PathPatch(path))
            if facecolors is not None:
                colours.append(facecolors[i])
    if patches:
        if facecolors is not None:
            kwargs["facecolors"] = colours
        ax.add_collection(PatchCollection(patches, zorder=zorder, **kwargs), autolim=False)


def _line_parts(geoms) -> tuple[list[np.ndarray], np.ndarray]:
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


def _add_lines(ax: Axes, geoms, *, colors, zorder: float, linewidth: float, **kwargs) -> None:
    arrays, owners = _line_parts(geoms)
    if not arrays:
        return
    if isinstance(colors, (list, tuple, np.ndarray)) and len(colors) == len(geoms) and not isinstance(colors, str):
        colours = [colors[i] for i in owners]
    else:
        colours = colors
    ax.add_collection(
        LineCollection(arrays, colors=colours, linewidths=linewidth, zorder=zorder,
                       capstyle="round", joinstyle="round", **kwargs),
        autolim=False,
    )


def _to_local(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    return gdf.to_crs(crs) if gdf.crs is not None else gdf.set_crs("EPSG:4326").to_crs(crs)


def _in_view(gdf: gpd.GeoDataFrame, view) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    return gdf[shapely.intersects(gdf.geometry.values, view)]


def _put(target, x: float, y: float, text: str, *, halo: float = 0.0, bold: float = 0.0, **kwargs):
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


def palettes(model: ResponsibilityModel, content: PageContent) -> tuple[dict[str, str], dict[str, str]]:
    """Colours of the page's segments (per unit or per grid) and of the table's swatches (empty
    when the table's rows are not what the segments are coloured by)."""
    if content.colour_by == "unit":
        first = [c for c in content.table.swatches if c] if content.table.swatch_kind == "unit" else []
        order = list(dict.fromkeys([*first, *content.segments["unit_code"].dropna()]))
        segment = style.palette_for(order, by="unit")
    else:
        segment = style.palette_for(list(model.grids.index), by="grid")
    table = segment if content.table.swatch_kind == content.colour_by else {}
    return segment, table


# --- layout ---------------------------------------------------------------------------------


def _frames(options: PageOptions) -> tuple[float, dict[str, tuple[float, float, float, float]]]:
    """Scale factor against A4 and the page's boxes (x, y, w, h) in mm from the lower left."""
    width, height = options.size_mm
    s = min(width, height) / 210.0
    m = 10 * s
    if not options.landscape:
        boxes = {
            "title": (m, height - m - 17 * s, width - 2 * m, 17 * s),
            "map": (m, 136 * s, width - 2 * m, height - m - 19 * s - 136 * s),
            "legend": (m, 79 * s, width - 2 * m, 55 * s),  # at most; 30 mm preferred
            "table": (m, 18.5 * s, width - 2 * m, 83.5 * s),
            "footer": (m, m, width - 2 * m, 5 * s),
        }
    else:
        right = 98 * s
        map_w = width - 2 * m - right - 4 * s
        top = height - m - 19 * s
        boxes = {
            "title": (m, height - m - 17 * s, width - 2 * m, 17 * s),
            "map": (m, 17 * s, map_w, top - 17 * s),
            "legend": (width - m - right, top - 95 * s, right, 95 * s),  # at most; 48 preferred
            "table": (width - m - right, 18.5 * s, right, top - 73 * s - 18.5 * s),  # top: see legend
            "footer": (m, m, width - 2 * m, 5 * s),
        }
    return s, boxes


def _axes(fig: Figure, box, size_mm) -> Axes:
    x, y, w, h = box
    W, H = size_mm
    ax = fig.add_axes((x / W, y / H, w / W, h / H))
    ax.set_axis_off()
    return ax


def _points_axes(fig: Figure, box, size_mm) -> Axes:
    """Axes whose data units are typographic points, origin at the top left, y downwards."""
    ax = _axes(fig, box, size_mm)
    ax.set_xlim(0, box[2] * PT_PER_MM)
    ax.set_ylim(box[3] * PT_PER_MM, 0)
    return ax


def _extent(geoms: gpd.GeoSeries, crs: str, box_mm) -> tuple[tuple[float, float, float, float], int]:
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


# --- the map --------------------------------------------------------------------------------


def _draw_map(
    ax: Axes,
    model: ResponsibilityModel,
    content: PageContent,
    overlays: list[Overlay],
    *,
    box_mm,
    s: float,
    legend: _Legend,
) -> int:
    crs = model.local_crs
    (x0, y0, x1, y1), denominator = _extent(content.extent_geoms, crs, box_mm)
    mpp = denominator * (MM_PER_INCH / 72.0) / 1000.0  # map metres per point
    view = shapely.box(x0, y0, x1, y1)
    view_ll = gpd.GeoSeries([view], crs=crs).to_crs("EPSG:4326").iloc[0].buffer(0.002)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor=style.MAP_BACKGROUND,
                           edgecolor="none", zorder=0))

    def local(gdf):
        return _to_local(_in_view(gdf, view_ll), crs)

    towns = local(model.towns)
    rivers = local(model.rivers)
    grids = local(model.grids)
    focus = set(content.focus_grids)
    is_focus = grids.index.isin(list(focus))
    grid_colours = style.palette_for(list(model.grids.index), by="grid")

    # Towns, rivers, grids.
    _add_polygons(ax, rivers.geometry.values, zorder=2, facecolor=style.RIVER_FILL,
                  edgecolor=style.RIVER_EDGE, linewidth=0.5)
    if len(rivers) and not rivers.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        lines = rivers[~rivers.geom_type.isin(["Polygon", "MultiPolygon"])]
        _add_lines(ax, lines.geometry.values, colors=style.RIVER_EDGE, zorder=2, linewidth=3.0)
    if content.colour_by == "grid":
        fills = [matplotlib.colors.to_rgba(grid_colours[c], 0.13 if f else 0.05)
                 for c, f in zip(grids.index, is_focus)]
        _add_polygons(ax, grids.geometry.values, zorder=3, facecolors=fills, edgecolor="none")
    else:
        _add_polygons(ax, grids[~is_focus].geometry.values, zorder=3, facecolor=style.GRID_FILL,
                      edgecolor="none")
        _add_polygons(ax, grids[is_focus].geometry.values, zorder=3, facecolor=style.SUBJECT_FILL,
                      edgecolor="none")
    _add_lines(ax, towns.geometry.values, colors=style.TOWN_EDGE, zorder=4, linewidth=0.9,
               linestyles=(0, (6, 3, 1.5, 3)))
    focus_town = towns[towns.index == content.focus_town] if content.focus_town else towns.iloc[:0]
    if len(focus_town) and not content.focus_grids:
        _add_polygons(ax, focus_town.geometry.values, zorder=1, facecolor=style.SUBJECT_FILL,
                      edgecolor="none")
        _add_lines(ax, focus_town.geometry.values, colors=style.SUBJECT_EDGE, zorder=11,
                   linewidth=2.0 * s)

    # Context: segments and communities not on this page's list, faded.
    subject_segs = set(content.segments.index)
    segs_all = local(model.segments)
    context = segs_all[~segs_all.index.isin(list(subject_segs))]
    _add_lines(ax, context.geometry.values, colors=style.CONTEXT_ROAD, zorder=5, linewidth=1.0)
    comms_all = local(model.communities)
    subject_comms = set(content.communities.index)
    _add_polygons(ax, comms_all[~comms_all.index.isin(list(subject_comms))].geometry.values, zorder=5,
                  facecolor="#e6ece4", edgecolor="none")
    comms = comms_all[comms_all.index.isin(list(subject_comms))]
    _add_polygons(ax, comms.geometry.values, zorder=6, facecolor=style.COMMUNITY_FILL,
                  edgecolor=style.COMMUNITY_EDGE, linewidth=0.5)
    comm_points = comms[~comms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(comm_points):
        ax.scatter(comm_points.geometry.x, comm_points.geometry.y, s=(4 * s) ** 2, marker="s",
                   color=style.COMMUNITY_FILL, edgecolors=style.COMMUNITY_EDGE, linewidths=0.5, zorder=6)

    # Grid boundaries: neighbours thin grey, the subject strong red (or grid colours).
    if content.colour_by == "grid":
        _add_lines(ax, grids.geometry.values, colors=[grid_colours[c] for c in grids.index], zorder=7,
                   linewidth=1.1 * s)
    else:
        _add_lines(ax, grids[~is_focus].geometry.values, colors=style.GRID_EDGE, zorder=7,
                   linewidth=0.8 * s)

    # Subject segments coloured by unit (or grid), with a white casing.
    segs = segs_all[segs_all.index.isin(list(subject_segs))]
    palette, _ = palettes(model, content)
    if content.colour_by == "unit":
        seg_colours = [palette.get(u, "#555555") for u in segs["unit_code"]]
    else:
        seg_colours = [grid_colours.get(g, "#555555") for g in segs["grid_code"]]
    if len(segs):
        _add_lines(ax, segs.geometry.values, colors="white", zorder=8, linewidth=3.8 * s)
        _add_lines(ax, segs.geometry.values, colors=seg_colours, zorder=9, linewidth=2.4 * s)
    if content.colour_by == "grid" or content.focus_grids:
        focus_lines = grids[is_focus]
        _add_lines(ax, focus_lines.geometry.values, colors="white", zorder=10, linewidth=3.4 * s)
        edge = ([grid_colours[c] for c in focus_lines.index] if content.colour_by == "grid"
                else style.SUBJECT_EDGE)
        _add_lines(ax, focus_lines.geometry.values, colors=edge, zorder=11, linewidth=2.0 * s)

    # Inspection points by category symbol. Overview pages (the county, big towns) name only
    # grids and roads; the points' and communities' names are on the grid pages.
    dense = content.kind == "county" or len(content.focus_grids) > 4
    pts = local(content.points)
    obstacles: list = []
    labels: list[Label] = []
    marker_size = 5.2 * s
    categories = []
    if len(pts):
        anchor = pts.geometry.representative_point()
        for category, idx in pts.groupby(pts["category"].astype(str), sort=True).groups.items():
            marker, colour = style.category_symbol(category)
            ax.scatter(anchor.loc[idx].x, anchor.loc[idx].y, s=marker_size ** 2, marker=marker,
                       color=colour, edgecolors="white", linewidths=0.6, zorder=14)
            categories.append((category, marker, colour))
        r = marker_size * 0.6 * mpp
        for code, p in zip(pts.index, anchor):
            obstacles.append(shapely.box(p.x - r, p.y - r, p.x + r, p.y + r))
            if not dense:
                labels.append(Label(str(pts.loc[code, "name"]), [(p.x, p.y, 0.0)], 5.8 * s, 2,
                                    color="#1a1a1a", offsets=POINT_OFFSETS, kind="point"))

    # Overlays (problems, patrol routes, …).
    extra_entries: list[tuple[dict, str]] = []
    for overlay in overlays:
        overlay.validate()
        entries = []
        for text, colour, part in overlay.groups():
            part = _to_local(part, crs)
            geom_types = set(part.geom_type)
            if geom_types & {"Polygon", "MultiPolygon"}:
                polys = part[part.geom_type.isin(["Polygon", "MultiPolygon"])]
                _add_polygons(ax, polys.geometry.values, zorder=12,
                              facecolor=matplotlib.colors.to_rgba(colour, 0.25), edgecolor=colour,
                              linewidth=1.0)
                entries.append(({"kind": "fill", "color": colour}, text))
            if geom_types & {"LineString", "MultiLineString"}:
                lines = part[part.geom_type.isin(["LineString", "MultiLineString"])]
                _add_lines(ax, lines.geometry.values, colors=colour, zorder=13,
                           linewidth=overlay.size * s, linestyles=overlay.linestyle)
                entries.append(({"kind": "line", "color": colour, "width": overlay.size,
                                 "style": overlay.linestyle}, text))
            points = part[part.geom_type.isin(["Point", "MultiPoint"])]
            if len(points):
                xy = points.geometry.representative_point()
                size = overlay.size * s
                if overlay.numbered:
                    ax.scatter(xy.x, xy.y, s=(size * 1.25) ** 2, marker="o", color=colour,
                               edgecolors="white", linewidths=0.7, zorder=16)
                    for n, p in enumerate(xy, start=1):
                        _put(ax, p.x, p.y, str(n), ha="center", va="center", color="white",
                                fontsize=size * 0.62, zorder=17)
                    entries.append(({"kind": "numbered", "color": colour}, text))
                else:
                    ax.scatter(xy.x, xy.y, s=size ** 2, marker=overlay.marker, color=colour,
                               edgecolors="white", linewidths=0.6, zorder=15)
                    entries.append(({"kind": "marker", "marker": overlay.marker, "color": colour}, text))
                rr = size * 0.7 * mpp
                obstacles.extend(shapely.box(p.x - rr, p.y - rr, p.x + rr, p.y + rr) for p in xy)
                if overlay.label_column:
                    for p, name in zip(xy, points[overlay.label_column]):
                        if name is not None and str(name).strip():
                            labels.append(Label(str(name), [(p.x, p.y, 0.0)], 5.8 * s, 1,
                                                color=colour, offsets=POINT_OFFSETS, kind="overlay"))
        if overlay.column is None:  # one-colour layers share a section
            extra_entries.extend(entries)
        else:
            legend.add(overlay.label, entries)
    legend.add("叠加图层", extra_entries)

    obstacles.append(_draw_locator(ax, model, content, view=(x0, y0, x1, y1), s=s, mpp=mpp))

    # Furniture: north arrow (top right) and scale bar (bottom left).
    height_m = 11 * s * PT_PER_MM * mpp
    arrow_x = x1 - 9 * s * PT_PER_MM * mpp
    arrow_y = y1 - 16 * s * PT_PER_MM * mpp
    angle = furniture.convergence_deg(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    obstacles.append(furniture.draw_north_arrow(ax, x=arrow_x, y=arrow_y, height_m=height_m,
                                                angle_deg=angle, size=7.5 * s))
    bar_x = x0 + 6 * s * PT_PER_MM * mpp
    bar_y = y0 + 5 * s * PT_PER_MM * mpp
    obstacles.append(furniture.draw_scale_bar(
        ax, x=bar_x, y=bar_y, max_length_m=(x1 - x0) * 0.28, metres_per_point=mpp, size=6.0 * s))
    scale_text = f"比例尺 {furniture.format_scale(denominator)}"
    _put(ax, bar_x, bar_y - 1.0 * s * PT_PER_MM * mpp, scale_text, ha="left", va="top",
            fontsize=6.0 * s, color="#222", zorder=31)
    obstacles.append(shapely.box(bar_x, bar_y - 4.5 * s * PT_PER_MM * mpp,
                                 bar_x + tm.width(scale_text, 6.0 * s) * mpp, bar_y))

    # Labels: grids, roads, communities; then placement without overlaps.
    for code, geom in zip(grids.index, grids.geometry):
        p = shapely.intersection(geom, view).representative_point()
        if p.is_empty:
            continue
        mine = code in focus
        name = str(model.grids.loc[code, "name"])
        labels.append(Label(
            name, [(p.x, p.y, 0.0)], (10.5 if mine else 8.0) * s, 0 if mine else 4,
            color=(grid_colours[code] if content.colour_by == "grid" else style.SUBJECT_EDGE) if mine
            else "#8a8a8a",
            offsets=CENTRE + tuple((dx * 3, dy * 3, ha, va) for dx, dy, ha, va in POINT_OFFSETS[2:4]),
            kind="grid", required=mine,
        ))
    if len(segs):
        for road, group in segs.groupby("road_name", sort=False):
            merged = shapely.line_merge(shapely.union_all(group.geometry.values))
            longest = max(shapely.get_parts(merged), key=lambda g: g.length)
            need = tm.width(str(road), 6.0 * s) * mpp * 1.1
            if longest.length < need:
                continue
            labels.append(Label(str(road), line_anchors(longest), 6.0 * s, 3, color="#3a3a3a",
                                kind="road"))
    for code, geom in zip(towns.index, towns.geometry):
        if content.kind != "town":  # on grid-level pages the town's name is only clutter
            break
        p = shapely.intersection(geom, view).representative_point()
        if p.is_empty:
            continue
        mine = code == content.focus_town
        labels.append(Label(str(model.towns.loc[code, "name"]), [(p.x, p.y, 0.0)],
                            (10.5 if mine else 8.5) * s, 1 if mine else 6,
                            color=style.SUBJECT_EDGE if mine else "#707070", kind="town"))
    for code, geom in zip(comms.index, comms.geometry):
        if dense:
            break
        p = geom.representative_point()
        labels.append(Label(str(model.communities.loc[code, "name"]), [(p.x, p.y, 0.0)], 5.2 * s, 5,
                            color=style.COMMUNITY_TEXT, offsets=CENTRE + POINT_OFFSETS[2:4],
                            kind="community"))
    placed = place_labels(labels, frame=(x0, y0, x1, y1), metres_per_point=mpp, obstacles=obstacles)
    for item in placed:
        lab = item.label
        big = lab.kind == "grid" and lab.priority == 0
        _put(ax, item.x, item.y, lab.text, halo=3.0 if big else 2.2, bold=0.5 if big else 0.0,
             ha=item.ha, va=item.va, rotation=item.angle, rotation_mode="anchor",
             fontsize=lab.size, color=lab.color, zorder=20)

    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor="none",
                           edgecolor="#222", linewidth=0.9, zorder=40, clip_on=False))

    # Legend entries for what was drawn.
    base = []
    if content.focus_grids and content.colour_by != "grid":
        base.append(({"kind": "fill", "color": style.SUBJECT_FILL, "edge": style.SUBJECT_EDGE, "lw": 1.6},
                     "本图网格" if content.kind != "grid" else "本网格"))
        if (~is_focus).any():
            base.append(({"kind": "fill", "color": style.GRID_FILL, "edge": style.GRID_EDGE, "lw": 0.6},
                         "相邻网格"))
    if len(focus_town) and not content.focus_grids:
        base.append(({"kind": "fill", "color": style.SUBJECT_FILL, "edge": style.SUBJECT_EDGE, "lw": 1.6},
                     "本镇（街道）"))
    if len(towns):
        base.append(({"kind": "line", "color": style.TOWN_EDGE, "width": 0.9,
                      "style": (0, (6, 3, 1.5, 3))}, "镇（街道）界"))
    if len(rivers):
        base.append(({"kind": "fill", "color": style.RIVER_FILL, "edge": style.RIVER_EDGE, "lw": 0.5},
                      "河流"))
    if len(comms):
        base.append(({"kind": "fill", "color": style.COMMUNITY_FILL, "edge": style.COMMUNITY_EDGE,
                      "lw": 0.5}, "小区"))
    if len(context):
        base.append(({"kind": "line", "color": style.CONTEXT_ROAD, "width": 1.0}, "其他路段"))
    legend.sections.insert(0, ("图例", base))
    if len(segs):
        if content.colour_by == "unit":
            units = [u for u in palette if u in set(segs["unit_code"])]
            entries = [({"kind": "line", "color": palette[u], "width": 2.4},
                        str(model.units.loc[u, "name"]) if u in model.units.index else str(u))
                       for u in units]
            legend.sections.insert(1, ("责任路段（按包段单位着色）", entries))
        else:
            grid_codes = [g for g in model.grids.index if g in set(segs["grid_code"])]
            entries = [({"kind": "line", "color": grid_colours[g], "width": 2.4},
                        str(model.grids.loc[g, "name"])) for g in grid_codes]
            legend.sections.insert(1, ("网格及其责任路段（按网格着色）", entries))
    if categories:
        legend.sections.insert(2, ("考察点位类别", [
            ({"kind": "marker", "marker": m, "color": c}, cat) for cat, m, c in categories]))
    return denominator


def _draw_locator(ax: Axes, model: ResponsibilityModel, content: PageContent, *, view, s: float,
                  mpp: float):
    """A small locator map in the top left corner of the map: where this page lies among the
    grids of the county town (or, for pages that show the whole town, among the county's towns).
    Returns its box in map metres, for label placement to avoid."""
    crs = model.local_crs
    x0, y0, x1, y1 = view
    grids = model.grids.geometry.to_crs(crs) if len(model.grids) else gpd.GeoSeries([], crs=crs)
    towns = model.towns.geometry.to_crs(crs) if len(model.towns) else gpd.GeoSeries([], crs=crs)
    view_box = shapely.box(*view)
    mode = "grids"
    if content.kind in ("county", "town"):
        mode = "towns"
    elif len(grids):
        gx0, gy0, gx1, gy1 = grids.total_bounds
        covered = shapely.area(shapely.intersection(shapely.box(gx0, gy0, gx1, gy1), view_box))
        if covered >= 0.9 * shapely.area(shapely.box(gx0, gy0, gx1, gy1)):
            mode = "towns"
    else:
        mode = "towns"
    frame = towns if mode == "towns" else grids
    if not len(frame):
        return shapely.box(x0, y1, x0, y1)
    fx0, fy0, fx1, fy1 = frame.total_bounds
    pad = max(fx1 - fx0, fy1 - fy0) * 0.06
    fx0, fy0, fx1, fy1 = fx0 - pad, fy0 - pad, fx1 + pad, fy1 + pad
    side_pt = 30 * s * PT_PER_MM
    aspect = (fy1 - fy0) / (fx1 - fx0)
    w_pt, h_pt = (side_pt, side_pt * aspect) if aspect <= 1 else (side_pt / aspect, side_pt)
    margin = 2.5 * s * PT_PER_MM
    # Inset position in the parent's data (metres), then as an inset axes.
    bx0, by1 = x0 + margin * mpp, y1 - margin * mpp
    bx1, by0 = bx0 + w_pt * mpp, by1 - h_pt * mpp
    inset = ax.inset_axes((bx0, by0, bx1 - bx0, by1 - by0), transform=ax.transData, zorder=35)
    inset.set_xlim(fx0, fx1)
    inset.set_ylim(fy0, fy1)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_facecolor("white")
    for spine in inset.spines.values():
        spine.set_edgecolor("#444")
        spine.set_linewidth(0.6)
    if mode == "towns":
        mine = model.towns.index == content.focus_town
        _add_polygons(inset, towns[~mine].values, zorder=1, facecolor="#f1f1ec",
                      edgecolor="#8a8a8a", linewidth=0.35)
        _add_polygons(inset, towns[mine].values, zorder=1, facecolor="#fbe3e3",
                      edgecolor=style.SUBJECT_EDGE, linewidth=0.5)
        if len(grids):
            _add_polygons(inset, grids.values, zorder=2, facecolor="#f4b6b6", edgecolor="none")
    else:
        focus = model.grids.index.isin(content.focus_grids)
        _add_polygons(inset, grids[~focus].values, zorder=1, facecolor="#eeeeea",
                      edgecolor="#9a9a9a", linewidth=0.35)
        _add_polygons(inset, grids[focus].values, zorder=2, facecolor="#f08a8a",
                      edgecolor=style.SUBJECT_EDGE, linewidth=0.5)
    inset.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="#111",
                              linewidth=0.8, zorder=3))
    _put(inset, 0.03, 0.03, "位置示意", halo=1.5, transform=inset.transAxes, ha="left",
         va="bottom", fontsize=5.0 * s, color="#333", zorder=4)
    pad_m = 1.5 * s * PT_PER_MM * mpp
    return shapely.box(bx0 - pad_m, by0 - pad_m, bx1 + pad_m, by1 + pad_m)


# --- legend, table, title, footer ----------------------------------------------------------


def _swatch(ax: Axes, spec: dict, x: float, y: float, w: float, h: float) -> None:
    kind = spec["kind"]
    if kind == "line":
        ax.add_artist(Line2D([x, x + w], [y, y], color=spec["color"], linewidth=spec.get("width", 2.0),
                             linestyle=spec.get("style", "-"), solid_capstyle="butt"))
    elif kind == "fill":
        ax.add_artist(Rectangle((x, y - h / 2), w, h, facecolor=spec["color"],
                                edgecolor=spec.get("edge", "none"), linewidth=spec.get("lw", 0.5)))
    elif kind == "marker":
        ax.add_artist(Line2D([x + w / 2], [y], marker=spec["marker"], markersize=h * 1.05,
                             color=spec["color"], markeredgecolor="white", markeredgewidth=0.5,
                             linestyle="none"))
    elif kind == "numbered":
        ax.add_artist(Line2D([x + w / 2], [y], marker="o", markersize=h * 1.3, color=spec["color"],
                             markeredgecolor="white", markeredgewidth=0.5, linestyle="none"))
        _put(ax, x + w / 2, y, "1", ha="center", va="center", color="white", fontsize=h * 0.8)


def _draw_legend(ax: Axes, legend: _Legend, *, box_mm, preferred_mm: float, s: float) -> float:
    """Draw the legend from the top of its box; return the height used in mm. The type shrinks
    from 7 pt until the legend fits the preferred height; a long legend (many units, categories,
    overlays) then grows towards the whole box at a still readable 5.5 pt before shrinking more."""
    width = box_mm[2] * PT_PER_MM
    height = box_mm[3] * PT_PER_MM
    sections = [(h, e) for h, e in legend.sections if e]
    if not sections:
        return 0.0
    all_texts = [t for _, entries in sections for _, t in entries]
    for size in np.arange(7.0 * s, 4.4 * s, -0.25 * s):
        sw = 2.4 * size
        gap = 1.2 * size
        colw = sw + gap + max(tm.width(t, size) for t in all_texts) + 1.6 * size
        ncol = max(1, min(int(width // colw), 8))
        row = size * 1.5
        rows = sum(1 + math.ceil(len(e) / ncol) for _, e in sections)
        need = rows * row
        if need <= preferred_mm * PT_PER_MM or (size <= 5.5 * s and need <= height):
            break
        if size - 0.25 * s < 4.4 * s:
            break
    colw = width / ncol
    y = row * 0.6
    for heading, entries in sections:
        if y > height:
            break
        _put(ax, 0, y, heading, ha="left", va="center", fontsize=size * 1.05, color="#111",
                bold=0.25)
        y += row
        for i, (spec, label) in enumerate(entries):
            col = i % ncol
            if col == 0 and i:
                y += row
            if y > height - row * 0.3:
                break
            x = col * colw
            _swatch(ax, spec, x, y, sw, size * 0.8)
            _put(ax, x + sw + gap, y, tm.fit_line(label, colw - sw - gap - 2, size), ha="left",
                    va="center", fontsize=size, color="#222")
        y += row
    return min(y - row * 0.3, height) / PT_PER_MM


def _table_layout(table: Table, facts, width: float, size: float, colours: dict[str, str]):
    """Lines of every fact and cell at a font size, and the heights they take (points)."""
    line = size * tm.LINE_HEIGHT
    pad = size * 0.45
    fact_lines = []
    for label, value in facts:
        lw = tm.width(label + "：", size)
        fact_lines.append((label, lw, tm.wrap(value, width - lw, size)))
    facts_h = sum(len(v) for _, _, v in fact_lines) * line + (size * 0.6 if fact_lines else 0)
    has_swatch = any(colours.get(c) for c in table.swatches if c)
    swatch_w = size * 2.2 if has_swatch else 0.0
    total = sum(w for _, w in table.columns)
    widths = [w / total * width for _, w in table.columns]
    header = [tm.wrap(h, widths[i] - 2 * pad - (swatch_w if i == 0 else 0), size) for i, (h, _) in
              enumerate(table.columns)]
    header_h = max(len(h) for h in header) * line + 2 * pad
    rows = []
    for r in table.rows:
        cells = [tm.wrap(str(v), widths[i] - 2 * pad - (swatch_w if i == 0 else 0), size)
                 for i, v in enumerate(r)]
        rows.append((cells, max(len(c) for c in cells) * line + 2 * pad))
    title_h = size * 1.15 * tm.LINE_HEIGHT + size * 0.3
    return fact_lines, facts_h, widths, header, header_h, rows, title_h, pad, line, swatch_w


def _draw_table(ax: Axes, table: Table, facts, *, box_mm, s: float, colours: dict[str, str]) -> None:
    width = box_mm[2] * PT_PER_MM
    height = box_mm[3] * PT_PER_MM
    min_size = 4.6 * s
    size = 7.6 * s
    while True:
        layout = _table_layout(table, facts, width, size, colours)
        fact_lines, facts_h, widths, header, header_h, rows, title_h, pad, line, swatch_w = layout
        need = facts_h + title_h + header_h + sum(h for _, h in rows)
        if need <= height or size <= min_size:
            break
        size = max(min_size, size - 0.2 * s)
    y = 0.0
    for label, lw, values in fact_lines:
        _put(ax, 0, y, label + "：", ha="left", va="top", fontsize=size, color="#8a1010",
                bold=0.2)
        for text_line in values:
            _put(ax, lw, y, text_line, ha="left", va="top", fontsize=size, color="#111")
            y += line
    if fact_lines:
        y += size * 0.6
    _put(ax, 0, y, table.title, ha="left", va="top", fontsize=size * 1.15, color="#111",
            bold=0.25)
    y += title_h
    xs = np.concatenate([[0.0], np.cumsum(widths)])

    def draw_row(cells, h, fill, top, swatch=None, colour="#111"):
        ax.add_artist(Rectangle((0, top), width, h, facecolor=fill, edgecolor="#9a9a9a", linewidth=0.4))
        for i, lines in enumerate(cells):
            x = xs[i] + pad + (swatch_w if i == 0 else 0)
            for j, text_line in enumerate(lines):
                _put(ax, x, top + pad + j * line, text_line, ha="left", va="top", fontsize=size,
                        color=colour)
        for xv in xs[1:-1]:
            ax.add_artist(Line2D([xv, xv], [top, top + h], color="#9a9a9a", linewidth=0.4))
        if swatch:
            ax.add_artist(Line2D([pad, pad + swatch_w * 0.75], [top + pad + line * 0.45] * 2,
                               color=swatch, linewidth=2.2 * s, solid_capstyle="butt"))

    draw_row(header, header_h, "#e8e8e4", y)
    y += header_h
    if not rows:
        empty = [["（无）"] + [""] * (len(widths) - 1)]
        draw_row(empty, line + 2 * pad, "white", y)
    swatches = table.swatches + [None] * (len(rows) - len(table.swatches))
    left_out = 0
    for k, ((cells, h), code) in enumerate(zip(rows, swatches)):
        more = len(rows) - k - 1
        if y + h > height - (line + 2 * pad if more else 0):
            left_out = len(rows) - k
            break
        draw_row(cells, h, "white" if k % 2 == 0 else "#f6f6f3", y,
                 colours.get(code) if code else None)
        y += h
    if left_out:
        note = f"……另有 {left_out} 项未能列出，完整名单请见网页或数据导出（XLSX）"
        _put(ax, pad, y + pad, note, ha="left", va="top", fontsize=size, color="#8a1010")


def _draw_title(fig: Figure, content: PageContent, *, box_mm, size_mm, s: float) -> None:
    x, y, w, h = box_mm
    W, H = size_mm
    cx = (x + w / 2) / W
    _put(fig, cx, (y + h) / H, content.title, ha="center", va="top", fontsize=19 * s, color="#111",
             bold=0.7 * s)
    _put(fig, cx, (y + 1.2 * s) / H, content.subtitle, ha="center", va="bottom", fontsize=7.6 * s,
             color="#444")
    fig.add_artist(Line2D([x / W, (x + w) / W], [y / H, y / H], color="#c51b1b", linewidth=1.2 * s))


def _draw_footer(fig: Figure, footer: Footer, *, local_crs: str, denominator: int, box_mm,
                 size_mm, s: float) -> None:
    x, y, w, h = box_mm
    W, H = size_mm
    today = footer.today or dt.datetime.now(TIMEZONE).date()
    left = f"制图日期：{today.year}年{today.month}月{today.day}日（北京时间）"
    if footer.source:
        left += f"　数据来源：{footer.source}"
    if footer.extra:
        left += f"　{footer.extra}"
    right = (f"坐标系：CGCS2000 高斯-克吕格 3 度带（{local_crs}）　比例尺 {furniture.format_scale(denominator)}"
             "\n网格责任地图 gridmap")
    size = 6.0 * s
    right_w = max(tm.width(line, size) for line in right.split("\n"))
    room = w * PT_PER_MM - right_w - 14 * s
    lines = tm.wrap(left, room, size)[:2]
    _put(fig, x / W, (y + h) / H, "\n".join(lines), ha="left", va="top", fontsize=size, color="#333",
             linespacing=1.35)
    _put(fig, (x + w) / W, (y + h) / H, right, ha="right", va="top", fontsize=size, color="#333",
             linespacing=1.35, multialignment="right")
    fig.add_artist(Line2D([x / W, (x + w) / W], [(y + h + 1.2 * s) / H] * 2, color="#bbbbbb",
                          linewidth=0.5))


# --- public ---------------------------------------------------------------------------------


def draw_page(
    model: ResponsibilityModel,
    content: PageContent,
    *,
    options: PageOptions,
    overlays: list[Overlay] | tuple = (),
    footer: Footer = Footer(),
) -> Figure:
    """Build the matplotlib Figure of a page (no file written)."""
    family = fonts.register()
    s, boxes = _frames(options)
    size_mm = options.size_mm
    with matplotlib.rc_context(rc_params(family)):
        fig = Figure(figsize=options.figsize, dpi=options.dpi, facecolor="white")
        FigureCanvasAgg(fig)
        legend = _Legend()
        ax_map = _axes(fig, boxes["map"], size_mm)
        denominator = _draw_map(ax_map, model, content, list(overlays), box_mm=boxes["map"], s=s,
                                legend=legend)
        _draw_title(fig, content, box_mm=boxes["title"], size_mm=size_mm, s=s)
        used = _draw_legend(_points_axes(fig, boxes["legend"], size_mm), legend,
                            box_mm=boxes["legend"], preferred_mm=(48 if options.landscape else 30) * s,
                            s=s)
        lx, ly, lw, lh = boxes["legend"]
        tx, ty, tw, th = boxes["table"]
        top = ly + lh - used - 3.5 * s  # the table starts right under the legend
        boxes["table"] = (tx, ty, tw, top - ty)
        _, colours = palettes(model, content)
        _draw_table(_points_axes(fig, boxes["table"], size_mm), content.table, content.facts,
                    box_mm=boxes["table"], s=s, colours=colours)
        _draw_footer(fig, footer, local_crs=model.local_crs, denominator=denominator,
                     box_mm=boxes["footer"], size_mm=size_mm, s=s)
    return fig


def rc_params(family: str | None = None) -> dict:
    """matplotlib settings of every page: our font, TrueType in PDF, outlines in SVG."""
    family = family or fonts.register()
    return {
        "font.family": [family],
        "font.size": 8.0,
        "pdf.fonttype": 42,  # TrueType (Type 42) embedding: text stays text, selectable
        "ps.fonttype": 42,
        "svg.fonttype": "path",  # SVG text as outlines: looks the same without the font installed
        "axes.unicode_minus": True,  # the font has U+2212
        "path.simplify": True,
        "text.hinting": "none",  # unhinted advances: the stroke copy under a text lines up
        "pdf.compression": 6,
    }


def save_figure(fig: Figure, options: PageOptions, *, title: str) -> bytes:
    """Write a Figure as PNG (dpi in the file), PDF (fonts embedded) or SVG; return the bytes."""
    buf = io.BytesIO()
    meta = {"Title": title}
    if options.fmt == "png":
        with matplotlib.rc_context(rc_params()):
            fig.canvas.draw()
        rgb = np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[:, :, :3])
        info = PngImagePlugin.PngInfo()
        info.add_itxt("Title", title)
        info.add_text("Software", "gridmap")
        Image.fromarray(rgb).save(buf, format="png", dpi=(options.dpi, options.dpi),
                                  compress_level=1, pnginfo=info)
        return buf.getvalue()
    if options.fmt == "pdf":
        meta.update({"Author": "网格责任地图 gridmap", "Creator": "gridmap", "Subject": "网格责任图"})
    else:
        meta.update({"Creator": "gridmap"})
    with matplotlib.rc_context(rc_params()):
        fig.savefig(buf, format=options.fmt, dpi=options.dpi, metadata=meta, facecolor="white")
    return buf.getvalue()


def render_page(
    model: ResponsibilityModel,
    content: PageContent,
    *,
    options: PageOptions,
    overlays: list[Overlay] | tuple = (),
    footer: Footer = Footer(),
) -> bytes:
    """Draw a page and write it in the chosen format; return the file's bytes."""
    with _LOCK:
        fig = draw_page(model, content, options=options, overlays=overlays, footer=footer)
        return save_figure(fig, options, title=content.title)
