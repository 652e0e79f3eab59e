"""The problem layer drawn from vector tiles (/vt/problems/...) by the vendored Leaflet.VectorGrid."""

from __future__ import annotations

from typing import ClassVar

from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from gridmap import assets


class ProblemTiles(JSCSSMixin, Layer):
    """Problems as tiled points, coloured by status as the clustered JSON layer (a thick dark-red ring
    when overdue). A click opens the feature's popup, built and escaped on the server; below the popup
    zoom a tile carries none, and a click zooms in. ``url`` is the tile template ({z}, {x}, {y}) with
    the page's scope; the filter box (maplayer) adds its choices to it with ``setUrl``."""

    default_js: ClassVar[list[tuple[str, str]]] = [  # type: ignore[misc]
        (
            "leaflet.vectorgrid",
            f"{assets.VENDOR_SCHEME}leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
        )
    ]

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function() {
          var map = {{ this._parent.get_name() }};
          var pane = map.getPane('gmProblems') || map.createPane('gmProblems');
          pane.style.zIndex = 450;
          var OVERDUE = {{ this.overdue_color|tojson }};
          var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            vectorTileLayerStyles: {problems: function(p) {
              /* radius over 10: Leaflet takes a smaller circle for a marker and asks its latlng, which a
                 tiled point has not (the click fails); a bigger dot is also easier to tap */
              return {radius: 11, weight: p.overdue ? 3 : 1, color: p.overdue ? OVERDUE : '#333', fill: true,
                      fillColor: p.color || '#777', fillOpacity: 0.9, bubblingMouseEvents: false};
            }},
            interactive: true, pane: 'gmProblems', maxNativeZoom: 18, maxZoom: 19,
            rendererFactory: L.svg.tile, attribution: '',
            getFeatureId: function(f) { return f.id; }
          });
          layer.on('click', function(e) {
            var p = e.layer && e.layer.properties;
            if (!p) return;
            var at = e.latlng || (e.originalEvent && map.mouseEventToLatLng(e.originalEvent));
            if (!at) return;
            if (p.popup) {
              L.popup({maxWidth: 360}).setLatLng(at).setContent(p.popup).openOn(map);
            } else {
              map.setView(at, Math.max(map.getZoom() + 2, {{ this.popup_zoom }}));
            }
          });
          layer.on('load', function() {
            document.documentElement.setAttribute('data-problems-tiled', 'loaded');
          });
          return layer;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, url: str, name: str, overdue_color: str, popup_zoom: int) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "ProblemTiles"
        self.url = url
        self.overdue_color = overdue_color
        self.popup_zoom = popup_zoom
