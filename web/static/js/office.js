/* Office and problem pages: confirm destructive actions, show the binding of the chosen role,
   draw the small map of where a problem is. No inline handlers (CSP). */
(function () {
  'use strict';

  // A submit button (or its form) with data-confirm asks first; "取消" keeps the page as it is.
  document.addEventListener('submit', function (event) {
    var button = event.submitter;
    var text = (button && button.getAttribute('data-confirm')) || event.target.getAttribute('data-confirm');
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  // New user: only the binding of the chosen role is shown.
  var role = document.getElementById('gm-role');
  if (role) {
    var show = function () {
      document.querySelectorAll('.gm-bind').forEach(function (label) {
        label.hidden = label.getAttribute('data-role') !== role.value;
      });
    };
    role.addEventListener('change', show);
    show();
  }

  // Problem page: the spot, the grid outline and the streets around it with their names.
  var box = document.getElementById('gm-problem-map');
  var dataNode = document.getElementById('gm-problem-spot');
  if (box && dataNode && window.L) {
    var spot = JSON.parse(dataNode.textContent);
    // on a phone one finger scrolls the page past the map; two fingers and the buttons zoom it
    var map = L.map(box, { scrollWheelZoom: false, dragging: !L.Browser.mobile, attributionControl: !!spot.tiles });
    map.setView([spot.lat, spot.lon], 17);  // a view first: vector layers need one to be drawn
    if (spot.tiles) {
      L.tileLayer(spot.tiles, { maxZoom: 19, attribution: spot.attribution || '' }).addTo(map);
    }
    // names come from imported files and reports: shown as text, never parsed as HTML
    function text(value) {
      var span = document.createElement('span');
      span.textContent = value;
      return span;
    }
    var around = L.geoJSON(spot.around, {
      style: function (feature) {
        return feature.properties.kind === 'grid'
          ? { color: '#1565c0', weight: 2, dashArray: '6 4', fill: false }
          : { color: '#616161', weight: 4, opacity: 0.8 };
      },
      onEachFeature: function (feature, layer) {
        if (feature.properties.name && feature.properties.kind !== 'grid') {
          layer.bindTooltip(text(feature.properties.name), { permanent: true, direction: 'center', className: 'gm-street-label' });
        }
      }
    }).addTo(map);
    var marker = L.circleMarker([spot.lat, spot.lon], { radius: 9, color: '#fff', weight: 3, fillColor: '#d32f2f', fillOpacity: 1 });
    marker.addTo(map).bindTooltip(text(spot.label || '问题位置'));
    // a tap anywhere on the map shows where the problem is, kept clear of the zoom buttons
    function showSpot() {
      var box = document.createElement('div');
      var line = document.createElement('b');
      line.textContent = '问题位置：' + (spot.label || '');
      var where = document.createElement('div');
      where.textContent = '经纬度 ' + spot.lat.toFixed(6) + ', ' + spot.lon.toFixed(6);
      box.appendChild(line);
      box.appendChild(where);
      L.popup({ maxWidth: 200, autoPanPaddingTopLeft: [56, 8], autoPanPaddingBottomRight: [8, 8] })
        .setLatLng([spot.lat, spot.lon]).setContent(box).openOn(map);
    }
    map.on('click', showSpot);
    marker.on('click', showSpot);
    if (around.getLayers().length) {
      // keep the spot in the middle; zoom out only as far as the nearby streets need
      map.setView([spot.lat, spot.lon], Math.min(18, Math.max(15, map.getBoundsZoom(around.getBounds()))));
    }
  }
}());
