/* The sorting hub's board (/centre/hub): draws items sorted per hour
   against the sorter's nameplate with the vendored ECharts, from the
   figures the page carries in data-chart. Plain ES5, no inline script;
   without JavaScript every figure is in the tables. */
(function () {
  'use strict';
  var el = document.getElementById('hub-chart');
  if (!el || typeof window.echarts === 'undefined') { return; }
  var d;
  try { d = JSON.parse(el.getAttribute('data-chart')); } catch (e) { return; }
  var nameplate = [], i;
  for (i = 0; i < d.hours.length; i++) { nameplate.push(d.nameplate); }
  window.echarts.init(el).setOption({
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 10, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: d.hours },
    yAxis: { type: 'value' },
    series: [
      { name: d.labels.sorted, type: 'bar', data: d.sorted },
      { name: d.labels.nameplate, type: 'line', data: nameplate, symbol: 'none', lineStyle: { type: 'dashed' } }
    ]
  });
  window.addEventListener('resize', function () { window.echarts.getInstanceByDom(el).resize(); });
}());
