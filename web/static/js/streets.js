/* The county's own streets with their names, drawn as a light base under our layers (no tiles,
   works offline). gridmapStreets(map, url) fetches gridmap.streetbase.street_base:
   {lines: [[lon, lat, lon, lat, ...], ...],
    labels: [{t: name, s: [[lat, lon, angle, spacing m, last], ...]}]}
   Each street's spots come in levels (spacing halves from level to level); the finest level
   whose spacing still fits the name on screen is shown. Names are set with textContent only. */
(function() {
  'use strict';
  var CHAR_PX = 13, MAX_LABELS = 400;

  function pane(map, name, z) {
    var p = map.getPane(name) || map.createPane(name);
    p.style.zIndex = z;
    p.style.pointerEvents = 'none';
    return name;
  }

  function metresPerPixel(map) {
    var lat = map.getCenter().lat * Math.PI / 180;
    return 40075016.686 * Math.cos(lat) / Math.pow(2, map.getZoom() + 8);
  }

  function labelIcon(name, angle) {
    var width = name.length * CHAR_PX + 8;
    var div = document.createElement('div');
    div.className = 'gm-street-label';
    div.textContent = name;
    var s = div.style;
    s.width = width + 'px';
    s.textAlign = 'center';
    s.font = '12px/16px sans-serif';
    s.color = '#444';
    s.whiteSpace = 'nowrap';
    s.textShadow = '0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff';
    s.transform = 'rotate(' + (+angle || 0) + 'deg)';
    return L.divIcon({html: div, className: 'gm-street-label-icon', iconSize: [width, 16],
                      iconAnchor: [width / 2, 8]});
  }

  window.gridmapStreets = function(map, url) {
    var linePane = pane(map, 'gm-streets', 250);
    var labelPane = pane(map, 'gm-street-labels', 450);
    var labels = L.layerGroup().addTo(map);
    var data = null;

    function showLabels() {
      labels.clearLayers();
      if (!data) return;
      var mpp = metresPerPixel(map), view = map.getBounds().pad(0.1), shown = 0;
      for (var i = 0; i < data.labels.length && shown < MAX_LABELS; i++) {
        var name = String(data.labels[i].t), spots = data.labels[i].s;
        var need = (name.length * CHAR_PX + 32) * mpp;
        for (var j = 0; j < spots.length && shown < MAX_LABELS; j++) {
          var spot = spots[j], spacing = spot[3], last = spot[4];
          // the finest level that fits: the next one is too tight, or there is none
          if (spacing < need || (spacing / 2 >= need && !last)) continue;
          if (!view.contains([spot[0], spot[1]])) continue;
          labels.addLayer(L.marker([spot[0], spot[1]], {icon: labelIcon(name, spot[2]), pane: labelPane,
                                                        interactive: false, keyboard: false}));
          shown++;
        }
      }
    }

    fetch(url).then(function(r) { return r.ok ? r.json() : null; }).then(function(d) {
      if (!d) return;
      data = d;
      var latlngs = d.lines.map(function(flat) {
        var out = [];
        for (var i = 0; i + 1 < flat.length; i += 2) out.push([flat[i + 1], flat[i]]);
        return out;
      });
      var renderer = L.svg({pane: linePane});
      L.polyline(latlngs, {pane: linePane, renderer: renderer, color: '#b9b9b9', weight: 7,
                           opacity: 1, interactive: false, lineCap: 'round', lineJoin: 'round'}).addTo(map);
      L.polyline(latlngs, {pane: linePane, renderer: renderer, color: '#ffffff', weight: 5,
                           opacity: 1, interactive: false, lineCap: 'round', lineJoin: 'round'}).addTo(map);
      map.whenReady(function() {
        showLabels();
        map.on('zoomend moveend', showLabels);
      });
    });
  };
})();
