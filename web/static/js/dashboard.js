/* The command-centre dashboard (指挥中心大屏): draws the figures of /api/dashboard with ECharts and
   Leaflet, then fetches them again every refresh_s seconds and redraws in place (no page reload). */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('dash-config').textContent);
  var state = { data: null, refreshes: 0, failures: 0, charts: {}, map: null };
  window.gridmapDashboard = state;

  var TEXT = '#cfe3ff', DIM = '#6f8db5', LINE = 'rgba(79, 161, 255, 0.18)';
  var FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';

  function $(id) { return document.getElementById(id); }
  function pct(value) { return value === null || value === undefined ? '—' : (value * 100).toFixed(1) + '%'; }
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  /* --- the clock in the header --------------------------------------------------------------- */
  var WEEK = ['日', '一', '二', '三', '四', '五', '六'];
  function tick() {
    var d = new Date();
    $('dash-clock').textContent = d.getFullYear() + '年' + (d.getMonth() + 1) + '月' + d.getDate() + '日 星期' +
      WEEK[d.getDay()] + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  /* --- big numbers ------------------------------------------------------------------------------ */
  function kpis(data) {
    var counts = data.counts;
    var values = {
      'today.reported': counts.today.reported,
      'today.closed': counts.today.closed,
      'month.reported': counts.month.reported,
      'month.closed': counts.month.closed,
      'open.total': counts.open.total,
      'open.overdue': counts.open.overdue,
      'open.urgent': counts.open.urgent,
      'checkins': data.checkins.points.length
    };
    document.querySelectorAll('[data-kpi]').forEach(function (el) {
      var text = String(values[el.getAttribute('data-kpi')]);
      if (el.textContent !== text) {
        el.textContent = text;
        el.classList.remove('dash-changed');
        void el.offsetWidth; /* restart the flash */
        el.classList.add('dash-changed');
      }
    });
  }

  /* --- charts ----------------------------------------------------------------------------------- */
  function chart(name) {
    if (!state.charts[name]) {
      state.charts[name] = echarts.init(document.querySelector('[data-chart="' + name + '"]'), null, { renderer: 'canvas' });
    }
    return state.charts[name];
  }

  function axis(extra) {
    var base = {
      axisLine: { lineStyle: { color: DIM } },
      axisLabel: { color: TEXT, fontFamily: FONT },
      splitLine: { lineStyle: { color: LINE } }
    };
    return Object.assign(base, extra || {});
  }

  var BASE = {
    backgroundColor: 'transparent',
    textStyle: { color: TEXT, fontFamily: FONT },
    animationDurationUpdate: 600
  };

  function trendChart(data) {
    var t = data.trend;
    chart('trend').setOption(Object.assign({}, BASE, {
      tooltip: { trigger: 'axis' },
      legend: { data: ['上报', '结案'], textStyle: { color: TEXT, fontFamily: FONT }, right: 8, top: 0 },
      grid: { left: 40, right: 16, top: 30, bottom: 26 },
      xAxis: axis({ type: 'category', boundaryGap: false, data: t.dates.map(function (d) { return d.slice(5); }) }),
      yAxis: axis({ type: 'value', minInterval: 1 }),
      series: [
        { name: '上报', type: 'line', smooth: true, symbol: 'circle', symbolSize: 5, data: t.reported,
          lineStyle: { width: 3, color: '#36a3ff' }, itemStyle: { color: '#36a3ff' },
          areaStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
            { offset: 0, color: 'rgba(54, 163, 255, 0.45)' }, { offset: 1, color: 'rgba(54, 163, 255, 0.02)' }]) } },
        { name: '结案', type: 'line', smooth: true, symbol: 'circle', symbolSize: 5, data: t.closed,
          lineStyle: { width: 3, color: '#2fe0a0' }, itemStyle: { color: '#2fe0a0' },
          areaStyle: { color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
            { offset: 0, color: 'rgba(47, 224, 160, 0.35)' }, { offset: 1, color: 'rgba(47, 224, 160, 0.02)' }]) } }
      ]
    }));
  }

  function openChart(data) {
    var byStatus = data.counts.open.by_status;
    var items = data.statuses.filter(function (s) { return byStatus[s.code]; }).map(function (s) {
      return { name: s.label, value: byStatus[s.code], itemStyle: { color: s.color } };
    });
    chart('open').setOption(Object.assign({}, BASE, {
      tooltip: { trigger: 'item', formatter: '{b}：{c} 件（{d}%）' },
      title: { text: String(data.counts.open.total), subtext: '在办', left: '34%', top: '38%', textAlign: 'center',
        textStyle: { color: '#ffffff', fontSize: 30, fontWeight: 'bold', fontFamily: FONT },
        subtextStyle: { color: DIM, fontSize: 14, fontFamily: FONT } },
      legend: { orient: 'vertical', right: 6, top: 'middle', textStyle: { color: TEXT, fontFamily: FONT }, itemWidth: 12, itemHeight: 12 },
      series: [{ name: '在办问题', type: 'pie', radius: ['48%', '74%'], center: ['35%', '52%'],
        label: { show: false }, itemStyle: { borderColor: '#071426', borderWidth: 2 },
        data: items.length ? items : [{ name: '暂无在办问题', value: 0, itemStyle: { color: '#1d3557' } }] }]
    }), { replaceMerge: ['series'] });
  }

  function categoryChart(data) {
    var items = data.categories.slice().reverse();
    chart('categories').setOption(Object.assign({}, BASE, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 96, right: 36, top: 8, bottom: 20 },
      xAxis: axis({ type: 'value', minInterval: 1 }),
      yAxis: axis({ type: 'category', data: items.map(function (c) { return c.name; }), axisTick: { show: false },
        axisLabel: { color: TEXT, fontFamily: FONT, width: 88, overflow: 'truncate' } }),
      series: [{ name: '本月上报', type: 'bar', barMaxWidth: 16, data: items.map(function (c) { return c.count; }),
        label: { show: true, position: 'right', color: TEXT },
        itemStyle: { borderRadius: [0, 8, 8, 0], color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [
          { offset: 0, color: '#1565c0' }, { offset: 1, color: '#36d1ff' }]) } }]
    }));
  }

  function statusChart(data) {
    var today = data.counts.today.by_status, month = data.counts.month.by_status;
    var narrow = chart('status').getWidth() < 720; /* a smaller wall: the status names turn */
    chart('status').setOption(Object.assign({}, BASE, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { data: ['今日上报', '本月上报'], textStyle: { color: TEXT, fontFamily: FONT }, right: 8, top: 0 },
      grid: { left: 40, right: 16, top: 30, bottom: narrow ? 48 : 26 },
      xAxis: axis({ type: 'category', data: data.statuses.map(function (s) { return s.label.replace(/（.*）/, ''); }),
        axisLabel: { color: TEXT, fontFamily: FONT, interval: 0, rotate: narrow ? 35 : 0 } }),
      yAxis: axis({ type: 'value', minInterval: 1 }),
      series: [
        { name: '今日上报', type: 'bar', barMaxWidth: 18, data: data.statuses.map(function (s) { return today[s.code]; }),
          itemStyle: { color: '#ffb300', borderRadius: [4, 4, 0, 0] } },
        { name: '本月上报', type: 'bar', barMaxWidth: 18, data: data.statuses.map(function (s) { return month[s.code]; }),
          itemStyle: { color: '#36a3ff', borderRadius: [4, 4, 0, 0] } }
      ]
    }));
  }

  /* --- tables ----------------------------------------------------------------------------------- */
  var FLAGS = { red: ['dash-flag-red', '红旗'], grey: ['dash-flag-grey', '灰旗'] };

  function rankTable(id, groups) {
    var body = $(id).querySelector('tbody');
    body.textContent = '';
    groups.forEach(function (g) {
      var tr = document.createElement('tr');
      var rank = cell(tr, g.rank === null ? '—' : String(g.rank), 'dash-rank');
      if (g.rank !== null && g.rank <= 3) { rank.classList.add('dash-rank-' + g.rank); }
      var name = cell(tr, g.name, 'dash-name');
      if (FLAGS[g.flag]) {
        var flag = document.createElement('span');
        flag.className = 'dash-flagmark ' + FLAGS[g.flag][0];
        flag.textContent = FLAGS[g.flag][1];
        name.insertBefore(flag, name.firstChild);
      }
      cell(tr, String(g.reported), 'dash-num');
      var rate = cell(tr, pct(g.closure_rate), 'dash-num dash-rate');
      if (g.closure_rate !== null) { rate.style.setProperty('--rate', (g.closure_rate * 100).toFixed(1) + '%'); }
      cell(tr, pct(g.on_time_rate), 'dash-num');
      cell(tr, g.score === null ? '—' : g.score.toFixed(1) + (g.grade ? ' ' + g.grade : ''), 'dash-num dash-score');
      body.appendChild(tr);
    });
  }

  function overdueTable(data) {
    var body = $('overdue').querySelector('tbody');
    body.textContent = '';
    $('overdue-count').textContent = data.counts.open.overdue + ' 件';
    if (!data.overdue.length) {
      var tr = document.createElement('tr');
      var td = cell(tr, '暂无超期问题', 'dash-empty');
      td.colSpan = 5;
      body.appendChild(tr);
      return;
    }
    data.overdue.forEach(function (p) {
      var tr = document.createElement('tr');
      cell(tr, p.tracking_no, 'dash-no');
      cell(tr, p.category);
      cell(tr, p.place, 'dash-name');
      cell(tr, p.unit, 'dash-name');
      cell(tr, p.overdue_text, 'dash-late');
      body.appendChild(tr);
    });
  }

  function definitions(data) {
    var defs = data.ranking.definitions;
    $('dash-definitions').textContent = ['closure_rate', 'on_time_rate', 'order']
      .map(function (k) { return defs[k]; }).join('；') + '。';
  }

  /* --- the map ---------------------------------------------------------------------------------- */
  function setupMap() {
    var map = L.map('dash-map', { zoomControl: false, attributionControl: Boolean(config.tiles), zoomSnap: 0.25 });
    if (config.tiles) {
      L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19, className: 'dash-tiles' }).addTo(map);
    }
    var grids = L.geoJSON(null, {
      style: { color: '#2bc4ff', weight: 1.5, opacity: 0.9, fillColor: '#0d4a8a', fillOpacity: 0.18 },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        if (p.name) { layer.bindTooltip(String(p.name), { permanent: true, direction: 'center', className: 'dash-grid-label' }); }
      }
    }).addTo(map);
    fetch(config.grids, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (!geojson) { return; }
        grids.addData(geojson);
      }).catch(function () { /* the grid outlines are decoration: the points still show */ });
    state.map = map;
    state.problems = L.layerGroup().addTo(map);
    state.checkins = L.layerGroup().addTo(map);
    var legend = L.control({ position: 'bottomleft' });
    legend.onAdd = function () {
      var div = L.DomUtil.create('div', 'dash-legend');
      [['dash-dot', '在办问题（颜色为状态）'], ['dash-dot dash-dot-late', '超期未处置'], ['dash-flag', '巡查员今日签到']].forEach(function (x) {
        var row = document.createElement('div');
        var mark = document.createElement('span'); mark.className = x[0];
        row.appendChild(mark); row.appendChild(document.createTextNode(x[1]));
        div.appendChild(row);
      });
      return div;
    };
    legend.addTo(map);
  }

  function drawMap(data) {
    state.problems.clearLayers();
    data.map.forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.urgent ? 8 : 6, color: p.overdue ? '#ff3b3b' : '#ffffff', weight: p.overdue ? 3 : 1,
        fillColor: p.color, fillOpacity: 0.95, className: p.overdue ? 'dash-late-marker' : ''
      });
      marker.bindTooltip(p.category + ' · ' + p.label + (p.overdue ? ' · 超期' : '') + '（' + p.tracking_no + '）');
      state.problems.addLayer(marker);
    });
    state.checkins.clearLayers();
    data.checkins.points.forEach(function (c) {
      var icon = L.divIcon({ className: 'dash-checkin', html: '<span>签</span>', iconSize: [22, 22], iconAnchor: [11, 11] });
      var marker = L.marker([c.lat, c.lon], { icon: icon, keyboard: false });
      marker.bindTooltip(c.inspector + ' ' + c.at + ' 签到：' + c.stop);
      state.checkins.addLayer(marker);
    });
  }

  /* --- drawing and refreshing ------------------------------------------------------------------- */
  function draw(data) {
    state.data = data;
    kpis(data);
    trendChart(data);
    openChart(data);
    categoryChart(data);
    statusChart(data);
    rankTable('rank-towns', data.ranking.towns);
    rankTable('rank-grids', data.ranking.grids);
    overdueTable(data);
    definitions(data);
    drawMap(data);
    var at = new Date(data.generated_at);
    $('dash-updated').textContent = '数据更新于 ' + pad(at.getHours()) + ':' + pad(at.getMinutes()) + ':' + pad(at.getSeconds());
    $('dash-updated').classList.remove('dash-offline');
  }

  function refresh() {
    fetch(config.api, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) { throw new Error('登录已过期，请重新登录'); }
        if (!response.ok) { throw new Error('服务器返回 ' + response.status); }
        return response.json();
      })
      .then(function (data) {
        state.refreshes += 1;
        state.failures = 0;
        draw(data);
      })
      .catch(function (error) {
        state.failures += 1;
        var el = $('dash-updated');
        el.textContent = '数据暂未更新（' + (error && error.message ? error.message : '网络中断') + '），稍后重试';
        el.classList.add('dash-offline');
      })
      .then(function () { window.setTimeout(refresh, config.refresh_s * 1000); });
  }

  /* the grids, widened to every open case (a case outside the grids lies in a town) */
  function fit() {
    var bounds = config.bounds ? L.latLngBounds(config.bounds) : null;
    (state.data ? state.data.map : []).forEach(function (p) {
      bounds = bounds ? bounds.extend([p.lat, p.lon]) : L.latLngBounds([[p.lat, p.lon], [p.lat, p.lon]]);
    });
    if (bounds && bounds.isValid()) {
      state.map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
    } else {
      state.map.fitWorld(); /* no grids and no open case yet */
    }
  }

  tick();
  window.setInterval(tick, 1000);
  setupMap();
  draw(JSON.parse(document.getElementById('dash-data').textContent));
  fit();
  window.addEventListener('resize', function () {
    Object.keys(state.charts).forEach(function (k) { state.charts[k].resize(); });
    statusChart(state.data); /* its labels turn on a narrow wall */
    state.map.invalidateSize();
    fit();
  });
  window.setTimeout(refresh, config.refresh_s * 1000);
})();
