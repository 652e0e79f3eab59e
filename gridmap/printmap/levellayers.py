"""Grid levels on a printed map: the sub-grid subject, its children, shops with their 门前五包
frontages, and buildings; their labels and legend entries."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import matplotlib
import shapely

from gridmap.printmap import style
from gridmap.printmap.draw import AREA_TYPES, add_lines, add_polygons
from gridmap.printmap.frame import Frame
from gridmap.printmap.labels import CENTRE, POINT_OFFSETS, Label
from gridmap.printmap.legend import Legend

__all__ = ["LevelDrawn", "child_colours", "draw_levels", "level_legend"]

SHOP_COLOUR = "#d9480f"
FRONTAGE_COLOUR = SHOP_COLOUR  # dashed: the shop's own pavement
FRONTAGE_STYLE = (0, (2.0, 1.2))
BUILDING_FILL = "#e6dccb"
BUILDING_EDGE = "#8c7b62"
SUBGRID_EDGE = "#8a8a8a"
MAX_NAMED = 60  # shops named on one map; beyond that the table names them
MAX_NAMED_BUILDINGS = 16  # buildings named on one map (their communities are named anyway)


@dataclass
class LevelDrawn:
    """The level layers drawn on a map, in map metres, as the legend needs them."""

    subject: gpd.GeoDataFrame
    children: gpd.GeoDataFrame
    others: gpd.GeoDataFrame
    colours: dict[str, str]
    shops: gpd.GeoDataFrame
    frontages: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame


def child_colours(child_codes: list[str]) -> dict[str, str]:
    """Colour per child sub-grid, in the page's order (the table's swatches agree)."""
    return style.palette_for(child_codes, by="unit")  # no reds: red is the subject


def _empty(f: Frame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[], crs=f.crs)


def _layer(f: Frame, frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    return f.local(frame) if frame is not None and len(frame) else _empty(f)


def _draw_subgrids(f: Frame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Other sub-grids thin and dashed, children tinted in their colours, the subject in red."""
    ax, content, s = f.ax, f.content, f.s
    subs = _layer(f, f.model.subgrids)
    colours = child_colours(content.child_subgrids)
    is_subject = subs.index.isin(content.subject_subgrids)
    is_child = subs.index.isin(content.child_subgrids)
    subject, kids, others = subs[is_subject], subs[is_child & ~is_subject], subs[~is_subject & ~is_child]
    add_polygons(ax, subject.geometry.values, zorder=3.2, facecolor=style.SUBJECT_FILL, edgecolor="none")
    fills = [matplotlib.colors.to_rgba(colours[c], 0.10) for c in kids.index]
    add_polygons(ax, kids.geometry.values, zorder=3.4, facecolors=fills, edgecolor="none")
    add_lines(
        ax, others.geometry.values, colors=SUBGRID_EDGE, zorder=4.5, linewidth=0.6 * s, linestyles=(0, (3, 2))
    )
    add_lines(
        ax, kids.geometry.values, colors=[colours[c] for c in kids.index], zorder=7.5, linewidth=1.2 * s
    )
    add_lines(ax, subject.geometry.values, colors="white", zorder=10, linewidth=3.4 * s)
    add_lines(ax, subject.geometry.values, colors=style.SUBJECT_EDGE, zorder=11, linewidth=2.0 * s)
    return subject, kids, others, colours


def _draw_buildings(f: Frame, buildings: gpd.GeoDataFrame) -> None:
    ax, s = f.ax, f.s
    areas = buildings[buildings.geom_type.isin(AREA_TYPES)]
    add_polygons(
        ax, areas.geometry.values, zorder=6.5, facecolor=BUILDING_FILL, edgecolor=BUILDING_EDGE, linewidth=0.4
    )
    spots = buildings[~buildings.geom_type.isin(AREA_TYPES)]
    if len(spots):
        ax.scatter(
            spots.geometry.x,
            spots.geometry.y,
            s=(3.2 * s) ** 2,
            marker="s",
            color=BUILDING_FILL,
            edgecolors=BUILDING_EDGE,
            linewidths=0.5,
            zorder=6.5,
        )


def _draw_shops(f: Frame, shops: gpd.GeoDataFrame, frontages: gpd.GeoDataFrame) -> None:
    ax, s = f.ax, f.s
    areas = frontages[frontages.geom_type.isin(AREA_TYPES)]
    add_polygons(
        ax,
        areas.geometry.values,
        zorder=6.8,
        facecolor=matplotlib.colors.to_rgba(FRONTAGE_COLOUR, 0.35),
        edgecolor=FRONTAGE_COLOUR,
        linewidth=0.6,
    )
    lines = frontages[~frontages.geom_type.isin(AREA_TYPES)]
    add_lines(
        ax,
        lines.geometry.values,
        colors=FRONTAGE_COLOUR,
        zorder=8.6,
        linewidth=2.0 * s,
        linestyles=FRONTAGE_STYLE,
    )
    if not len(shops):
        return
    size = 4.2 * s
    ax.scatter(
        shops.geometry.x,
        shops.geometry.y,
        s=size**2,
        marker="o",
        color=SHOP_COLOUR,
        edgecolors="white",
        linewidths=0.6,
        zorder=14.5,
    )
    r = size * 0.6 * f.mpp
    f.obstacles.extend(shapely.box(p.x - r, p.y - r, p.x + r, p.y + r) for p in shops.geometry)


def _labels(f: Frame, drawn: LevelDrawn, *, dense: bool) -> None:
    s, view = f.s, f.view
    named = [
        (drawn.subject, 0, 10.5, lambda _c: style.SUBJECT_EDGE, True),
        (drawn.children, 1, 8.0, lambda c: drawn.colours[c], False),
        (drawn.others, 5, 6.5, lambda _c: "#7a7a7a", False),
    ]
    for frame, priority, size, colour, required in named:
        if priority == 5 and (dense or len(frame) > MAX_NAMED):
            continue
        for code, geom in zip(frame.index, frame.geometry):
            p = shapely.intersection(geom, view).representative_point()
            if p.is_empty:
                continue
            f.labels.append(
                Label(
                    str(frame.loc[code, "name"]),
                    [(p.x, p.y, 0.0)],
                    size * s,
                    priority,
                    color=colour(code),
                    offsets=CENTRE + tuple((dx * 3, dy * 3, ha, va) for dx, dy, ha, va in POINT_OFFSETS[2:4]),
                    kind="grid",
                    required=required,
                )
            )
    for frame, tint, priority, most in (
        (drawn.shops, SHOP_COLOUR, 6, MAX_NAMED),
        (drawn.buildings, BUILDING_EDGE, 7, MAX_NAMED_BUILDINGS),
    ):
        if dense or not len(frame) or len(frame) > most:
            continue
        for name, geom in zip(frame["name"], frame.geometry):
            p = geom.representative_point()
            f.labels.append(
                Label(
                    str(name),
                    [(p.x, p.y, 0.0)],
                    5.0 * s,
                    priority,
                    color=tint,
                    offsets=POINT_OFFSETS,
                    kind="point",
                )
            )


def draw_levels(f: Frame, *, dense: bool) -> LevelDrawn:
    """Draw the page's sub-grids, buildings, frontages and shops; queue their labels."""
    subject, kids, others, colours = _draw_subgrids(f)
    content = f.content
    buildings = _layer(f, content.buildings)
    frontages = _layer(f, content.frontages)
    shops = _layer(f, content.shops)
    _draw_buildings(f, buildings)
    _draw_shops(f, shops, frontages)
    drawn = LevelDrawn(subject, kids, others, colours, shops, frontages, buildings)
    _labels(f, drawn, dense=dense)
    return drawn


def level_legend(f: Frame, drawn: LevelDrawn, legend: Legend) -> None:
    """Legend entries of the level layers: in 图例, and a section naming the children."""
    first: list[tuple[dict, str]] = []
    if len(drawn.subject):
        first.append(
            ({"kind": "fill", "color": style.SUBJECT_FILL, "edge": style.SUBJECT_EDGE, "lw": 1.6}, "本网格")
        )
    base: list[tuple[dict, str]] = []
    if len(drawn.others):
        base.append(
            (
                {"kind": "line", "color": SUBGRID_EDGE, "width": 0.6, "style": (0, (3, 2))},
                "其他村、组网格或子网格",
            )
        )
    if len(drawn.buildings):
        base.append(({"kind": "fill", "color": BUILDING_FILL, "edge": BUILDING_EDGE, "lw": 0.5}, "楼栋"))
    if len(drawn.frontages):
        base.append(
            (
                {"kind": "line", "color": FRONTAGE_COLOUR, "width": 2.0, "style": FRONTAGE_STYLE},
                "门前五包范围",
            )
        )
    if len(drawn.shops):
        base.append(({"kind": "marker", "marker": "o", "color": SHOP_COLOUR}, "商户"))
    sections = legend.sections
    at = next((i for i, (heading, _) in enumerate(sections) if heading == "图例"), None)
    if at is None:
        sections.insert(0, ("图例", [*first, *base]))
        at = 0
    else:
        sections[at] = ("图例", [*first, *sections[at][1], *base])
    if len(drawn.children):
        levels = (
            drawn.children["level_name"].dropna().unique().tolist() if "level_name" in drawn.children else []
        )
        heading = f"下级网格（{'、'.join(str(v) for v in levels)}）" if levels else "下级网格"
        entries = [
            ({"kind": "line", "color": drawn.colours[c], "width": 1.6}, str(drawn.children.loc[c, "name"]))
            for c in f.content.child_subgrids
            if c in drawn.children.index
        ]
        sections.insert(at + 1, (heading, entries))
