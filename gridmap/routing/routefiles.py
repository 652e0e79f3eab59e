"""A stored route as files: GPX (waypoints, track along the streets), KML, and an A4 route sheet PDF."""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gridmap.routing.day import MODES

if TYPE_CHECKING:
    import shapely
    from matplotlib.typing import RcKeyType

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')
KML_NS = "http://www.opengis.net/kml/2.2"


def filename(plan: dict, ext: str) -> str:
    """A Chinese file name for a plan: 巡查路线_<day>_<code>_<name>.<ext>."""
    stem = f"巡查路线_{plan['day']}_{plan['inspector']['code']}_{plan['inspector']['name']}"
    return f"{_UNSAFE.sub('_', stem)}.{ext}"


def _stop_label(stop: dict) -> str:
    if stop["kind"] == "start":
        return f"起点 {stop['name']}"
    if stop["kind"] == "end":
        return f"终点 {stop['name']}"
    return f"{stop['seq']}. {stop['name']}"


def to_gpx(plan: dict) -> bytes:
    """GPX 1.1: the stops as waypoints and as a route, in visiting order; the way along the streets as a track."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    title = f"{plan['day']} {plan['inspector']['name']} 巡查路线"
    gpx.name = title
    gpx.creator = "gridmap 网格责任地图"
    gpx.description = (
        f"{MODES.get(plan['mode'], plan['mode'])}，路程 {plan['length_m'] / 1000:.2f} 公里，"
        f"{sum(1 for s in plan['stops'] if s['kind'] in ('point', 'problem'))} 站"
    )
    route = gpxpy.gpx.GPXRoute(name=title)
    for stop in plan["stops"]:
        label = _stop_label(stop)
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                stop["lat"],
                stop["lon"],
                name=label,
                description=stop.get("reason") or None,
                type=stop["kind"],
            )
        )
        route.points.append(gpxpy.gpx.GPXRoutePoint(stop["lat"], stop["lon"], name=label))
    gpx.routes.append(route)
    track = gpxpy.gpx.GPXTrack(name=title)
    segment = gpxpy.gpx.GPXTrackSegment()
    segment.points.extend(gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat in plan["line"])
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1").encode("utf-8")


def to_kml(plan: dict) -> bytes:
    """KML 2.2 with the route line and numbered stops; Chinese names kept as UTF-8 text."""
    ET.register_namespace("", KML_NS)
    k = f"{{{KML_NS}}}"
    root = ET.Element(f"{k}kml")
    doc = ET.SubElement(root, f"{k}Document")
    ET.SubElement(doc, f"{k}name").text = f"{plan['day']} {plan['inspector']['name']} 巡查路线"
    style = ET.SubElement(doc, f"{k}Style", id="route")
    line_style = ET.SubElement(style, f"{k}LineStyle")
    ET.SubElement(line_style, f"{k}color").text = "ffb45000"  # aabbggrr: #0050b4
    ET.SubElement(line_style, f"{k}width").text = "4"
    mark = ET.SubElement(doc, f"{k}Placemark")
    ET.SubElement(mark, f"{k}name").text = "巡查路线"
    ET.SubElement(mark, f"{k}description").text = f"路程 {plan['length_m'] / 1000:.2f} 公里"
    ET.SubElement(mark, f"{k}styleUrl").text = "#route"
    line = ET.SubElement(mark, f"{k}LineString")
    ET.SubElement(line, f"{k}tessellate").text = "1"
    ET.SubElement(line, f"{k}coordinates").text = " ".join(f"{x:.7f},{y:.7f},0" for x, y in plan["line"])
    folder = ET.SubElement(doc, f"{k}Folder")
    ET.SubElement(folder, f"{k}name").text = "巡查点（按顺序）"
    for stop in plan["stops"]:
        place = ET.SubElement(folder, f"{k}Placemark")
        ET.SubElement(place, f"{k}name").text = _stop_label(stop)
        ET.SubElement(place, f"{k}description").text = stop.get("reason") or ""
        point = ET.SubElement(place, f"{k}Point")
        ET.SubElement(point, f"{k}coordinates").text = f"{stop['lon']:.7f},{stop['lat']:.7f},0"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- the printed route sheet --------------------------------------------------------------------
_A4 = (210 / 25.4, 297 / 25.4)
_LINES_PER_COLUMN = 62


def route_sheet(
    plan: dict,
    *,
    streets: Sequence[shapely.Geometry] | NDArray[np.object_] | None = None,
    crs: str | None = None,
) -> bytes:
    """A4 portrait PDF: the route on a map with numbered stops and the stop list, then the turn list.

    `streets` are LineStrings in `crs` (a metric CRS, e.g. the street network's) drawn grey
    under the route; without them only the route is drawn.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from gridmap.printmap import fonts

    family = fonts.register()
    rc: dict[RcKeyType, Any] = {
        "font.family": [family],
        "font.size": 8.0,
        "pdf.fonttype": 42,
        "axes.unicode_minus": True,
        "pdf.compression": 6,
    }
    buf = io.BytesIO()
    with (
        matplotlib.rc_context(rc),
        PdfPages(
            buf,
            metadata={
                "Title": f"巡查路线单 {plan['day']} {plan['inspector']['name']}",
                "Creator": "gridmap 网格责任地图",
            },
        ) as pdf,
    ):
        first = Figure(figsize=_A4)
        _first_page(first, plan, streets=streets, crs=crs)
        pdf.savefig(first)
        lines = _turn_lines(plan)
        per_page = 2 * _LINES_PER_COLUMN
        pages = max(1, math.ceil(len(lines) / per_page))
        for page in range(pages):
            fig = Figure(figsize=_A4)
            chunk = lines[page * per_page : (page + 1) * per_page]
            fig.text(
                0.06,
                0.965,
                f"行走指引（{page + 1}/{pages}）· {plan['day']} {plan['inspector']['name']}",
                fontsize=12,
                va="top",
            )
            for col in range(2):
                part = chunk[col * _LINES_PER_COLUMN : (col + 1) * _LINES_PER_COLUMN]
                for row, (text, bold) in enumerate(part):
                    fig.text(
                        0.06 + col * 0.46,
                        0.93 - row * 0.0142,
                        _fit(text, 34),
                        fontsize=7.6,
                        color="#000000" if bold else "#444444",
                        va="top",
                    )
            _footer(fig, plan)
            pdf.savefig(fig)
    return buf.getvalue()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _turn_lines(plan: dict) -> list[tuple[str, bool]]:
    out = []
    for item in plan["turns"]:
        bold = item["action"] == "arrive"
        out.append((f"{item['step']:>3}  {item['text']}", bold))
    return out


def _footer(fig, plan: dict) -> None:
    fig.text(
        0.06,
        0.025,
        f"gridmap 网格责任地图 · 计划生成于 {plan.get('created_at') or plan['day']} · "
        "距离沿路网计算，签到请在系统中点“签到”",
        fontsize=6.5,
        color="#666666",
    )


def _first_page(fig, plan: dict, *, streets, crs) -> None:
    from matplotlib.patches import Rectangle

    from gridmap.routing.streets import projected_crs

    stops = plan["stops"]
    visits = [s for s in stops if s["kind"] in ("point", "problem")]
    speed = 12.0 if plan["mode"] == "bike" else 4.5
    fig.text(0.06, 0.965, f"巡查路线单 · {plan['day']}", fontsize=15, va="top")
    fig.text(
        0.06,
        0.935,
        f"巡查员 {plan['inspector']['name']}（{plan['inspector']['code']}）· "
        f"{MODES.get(plan['mode'], plan['mode'])} · 路程 {plan['length_m'] / 1000:.2f} 公里 · "
        f"{len(visits)} 站 · 预计用时 {plan['work_m'] / (speed * 1000):.1f} 小时（含现场）",
        fontsize=9,
        va="top",
    )
    ax = fig.add_axes([0.06, 0.45, 0.88, 0.46])
    ax.set_axis_off()
    ax.add_patch(
        Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="#999999", linewidth=0.6)
    )
    line = np.asarray(plan["line"], dtype=float).reshape(-1, 2)
    pts = np.array([[s["lon"], s["lat"]] for s in stops], dtype=float)
    every = np.vstack([line, pts]) if len(line) else pts
    local = crs or projected_crs(tuple(np.r_[every.min(axis=0), every.max(axis=0)]))
    from pyproj import Transformer

    to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)

    def project(xy):
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        x, y = to_local.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    box = project(every)
    (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
    pad = max(x1 - x0, y1 - y0) * 0.06 + 30
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    # fill the frame's aspect (0.88 × 0.46 of A4) without distorting the map
    frame = (0.88 * _A4[0]) / (0.46 * _A4[1])
    if (x1 - x0) / (y1 - y0) < frame:
        grow = (frame * (y1 - y0) - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = ((x1 - x0) / frame - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    if streets is not None and len(streets):
        import shapely
        from matplotlib.collections import LineCollection

        geoms = np.asarray(streets, dtype=object)
        geoms = geoms[shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))]
        segments = [shapely.get_coordinates(part) for part in shapely.get_parts(geoms)]
        ax.add_collection(LineCollection(segments, colors="#c8c8c8", linewidths=1.2, zorder=1))
    if len(line):
        xy = project(line)
        ax.plot(xy[:, 0], xy[:, 1], color="#0050b4", linewidth=2.2, zorder=3, alpha=0.85)
    sxy = project(pts)
    for stop, (x, y) in zip(stops, sxy):
        if stop["kind"] in ("start", "end"):
            ax.plot(
                x,
                y,
                marker="*" if stop["kind"] == "start" else "s",
                markersize=12,
                color="#d62728",
                markeredgecolor="white",
                zorder=5,
            )
            continue
        color = "#d62728" if stop["mandatory"] else "#0050b4"
        ax.plot(x, y, marker="o", markersize=11, color=color, markeredgecolor="white", zorder=6)
        ax.text(
            x,
            y,
            str(stop["seq"]),
            color="white",
            fontsize=6.5,
            ha="center",
            va="center",
            zorder=7,
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    _scale_bar(ax, x0, x1, y0, y1)
    fig.text(
        0.06,
        0.437,
        "★ 起点  ● 必去（红）/ 可选（蓝），数字为顺序；蓝线为沿街道的路线",
        fontsize=7,
        va="top",
        color="#444444",
    )
    # the stop list with a box to tick on paper
    rows = [(s["seq"], s["name"], s.get("reason") or "", s["leg_m"]) for s in visits]
    fig.text(0.06, 0.415, "巡查点", fontsize=10, va="top")
    per_col = 24
    for n, (seq, name, reason, leg) in enumerate(rows[: per_col * 2]):
        col, row = divmod(n, per_col)
        fig.text(
            0.06 + col * 0.46,
            0.39 - row * 0.0142,
            f"□ {seq:>2}. {_fit(name, 16)}（{_fit(reason, 10)}）{leg:,.0f} 米",
            fontsize=7.2,
            va="top",
        )
    if len(rows) > per_col * 2:
        fig.text(
            0.06,
            0.39 - per_col * 0.0142,
            f"……另有 {len(rows) - per_col * 2} 站，见系统中的计划",
            fontsize=7.2,
            va="top",
        )
    _footer(fig, plan)


def _scale_bar(ax, x0, x1, y0, y1) -> None:
    span = (x1 - x0) / 5
    nice = 10 ** math.floor(math.log10(span))
    for step in (5, 2, 1):
        if step * nice <= span:
            nice *= step
            break
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + nice], [by, by], color="black", linewidth=2, zorder=8)
    ax.text(
        bx + nice / 2,
        by + (y1 - y0) * 0.012,
        f"{nice:,.0f} 米",
        ha="center",
        va="bottom",
        fontsize=7,
        zorder=8,
    )
