/* The county's own streets with their names, drawn as a light base under our layers (no tiles,
   works offline). gridmapStreets(map, url) fetches gridmap.basemaps.street_base:
   {lines: [[lon, lat, lon, lat, ...], ...], labels: [{t: name, at: [lat, lon], a: degrees, m: metres}]}.
   Names are set with textContent only. A label shows when its street is long enough on screen. */
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

  function labelIcon(label) {
    var text = String(label.t);
    var width = text.length * CHAR_PX + 8;
    var div = document.createElement('div');
    div.className = 'gm-street-label';
    div.textContent = text;
    var s = div.style;
    s.width = width + 'px';
    s.textAlign = 'center';
    s.font = '12px/16px sans-serif';
    s.color = '#444';
    s.whiteSpace = 'nowrap';
    s.textShadow = '0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff';
    s.transform = 'rotate(' + (+label.a || 0) + 'deg)';
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
        var label = data.labels[i];
        var need = (String(label.t).length * CHAR_PX + 24) * mpp;
        if (label.m < need || !view.contains(label.at)) continue;
        labels.addLayer(L.marker(label.at, {icon: labelIcon(label), pane: labelPane, interactive: false,
                                            keyboard: false}));
        shown++;
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
