"""Problems on a folium map: coloured by status, clustered, heatmap toggle, filters, safe popups.

The layer is static HTML/JS that fetches the current problems from a JSON URL, so a map
page can be cached per data version while problems come and go. Popup HTML is built here,
in Python, with every piece of user text escaped; the browser inserts it as given.
"""

from __future__ import annotations

from typing import cast

import folium
from branca.element import Element, Figure, MacroElement
from folium.plugins import HeatMap, MarkerCluster
from jinja2 import Template

from gridmap import safe
from gridmap.crs import convert_lonlat
from gridmap.problems.states import SOURCES, STATUS_COLORS, STATUS_LABELS
from gridmap.problems.tilelayer import ProblemTiles

OVERDUE_COLOR = "#b71c1c"
_STYLE = """<style>
.gm-problem-filter { background: rgba(255,255,255,.94); padding: 6px 8px; border-radius: 4px; font-size: 12px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); display: flex; flex-direction: column; gap: 3px; max-width: 190px; }
.gm-problem-filter select, .gm-problem-filter input { font-size: 12px; }
.gm-problem-legend span { display: inline-block; margin-right: 6px; white-space: nowrap; }
.gm-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 3px; border: 1px solid #333; }
.gm-problem-popup .gm-status { color: #fff; border-radius: 3px; padding: 0 4px; }
.gm-problem-popup .gm-desc { white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.gm-problem-popup .gm-thumb { display: block; margin: 4px 0; border: 1px solid #ddd; }
.gm-problem-popup .gm-history { max-height: 120px; overflow: auto; font-size: 12px; }
.gm-overdue { background: #b71c1c; }
</style>"""


def _e(value) -> str:
    return safe.html_text(value)


def _short_time(text: str | None) -> str:
    """'2026-11-27T09:00:00+08:00' → '2026-11-27 09:00'."""
    return text[:16].replace("T", " ") if text else "—"


def popup_html(rec: dict, *, page_base: str = "") -> str:
    """The popup of one problem: status, category, description, photo, who, deadline, history."""
    status = STATUS_LABELS.get(rec["status"], rec["status"])
    overdue = "<span class='gm-flag gm-overdue'>逾期</span>" if rec.get("overdue") else ""
    fallback = "<span class='gm-flag'>属地兜底</span>" if rec.get("fallback") else ""
    photo = ""
    if rec.get("photos"):
        p = rec["photos"][0]
        photo = (
            f"<a href='{safe.html_attr(p['url'])}' target='_blank' rel='noopener'>"
            f"<img class='gm-thumb' src='{safe.html_attr(p['thumb_url'])}' alt='问题照片' width='120'></a>"
        )
    history = "".join(
        f"<li>{_e(_short_time(h['at']))} {_e(h['action_label'])}"
        + (f"：{_e(h['note'])}" if h.get("note") else "")
        + "</li>"
        for h in rec.get("history", [])
    )
    grid = (rec.get("grid") or {}).get("name") or "不在网格内"
    unit = (rec.get("unit") or {}).get("name")
    link = safe.html_attr(f"{page_base}/problems/{safe.url_part(rec['tracking_no'])}")
    return (
        "<div class='gm-popup gm-problem-popup'>"
        f"<h4>{_e(rec['category_name'])} <small>{_e(rec['tracking_no'])}</small></h4>"
        f"<div class='gm-sub'><span class='gm-status' "
        f"style='background:{safe.html_attr(STATUS_COLORS.get(rec['status'], '#777'))}'>"
        f"{_e(status)}</span>{overdue}{fallback} · {_e(rec.get('source_label'))}</div>"
        f"<p class='gm-desc'>{_e(rec['description'])}</p>{photo}"
        f"<b>网格</b>：{_e(grid)}<br><b>责任单位</b>：{_e(unit)}<br>"
        f"<b>整改期限</b>：{_e(_short_time(rec.get('deadline')))}<br>"
        f"<b>处理经过</b><ul class='gm-list gm-history'>{history}</ul>"
        f"<a class='gm-more' href='{link}'>查看详情 »</a></div>"
    )


def features(records: list[dict], *, page_base: str = "", crs: str = "wgs84") -> list[dict]:
    """Compact JSON for the map layer: position, status colour, filter fields and popup."""
    out = []
    for rec in records:
        lon, lat = rec["lon"], rec["lat"]
        if crs in ("gcj02", "bd09"):
            lon, lat = (float(v) for v in convert_lonlat(lon, lat, source="wgs84", target=crs))
        out.append(
            {
                "id": rec["id"],
                "tracking_no": rec["tracking_no"],
                "lat": round(lat, 7),
                "lon": round(lon, 7),
                "status": rec["status"],
                "overdue": rec["overdue"],
                "color": STATUS_COLORS.get(rec["status"], "#777"),
                "category": rec["category"],
                "source": rec["source"],
                "date": (rec["created_at"] or "")[:10],
                "popup": popup_html(rec, page_base=page_base),
            }
        )
    return out


class _ProblemOverlay(MacroElement):
    """Fetches problems, fills the cluster and heat layers, and filters them in the page."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}{% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var cluster = {{ this.cluster.get_name() }};
          var heat = {{ this.heat.get_name() if this.heat else 'null' }};
          var URL = {{ this.data_url|tojson }}, TILES = {{ this.tile_url|tojson }}, shownUrl = TILES;
          var STATUS = {{ this.statuses|tojson }}, CATS = {{ this.categories|tojson }}, SOURCES = {{ this.sources|tojson }};
          var all = [];
          window.gridmapProblemLayer = cluster;
          function opt(value, label) {
            var o = document.createElement('option'); o.value = value; o.textContent = label; return o;
          }
          var box = L.control({position: 'topright'});
          box.onAdd = function() {
            var div = L.DomUtil.create('div', 'gm-problem-filter');
            var title = document.createElement('div'); title.className = 'gm-legend-title'; title.textContent = '问题筛选';
            div.appendChild(title);
            function select(name, label, entries) {
              var s = document.createElement('select'); s.name = name; s.setAttribute('aria-label', label);
              s.appendChild(opt('', label + '：全部'));
              entries.forEach(function(e) { s.appendChild(opt(e[0], e[1])); });
              div.appendChild(s); return s;
            }
            select('status', '状态', Object.keys(STATUS).map(function(k) { return [k, STATUS[k]]; }).concat([['overdue', '逾期']]));
            select('category', '类别', CATS);
            select('source', '来源', Object.keys(SOURCES).map(function(k) { return [k, SOURCES[k]]; }));
            ['from', 'to'].forEach(function(name) {
              var i = document.createElement('input'); i.type = 'date'; i.name = name;
              i.setAttribute('aria-label', name === 'from' ? '起始日期' : '截止日期');
              i.title = name === 'from' ? '起始日期' : '截止日期';
              div.appendChild(i);
            });
            var count = document.createElement('div'); count.className = 'gm-problem-count'; div.appendChild(count);
            var legend = document.createElement('div'); legend.className = 'gm-problem-legend';
            Object.keys(STATUS).forEach(function(k) {
              var row = document.createElement('span'); var sw = document.createElement('i');
              sw.className = 'gm-dot'; sw.style.background = {{ this.colors|tojson }}[k];
              row.appendChild(sw); row.appendChild(document.createTextNode(STATUS[k])); legend.appendChild(row);
            });
            div.appendChild(legend);
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            div.addEventListener('change', apply);
            return div;
          };
          box.addTo(map);
          function value(name) {
            var el = document.querySelector('.gm-problem-filter [name="' + name + '"]');
            return el ? el.value : '';
          }
          function apply() {
            var st = value('status'), cat = value('category'), src = value('source'), from = value('from'), to = value('to');
            if (TILES) {  /* tiled (ProblemTiles): the server filters, by the tile URL */
              var q = [['status', st], ['category', cat], ['source', src], ['from', from], ['to', to]]
                .filter(function(p) { return p[1]; })
                .map(function(p) { return p[0] + '=' + encodeURIComponent(p[1]); });
              var next = TILES + (q.length ? (TILES.indexOf('?') >= 0 ? '&' : '?') + q.join('&') : '');
              /* setUrl redraws every tile: only when the filter changed the URL (not on the first call) */
              if (next !== shownUrl) { shownUrl = next; cluster.setUrl(next); }
              var note = document.querySelector('.gm-problem-count');
              if (note) note.textContent = '问题较多，按瓦片显示；放大后点击查看详情';
              return;
            }
            var shown = all.filter(function(f) {
              if (st === 'overdue' ? !f.overdue : (st && f.status !== st)) return false;
              if (cat && f.category !== cat) return false;
              if (src && f.source !== src) return false;
              if (from && f.date < from) return false;
              if (to && f.date > to) return false;
              return true;
            });
            cluster.clearLayers();
            cluster.addLayers(shown.map(function(f) { return f.marker; }));
            heat.setLatLngs(shown.map(function(f) { return [f.lat, f.lon]; }));
            var count = document.querySelector('.gm-problem-count');
            if (count) count.textContent = '显示 ' + shown.length + ' / ' + all.length + ' 个问题';
          }
          if (TILES) { apply(); return; }
          fetch(URL, {credentials: 'same-origin'}).then(function(r) { return r.json(); }).then(function(d) {
            all = (d.features || []).map(function(f) {
              f.marker = L.circleMarker([f.lat, f.lon], {
                radius: 8, weight: f.overdue ? 3 : 1, color: f.overdue ? {{ this.overdue_color|tojson }} : '#333',
                fillColor: f.color, fillOpacity: 0.9, className: 'gm-problem-marker'
              });
              f.marker.bindPopup(f.popup, {maxWidth: 360});
              return f;
            });
            apply();
            document.documentElement.setAttribute('data-problems-loaded', String(all.length));
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, cluster, heat, data_url: str, categories, tile_url: str | None = None) -> None:
        super().__init__()
        self._name = "ProblemOverlay"
        self.cluster = cluster
        self.heat = heat
        self.data_url = data_url
        self.tile_url = tile_url
        self.statuses = STATUS_LABELS
        self.colors = STATUS_COLORS
        self.sources = SOURCES
        self.categories = [[c.code, c.name] for c in categories]
        self.overdue_color = OVERDUE_COLOR


def add_problem_layer(
    m: folium.Map, *, data_url: str, categories, tile_url: str | None = None, popup_zoom: int = 13
) -> folium.Map:
    """Add the problem overlay to a map: a clustered layer, a heatmap (off at first), filters.

    With ``tile_url`` (/vt/problems/{z}/{x}/{y}.pbf and the page's scope) the problems come from
    vector tiles instead (gridmap.problems.tilelayer), filtered on the server; no heatmap then.
    Call before the map's LayerControl is added so the layers appear in it.
    """
    root = cast(Figure, m.get_root())
    root.header.add_child(Element(_STYLE), name="gm_problem_style")
    if tile_url:
        tiles = ProblemTiles(
            url=tile_url, name="问题（按状态着色）", overdue_color=OVERDUE_COLOR, popup_zoom=popup_zoom
        )
        tiles.add_to(m)
        overlay = _ProblemOverlay(
            cluster=tiles, heat=None, data_url=data_url, categories=categories, tile_url=tile_url
        )
        m.add_child(overlay)
        return m
    cluster = MarkerCluster(name="问题（按状态着色）", options={"maxClusterRadius": 35})
    cluster.add_to(m)
    heat = HeatMap([], name="问题热力图", show=False, radius=22, blur=18, min_opacity=0.4)
    heat.add_to(m)
    m.add_child(_ProblemOverlay(cluster=cluster, heat=heat, data_url=data_url, categories=categories))
    return m
