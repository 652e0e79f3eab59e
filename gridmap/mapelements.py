"""Folium elements of our own (text-only tooltips, JSON-fed markers) and a map cut into page parts."""

from __future__ import annotations

import re
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from gridmap import safe


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
