/* QC results charts: read the figures and the (translated) labels the page embeds as JSON, draw them
   with the Plotly bundle served by the app itself (no CDN, no inline script). */
(function () {
  "use strict";

  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function pct(ratio) {
    return ratio === null || ratio === undefined || ratio.rate === null ? null : Math.round(ratio.rate * 10000) / 100;
  }

  // No mode bar: it would add per-chart inline <style> rules, which the Content-Security-Policy refuses.
  var CONFIG = { displaylogo: false, displayModeBar: false, responsive: true };

  function drawTrend(data, labels) {
    var target = document.getElementById("kpi-trend");
    if (!target || !data.periods.length) return;
    var x = data.periods.map(function (p) { return p.label; });
    var keys = ["recovery_rate", "overdue_rate", "bad_debt_rate", "abnormal_per_contact"];
    var traces = keys.map(function (key) {
      return {
        type: "scatter",
        mode: "lines+markers",
        name: labels[key],
        x: x,
        y: data.periods.map(function (p) { return pct(p[key]); }),
        hovertemplate: "%{y:.2f}%<extra>" + labels[key] + "</extra>"
      };
    });
    Plotly.newPlot(target, traces, {
      margin: { t: 20, r: 20, b: 40, l: 50 },
      yaxis: { ticksuffix: "%", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.2 }
    }, CONFIG);
  }

  function drawFindings(data, labels) {
    var target = document.getElementById("kpi-findings");
    if (!target || !data.findings.length) return;
    var rows = data.findings.slice().reverse();
    Plotly.newPlot(target, [{
      type: "bar",
      orientation: "h",
      name: labels.failed,
      x: rows.map(function (r) { return r.failed; }),
      y: rows.map(function (r) { return r.title; }),
      hovertemplate: "%{x}<extra>" + labels.failed + "</extra>"
    }], { margin: { t: 20, r: 20, b: 40, l: 220 } }, CONFIG);
  }

  function draw() {
    var data = read("kpi-data");
    var labels = read("kpi-labels");
    if (!data || !labels || !window.Plotly) return;
    drawTrend(data, labels);
    drawFindings(data, labels);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
