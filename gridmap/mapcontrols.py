"""Map controls of the responsibility maps: the layer drawer, search box, click-anywhere whois, popup fit."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from jinja2 import Template

# Screens up to this width (CSS px) are phones: the drawer is a bottom sheet, closed at first.
PHONE_MAX_WIDTH = 700


class Drawer(MacroElement):
    """A drawer beside the map (a bottom sheet on phones) that holds the layer list, the problem
    filter and the legend, opened and closed by a button on the map.

    The drawer is plain HTML next to the map's div, so on wide screens the map is laid out
    beside it from the start (``open_wide``: open at first on wide screens; phones always start
    closed). The script moves the layer control (``layer_control``) and the problem filter
    (``.gm-problem-filter``, gridmap.problems.maplayer) into it, moves the zoom buttons out of the
    way on phones, and keeps popups clear of every control: Leaflet's autoPan padding and a
    popup's maxHeight follow the controls' real positions and the visible part of the page.
    Add it after the layer control; the legend (maps._Legend) puts itself in ``[data-slot=legend]``.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div class="gm-drawer" id="{{ this._parent.get_name() }}_drawer" data-state="{{ 'auto' if this.open_wide else 'closed' }}" role="region" aria-label="图层、筛选与图例">
          <div class="gm-drawer-head"><b>图层与图例</b><button type="button" class="gm-drawer-close" aria-label="关闭图层与图例">✕</button></div>
          <div class="gm-drawer-body">
            <section data-slot="layers" aria-label="图层"></section>
            <section data-slot="filter"></section>
            <section data-slot="legend"></section>
          </div>
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var drawer = document.getElementById({{ (this._parent.get_name() ~ '_drawer')|tojson }});
          var mq = window.matchMedia('(max-width: {{ this.phone_max }}px)');
          function slot(name) { return drawer.querySelector('[data-slot="' + name + '"]'); }
          {%- if this.layer_control %}
          slot('layers').appendChild({{ this.layer_control.get_name() }}.getContainer());
          {%- endif %}
          var filter = map.getContainer().querySelector('.gm-problem-filter');
          if (filter) slot('filter').appendChild(filter);
          if (map.attributionControl) map.attributionControl.setPrefix('Leaflet');

          var button;
          var toggle = L.control({position: 'topright'});
          toggle.onAdd = function() {
            var div = L.DomUtil.create('div', 'gm-drawer-control');
            button = L.DomUtil.create('button', 'gm-drawer-toggle', div);
            button.type = 'button';
            button.setAttribute('aria-controls', drawer.id);
            button.innerHTML = '<span aria-hidden="true">☰</span>图层';
            button.title = '图层、问题筛选与图例';
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            button.addEventListener('click', function() { setOpen(!isOpen()); });
            return div;
          };
          toggle.addTo(map);

          function isOpen() {
            var state = drawer.getAttribute('data-state');
            return state === 'open' || (state === 'auto' && !mq.matches);
          }
          function setOpen(open) {
            drawer.setAttribute('data-state', open ? 'open' : 'closed');
            map.invalidateSize();  // wide screens: the drawer takes its width from the map
            sync();
          }
          function placeZoom() {
            if (map.zoomControl) map.zoomControl.setPosition(mq.matches ? 'bottomright' : 'topleft');
          }
          function fitPopups() {
            /* autoPan padding = the controls in the map's corners, and what is scrolled out of sight */
            var box = map.getContainer().getBoundingClientRect();
            var top = 0, bottom = 0;
            Array.prototype.forEach.call(map.getContainer().querySelectorAll('.leaflet-control'), function(c) {
              var r = c.getBoundingClientRect();
              if (!r.width || !r.height) return;
              if (c.parentNode.classList.contains('leaflet-top')) top = Math.max(top, r.bottom - box.top);
              else bottom = Math.max(bottom, box.bottom - r.top);
            });
            top = Math.max(top, -box.top) + 8;
            bottom = Math.max(bottom, box.bottom - window.innerHeight) + 8;
            var o = L.Popup.prototype.options;
            var before = [o.autoPanPaddingTopLeft, o.autoPanPaddingBottomRight, o.maxHeight].join();
            o.autoPanPaddingTopLeft = L.point(8, Math.round(top));
            o.autoPanPaddingBottomRight = L.point(8, Math.round(bottom));
            o.maxHeight = Math.max(120, Math.round(Math.min(box.height, window.innerHeight) - top - bottom - 80));
            return before !== [o.autoPanPaddingTopLeft, o.autoPanPaddingBottomRight, o.maxHeight].join();
          }
          function sync() {
            button.setAttribute('aria-expanded', String(isOpen()));
            fitPopups();
          }
          drawer.querySelector('.gm-drawer-close').addEventListener('click', function() {
            setOpen(false);
            button.focus();
          });
          mq.addEventListener('change', function() { placeZoom(); map.invalidateSize(); sync(); });
          map.on('resize', fitPopups);
          window.addEventListener('scroll', fitPopups, {passive: true});
          map.on('popupopen', function(e) {
            if (mq.matches && isOpen()) setOpen(false);  // a sheet never covers an open popup
            if (fitPopups()) e.popup.update();
            var el = e.popup.getElement();
            Array.prototype.forEach.call(el ? el.querySelectorAll('img') : [], function(img) {
              if (!img.complete) img.addEventListener('load', function() { if (e.popup.isOpen()) e.popup.update(); });
            });
          });
          /* a tap on the map while the sheet is open only closes the sheet (see Interactions) */
          map.gridmapDrawer = {
            isOpen: isOpen,
            setOpen: setOpen,
            dismiss: function() { if (mq.matches && isOpen()) { setOpen(false); return true; } return false; }
          };
          placeZoom();
          sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, layer_control: folium.LayerControl | None = None, open_wide: bool = False) -> None:
        super().__init__()
        self._name = "Drawer"
        self.layer_control = layer_control
        self.open_wide = open_wide
        self.phone_max = PHONE_MAX_WIDTH


class Interactions(MacroElement):
    """Search box and click-anywhere whois; every server text is escaped before display."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var API = {{ this.api_base|tojson }}, CRS = {{ this.crs|tojson }}, PAGES = {{ this.page_base|tojson }};
          window.gridmapMap = map;
          function esc(v) {
            if (v === null || v === undefined || v === '') return '—';
            return String(v).replace(/[&<>"']/g, function(c) {
              return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];
            });
          }
          function people(list) {
            if (!list || !list.length) return '—';
            return list.map(function(p) {
              return esc(p.name) + (p.title ? '（' + esc(p.title) + '）' : '') + (p.phone ? ' ' + esc(p.phone) : '');
            }).join('<br>');
          }
          function unit(u) { return u ? esc(u.name) + (u.phone ? ' ' + esc(u.phone) : '') : '—'; }
          function whoisHtml(d) {
            var h = '<div class="gm-popup gm-whois"><h4>此处由谁负责</h4>';
            if (!d.in_county) return h + '不在本县范围内</div>';
            h += '<b>镇（街道）</b>：' + esc(d.town && d.town.name) + '<br>';
            if (d.grid) {
              h += '<b>网格</b>：<a href="' + PAGES + '/grids/' + encodeURIComponent(d.grid.code) + '">' + esc(d.grid.name) + '</a><br>';
            } else if (d.answered_at && d.answered_at !== '镇') {  /* a village or group grid answers (below) */
              h += '<b>网格</b>：不在县城网格内，由下列村（组）网格负责<br>';
            } else {
              h += '<b>网格</b>：不在任何网格内，由所在镇（街道）兜底负责<span class="gm-flag">属地兜底</span><br>';
            }
            h += '<b>' + (d.grid ? '包片县级领导' : '联系镇县级领导') + '</b>：<br>' + people(d.leaders) + '<br>';
            if (d.grid_head) h += '<b>网格长</b>：' + people([d.grid_head]) + '<br>';
            if (d.lead_department) h += '<b>牵头部门</b>：' + unit(d.lead_department) + '<br>';
            if (d.segment) h += '<b>路段</b>：' + esc(d.segment.road_name) + '（' + esc(d.segment.distance_m) + ' 米）· 包段单位 ' + unit(d.segment.unit) + '<br>';
            if (d.point) h += '<b>考察点位</b>：' + esc(d.point.name) + '（' + esc(d.point.category) + '）· ' + unit(d.point.unit) + '<br>';
            if (d.community) h += '<b>小区</b>：' + esc(d.community.name) + ' · ' + unit(d.community.unit) + '<br>';
            if (d.responsible_unit) h += '<b>责任单位</b>：' + unit(d.responsible_unit);
            return h + '</div>';
          }
          var LEVEL_NAMES = {'组': '组网格', '村': '村网格', '子网格': '子网格', '网格': '网格', '镇': '镇（街道）', '县': '县级领导'};
          function el(tag, text, cls) {  /* server text only ever as textContent */
            var e = document.createElement(tag);
            if (text !== undefined && text !== null) e.textContent = String(text);
            if (cls) e.className = cls;
            return e;
          }
          function levelsNode(d) {  /* the chain from the smallest grid to the county, the shop, the building */
            var box = el('div', null, 'gm-levels');
            if (d.chain && d.chain.length) {
              box.appendChild(el('b', '各级网格（由' + (LEVEL_NAMES[d.answered_at] || d.answered_at) + '应答）'));
              var list = el('ol', null, 'gm-list');
              d.chain.forEach(function(c) {
                var li = el('li', null, 'gm-level');
                li.appendChild(el('b', (LEVEL_NAMES[c.level] || c.level) + (c.level === '县' ? '' : '：')));
                if (c.level !== '县') li.appendChild(document.createTextNode(c.name || '—'));
                var who = (c.people || []).map(function(p) {
                  return p.name + (p.role ? '（' + p.role + '）' : '') + (p.phone ? ' ' + p.phone : '');
                }).join('、');
                if (who) li.appendChild(el('div', who, 'gm-sub'));
                list.appendChild(li);
              });
              box.appendChild(list);
            }
            if (d.shop) {
              var shop = el('div', null, 'gm-level-shop');
              shop.appendChild(el('b', '门前五包商户：'));
              shop.appendChild(document.createTextNode(d.shop.name + (d.shop.category ? '（' + d.shop.category + '）' : '') +
                                                       (d.shop.address ? ' · ' + d.shop.address : '')));
              box.appendChild(shop);
            }
            if (d.building) {
              var b = el('div', null, 'gm-level-building');
              var heads = (d.building.household_heads || []).map(function(h) { return h.name; }).join('、');
              b.appendChild(el('b', '楼栋：'));
              b.appendChild(document.createTextNode(d.building.name + ' · 中心户长 ' + (heads || '—')));
              box.appendChild(b);
            }
            return box;
          }
          function hitHtml(h) {  /* what a search hit is, above who answers for its spot */
            var more = [h.detail, h.where].filter(function(v) { return v; }).map(esc).join(' · ');
            return '<div class="gm-popup gm-hit-popup"><b>' + esc(h.kind_label) + '：' + esc(h.name) + '</b>' +
                   (more ? '<br><small>' + more + '</small>' : '') + '</div>';
          }
          function whoisAt(latlng, hit) {
            var url = API + '/whois?lon=' + latlng.lng.toFixed(7) + '&lat=' + latlng.lat.toFixed(7) + '&crs=' + CRS;
            fetch(url).then(function(r) { return r.json(); }).then(function(d) {
              var content = document.createElement('div');
              content.innerHTML = (hit ? hitHtml(hit) : '') + (d.message && !d.lon ? esc(d.message) : whoisHtml(d));
              var answer = content.querySelector('.gm-whois');
              if (answer && d.in_county && d.chain) answer.appendChild(levelsNode(d));
              L.popup({maxWidth: 380}).setLatLng(latlng).setContent(content).openOn(map);
            });
          }
          map.on('click', function(e) {
            if (map.gridmapDrawer && map.gridmapDrawer.dismiss()) return;
            whoisAt(e.latlng);
          });
          var box = L.control({position: 'topleft'});
          box.onAdd = function() {
            var div = L.DomUtil.create('div', 'gm-search');
            div.innerHTML = '<input type="search" id="gm-search-input" placeholder="搜索网格、单位、领导、点位…" aria-label="搜索">' +
                            '<div id="gm-search-results"></div>';
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          box.addTo(map);
          var input = document.getElementById('gm-search-input');
          var results = document.getElementById('gm-search-results');
          var timer = null;
          input.addEventListener('input', function() {
            clearTimeout(timer);
            timer = setTimeout(function() {
              var q = input.value.trim();
              if (!q) { results.innerHTML = ''; return; }
              fetch(API + '/search?crs=' + CRS + '&q=' + encodeURIComponent(q)).then(function(r) { return r.json(); })
                .then(function(d) {
                  if (!d.results.length) { results.innerHTML = '<div class="gm-none">没有找到</div>'; return; }
                  results.innerHTML = d.results.map(function(h, i) {
                    var more = [h.detail, h.where].filter(function(v) { return v; }).map(esc).join(' · ');
                    return '<div class="gm-hit" data-i="' + i + '" role="button" tabindex="0"><span class="gm-kind">' + esc(h.kind_label) +
                           '</span>' + esc(h.name) + (more ? '<small class="gm-hit-where">' + more + '</small>' : '') + '</div>';
                  }).join('');
                  Array.prototype.forEach.call(results.querySelectorAll('.gm-hit'), function(el) {
                    el.addEventListener('click', function(ev) {
                      L.DomEvent.stop(ev);  /* the hit answers the click: the map under it must not */
                      var h = d.results[+el.getAttribute('data-i')];
                      if (h.lat !== undefined) {  /* go there and open who answers for it */
                        var at = L.latLng(h.lat, h.lng !== undefined ? h.lng : h.lon);
                        results.innerHTML = '';
                        map.setView(at, 17);
                        whoisAt(at, h);
                      }
                      else if (h.kind === 'unit') { window.location = PAGES + '/units/' + encodeURIComponent(h.code); }
                      else if (h.kind === 'leader') { window.location = PAGES + '/leaders/' + encodeURIComponent(h.code); }
                    });
                  });
                });
            }, 250);
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, api_base: str, page_base: str, crs: str) -> None:
        super().__init__()
        self._name = "Interactions"
        self.api_base = api_base
        self.page_base = page_base
        self.crs = crs
