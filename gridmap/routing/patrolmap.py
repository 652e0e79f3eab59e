"""A patrol plan on a folium map: the line along the streets and the numbered stops, with escaped popups."""

from __future__ import annotations

import folium
import numpy as np
from branca.element import Figure

from gridmap import safe
from gridmap.crs import convert_lonlat
from gridmap.maps import JsonMarkers, MapOptions, add_basemap

ROUTE_COLOR = "#0a3d8f"
MUST_COLOR = "#a31515"
DONE_COLOR = "#1b5e20"


def _e(value) -> str:
    return safe.html_text(value)


def plan_map(plan: dict, opts: MapOptions, *, report_url: str | None = None) -> folium.Map:
    """The route and its stops; a stop's popup links to the problem report page at that spot.

    `report_url` is the report page's URL; ``?lon=…&lat=…`` is added for each stop.
    """
    shift = opts.display_crs == "gcj02"

    def show(lonlat: np.ndarray) -> np.ndarray:
        if not shift or not len(lonlat):
            return lonlat
        x, y = convert_lonlat(lonlat[:, 0], lonlat[:, 1], source="wgs84", target="gcj02")
        return np.column_stack([np.asarray(x), np.asarray(y)])

    line = show(np.asarray(plan["line"], dtype=float).reshape(-1, 2))
    pts = show(np.array([[s["lon"], s["lat"]] for s in plan["stops"]], dtype=float).reshape(-1, 2))
    m = folium.Map(
        tiles=None,
        zoom_start=15,
        location=[float(pts[:, 1].mean()), float(pts[:, 0].mean())],
        max_zoom=19,
        control_scale=True,
    )
    add_basemap(m, opts)
    route = folium.FeatureGroup(name="巡查路线")
    if len(line) >= 2:
        folium.PolyLine(
            [[y, x] for x, y in line],
            color=ROUTE_COLOR,
            weight=5,
            opacity=0.85,
            tooltip=safe.template_html(f"巡查路线 {plan['length_m'] / 1000:.2f} 公里"),
        ).add_to(route)
    route.add_to(m)
    stops = folium.FeatureGroup(name="巡查点（按顺序编号）")
    items = []
    for stop, (x, y) in zip(plan["stops"], pts):
        ends = stop["kind"] in ("start", "end")
        if ends:
            label, color = ("起" if stop["kind"] == "start" else "终"), "#333333"
        else:
            label, color = str(stop["seq"]), MUST_COLOR if stop["mandatory"] else ROUTE_COLOR
        done = bool(stop.get("checked_in_at"))
        name = safe.text(stop["name"], missing=safe.MISSING)
        popup = [f"<b>{_e(name)}</b>" if ends else f"<b>{_e(label)}. {_e(name)}</b>"]
        if stop.get("reason"):
            popup.append(f"<div>{_e(stop['reason'])}</div>")
        if not ends:
            popup.append(f"<div>距上一站 {stop['leg_m']:,.0f} 米</div>")
            if done:
                popup.append(f"<div>已签到：{_e(stop['checked_in_at'])}</div>")
            if report_url:
                href = f"{report_url}?lon={float(stop['lon']):.7f}&lat={float(stop['lat']):.7f}"
                popup.append(
                    f"<div><a class='gm-pop-btn' href='{safe.html_attr(href)}'>在此上报问题</a></div>"
                )
        style = {"background": DONE_COLOR if done else color}  # checked in: green, as readable as the rest
        items.append(
            {
                "at": [round(float(y), 7), round(float(x), 7)],
                "text": label,
                "text_class": "gm-stop",
                "text_style": style,
                "icon_class": "gm-stop-icon",
                "size": [44, 44],  # a thumb's tap target around the drawn circle
                "anchor": [22, 22],
                "tip": name if ends else f"{label}. {name}",
                "popup": "".join(popup),
                "max_width": 300,
            }
        )
    stops.add_child(JsonMarkers(items))
    stops.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    every = np.vstack([line, pts]) if len(line) else pts
    (x0, y0), (x1, y1) = every.min(axis=0), every.max(axis=0)
    # a margin in degrees, not in pixels: Leaflet's fitBounds with pixel padding on a map that has
    # no size (yet) computes a NaN zoom and fails with "Invalid LatLng object: (NaN, NaN)"
    dx, dy = max((x1 - x0) * 0.06, 1e-4), max((y1 - y0) * 0.06, 1e-4)
    m.fit_bounds([[float(y0 - dy), float(x0 - dx)], [float(y1 + dy), float(x1 + dx)]])
    root = m.get_root()
    if not isinstance(root, Figure):  # a folium Map always sits in a branca Figure
        msg = "internal error: the map has no page to carry its style"
        raise RuntimeError(msg)
    root.header.add_child(
        folium.Element(
            "<style>.gm-stop{width:30px;height:30px;margin:7px;border-radius:50%;color:#fff;"
            "font:bold 15px/26px sans-serif;text-align:center;border:2px solid #fff;"
            "box-shadow:0 1px 3px rgba(0,0,0,.6)}"
            ".gm-stop-icon{background:none;border:none}</style>"
        )
    )
    return m
