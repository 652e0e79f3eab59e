"""A patrol plan on a folium map: the line along the streets and the numbered stops, with escaped popups."""

from __future__ import annotations

from html import escape

import folium
import numpy as np

from gridmap.crs import convert_lonlat
from gridmap.maps import MapOptions, _add_basemap

ROUTE_COLOR = "#0050b4"
MUST_COLOR = "#d62728"


def _e(value) -> str:
    return "—" if value is None or value == "" else escape(str(value), quote=True)


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
    m = folium.Map(tiles=None, zoom_start=15, location=[float(pts[:, 1].mean()), float(pts[:, 0].mean())],
                   max_zoom=19, control_scale=True)
    _add_basemap(m, opts)
    route = folium.FeatureGroup(name="巡查路线")
    if len(line) >= 2:
        folium.PolyLine([[y, x] for x, y in line], color=ROUTE_COLOR, weight=5, opacity=0.85,
                        tooltip=f"巡查路线 {plan['length_m'] / 1000:.2f} 公里").add_to(route)
    route.add_to(m)
    stops = folium.FeatureGroup(name="巡查点（按顺序编号）")
    for stop, (x, y) in zip(plan["stops"], pts):
        if stop["kind"] in ("start", "end"):
            label, color = ("起" if stop["kind"] == "start" else "终"), "#333333"
        else:
            label, color = str(stop["seq"]), MUST_COLOR if stop["mandatory"] else ROUTE_COLOR
        done = bool(stop.get("checked_in_at"))
        html = (
            f"<div class='gm-stop' style='background:{color};{'opacity:.55;' if done else ''}'>{_e(label)}</div>"
        )
        popup = [f"<b>{_e(label)}. {_e(stop['name'])}</b>" if stop["kind"] not in ("start", "end")
                 else f"<b>{_e(stop['name'])}</b>"]
        if stop.get("reason"):
            popup.append(f"<div>{_e(stop['reason'])}</div>")
        if stop["kind"] not in ("start", "end"):
            popup.append(f"<div>距上一站 {stop['leg_m']:,.0f} 米</div>")
            if done:
                popup.append(f"<div>已签到：{_e(stop['checked_in_at'])}</div>")
            if report_url:
                popup.append(f"<div><a href='{_e(report_url)}?lon={stop['lon']:.7f}&amp;lat={stop['lat']:.7f}'>"
                             "在此上报问题</a></div>")
        folium.Marker(
            [float(y), float(x)],
            icon=folium.DivIcon(html=html, icon_size=(24, 24), icon_anchor=(12, 12), class_name="gm-stop-icon"),
            popup=folium.Popup("".join(popup), max_width=300),
            tooltip=escape(f"{label}. {stop['name']}" if stop["kind"] not in ("start", "end") else stop["name"]),
        ).add_to(stops)
    stops.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    every = np.vstack([line, pts]) if len(line) else pts
    (x0, y0), (x1, y1) = every.min(axis=0), every.max(axis=0)
    m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]], padding=(20, 20))
    m.get_root().header.add_child(folium.Element(
        "<style>.gm-stop{width:24px;height:24px;border-radius:50%;color:#fff;font:bold 12px/24px sans-serif;"
        "text-align:center;border:2px solid #fff;box-shadow:0 1px 3px rgba(0,0,0,.5)}"
        ".gm-stop-icon{background:none;border:none}</style>"
    ))
    return m
