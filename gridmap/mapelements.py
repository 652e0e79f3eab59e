"""Folium elements of our own (text-only tooltips, JSON-fed markers) and a map cut into page parts."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from gridmap import assets, safe


class FeatureText(MacroElement):
    """Tooltip and popup of each feature of the parent ``folium.GeoJson``, from its properties.

    ``properties.label`` is plain text, shown with ``textContent`` (lines split on newlines);
    ``properties.popup`` is HTML already escaped with gridmap.safe. Replaces folium's
    GeoJsonTooltip/GeoJsonPopup, which insert property values as raw HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var layer = {{ this._parent.get_name() }};
          {%- if this.tooltip %}
          layer.bindTooltip(function(l) {
            var div = document.createElement('div');
            div.className = 'gm-tip';
            var label = l.feature && l.feature.properties ? l.feature.properties.label : null;
            div.textContent = label === null || label === undefined ? '—' : String(label);
            return div;
          }, {{ this.tooltip_options|tojson }});
          {%- endif %}
          {%- if this.popup %}
          layer.bindPopup(function(l) {
            return (l.feature && l.feature.properties && l.feature.properties.popup) || '';
          }, {{ this.popup_options|tojson }});
          {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, *, tooltip: bool = True, popup: bool = False, max_width: int = 360, sticky: bool = True
    ) -> None:
        super().__init__()
        self._name = "FeatureText"
        self.tooltip = tooltip
        self.popup = popup
        self.tooltip_options = {"sticky": sticky}
        self.popup_options = {"maxWidth": max_width}


class JsonMarkers(MacroElement):
    """Markers added to the parent layer (FeatureGroup or MarkerCluster) from one JSON list.

    Each item: ``at`` [lat, lng]; an icon, either ``fa`` + ``color`` (an awesome marker) or
    ``text`` (a div icon whose text is set with ``textContent``; ``text_class``, ``text_style``,
    ``icon_class``, ``size``, ``anchor``); optional ``tip`` (plain text tooltip), ``popup``
    (HTML escaped with gridmap.safe), ``interactive`` (default true). Names never pass through
    a folium template: the list is written with ``safe.script_json``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var target = {{ this._parent.get_name() }};
          var items = {{ this.items_json }};
          function textDiv(text, cls) {
            var div = document.createElement('div');
            if (cls) div.className = cls;
            div.textContent = text === null || text === undefined ? '—' : String(text);
            return div;
          }
          var markers = items.map(function(it) {
            var icon;
            if (it.fa) {
              icon = L.AwesomeMarkers.icon({icon: it.fa, prefix: 'fa', markerColor: it.color || 'gray',
                                            iconColor: 'white', extraClasses: 'fa-rotate-0'});
            } else {
              var div = textDiv(it.text, it.text_class);
              if (it.text_style) Object.keys(it.text_style).forEach(function(k) { div.style[k] = it.text_style[k]; });
              icon = L.divIcon({html: div, className: it.icon_class || 'empty',
                                iconSize: it.size || null, iconAnchor: it.anchor || null});
            }
            var marker = L.marker(it.at, {icon: icon, interactive: it.interactive !== false});
            if (it.tip !== undefined && it.tip !== null) marker.bindTooltip(textDiv(it.tip, 'gm-tip'), {sticky: true});
            if (it.popup) marker.bindPopup(it.popup, {maxWidth: it.max_width || 360});
            return marker;
          });
          if (target.addLayers) target.addLayers(markers);
          else markers.forEach(function(m) { target.addLayer(m); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, items: list[dict]) -> None:
        super().__init__()
        self._name = "JsonMarkers"
        self.items_json = safe.script_json(items)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_CLOSE_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)


def map_parts(m: folium.Map) -> dict[str, str]:
    """Render a map into the three pieces a page template embeds: head, body and script.

    ``head`` and ``body`` keep links, styles and ``<script src>`` tags only: inline script that
    folium writes there is moved to the front of ``script``. A page therefore has one inline
    script for the map, which carries the request's CSP nonce (web/templates/_map.html); the
    parts themselves hold no nonce and can be cached per data version.
    """
    root: Any = m.get_root()  # a branca Figure: header, html and script are its children
    root.render()
    moved: list[str] = []

    def take(match: re.Match) -> str:
        moved.append(match.group(1))
        return ""

    head = _INLINE_SCRIPT.sub(take, root.header.render())
    body = _INLINE_SCRIPT.sub(take, root.html.render())
    script = "\n".join([*moved, root.script.render()])
    # every value in the script is escaped already; never let a "</script" end it early
    script = _CLOSE_SCRIPT.sub(r"<\\/\1", script)
    return {"head": head, "body": body, "script": script}


# awesome-markers colour names (gridmap.maps.CATEGORY_ICONS) as the fill of a tiled point
AWESOME_HEX = {
    "red": "#d63e2a",
    "darkred": "#a23336",
    "lightred": "#ff8e7f",
    "orange": "#f69730",
    "green": "#72b026",
    "darkgreen": "#728224",
    "blue": "#38aadd",
    "darkblue": "#0067a3",
    "lightblue": "#8adaff",
    "purple": "#d252b9",
    "darkpurple": "#5b396b",
    "cadetblue": "#436978",
    "pink": "#ff91ea",
    "gray": "#575757",
    "black": "#303030",
}


class TiledLayers(JSCSSMixin):
    """The responsibility layers drawn from vector tiles (/vt/...) by the vendored Leaflet.VectorGrid.

    Add it after the layer control (``layer_control``), which lists each tiled layer.
    ``config``: ``url`` (a template with ``{layer}``, ``{z}``, ``{x}``, ``{y}``), ``layers`` (name,
    label, min_zoom, show), ``focus_grids`` / ``unit`` (a page's scope: other grids faded, other
    features hidden), ``pages`` (link base), ``point_colors`` (category -> fill). Each layer is an
    overlay of the map's layer control. Tooltips are set with ``textContent``; the popups of
    segments and points are built here from tile properties, every value escaped; a click
    elsewhere falls through to the map, which answers with whois (mapcontrols.Interactions).
    """

    default_js: ClassVar[list[tuple[str, str]]] = [  # type: ignore[misc]
        (
            "leaflet.vectorgrid",
            f"{assets.VENDOR_SCHEME}leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
        )
    ]

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var C = {{ this.config_json }};
          var pane = map.getPane('gmVector') || map.createPane('gmVector');
          pane.style.zIndex = 350;
          function esc(v) {
            if (v === null || v === undefined || v === '') return '—';
            return String(v).replace(/[&<>"']/g, function(c) {
              return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];
            });
          }
          function inScope(p) {
            if (C.unit !== null) return p.unit_code === C.unit;
            if (C.focus_grids !== null) return C.focus_grids.indexOf(p.grid_code) >= 0;
            return true;
          }
          function unitHtml(p) {
            if (!p.unit_code) return '—';
            var link = '<a href="' + esc(C.pages + '/units/' + encodeURIComponent(p.unit_code)) + '">' + esc(p.unit_name || p.unit_code) + '</a>';
            if (p.unit_contact) link += '，联系人 ' + esc(p.unit_contact);
            if (p.unit_phone) {
              var digits = String(p.unit_phone).replace(/[^0-9+]/g, '');
              link += digits ? ' <a href="tel:' + esc(digits) + '">' + esc(p.unit_phone) + '</a>' : ' ' + esc(p.unit_phone);
            }
            return link;
          }
          var popups = {
            segments: function(p) {
              return "<div class='gm-popup'><h4>" + esc(p.road_name) + "</h4><div class='gm-sub'>路段 " + esc(p.code) +
                '：' + esc(p.from_name) + ' 至 ' + esc(p.to_name) + '，长 ' + esc(p.length_m) + ' 米</div>' +
                '<b>包段单位</b>：' + unitHtml(p) + '<br><b>所在网格</b>：' + esc(p.grid_name) + '</div>';
            },
            shops: function(p) {  /* public fields only: the tiles carry no owner contact */
              return "<div class='gm-popup gm-shop-popup'><h4>" + esc(p.name) + "</h4><div class='gm-sub'>" + esc(p.category) + ' · ' + esc(p.address) + '</div></div>';
            },
            points: function(p) {
              return "<div class='gm-popup'><h4>" + esc(p.name) + "</h4><div class='gm-sub'>" + esc(p.category) + ' · ' + esc(p.address) +
                '</div><b>责任单位</b>：' + unitHtml(p) + '<br><b>所在网格</b>：' + esc(p.grid_name) + '</div>';
            }
          };
          var styles = {
            towns: function() { return {color: '#555', weight: 2, dashArray: '6 4', fill: true, fillOpacity: 0.02, fillColor: '#999'}; },
            rivers: function() { return {color: '#6fa8dc', weight: 6, fill: true, fillColor: '#9fc5e8', fillOpacity: 0.8}; },
            grids: function(p, z) {
              var faded = C.focus_grids !== null && C.focus_grids.indexOf(p.code) < 0;
              var weight = faded || z < 12 ? 1 : (z < 14 ? 2 : 3);  /* thin where grids are small */
              return {color: p.color, weight: weight, fill: true, fillColor: p.color,
                      fillOpacity: faded ? 0.03 : 0.15, opacity: faded ? 0.4 : 1};
            },
            communities: function(p) {
              if (!inScope(p)) return [];
              return {color: '#2e7d32', weight: 1, fill: true, fillColor: '#81c784', fillOpacity: 0.45};
            },
            segments: function(p) {
              if (!inScope(p)) return [];
              return {color: p.color || '#c0392b', weight: 5, opacity: 0.9, bubblingMouseEvents: false};
            },
            subgrids: function(p) {  /* the level switch and drill-down decide (levelmap.LevelControl) */
              var f = window.gridmapLevelStyle;
              return (f ? f(p.code) : {color: '#1b9e77', weight: 2, fill: true, fillOpacity: 0.1}) || [];
            },
            frontages: function() { return {color: '#c2185b', weight: 4, opacity: 0.8, fill: true, fillColor: '#f48fb1', fillOpacity: 0.35}; },
            buildings: function() { return {color: '#5d4037', weight: 1, fill: true, fillColor: '#bcaaa4', fillOpacity: 0.6, radius: 5}; },
            shops: function() { return {radius: 11, color: '#fff', weight: 2, fill: true, fillOpacity: 0.95, fillColor: '#c2185b', bubblingMouseEvents: false}; },
            points: function(p) {
              if (!inScope(p)) return [];
              /* radius over 10: Leaflet takes a smaller circle for a marker and asks for its latlng,
                 which a tiled point has not, and the click fails */
              return {radius: 11, color: '#fff', weight: 2, fill: true, fillOpacity: 0.95,
                      fillColor: C.point_colors[p.category] || '#575757', bubblingMouseEvents: false};
            }
          };
          var labels = {towns: 'name', rivers: 'name', grids: 'name', communities: 'name', segments: 'road_name', points: 'name',
                        subgrids: 'name', shops: 'name', buildings: 'name', frontages: 'name'};
          var tip = L.tooltip({sticky: true, direction: 'top', offset: [0, -6]});
          function tipDiv(text) {
            var div = document.createElement('div');
            div.className = 'gm-tip';
            div.textContent = text === null || text === undefined ? '—' : String(text);
            return div;
          }
          var control = {{ this.layer_control.get_name() if this.layer_control else 'null' }};
          window.gridmapVectorLayers = {};
          C.layers.forEach(function(spec, i) {
            var style = {};
            style[spec.name] = styles[spec.name];
            var layer = L.vectorGrid.protobuf(C.url.replace('{layer}', spec.name), {
              vectorTileLayerStyles: style, interactive: true, pane: 'gmVector', zIndex: i + 1,
              minZoom: spec.min_zoom, maxNativeZoom: 18, maxZoom: 19,
              rendererFactory: L.svg.tile, attribution: ''
            });
            layer.on('mouseover', function(e) {
              var p = e.layer && e.layer.properties;
              if (!p) return;
              tip.setContent(tipDiv(p[labels[spec.name]])).setLatLng(e.latlng);
              map.openTooltip(tip);
            });
            layer.on('mousemove', function(e) { tip.setLatLng(e.latlng); });
            layer.on('mouseout', function() { map.closeTooltip(tip); });
            if (popups[spec.name]) {
              layer.on('click', function(e) {
                var p = e.layer && e.layer.properties;
                if (!p) return;
                L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(popups[spec.name](p)).openOn(map);
              });
            }
            /* after this script's fitBounds: no tiles are fetched for the map's default view */
            if (spec.show) setTimeout(function() { layer.addTo(map); }, 0);
            window.gridmapVectorLayers[spec.name] = layer;
            if (control) control.addOverlay(layer, spec.label);
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, config: dict, *, layer_control: folium.LayerControl | None = None) -> None:
        super().__init__()
        self._name = "TiledLayers"
        self.config_json = safe.script_json(config)
        self.layer_control = layer_control


class FitView(MacroElement):
    """The map's first view: ``fitBounds`` at once, without Leaflet's zoom animation, so that a layer
    added right after it (the problems' tiles) asks for the tiles of this view, not of the default one."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {padding: {{ this.padding|tojson }}, animate: false});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]], *, padding: tuple[int, int] = (20, 20)) -> None:
        super().__init__()
        self._name = "FitView"
        self.bounds = bounds
        self.padding = list(padding)
