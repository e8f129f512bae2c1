/* The dashboard's charts, drawn with the vendored Plotly from JSON the server put in the page. */
(function () {
  "use strict";

  var PALETTE = ["#4f46e5", "#0891b2", "#d97706", "#db2777", "#059669", "#7c3aed", "#dc2626", "#2563eb"];
  var FONT = {
    family: 'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
    size: 13,
    color: "#1f2937"
  };
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]
  };
  var GRID = "#eef0f4";

  function readJson(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  /** Text as Plotly should show it. Plotly reads trace names, hover text and annotations as
      a little HTML (<a href>, <b>, <br>, <span style>): a forecaster named `<a href=…>` would
      become a link. With the markup characters escaped it stays text. */
  function plain(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  /** Reliability diagram: observed rate against mean probability per bin, with Wilson bars. */
  function calibration(divId, dataId) {
    var d = readJson(dataId);
    var maxN = Math.max.apply(null, d.n.concat([1]));
    var sizes = d.n.map(function (n) { return 9 + 11 * Math.sqrt(n / maxN); });
    var custom = d.n.map(function (n, i) {
      return [pct(d.bin_low[i]), pct(d.bin_high[i]), n, pct(d.ci_low[i]), pct(d.ci_high[i])];
    });
    var points = {
      name: "observed rate",
      type: "scatter",
      mode: "markers+lines",
      x: d.x,
      y: d.y,
      customdata: custom,
      line: {color: "rgba(79, 70, 229, 0.35)", width: 1.5},
      marker: {color: PALETTE[0], size: sizes, line: {color: "#ffffff", width: 1.5}},
      error_y: {
        type: "data", symmetric: false, array: d.err_plus, arrayminus: d.err_minus,
        color: "rgba(79, 70, 229, 0.55)", thickness: 1.5, width: 5
      },
      hovertemplate:
        "<b>bin %{customdata[0]}–%{customdata[1]}</b><br>" +
        "forecasts: %{customdata[2]}<br>" +
        "mean probability: %{x:.1%}<br>" +
        "observed rate: %{y:.1%}<br>" +
        "95% interval: %{customdata[3]}–%{customdata[4]}<extra></extra>"
    };
    var diagonal = {
      name: "perfect calibration",
      type: "scatter",
      mode: "lines",
      x: [0, 1],
      y: [0, 1],
      line: {color: "#9ca3af", dash: "dash", width: 1.5},
      hoverinfo: "skip"
    };
    var counts = {
      name: "forecasts per bin",
      type: "bar",
      x: d.bin_low.map(function (low, i) { return (low + d.bin_high[i]) / 2; }),
      y: d.n,
      width: d.bin_low.map(function (low, i) { return (d.bin_high[i] - low) * 0.9; }),
      yaxis: "y2",
      marker: {color: "rgba(8, 145, 178, 0.45)"},
      text: d.n.map(String),
      textposition: "outside",
      textfont: {size: 11, color: "#4b5563"},
      cliponaxis: false,
      customdata: custom,
      hovertemplate: "bin %{customdata[0]}–%{customdata[1]}: %{y} forecasts<extra></extra>",
      showlegend: true
    };
    var layout = {
      font: FONT,
      margin: {l: 56, r: 16, t: 12, b: 56},
      height: 490,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      hovermode: "closest",
      bargap: 0,
      // Above the plot: below it, a legend that wraps on a narrow screen ran into the x axis
      // title (Plotly does not keep the two apart); up here the margin grows to fit it.
      legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: {size: 12}},
      // One x axis under the count columns, shared with the diagram above them.
      xaxis: {
        anchor: "y2", range: [0, 1], tickformat: ".0%", dtick: 0.1, gridcolor: GRID,
        zeroline: false, title: {text: "mean forecast probability", standoff: 6}
      },
      yaxis: {
        domain: [0.27, 1], range: [-0.04, 1.04], tickformat: ".0%", dtick: 0.2, gridcolor: GRID,
        zeroline: false, title: {text: "observed rate"}
      },
      yaxis2: {
        domain: [0, 0.19], range: [0, maxN * 1.3], dtick: Math.max(1, Math.ceil(maxN / 2)),
        gridcolor: GRID, zeroline: false, title: {text: "forecasts"}
      }
    };
    return Plotly.newPlot(divId, [points, diagonal, counts], layout, CONFIG);
  }

  /** Forecast history: one step line per forecaster (shape 'hv'); dashed where it holds. */
  function history(divId, dataId) {
    var d = readJson(dataId);
    var traces = d.traces.map(function (t, i) {
      return {
        name: plain(t.name),
        type: "scatter",
        mode: "lines+markers",
        x: t.x,
        y: t.y,
        customdata: t.estimate.map(plain),
        line: {shape: "hv", width: 2.5, color: PALETTE[i % PALETTE.length]},
        marker: {size: 8, color: PALETTE[i % PALETTE.length], line: {color: "#fff", width: 1.5}},
        hovertemplate:
          "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d}: <b>%{y:.1%}</b>" +
          "<br><i>%{customdata}</i><extra></extra>"
      };
    });
    // The last forecast stands until the question closes; drawn apart so the forecasters'
    // own traces hold exactly their forecasts.
    var holds = [];
    d.traces.forEach(function (t, i) {
      var last = t.x[t.x.length - 1];
      if (d.end && last < d.end) {
        holds.push({
          name: plain(t.name) + " (holds)",
          meta: "hold",
          type: "scatter",
          mode: "lines",
          x: [last, d.end],
          y: [t.y[t.y.length - 1], t.y[t.y.length - 1]],
          line: {width: 2, dash: "dot", color: PALETTE[i % PALETTE.length]},
          hoverinfo: "skip",
          showlegend: false
        });
      }
    });
    var shapes = [];
    var annotations = [];
    // Labels sit at the top, opened to the left of its line and the deadline to the right,
    // so they stay inside the chart; the resolution's label sits low, clear of the deadline's.
    var placement = {
      "opened": {y: 1, yanchor: "bottom", xanchor: "left"},
      "resolve by": {y: 1, yanchor: "bottom", xanchor: "right"},
      "resolved": {y: 0.02, yanchor: "bottom", xanchor: "left"}
    };
    d.markers.forEach(function (m) {
      var color = m.label === "resolved" ? "#059669" : m.label === "resolve by" ? "#dc2626" : "#6b7280";
      var where = placement[m.label] || placement.opened;
      shapes.push({
        type: "line", xref: "x", yref: "paper", x0: m.date, x1: m.date, y0: 0, y1: 1,
        line: {color: color, width: 1.5, dash: "dash"}
      });
      annotations.push({
        xref: "x", yref: "paper", x: m.date, y: where.y, yanchor: where.yanchor,
        xanchor: where.xanchor, showarrow: false, bgcolor: "rgba(255,255,255,0.85)",
        text: plain(m.label) + "<br>" + plain(m.date), font: {size: 11, color: color}, align: where.xanchor
      });
    });
    var layout = {
      font: FONT,
      margin: {l: 56, r: 24, t: 44, b: 40},
      height: 360,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      hovermode: "closest",
      legend: {orientation: "h", x: 0, y: -0.14},
      xaxis: {type: "date", range: d.range, gridcolor: GRID, zeroline: false},
      yaxis: {range: [0, 1.02], tickformat: ".0%", dtick: 0.2, gridcolor: GRID, zeroline: false,
              title: {text: "probability"}},
      shapes: shapes,
      annotations: annotations
    };
    return Plotly.newPlot(divId, traces.concat(holds), layout, CONFIG);
  }

  var CHARTS = {calibration: calibration, history: history};
  window.Charts = CHARTS;

  // Each chart's div names its kind and the JSON block holding its data, so the pages need
  // no inline script to start them (the Content-Security-Policy runs none).
  document.querySelectorAll("[data-chart]").forEach(function (div) {
    var draw = CHARTS[div.dataset.chart];
    if (draw) {
      draw(div.id, div.dataset.chartData);
    }
  });
})();
