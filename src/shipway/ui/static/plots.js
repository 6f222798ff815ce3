// Parallel coordinates and scatter plots of runs (the compare page), drawn with ECharts.
// ECharts is large, so it is fetched from the server only when a page has a plot.
// Each <div data-plot="parallel|scatter" data-source="ID"> reads its runs from the JSON
// in <script type="application/json" id="ID">; a scatter's axes come from its form and
// are kept in the page's URL (sx, sy).
(function () {
  "use strict";
  const SRC = "/ui/static/vendor/echarts-6.1.0-parallel-scatter.min.js";
  let loading = null;

  function echartsReady() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = SRC;
        script.onload = () => resolve(window.echarts);
        script.onerror = () => reject(new Error("could not load " + SRC));
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  // ECharts puts a tooltip's text in as HTML: run names and values are escaped first
  function escape(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  function isNumber(v) {
    return v !== null && v !== "" && !isNaN(Number(v));
  }

  // an axis is numeric when every run that has it has a number there
  function dimension(data, i) {
    const present = data.runs.map((r) => r.values[i]).filter((v) => v != null);
    if (present.length && present.every(isNumber)) return { type: "value" };
    const names = [...new Set(present.map(String))].sort();
    return { type: "category", data: names };
  }

  function cell(v, dim) {
    if (v == null) return dim.type === "value" ? null : "";
    return dim.type === "value" ? Number(v) : String(v);
  }

  function parallel(chart, data) {
    const dims = data.axes.map((a, i) => dimension(data, i));
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: (p) => escape(p.name) },
      parallelAxis: data.axes.map((name, i) => ({
        dim: i, name: name, nameRotate: 20, scale: true, ...dims[i],
      })),
      parallel: { left: 60, right: 90, top: 70, bottom: 30 },
      series: [{
        type: "parallel",
        lineStyle: { width: 1.5, opacity: 0.7 },
        data: data.runs.map((r) => ({
          name: r.label, value: r.values.map((v, i) => cell(v, dims[i])),
        })),
      }],
    });
  }

  function scatter(chart, data, form) {
    const pick = (name, fallback) => (form && form.elements[name] ? form.elements[name].value : fallback);
    const ax = pick("sx", data.scatter.x), ay = pick("sy", data.scatter.y);
    const ix = data.axes.indexOf(ax), iy = data.axes.indexOf(ay);
    const dx = dimension(data, ix), dy = dimension(data, iy);
    const points = data.runs
      .filter((r) => r.values[ix] != null && r.values[iy] != null)
      .map((r) => ({ name: r.label, value: [cell(r.values[ix], dx), cell(r.values[iy], dy)] }));
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: (p) => escape(p.name + ": " + p.value.join(", ")) },
      grid: { left: 70, right: 30, top: 20, bottom: 50 },
      xAxis: { name: ax, nameLocation: "middle", nameGap: 30, scale: true, ...dx },
      yAxis: { name: ay, nameLocation: "middle", nameGap: 50, scale: true, ...dy },
      series: [{ type: "scatter", symbolSize: 9, data: points }],
    }, true);
    return points.length;
  }

  async function start(el) {
    const source = document.getElementById(el.dataset.source);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const form = el.dataset.form ? document.getElementById(el.dataset.form) : null;
    let echarts;
    try {
      echarts = await echartsReady();
    } catch (err) {
      el.textContent = err.message;
      return;
    }
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const drawIt = () => {
      const n = el.dataset.plot === "parallel" ? (parallel(chart, data), data.runs.length) : scatter(chart, data, form);
      el.dataset.drawn = String(n);
    };
    drawIt();
    if (form) {
      const apply = (event) => {
        if (event) event.preventDefault();
        drawIt();
        const query = new URLSearchParams(location.search);
        for (const name of ["sx", "sy"]) query.set(name, form.elements[name].value);
        history.replaceState(history.state, "", location.pathname + "?" + query.toString());
      };
      form.addEventListener("change", () => apply());
      form.addEventListener("submit", apply);
    }
    window.addEventListener("resize", () => chart.resize());
  }

  function init(root) {
    for (const el of root.querySelectorAll("[data-plot]")) {
      if (el._started) continue;
      el._started = true;
      start(el);
    }
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", () => init(document));
})();
