"""A tiny WSGI app for smoke-testing the browser harness without the real gridmap app.

Serve it with ``gunicorn tests.browser._hello_app:app`` (from the project root):

* ``/``        a hand-written Leaflet page: one grid polygon with a Chinese label, one marker;
* ``/folium``  a folium map with every vendored plugin, rendered by gridmap.assets;
* ``/env``     the value of ``GRIDMAP_HELLO_GREETING`` (checks that env reaches the server);
* ``/static/`` files under web/static (vendored libraries included).
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable, Iterable

from gridmap import assets

STATIC_URL = "/static"
VENDOR_URL = "/static/vendor"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
    ".svg": "image/svg+xml",
}
GRID = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "城关一网格", "code": "610330001"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[106.49, 33.89], [106.52, 33.89], [106.52, 33.92], [106.49, 33.92], [106.49, 33.89]]
                ],
            },
        }
    ],
}

HELLO = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>网格责任地图 · 浏览器测试</title>
{css}
<style>html, body {{ height: 100%; margin: 0 }} #map {{ height: 100%; background: #f4f1ea }}</style>
</head>
<body>
<div id="map"></div>
{js}
<script>
  var map = L.map("map");
  var grids = L.geoJSON({grid}, {{
    style: {{color: "#c0392b", weight: 3, fillColor: "#f1c40f", fillOpacity: 0.5}}
  }}).bindTooltip(function (layer) {{ return layer.feature.properties.name; }},
                  {{permanent: true, direction: "center"}}).addTo(map);
  map.fitBounds(grids.getBounds());
  L.marker([33.905, 106.505]).addTo(map);
  window.gridmapReady = true;
</script>
</body>
</html>
"""


def _hello_page() -> str:
    js, css = assets.links("leaflet", base_url=VENDOR_URL)
    return HELLO.format(
        css="\n".join(f'<link rel="stylesheet" href="{url}">' for url in css),
        js="\n".join(f'<script src="{url}"></script>' for url in js),
        grid=json.dumps(GRID, ensure_ascii=False),
    )


def folium_map():
    """A folium map using every vendored library: cluster, icons, popup, heat, search, legend."""
    import branca.colormap as cm
    import folium
    from folium import plugins

    # Without a tile layer nothing sets the map's maxZoom, and MarkerCluster needs one
    # ("Map has no maxZoom specified"); folium's max_zoom only reaches a tile layer.
    m = folium.Map(location=[33.905, 106.505], zoom_start=14, tiles=None, maxZoom=19)
    grids = folium.GeoJson(
        GRID,
        name="网格",
        style_function=lambda _: {"color": "#c0392b", "fillColor": "#f1c40f", "fillOpacity": 0.4},
        popup=folium.GeoJsonPopup(fields=["name", "code"], aliases=["网格", "编码"]),
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
    ).add_to(m)
    cluster = plugins.MarkerCluster(name="考察点位").add_to(m)
    for i in range(5):
        folium.Marker([33.8955 + i * 0.0005, 106.4955], tooltip=f"点位 {i + 1}").add_to(cluster)
    folium.Marker(  # glyphicon (folium's default prefix) in an awesome marker
        [33.915, 106.495], icon=folium.Icon(icon="info-sign", color="blue")
    ).add_to(m)
    folium.Marker(  # Font Awesome, rotated by our leaflet.awesome.rotate.css
        [33.915, 106.515], icon=folium.Icon(icon="flag", prefix="fa", color="red", angle=45)
    ).add_to(m)
    plugins.HeatMap(
        [[33.90 + i * 0.001, 106.50 + i * 0.001, 1.0 - i * 0.1] for i in range(8)], name="问题热力"
    ).add_to(m)
    plugins.Search(layer=grids, search_label="name", placeholder="搜索网格").add_to(m)
    cm.LinearColormap(["green", "red"], vmin=0, vmax=100, caption="考核得分").add_to(m)
    folium.LayerControl().add_to(m)
    return m


def _static(path: str) -> tuple[bytes, str] | None:
    root = assets.STATIC_DIR.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    kind = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return target.read_bytes(), kind


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The WSGI entry point."""
    path = environ.get("PATH_INFO", "/")
    found: tuple[bytes, str] | None
    if path == "/":
        found = _hello_page().encode("utf-8"), "text/html; charset=utf-8"
    elif path == "/folium":
        html = assets.render_map_html(folium_map(), base_url=VENDOR_URL, static_url=STATIC_URL)
        found = html.encode("utf-8"), "text/html; charset=utf-8"
    elif path == "/env":
        found = os.environ.get("GRIDMAP_HELLO_GREETING", "").encode("utf-8"), "text/plain; charset=utf-8"
    elif path.startswith(STATIC_URL + "/"):
        found = _static(path[len(STATIC_URL) + 1 :])
    else:
        found = None
    if found is None:
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"not found: {path}".encode()]
    body, kind = found
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
