/* The county board (/board): draws the charts with the vendored ECharts
   and keeps the tiles, charts and tables live by polling the same figures
   as JSON every 30 seconds. Plain ES5, no inline script; without
   JavaScript the page still shows every figure as text. */
(function () {
  'use strict';
  var root = document.getElementById('board');
  if (!root || typeof window.echarts === 'undefined') { return; }
  var source = root.getAttribute('data-source');
  var charts = {};
  var POLL_MS = 30000;

  function chart(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    if (!charts[id]) { charts[id] = window.echarts.init(el); }
    return charts[id];
  }

  function text(el, value) {
    while (el.firstChild) { el.removeChild(el.firstChild); }
    el.appendChild(document.createTextNode(value));
  }

  function drawFlow(d) {
    var c = chart('chart-flow');
    if (!c) { return; }
    var days = [], series = [], i, s;
    for (i = 0; i < d.figures.by_day.length; i++) { days.push(d.figures.by_day[i].day); }
    for (s = 0; s < d.labels.steps.length; s++) {
      var values = [];
      for (i = 0; i < d.figures.by_day.length; i++) { values.push(d.figures.by_day[i].steps[s]); }
      series.push({ name: d.labels.steps[s], type: days.length > 1 ? 'line' : 'bar', data: values });
    }
    c.setOption({
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 40, right: 10, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value' },
      series: series
    }, true);
  }

  function drawDwell(d) {
    var c = chart('chart-dwell');
    if (!c) { return; }
    var values = [], i;
    for (i = 0; i < d.figures.dwell.length; i++) { values.push(d.figures.dwell[i].n); }
    c.setOption({
      tooltip: { trigger: 'axis' },
      grid: { left: 40, right: 10, top: 20, bottom: 60 },
      xAxis: { type: 'category', data: d.labels.dwell, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: 'value' },
      series: [{ type: 'bar', data: values }]
    }, true);
  }

  function drawStations(d) {
    var c = chart('chart-stations');
    if (!c) { return; }
    var names = [], perDay = [], share = [], i, st;
    for (i = 0; i < d.figures.stations.length; i++) {
      st = d.figures.stations[i];
      names.push(st.name);
      perDay.push({ value: st.in_per_day, itemStyle: { color: st.low_efficiency ? '#d97706' : '#2563eb' } });
      share.push(st.self_service_share === null ? null : Math.round(st.self_service_share * 100));
    }
    c.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: [d.labels['in'], d.labels.self_share] },
      grid: { left: 40, right: 40, top: 40, bottom: 60 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: [{ type: 'value' }, { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } }],
      series: [
        { name: d.labels['in'], type: 'bar', data: perDay,
          markLine: { symbol: 'none', data: [{ yAxis: 300, name: d.labels.line }], label: { formatter: d.labels.line } } },
        { name: d.labels.self_share, type: 'line', yAxisIndex: 1, data: share }
      ]
    }, true);
  }

  function drawCarriers(d) {
    var c = chart('chart-carriers');
    if (!c) { return; }
    var keys = ['joint', 'contractor', 'station', 'unrouted'];
    var series = [], k, i;
    for (k = 0; k < keys.length; k++) {
      var values = [];
      for (i = 0; i < d.figures.carriers.length; i++) {
        var v = d.figures.carriers[i].arrived_by_mode[keys[k]];
        values.push(v ? v : 0);
      }
      series.push({ name: d.labels.modes[k], type: 'bar', stack: 'mode', data: values });
    }
    c.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 40, right: 10, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: d.labels.carriers },
      yAxis: { type: 'value' },
      series: series
    }, true);
  }

  function drawMap(d) {
    var c = chart('chart-map');
    if (!c) { return; }
    var points = [], i, st;
    for (i = 0; i < d.figures.stations.length; i++) {
      st = d.figures.stations[i];
      if (st.lat !== null && st.lon !== null) {
        points.push({ name: st.name, value: [st.lon, st.lat, st.n_in],
          itemStyle: { color: st.low_efficiency ? '#d97706' : '#2563eb' } });
      }
    }
    c.setOption({
      tooltip: { formatter: function (p) { return p.name + ': ' + p.value[2]; } },
      grid: { left: 50, right: 10, top: 10, bottom: 30 },
      xAxis: { type: 'value', scale: true },
      yAxis: { type: 'value', scale: true },
      series: [{ type: 'scatter', data: points,
        symbolSize: function (v) { return 8 + Math.min(30, Math.sqrt(v[2])); },
        label: { show: true, position: 'right', formatter: '{b}' } }]
    }, true);
  }

  function fillTiles(d) {
    var i, tile, el;
    for (i = 0; i < d.tiles.length; i++) {
      tile = d.tiles[i];
      el = root.querySelector('[data-tile="' + tile.key + '"]');
      if (!el) { continue; }
      text(el.querySelector('.board-value'), tile.value);
      text(el.querySelector('.board-note'), tile.note);
    }
  }

  function fillTables(d) {
    var t, r, c, table, body, tr, td;
    for (t = 0; t < d.tables.length; t++) {
      table = root.querySelector('[data-table="' + d.tables[t].id + '"]');
      if (!table) { continue; }
      body = table.querySelector('tbody');
      while (body.firstChild) { body.removeChild(body.firstChild); }
      for (r = 0; r < d.tables[t].rows.length; r++) {
        tr = document.createElement('tr');
        if (d.tables[t].rows[r].flag) { tr.className = 'board-flag'; }
        for (c = 0; c < d.tables[t].rows[r].cells.length; c++) {
          td = document.createElement('td');
          td.appendChild(document.createTextNode(d.tables[t].rows[r].cells[c]));
          tr.appendChild(td);
        }
        body.appendChild(tr);
      }
    }
  }

  function draw(d) {
    var low = 0, i;
    drawFlow(d); drawDwell(d); drawStations(d); drawCarriers(d); drawMap(d);
    fillTiles(d); fillTables(d);
    for (i = 0; i < d.figures.stations.length; i++) { if (d.figures.stations[i].low_efficiency) { low++; } }
    var lowEl = document.getElementById('board-low');
    if (lowEl) { text(lowEl, String(low)); }
    var updated = document.getElementById('board-updated');
    if (updated) { text(updated, d.updated); }
    root.setAttribute('data-drawn', d.updated);
  }

  function load() {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', source);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (xhr.status === 200) {
        try { draw(JSON.parse(xhr.responseText)); } catch (e) { /* keep what is shown */ }
      }
    };
    xhr.send();
  }

  window.addEventListener('resize', function () {
    var id;
    for (id in charts) { if (charts.hasOwnProperty(id)) { charts[id].resize(); } }
  });
  load();
  setInterval(load, POLL_MS);
}());
