/* Field assessment pages: the checklist asks for a photo only on a fail and sends once; the
   coverage map colours a round's points assessed or due and refreshes from its JSON twin.
   No inline handlers (CSP); names are shown as text, never parsed as HTML. */
(function () {
  'use strict';

  // --- the checklist ------------------------------------------------------------------------
  var form = document.getElementById('gm-assess-form');
  if (form) {
    var sync = function () {
      form.querySelectorAll('.gm-criterion').forEach(function (box) {
        var fail = box.querySelector('input[value=fail]');
        var photo = box.querySelector('.gm-photo');
        var input = photo.querySelector('input');
        photo.hidden = !fail.checked;
        input.required = fail.checked;
        input.disabled = !fail.checked;
      });
    };
    form.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', function (event) {
      var button = document.getElementById('gm-assess-submit');
      if (button.disabled) { event.preventDefault(); return; }  // a double tap sends once
      button.disabled = true;
      button.textContent = '正在提交…';
    });
  }

  // --- the coverage map ---------------------------------------------------------------------
  var box = document.getElementById('gm-coverage-map');
  var dataNode = document.getElementById('gm-coverage-data');
  if (!box || !dataNode || !window.L) { return; }
  var setup = JSON.parse(dataNode.textContent);
  var map = L.map(box, { maxZoom: 19, attributionControl: false, dragging: !L.Browser.mobile });
  if (setup.tiles) { L.tileLayer(setup.tiles, { maxZoom: 19 }).addTo(map); }
  else if (window.gridmapStreets) { window.gridmapStreets(map, setup.streets); }
  var COLORS = { assessed: '#1b7f3b', due: '#c62828' };
  var markers = {};
  var state = {};
  window.gridmapCoverageMap = map;
  window.gridmapCoverage = state;

  function popup(point) {
    var div = document.createElement('div');
    var title = document.createElement('b');
    title.textContent = point.code + ' ' + point.name;
    div.appendChild(title);
    div.appendChild(document.createElement('br'));
    div.appendChild(document.createTextNode(point.category + ' · ' + (point.unit_name || '') + ' · '
      + (point.assessed ? '已测评' + (point.score === null ? '' : '，得分 ' + Math.round(point.score * 100)) : '待测评')));
    div.appendChild(document.createElement('br'));
    var link = document.createElement('a');
    if (point.assessed) {
      link.href = setup.result.replace('__ID__', String(point.assessment_id));
      link.textContent = '查看测评结果';
    } else {
      link.href = setup.fill.replace('__CODE__', encodeURIComponent(point.code));
      link.textContent = '开始测评';
    }
    div.appendChild(link);
    return div;
  }

  function draw(points) {
    var bounds = [];
    points.forEach(function (point) {
      var kind = point.assessed ? 'assessed' : 'due';
      state[point.code] = kind;
      var style = { radius: 9, color: '#fff', weight: 2, fillColor: COLORS[kind], fillOpacity: 0.95 };
      var marker = markers[point.code];
      if (marker) { marker.setStyle(style); }
      else {
        marker = markers[point.code] = L.circleMarker([point.lat, point.lon], style).addTo(map);
      }
      marker.bindPopup(popup(point));
      var row = document.querySelector('.gm-point-list li[data-code="' + CSS.escape(point.code) + '"]');
      if (row) {
        row.querySelector('.gm-dot').className = 'gm-dot gm-dot-' + kind;
        row.querySelector('.gm-status').textContent = point.assessed ? '已测评' : '待测评';
      }
      bounds.push([point.lat, point.lon]);
    });
    var counts = document.getElementById('gm-coverage-counts');
    var done = points.filter(function (p) { return p.assessed; }).length;
    if (counts) { counts.textContent = '已测评 ' + done + ' 个，待测评 ' + (points.length - done) + ' 个'; }
    return bounds;
  }

  var first = draw(setup.points);
  if (first.length) { map.fitBounds(first, { padding: [24, 24], maxZoom: 17 }); }
  else { map.setView([33.91, 106.52], 14); }

  function refresh() {
    return fetch(setup.api, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (view) { if (view) { draw(view.points); } return view; })
      .catch(function () { return null; });
  }
  window.gridmapCoverageRefresh = refresh;
  setInterval(refresh, setup.refresh_ms);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) { refresh(); } });
})();
