"""The county map's grid levels: village, group and sub-grids, a level switch, a town › village › group drill-down."""

from __future__ import annotations

import math

import geopandas as gpd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from gridmap import safe
from gridmap.responsibility import ResponsibilityModel

# The level switch: (key, label). 网格 shows the county-town grids (and their sub-grids).
SWITCH = (("网格", "县城网格"), ("村", "村网格"), ("组", "组网格"))
# Embedded shops, frontages and buildings appear from these zooms on (the tiled ones: vectortiles.LAYERS).
DETAIL_ZOOM = {"shops": 15, "frontages": 15, "buildings": 16}


def _text(value: object) -> str | None:
    return None if safe.is_missing(value) else str(value)


def _box(geom) -> list[float] | None:
    if geom is None or geom.is_empty:
        return None
    values = [round(float(v), 6) for v in geom.bounds]
    return values if all(math.isfinite(v) for v in values) else None


def _anchor(geom) -> list[float] | None:
    if geom is None or geom.is_empty:
        return None
    pt = shapely.point_on_surface(geom)
    return [round(pt.y, 6), round(pt.x, 6)]


def level_index(model: ResponsibilityModel, *, display) -> list[list]:
    """Every town, county-town grid and sub-grid as [code, name, level, parent, [w, s, e, n], [lat, lng]]
    (in the map's display CRS through ``display``, a GeoDataFrame -> GeoDataFrame function)."""
    out: list[list] = []
    frames = (
        ("镇", model.towns, None),
        ("网格", model.grids, "town_code"),
        (None, model.subgrids, "parent_code"),
    )
    for level, frame, parent in frames:
        if not len(frame):
            continue
        shown = display(gpd.GeoDataFrame(geometry=frame.geometry.values, crs="EPSG:4326"))
        names = frame["name"] if "name" in frame.columns else [None] * len(frame)
        levels = frame["level"] if level is None and "level" in frame.columns else [level] * len(frame)
        parents = frame[parent] if parent and parent in frame.columns else [None] * len(frame)
        for code, name, lv, up, geom in zip(frame.index, names, levels, parents, shown.geometry):
            out.append([str(code), _text(name), _text(lv) or "子网格", _text(up), _box(geom), _anchor(geom)])
    return out


def _features(frame: gpd.GeoDataFrame, shown: gpd.GeoDataFrame, columns: tuple[str, ...]) -> dict:
    geoms = shapely.set_precision(shown.geometry.values, 1e-6, mode="pointwise")  # about 0.1 m
    features = []
    for i, (code, geom) in enumerate(zip(frame.index, geoms)):
        if geom is None or geom.is_empty:
            continue
        props: dict[str, str | None] = {"code": str(code)}
        for c in columns:
            props[c] = _text(frame[c].iloc[i]) if c in frame.columns else None
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def embedded_layers(model: ResponsibilityModel, *, display) -> dict:
    """GeoJSON of the sub-grids, shops (public fields only), frontages and buildings for an embedded map."""
    shops = model.shops
    frontages = model.frontages.copy()
    if "shop_code" in frontages.columns and "name" in shops.columns:
        names = shops["name"][~shops.index.duplicated()]
        frontages["shop_name"] = frontages["shop_code"].map(names)
    return {
        "subgrids": _features(model.subgrids, display(model.subgrids), ("name",)),
        "shops": _features(shops, display(shops), ("name", "category", "address")),
        "frontages": _features(frontages, display(frontages), ("shop_code", "shop_name")),
        "buildings": _features(model.buildings, display(model.buildings), ("name", "community_code")),
    }


class LevelControl(MacroElement):
    """The level switch (县城网格 / 村网格 / 组网格), the drill-down (全县 › 镇 › 村 › 组) and the
    sub-grids drawn per level. ``config``: ``index`` (level_index), ``switch``, ``pages`` (link base),
    ``layers`` (embedded_layers, or None on a tiled map, whose ``subgrids`` tile layer it restyles
    through ``window.gridmapLevelState``), ``detail_zoom``. Every name is set with textContent.
    A location hash ``#level=<code>`` opens the map drilled down to that grid."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var C = {{ this.config_json }};
          var N = {};  /* code -> node */
          C.index.forEach(function(r) { N[r[0]] = {code: r[0], name: r[1], level: r[2], parent: r[3], box: r[4], at: r[5]}; });
          var KIDS = {};
          Object.keys(N).forEach(function(c) { var p = N[c].parent; if (p && N[p]) (KIDS[p] = KIDS[p] || []).push(c); });
          var TOWNS = Object.keys(N).filter(function(c) { return N[c].level === '镇'; });
          var COLORS = {'村': ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#1f78b4'],
                        '组': ['#8c510a', '#01665e', '#762a83', '#b2182b', '#2166ac', '#4d9221'],
                        '子网格': ['#6a3d9a', '#b15928', '#33a02c']};
          var S = window.gridmapLevelState = {level: '村', focus: null};
          function under(code, focus) {  /* code lies below (or is) focus */
            var seen = 0;
            for (var c = code; c && N[c] && seen < 12; c = N[c].parent, seen++) if (c === focus) return true;
            return false;
          }
          function shownLevel(lv) {
            if (S.level === '网格') return lv === '子网格';
            return lv === S.level;
          }
          function visible(code) {
            var n = N[code];
            if (n && code === S.focus) return true;  /* the chosen grid's own outline stays */
            if (!n || !shownLevel(n.level)) return false;
            return S.focus === null || under(code, S.focus);
          }
          function colorOf(code) {
            var n = N[code], list = COLORS[n && n.level] || COLORS['子网格'];
            var h = 0;
            for (var i = 0; i < code.length; i++) h = (h * 31 + code.charCodeAt(i)) % 9973;
            return list[h % list.length];
          }
          function styleOf(code) {
            var n = N[code] || {}, col = colorOf(code), group = n.level === '组';
            if (code === S.focus) return {stroke: true, color: '#0b5394', weight: 4, dashArray: null, fill: true, fillColor: '#0b5394', fillOpacity: 0.03, opacity: 1};
            return {stroke: true, color: col, weight: group ? 1.5 : 2.5, dashArray: group ? '5 3' : null, fill: true,
                    fillColor: col, fillOpacity: 0.16, opacity: 1};
          }
          var HIDDEN = {stroke: false, fill: false};  /* no stroke, no fill: no tooltip, clicks pass */
          window.gridmapLevelStyle = function(code) { return visible(code) ? styleOf(code) : null; };  /* tiled */
          function textDiv(text, cls) {
            var d = document.createElement('div');
            d.className = cls || '';
            d.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
            return d;
          }
          function tipOf(p) { return textDiv(p && (p.name || p.code), 'gm-tip'); }

          /* --- the sub-grids: embedded GeoJSON, or the tiled layer restyled --- */
          var subLayer = null, details = {};
          if (C.layers) {
            subLayer = L.geoJSON(C.layers.subgrids, {
              style: function(f) { return visible(f.properties.code) ? styleOf(f.properties.code) : HIDDEN; },
              interactive: true, bubblingMouseEvents: true
            });
            subLayer.eachLayer(function(l) { l.options.bubblingMouseEvents = true; });
            subLayer.bindTooltip(function(l) { return tipOf(l.feature.properties); }, {sticky: true});
            subLayer.addTo(map);
            var dot = {radius: 4, color: '#fff', weight: 1.5, fillColor: '#c2185b', fillOpacity: 0.95};  /* small: a tap on the pavement beside it asks whois */
            details.shops = L.geoJSON(C.layers.shops, {
              pointToLayer: function(f, ll) { return L.circleMarker(ll, dot); },
              onEachFeature: function(f, l) {
                l.options.bubblingMouseEvents = false;
                l.bindTooltip(tipOf(f.properties), {sticky: true});
                l.bindPopup(function() { return shopPopup(f.properties); });
              }
            });
            details.frontages = L.geoJSON(C.layers.frontages, {
              style: function() { return {color: '#c2185b', weight: 4, opacity: 0.8, fillColor: '#f48fb1', fillOpacity: 0.35, dashArray: '2 4'}; },
              onEachFeature: function(f, l) { l.bindTooltip(textDiv('门前五包：' + (f.properties.shop_name || f.properties.shop_code || '—'), 'gm-tip'), {sticky: true}); }
            });
            details.buildings = L.geoJSON(C.layers.buildings, {
              style: function() { return {color: '#5d4037', weight: 1, fillColor: '#bcaaa4', fillOpacity: 0.6}; },
              pointToLayer: function(f, ll) { return L.circleMarker(ll, {radius: 5, color: '#5d4037', weight: 1, fillColor: '#bcaaa4', fillOpacity: 0.9}); },
              onEachFeature: function(f, l) { l.bindTooltip(tipOf(f.properties), {sticky: true}); }
            });
            function zoomDetails() {
              Object.keys(details).forEach(function(k) {
                var on = map.getZoom() >= C.detail_zoom[k];
                if (on && !map.hasLayer(details[k])) details[k].addTo(map);
                if (!on && map.hasLayer(details[k])) map.removeLayer(details[k]);
              });
            }
            map.on('zoomend', zoomDetails);
            zoomDetails();
          }
          function shopPopup(p) {
            var box = document.createElement('div');
            box.className = 'gm-popup gm-shop-popup';
            var h = document.createElement('h4');
            h.textContent = p.name || '—';
            box.appendChild(h);
            box.appendChild(textDiv([p.category, p.address].filter(function(v) { return v; }).join(' · ') || '—', 'gm-sub'));
            return box;
          }
          function tiled() { return window.gridmapVectorLayers && window.gridmapVectorLayers.subgrids; }

          /* --- labels of the grids in view (the current level, below the focus) --- */
          var labels = L.layerGroup().addTo(map);
          function drawLabels() {
            labels.clearLayers();
            var b = map.getBounds(), shown = 0;
            Object.keys(N).forEach(function(code) {
              var n = N[code];
              if (shown >= 150 || code === S.focus || !n.at || !visible(code) || !b.contains(n.at)) return;
              if (n.box) {  /* no label wider than its grid on screen */
                var w = map.latLngToContainerPoint([n.box[1], n.box[2]]).x - map.latLngToContainerPoint([n.box[1], n.box[0]]).x;
                if (w < 30) return;
              }
              shown++;
              labels.addLayer(L.marker(n.at, {interactive: false, keyboard: false,
                icon: L.divIcon({html: textDiv(n.name, 'gm-level-label gm-level-label-' + (n.level === '组' ? 'group' : 'village')),
                                 className: 'gm-level-label-icon', iconSize: null})}));
            });
          }
          map.on('moveend', drawLabels);

          /* --- the control: breadcrumb, level switch, children to drill into --- */
          var ctl = L.control({position: 'topleft'});
          var root, crumbs, buttons = {}, pick;
          ctl.onAdd = function() {
            root = L.DomUtil.create('div', 'gm-levels-ctl');
            root.setAttribute('role', 'group');
            root.setAttribute('aria-label', '网格层级');
            L.DomEvent.disableClickPropagation(root);
            L.DomEvent.disableScrollPropagation(root);
            crumbs = L.DomUtil.create('nav', 'gm-crumbs', root);
            crumbs.setAttribute('aria-label', '当前位置');
            var sw = L.DomUtil.create('div', 'gm-level-switch', root);
            C.switch.forEach(function(pair) {
              var b = L.DomUtil.create('button', 'gm-level-btn', sw);
              b.type = 'button';
              b.textContent = pair[1];
              b.setAttribute('data-level', pair[0]);
              b.addEventListener('click', function() { setLevel(pair[0]); });
              buttons[pair[0]] = b;
            });
            pick = L.DomUtil.create('select', 'gm-level-pick', root);
            pick.setAttribute('aria-label', '进入下一级');
            pick.addEventListener('change', function() { if (pick.value) drill(pick.value); });
            return root;
          };
          ctl.addTo(map);

          function crumb(text, code) {
            var a = document.createElement(code === undefined ? 'b' : 'a');
            a.textContent = text;
            if (code !== undefined) {
              a.href = '#';
              a.setAttribute('data-code', code === null ? '' : code);
              a.addEventListener('click', function(e) { e.preventDefault(); drill(code); });
            }
            return a;
          }
          function chainOf(code) {
            var out = [];
            for (var c = code, i = 0; c && N[c] && i < 12; c = N[c].parent, i++) out.unshift(c);
            return out;
          }
          function render() {
            crumbs.textContent = '';
            var chain = S.focus ? chainOf(S.focus) : [];
            crumbs.appendChild(chain.length ? crumb('全县', null) : crumb('全县'));
            chain.forEach(function(c, i) {
              crumbs.appendChild(document.createTextNode(' › '));
              crumbs.appendChild(i === chain.length - 1 ? crumb(N[c].name || c) : crumb(N[c].name || c, c));
            });
            if (S.focus) {
              var more = document.createElement('a');
              more.className = 'gm-level-more';
              more.href = (C.pages || '') + '/levels/' + encodeURIComponent(S.focus);
              more.textContent = '详情';
              crumbs.appendChild(document.createTextNode(' '));
              crumbs.appendChild(more);
            }
            Object.keys(buttons).forEach(function(k) {
              buttons[k].classList.toggle('gm-on', k === S.level);
              buttons[k].setAttribute('aria-pressed', k === S.level ? 'true' : 'false');
            });
            var kids = S.focus ? (KIDS[S.focus] || []) : TOWNS;
            pick.textContent = '';
            var first = document.createElement('option');
            first.value = '';
            first.textContent = kids.length ? (S.focus ? '进入下级网格…' : '选择镇（街道）…') : '（没有下级网格）';
            pick.appendChild(first);
            kids.forEach(function(c) {
              var o = document.createElement('option');
              o.value = c;
              o.textContent = (N[c].name || c) + (N[c].level === '镇' ? '' : '（' + ({'网格': '县城网格', '村': '村网格', '组': '组网格'}[N[c].level] || N[c].level) + '）');
              pick.appendChild(o);
            });
            pick.disabled = !kids.length;
            pick.value = '';
            root.setAttribute('data-focus', S.focus || '');
            root.setAttribute('data-level', S.level);
          }
          function restyle(fresh) {  /* fresh: the view moved to another zoom, every tile comes new */
            if (subLayer) subLayer.setStyle(function(f) { return visible(f.properties.code) ? styleOf(f.properties.code) : HIDDEN; });
            var t = tiled();
            if (t && !fresh) t.redraw();
            drawLabels();
            render();
          }
          function setLevel(level) {
            S.level = level;
            restyle();
          }
          function drill(code) {
            S.focus = code && N[code] ? code : null;
            var n = S.focus ? N[S.focus] : null;
            if (n) {  /* the next level down shows: a town its villages, a village its groups */
              var next = {'镇': '村', '村': '组', '网格': '网格', '子网格': '网格'}[n.level];
              if (next) S.level = next;
            } else {
              S.level = '村';
            }
            map.invalidateSize({animate: false});  /* a phone's layout may have moved since the map was made */
            var zoom = map.getZoom();
            if (n && n.box) map.fitBounds([[n.box[1], n.box[0]], [n.box[3], n.box[2]]], {padding: [20, 20], animate: false});
            else if (C.home) map.fitBounds(C.home, {padding: [20, 20], animate: false});
            if (history.replaceState) history.replaceState(null, '', S.focus ? '#level=' + encodeURIComponent(S.focus) : location.pathname + location.search);
            restyle(map.getZoom() !== zoom);
          }
          window.gridmapLevels = {drill: drill, setLevel: setLevel, state: S};
          var m = /[#&]level=([^&]+)/.exec(location.hash);
          var start = m ? decodeURIComponent(m[1]) : null;
          if (start && N[start]) setTimeout(function() { drill(start); }, 0);
          else restyle();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, config: dict) -> None:
        super().__init__()
        self._name = "LevelControl"
        self.config_json = safe.script_json(config)


def add_levels(m, model: ResponsibilityModel, *, display, page_base: str, tiled: bool) -> None:
    """Add the level control (and on an embedded map the sub-grid, shop, frontage and building layers)."""
    index = level_index(model, display=display)
    boxes = [r[4] for r in index if r[2] == "镇" and r[4]]
    home = (
        [
            [min(b[1] for b in boxes), min(b[0] for b in boxes)],
            [max(b[3] for b in boxes), max(b[2] for b in boxes)],
        ]
        if boxes
        else None
    )
    config = {
        "index": index,
        "switch": [list(p) for p in SWITCH],
        "pages": page_base,
        "layers": None if tiled else embedded_layers(model, display=display),
        "detail_zoom": DETAIL_ZOOM,
        "home": home,
    }
    m.add_child(LevelControl(config))
