// Metric charts: each <div data-chart> fetches its series from the server, already
// thinned to about its width (/ui/series), and draws them overlaid with uPlot.
//
// The chart's settings live in its form (x axis, log scale, smoothing, keys) and in the
// page's URL: changing one redraws the chart and replaces the URL, so a link opens the
// same view. Drag across the chart to zoom: the zoomed range is fetched again at full
// detail; double-click to zoom out.
(function () {
  "use strict";
  const COLORS = ["#0550ae", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#0a7ea4",
    "#9a6700", "#6e7781", "#d1247d", "#116329"];
  const STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p))
    .sort((a, b) => a - b);

  function params(form) {
    const out = new URLSearchParams();
    for (const [k, v] of new FormData(form)) out.append(k, v);
    return out;
  }

  // exponential moving average, debiased as TensorBoard does (the first points are not
  // pulled toward zero); gaps (null) are carried over
  function smooth(ys, weight) {
    if (!weight) return ys;
    let last = 0, n = 0;
    return ys.map((y) => {
      if (y == null) return null;
      n += 1;
      last = last * weight + (1 - weight) * y;
      return last / (1 - Math.pow(weight, n));
    });
  }

  function label(s, labels, runs, keys) {
    const run = labels[s.run_id] || s.run_id.slice(0, 8);
    if (runs === 1) return s.key;
    if (keys === 1) return run;
    return run + " · " + s.key;
  }

  function draw(el, found, state) {
    el._found = found;
    const labels = JSON.parse(el.dataset.labels || "{}");
    const runs = new Set(found.map((s) => s.run_id)).size;
    const keys = new Set(found.map((s) => s.key)).size;
    const scale = state.x === "time" ? 0.001 : 1; // uPlot's time axis counts seconds
    const tables = found.map((s) => {
      const ys = state.log ? s.y.map((y) => (y > 0 ? y : null)) : s.y;
      return [s.x.map((x) => x * scale), ys];
    });
    const joined = tables.length ? uPlot.join(tables) : [[]];
    const data = [joined[0]];
    const series = [{ label: state.x }];
    found.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const name = label(s, labels, runs, keys);
      if (state.smooth > 0) {
        data.push(joined[i + 1]);
        series.push({ label: name + " (raw)", stroke: color + "40", width: 1, spanGaps: true });
        data.push(smooth(joined[i + 1], state.smooth));
        series.push({ label: name, stroke: color, width: 1.5, spanGaps: true });
      } else {
        data.push(joined[i + 1]);
        series.push({ label: name, stroke: color, width: 1.5, spanGaps: true });
      }
    });
    if (el._plot) el._plot.destroy();
    const width = Math.max(320, el.clientWidth);
    const opts = {
      width: width,
      height: 320,
      series: series,
      scales: { x: { time: state.x === "time" }, y: { distr: state.log ? 3 : 1 } },
      axes: [{
        label: { step: "step", time: "", relative: "seconds since start" }[state.x],
        incrs: state.x === "step" ? STEPS : undefined, // whole steps only
      }, {}],
      cursor: { drag: { x: true, y: false } },
      hooks: { setSelect: [(u) => zoomed(el, u, state, scale)] },
    };
    const plot = new uPlot(opts, data, el);
    plot.over.addEventListener("dblclick", () => {
      if (state.x_min != null || state.x_max != null) {
        state.x_min = state.x_max = null;
        load(el, state);
      }
    });
    el._plot = plot;
    const points = data.slice(1).reduce((n, ys) => n + ys.filter((y) => y != null).length, 0);
    el.dataset.drawn = String(points);
    const total = found.reduce((n, s) => n + s.total, 0);
    const note = el.parentElement.querySelector("[data-chart-note]");
    if (note) {
      note.textContent = found.length
        ? found.length + " series, " + total.toLocaleString() + " points logged, " +
          found.reduce((n, s) => n + s.x.length, 0).toLocaleString() + " drawn"
        : "No metric to chart.";
    }
  }

  function zoomed(el, u, state, scale) {
    if (u.select.width < 2) return;
    const lo = u.posToVal(u.select.left, "x") / scale;
    const hi = u.posToVal(u.select.left + u.select.width, "x") / scale;
    u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
    state.x_min = lo;
    state.x_max = hi;
    load(el, state);
  }

  function remember(form, state) {
    // the form's fields replace theirs in the URL; other settings on the page stay
    const query = new URLSearchParams(location.search);
    for (const field of form.elements) if (field.name) query.delete(field.name);
    for (const [k, v] of params(form)) query.append(k, v);
    for (const k of ["x_min", "x_max"]) {
      query.delete(k);
      if (state[k] != null) query.set(k, String(state[k]));
    }
    history.replaceState(history.state, "", location.pathname + "?" + query.toString());
  }

  async function load(el, state) {
    const src = new URLSearchParams(el.dataset.src);
    src.set("x", state.x);
    src.set("points", String(Math.min(10000, Math.max(200, 2 * el.clientWidth))));
    for (const k of ["x_min", "x_max"]) {
      if (state[k] != null) src.set(k, String(state[k]));
      else src.delete(k);
    }
    if (state.keys) {
      src.delete("key");
      for (const k of state.keys) src.append("key", k);
    }
    const answer = await fetch("/ui/series?" + src.toString(), { credentials: "same-origin" });
    const body = await answer.json();
    if (!answer.ok) {
      el.textContent = (body.error && body.error.message) || "the chart data could not be read";
      el.dataset.drawn = "0";
      return;
    }
    draw(el, body.series, state);
    if (el._form) remember(el._form, state);
  }

  function stateOf(el, form) {
    const query = new URLSearchParams(location.search);
    const number = (v) => (v == null || v === "" ? null : Number(v));
    const state = {
      x: el.dataset.x || "step",
      log: el.dataset.log === "true",
      smooth: Number(el.dataset.smooth || 0),
      x_min: number(query.get("x_min")),
      x_max: number(query.get("x_max")),
      keys: null,
    };
    if (form) {
      const read = () => {
        const values = params(form);
        state.x = values.get("x") || "step";
        state.log = values.get("log") === "true";
        state.smooth = Number(values.get("smooth") || 0);
        if (form.querySelector("[name=key]")) state.keys = values.getAll("key");
      };
      read();
      form.addEventListener("change", (event) => {
        const before = state.x + "|" + (state.keys || []).join(",");
        read();
        if (event.target.name === "x") state.x_min = state.x_max = null;
        const after = state.x + "|" + (state.keys || []).join(",");
        if (before !== after) load(el, state);
        else {
          draw(el, el._found, state);
          remember(form, state);
        }
      });
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        load(el, state);
      });
    }
    return state;
  }

  // a chart of figures the page already holds (the monitoring page's buckets): one small
  // chart per figure, on a shared time axis
  function drawStatic(el) {
    const source = document.getElementById(el.dataset.staticChart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    let points = 0;
    data.series.forEach((s, i) => {
      const box = document.createElement("div");
      box.className = "small-chart";
      el.appendChild(box);
      const opts = {
        width: Math.max(320, Math.floor(el.clientWidth / Math.min(data.series.length, 3)) - 12),
        height: 180,
        title: s.label,
        scales: { x: { time: true } },
        series: [{}, { label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }],
      };
      new uPlot(opts, [data.x, s.y], box);
      points += s.y.filter((y) => y != null).length;
    });
    el.dataset.drawn = String(points);
  }

  function init(root) {
    for (const el of root.querySelectorAll("[data-static-chart]")) {
      if (el._started) continue;
      el._started = true;
      drawStatic(el);
    }
    for (const el of root.querySelectorAll("[data-chart]")) {
      if (el._started) continue;
      el._started = true;
      const form = el.dataset.form ? document.getElementById(el.dataset.form) : null;
      el._form = form;
      load(el, stateOf(el, form));
    }
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", () => init(document));
})();
