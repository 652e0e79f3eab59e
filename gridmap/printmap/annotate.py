"""What goes on top of a map's layers: problem and patrol overlays, and the map's labels."""

from __future__ import annotations

import geopandas as gpd
import matplotlib
import shapely

from gridmap.printmap import style
from gridmap.printmap import text as tm
from gridmap.printmap.draw import AREA_TYPES, add_lines, add_polygons, put, to_local
from gridmap.printmap.frame import Drawn, Frame
from gridmap.printmap.labels import CENTRE, POINT_OFFSETS, Label, line_anchors, place_labels
from gridmap.printmap.legend import Legend
from gridmap.printmap.overlays import Overlay


def _draw_overlay_points(
    f: Frame, overlay: Overlay, colour: str, text: str, points: gpd.GeoDataFrame
) -> tuple[dict, str]:
    ax, s = f.ax, f.s
    xy = points.geometry.representative_point()
    size = overlay.size * s
    if overlay.numbered:
        ax.scatter(
            xy.x,
            xy.y,
            s=(size * 1.25) ** 2,
            marker="o",
            color=colour,
            edgecolors="white",
            linewidths=0.7,
            zorder=16,
        )
        for n, p in enumerate(xy, start=1):
            put(
                ax, p.x, p.y, str(n), ha="center", va="center", color="white", fontsize=size * 0.62, zorder=17
            )
        entry = ({"kind": "numbered", "color": colour}, text)
    else:
        ax.scatter(
            xy.x,
            xy.y,
            s=size**2,
            marker=overlay.marker,
            color=colour,
            edgecolors="white",
            linewidths=0.6,
            zorder=15,
        )
        entry = ({"kind": "marker", "marker": overlay.marker, "color": colour}, text)
    rr = size * 0.7 * f.mpp
    f.obstacles.extend(shapely.box(p.x - rr, p.y - rr, p.x + rr, p.y + rr) for p in xy)
    if overlay.label_column:
        for p, name in zip(xy, points[overlay.label_column]):
            if name is not None and str(name).strip():
                f.labels.append(
                    Label(
                        str(name),
                        [(p.x, p.y, 0.0)],
                        5.8 * s,
                        1,
                        color=colour,
                        offsets=POINT_OFFSETS,
                        kind="overlay",
                    )
                )
    return entry


def draw_overlays(f: Frame, overlays: list[Overlay], legend: Legend) -> None:
    """Overlays (problems, patrol routes, …): areas, lines, points; their legend sections."""
    ax, s = f.ax, f.s
    extra_entries: list[tuple[dict, str]] = []
    for overlay in overlays:
        overlay.validate()
        entries: list[tuple[dict, str]] = []
        for text, colour, part in overlay.groups():
            part = to_local(part, f.crs)
            geom_types = set(part.geom_type)
            if geom_types & {"Polygon", "MultiPolygon"}:
                polys = part[part.geom_type.isin(AREA_TYPES)]
                add_polygons(
                    ax,
                    polys.geometry.values,
                    zorder=12,
                    facecolor=matplotlib.colors.to_rgba(colour, 0.25),
                    edgecolor=colour,
                    linewidth=1.0,
                )
                entries.append(({"kind": "fill", "color": colour}, text))
            if geom_types & {"LineString", "MultiLineString"}:
                lines = part[part.geom_type.isin(["LineString", "MultiLineString"])]
                add_lines(
                    ax,
                    lines.geometry.values,
                    colors=colour,
                    zorder=13,
                    linewidth=overlay.size * s,
                    linestyles=overlay.linestyle,
                )
                entries.append(
                    (
                        {"kind": "line", "color": colour, "width": overlay.size, "style": overlay.linestyle},
                        text,
                    )
                )
            points = part[part.geom_type.isin(["Point", "MultiPoint"])]
            if len(points):
                entries.append(_draw_overlay_points(f, overlay, colour, text, points))
        if overlay.column is None:  # one-colour layers share a section
            extra_entries.extend(entries)
        else:
            legend.add(overlay.label, entries)
    legend.add("叠加图层", extra_entries)


def draw_labels(f: Frame, drawn: Drawn, *, dense: bool) -> None:
    """Names of grids, roads, towns and communities, placed without overlaps, then drawn."""
    model, content, s, view = f.model, f.content, f.s, f.view
    labels = f.labels
    for code, geom in zip(drawn.grids.index, drawn.grids.geometry):
        p = shapely.intersection(geom, view).representative_point()
        if p.is_empty:
            continue
        mine = code in drawn.focus
        name = str(model.grids.loc[code, "name"])
        labels.append(
            Label(
                name,
                [(p.x, p.y, 0.0)],
                (10.5 if mine else 8.0) * s,
                0 if mine else 4,
                color=(drawn.grid_colours[code] if content.colour_by == "grid" else style.SUBJECT_EDGE)
                if mine
                else "#8a8a8a",
                offsets=CENTRE + tuple((dx * 3, dy * 3, ha, va) for dx, dy, ha, va in POINT_OFFSETS[2:4]),
                kind="grid",
                required=mine,
            )
        )
    segs = drawn.segs
    if segs is not None and len(segs):
        for road, group in segs.groupby("road_name", sort=False):
            merged = shapely.line_merge(shapely.union_all(group.geometry.values))
            longest = max(shapely.get_parts(merged), key=lambda g: g.length)
            need = tm.width(str(road), 6.0 * s) * f.mpp * 1.1
            if longest.length < need:
                continue
            labels.append(Label(str(road), line_anchors(longest), 6.0 * s, 3, color="#3a3a3a", kind="road"))
    for code, geom in zip(drawn.towns.index, drawn.towns.geometry):
        if content.kind != "town":  # on grid-level pages the town's name is only clutter
            break
        p = shapely.intersection(geom, view).representative_point()
        if p.is_empty:
            continue
        mine = code == content.focus_town
        labels.append(
            Label(
                str(model.towns.loc[code, "name"]),
                [(p.x, p.y, 0.0)],
                (10.5 if mine else 8.5) * s,
                1 if mine else 6,
                color=style.SUBJECT_EDGE if mine else "#707070",
                kind="town",
            )
        )
    comms = drawn.comms if drawn.comms is not None else drawn.grids.iloc[:0]
    for code, geom in zip(comms.index, comms.geometry):
        if dense:
            break
        p = geom.representative_point()
        labels.append(
            Label(
                str(model.communities.loc[code, "name"]),
                [(p.x, p.y, 0.0)],
                5.2 * s,
                5,
                color=style.COMMUNITY_TEXT,
                offsets=CENTRE + POINT_OFFSETS[2:4],
                kind="community",
            )
        )
    placed = place_labels(labels, frame=f.bounds, metres_per_point=f.mpp, obstacles=f.obstacles)
    for item in placed:
        lab = item.label
        big = lab.kind == "grid" and lab.priority == 0
        put(
            f.ax,
            item.x,
            item.y,
            lab.text,
            halo=3.0 if big else 2.2,
            bold=0.5 if big else 0.0,
            ha=item.ha,
            va=item.va,
            rotation=item.angle,
            rotation_mode="anchor",
            fontsize=lab.size,
            color=lab.color,
            zorder=20,
        )
