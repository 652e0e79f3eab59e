"""The map of a printed page: its extent and scale, the layers, overlays, furniture, labels, locator."""

from __future__ import annotations

import geopandas as gpd
import matplotlib
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from gridmap.printmap import furniture, levellayers, style
from gridmap.printmap import text as tm
from gridmap.printmap.annotate import draw_labels, draw_overlays
from gridmap.printmap.content import PageContent
from gridmap.printmap.draw import AREA_TYPES, PT_PER_MM, add_lines, add_polygons, put
from gridmap.printmap.frame import Drawn, Frame, make_frame
from gridmap.printmap.labels import POINT_OFFSETS, Label
from gridmap.printmap.legend import Legend
from gridmap.printmap.overlays import Overlay
from gridmap.responsibility import ResponsibilityModel

__all__ = ["draw_map", "palettes"]


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
    if content.table.swatch_kind == "level":  # child sub-grids' rows carry their colour
        table = {**segment, **levellayers.child_colours(content.child_subgrids)}
    return segment, table


def _draw_areas(f: Frame) -> Drawn:
    """Towns, rivers and grids (filled by focus or by grid colour), the subject town."""
    ax, model, content, s = f.ax, f.model, f.content, f.s
    towns = f.local(model.towns)
    rivers = f.local(model.rivers)
    grids = f.local(model.grids)
    focus = set(content.focus_grids)
    is_focus = grids.index.isin(list(focus))
    grid_colours = style.palette_for(list(model.grids.index), by="grid")

    add_polygons(
        ax,
        rivers.geometry.values,
        zorder=2,
        facecolor=style.RIVER_FILL,
        edgecolor=style.RIVER_EDGE,
        linewidth=0.5,
    )
    if len(rivers) and not rivers.geom_type.isin(AREA_TYPES).all():
        lines = rivers[~rivers.geom_type.isin(AREA_TYPES)]
        add_lines(ax, lines.geometry.values, colors=style.RIVER_EDGE, zorder=2, linewidth=3.0)
    if content.colour_by == "grid":
        fills = [
            matplotlib.colors.to_rgba(grid_colours[c], 0.13 if on else 0.05)
            for c, on in zip(grids.index, is_focus)
        ]
        add_polygons(ax, grids.geometry.values, zorder=3, facecolors=fills, edgecolor="none")
    else:
        add_polygons(
            ax, grids[~is_focus].geometry.values, zorder=3, facecolor=style.GRID_FILL, edgecolor="none"
        )
        add_polygons(
            ax, grids[is_focus].geometry.values, zorder=3, facecolor=style.SUBJECT_FILL, edgecolor="none"
        )
    add_lines(
        ax,
        towns.geometry.values,
        colors=style.TOWN_EDGE,
        zorder=4,
        linewidth=0.9,
        linestyles=(0, (6, 3, 1.5, 3)),
    )
    focus_town = towns[towns.index == content.focus_town] if content.focus_town else towns.iloc[:0]
    if len(focus_town) and not content.focus_grids and not content.subject_subgrids:
        add_polygons(ax, focus_town.geometry.values, zorder=1, facecolor=style.SUBJECT_FILL, edgecolor="none")
        add_lines(ax, focus_town.geometry.values, colors=style.SUBJECT_EDGE, zorder=11, linewidth=2.0 * s)
    return Drawn(towns, rivers, grids, focus, is_focus, grid_colours, focus_town)


def _draw_network(f: Frame, drawn: Drawn) -> None:
    """Context segments and communities, grid boundaries, the page's segments and subject grids."""
    ax, model, content, s = f.ax, f.model, f.content, f.s
    grids, is_focus, grid_colours = drawn.grids, drawn.is_focus, drawn.grid_colours
    # Context: segments and communities not on this page's list, faded.
    subject_segs = set(content.segments.index)
    segs_all = f.local(model.segments)
    drawn.context = segs_all[~segs_all.index.isin(list(subject_segs))]
    add_lines(ax, drawn.context.geometry.values, colors=style.CONTEXT_ROAD, zorder=5, linewidth=1.0)
    comms_all = f.local(model.communities)
    subject_comms = set(content.communities.index)
    add_polygons(
        ax,
        comms_all[~comms_all.index.isin(list(subject_comms))].geometry.values,
        zorder=5,
        facecolor="#e6ece4",
        edgecolor="none",
    )
    comms = drawn.comms = comms_all[comms_all.index.isin(list(subject_comms))]
    add_polygons(
        ax,
        comms.geometry.values,
        zorder=6,
        facecolor=style.COMMUNITY_FILL,
        edgecolor=style.COMMUNITY_EDGE,
        linewidth=0.5,
    )
    comm_points = comms[~comms.geom_type.isin(AREA_TYPES)]
    if len(comm_points):
        ax.scatter(
            comm_points.geometry.x,
            comm_points.geometry.y,
            s=(4 * s) ** 2,
            marker="s",
            color=style.COMMUNITY_FILL,
            edgecolors=style.COMMUNITY_EDGE,
            linewidths=0.5,
            zorder=6,
        )

    # Grid boundaries: neighbours thin grey, the subject strong red (or grid colours).
    if content.colour_by == "grid":
        add_lines(
            ax,
            grids.geometry.values,
            colors=[grid_colours[c] for c in grids.index],
            zorder=7,
            linewidth=1.1 * s,
        )
    else:
        add_lines(ax, grids[~is_focus].geometry.values, colors=style.GRID_EDGE, zorder=7, linewidth=0.8 * s)

    # Subject segments coloured by unit (or grid), with a white casing.
    segs = drawn.segs = segs_all[segs_all.index.isin(list(subject_segs))]
    palette, _ = palettes(model, content)
    drawn.palette = palette
    if content.colour_by == "unit":
        seg_colours = [palette.get(u, "#555555") for u in segs["unit_code"]]
    else:
        seg_colours = [grid_colours.get(g, "#555555") for g in segs["grid_code"]]
    if len(segs):
        add_lines(ax, segs.geometry.values, colors="white", zorder=8, linewidth=3.8 * s)
        add_lines(ax, segs.geometry.values, colors=seg_colours, zorder=9, linewidth=2.4 * s)
    if content.colour_by == "grid" or content.focus_grids:
        focus_lines = grids[is_focus]
        add_lines(ax, focus_lines.geometry.values, colors="white", zorder=10, linewidth=3.4 * s)
        edge = (
            [grid_colours[c] for c in focus_lines.index]
            if content.colour_by == "grid"
            else style.SUBJECT_EDGE
        )
        add_lines(ax, focus_lines.geometry.values, colors=edge, zorder=11, linewidth=2.0 * s)


def _draw_points(f: Frame, *, dense: bool) -> list[tuple[str, str, str]]:
    """Inspection points by category symbol; (category, marker, colour) of those drawn."""
    ax, s, mpp = f.ax, f.s, f.mpp
    pts = f.local(f.content.points)
    marker_size = 5.2 * s
    categories = []
    if len(pts):
        anchor = pts.geometry.representative_point()
        for category, idx in pts.groupby(pts["category"].astype(str), sort=True).groups.items():
            marker, colour = style.category_symbol(category)
            ax.scatter(
                anchor.loc[idx].x,
                anchor.loc[idx].y,
                s=marker_size**2,
                marker=marker,
                color=colour,
                edgecolors="white",
                linewidths=0.6,
                zorder=14,
            )
            categories.append((category, marker, colour))
        r = marker_size * 0.6 * mpp
        for code, p in zip(pts.index, anchor):
            f.obstacles.append(shapely.box(p.x - r, p.y - r, p.x + r, p.y + r))
            if not dense:
                f.labels.append(
                    Label(
                        str(pts.loc[code, "name"]),
                        [(p.x, p.y, 0.0)],
                        5.8 * s,
                        2,
                        color="#1a1a1a",
                        offsets=POINT_OFFSETS,
                        kind="point",
                    )
                )
    return categories


def _draw_furniture(f: Frame) -> None:
    """North arrow (top right) and scale bar with the scale (bottom left)."""
    ax, s, mpp = f.ax, f.s, f.mpp
    x0, y0, x1, y1 = f.bounds
    height_m = 11 * s * PT_PER_MM * mpp
    arrow_x = x1 - 9 * s * PT_PER_MM * mpp
    arrow_y = y1 - 16 * s * PT_PER_MM * mpp
    angle = furniture.convergence_deg(f.crs, (x0 + x1) / 2, (y0 + y1) / 2)
    f.obstacles.append(
        furniture.draw_north_arrow(ax, x=arrow_x, y=arrow_y, height_m=height_m, angle_deg=angle, size=7.5 * s)
    )
    bar_x = x0 + 6 * s * PT_PER_MM * mpp
    bar_y = y0 + 5 * s * PT_PER_MM * mpp
    f.obstacles.append(
        furniture.draw_scale_bar(
            ax, x=bar_x, y=bar_y, max_length_m=(x1 - x0) * 0.28, metres_per_point=mpp, size=6.0 * s
        )
    )
    scale_text = f"比例尺 {furniture.format_scale(f.denominator)}"
    put(
        ax,
        bar_x,
        bar_y - 1.0 * s * PT_PER_MM * mpp,
        scale_text,
        ha="left",
        va="top",
        fontsize=6.0 * s,
        color="#222",
        zorder=31,
    )
    f.obstacles.append(
        shapely.box(
            bar_x, bar_y - 4.5 * s * PT_PER_MM * mpp, bar_x + tm.width(scale_text, 6.0 * s) * mpp, bar_y
        )
    )


def _legend_sections(f: Frame, drawn: Drawn, categories: list[tuple[str, str, str]], legend: Legend) -> None:
    """Legend entries for what was drawn: base layers, the page's segments, point categories."""
    model, content = f.model, f.content
    empty = pd.DataFrame()
    context = drawn.context if drawn.context is not None else empty
    comms = drawn.comms if drawn.comms is not None else empty
    segs = drawn.segs if drawn.segs is not None else empty
    palette, grid_colours = drawn.palette, drawn.grid_colours
    base = []
    if content.focus_grids and content.colour_by != "grid":
        base.append(
            (
                {"kind": "fill", "color": style.SUBJECT_FILL, "edge": style.SUBJECT_EDGE, "lw": 1.6},
                "本图网格" if content.kind != "grid" else "本网格",
            )
        )
        if (~drawn.is_focus).any():
            base.append(
                ({"kind": "fill", "color": style.GRID_FILL, "edge": style.GRID_EDGE, "lw": 0.6}, "相邻网格")
            )
    if len(drawn.focus_town) and not content.focus_grids and not content.subject_subgrids:
        base.append(
            (
                {"kind": "fill", "color": style.SUBJECT_FILL, "edge": style.SUBJECT_EDGE, "lw": 1.6},
                "本镇（街道）",
            )
        )
    if len(drawn.towns):
        base.append(
            (
                {"kind": "line", "color": style.TOWN_EDGE, "width": 0.9, "style": (0, (6, 3, 1.5, 3))},
                "镇（街道）界",
            )
        )
    if len(drawn.rivers):
        base.append(
            ({"kind": "fill", "color": style.RIVER_FILL, "edge": style.RIVER_EDGE, "lw": 0.5}, "河流")
        )
    if len(comms):
        base.append(
            ({"kind": "fill", "color": style.COMMUNITY_FILL, "edge": style.COMMUNITY_EDGE, "lw": 0.5}, "小区")
        )
    if len(context):
        base.append(({"kind": "line", "color": style.CONTEXT_ROAD, "width": 1.0}, "其他路段"))
    legend.sections.insert(0, ("图例", base))
    if len(segs):
        if content.colour_by == "unit":
            units = [u for u in palette if u in set(segs["unit_code"])]
            entries = [
                (
                    {"kind": "line", "color": palette[u], "width": 2.4},
                    str(model.units.loc[u, "name"]) if u in model.units.index else str(u),
                )
                for u in units
            ]
            legend.sections.insert(1, ("责任路段（按包段单位着色）", entries))
        else:
            grid_codes = [g for g in model.grids.index if g in set(segs["grid_code"])]
            entries = [
                ({"kind": "line", "color": grid_colours[g], "width": 2.4}, str(model.grids.loc[g, "name"]))
                for g in grid_codes
            ]
            legend.sections.insert(1, ("网格及其责任路段（按网格着色）", entries))
    if categories:
        legend.sections.insert(
            2,
            (
                "考察点位类别",
                [({"kind": "marker", "marker": m, "color": c}, cat) for cat, m, c in categories],
            ),
        )


def draw_map(
    ax: Axes,
    model: ResponsibilityModel,
    content: PageContent,
    overlays: list[Overlay],
    *,
    box_mm,
    s: float,
    legend: Legend,
) -> int:
    """Draw the page's map into ``ax`` and add its legend sections; return the scale denominator."""
    f = make_frame(ax, model, content, box_mm=box_mm, s=s)
    drawn = _draw_areas(f)
    _draw_network(f, drawn)
    # Overview pages (the county, big towns) name only grids and roads; the points' and
    # communities' names are on the grid pages.
    dense = content.kind == "county" or len(content.focus_grids) > 4
    levels = levellayers.draw_levels(f, dense=dense)
    categories = _draw_points(f, dense=dense)
    draw_overlays(f, overlays, legend)
    f.obstacles.append(_draw_locator(ax, model, content, view=f.bounds, s=s, mpp=f.mpp))
    _draw_furniture(f)
    draw_labels(f, drawn, dense=dense)
    ax.add_patch(
        Rectangle(
            (0, 0),
            1,
            1,
            transform=ax.transAxes,
            facecolor="none",
            edgecolor="#222",
            linewidth=0.9,
            zorder=40,
            clip_on=False,
        )
    )
    _legend_sections(f, drawn, categories, legend)
    levellayers.level_legend(f, levels, legend)
    return f.denominator


def _draw_locator(ax: Axes, model: ResponsibilityModel, content: PageContent, *, view, s: float, mpp: float):
    """A small locator map in the top left corner of the map: where this page lies among the
    grids of the county town (or, for pages that show the whole town, among the county's towns).
    Returns its box in map metres, for label placement to avoid."""
    crs = model.local_crs
    x0, y0, x1, y1 = view
    grids = model.grids.geometry.to_crs(crs) if len(model.grids) else gpd.GeoSeries([], crs=crs)
    towns = model.towns.geometry.to_crs(crs) if len(model.towns) else gpd.GeoSeries([], crs=crs)
    view_box = shapely.box(*view)
    mode = "grids"
    focus_codes = content.focus_grids or content.locator_grids
    if content.kind in ("county", "town") or (content.subject_subgrids and not focus_codes):
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
        add_polygons(
            inset, towns[~mine].values, zorder=1, facecolor="#f1f1ec", edgecolor="#8a8a8a", linewidth=0.35
        )
        add_polygons(
            inset,
            towns[mine].values,
            zorder=1,
            facecolor="#fbe3e3",
            edgecolor=style.SUBJECT_EDGE,
            linewidth=0.5,
        )
        if len(grids):
            add_polygons(inset, grids.values, zorder=2, facecolor="#f4b6b6", edgecolor="none")
    else:
        focus = model.grids.index.isin(focus_codes)
        add_polygons(
            inset, grids[~focus].values, zorder=1, facecolor="#eeeeea", edgecolor="#9a9a9a", linewidth=0.35
        )
        add_polygons(
            inset,
            grids[focus].values,
            zorder=2,
            facecolor="#f08a8a",
            edgecolor=style.SUBJECT_EDGE,
            linewidth=0.5,
        )
    if content.subject_subgrids:  # the village, group or sub-grid itself
        subject = model.subgrids.geometry[model.subgrids.index.isin(content.subject_subgrids)]
        add_polygons(
            inset, subject.to_crs(crs).values, zorder=2.5, facecolor=style.SUBJECT_EDGE, edgecolor="none"
        )
    inset.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="#111", linewidth=0.8, zorder=3)
    )
    put(
        inset,
        0.03,
        0.03,
        "位置示意",
        halo=1.5,
        transform=inset.transAxes,
        ha="left",
        va="bottom",
        fontsize=5.0 * s,
        color="#333",
        zorder=4,
    )
    pad_m = 1.5 * s * PT_PER_MM * mpp
    return shapely.box(bx0 - pad_m, by0 - pad_m, bx1 + pad_m, by1 + pad_m)
