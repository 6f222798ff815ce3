"""The web workspace, served by `shipway server` (its own process, SQLite) and drawn by
headless Chromium (Debian's, through Playwright).

- Runs table: 100,000 runs with 5 params and 5 metrics each (bench/search.py's table),
  `/runs` filtered by `metrics.acc > 0.9 and params.model = 'rf'`, ordered by
  `metrics.acc DESC`, a page of 100: the server's answer time (median over HTTP).
  Baseline: the same question through the JSON API (`POST /api/v1/runs/search`), so the
  ratio is what rendering the page costs over answering it. Then the page's first
  contentful paint in Chromium; baseline: the sign-in page's (the smallest page).
- Run page, 10 series of 100,000 points: the chart data request (`/ui/series`, thinned to
  2,000 points per series) against the baseline of the same page without server-side
  thinning: every point of the 10 series through the metric-history API. In Chromium:
  navigation to drawn chart, against fetching the 10 full histories and drawing all
  1,000,000 points with the same uPlot on the same page.
- Compare 100 runs' curves (100 series of 10,000 points) in one chart: navigation to
  drawn; baseline: the 100 full histories fetched and drawn (1,000,000 points).
- Sizes: the largest page's HTML among those above (the runs table, the run page, compare
  with 100 runs) against the 100 KB budget, and the JavaScript shipped (gzip) against
  the 400 KB budget.
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from array import array
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench import search
from bench.common import Result, free_port, median_ms, start_server
from shipway.config import Settings
from shipway.records import Series
from shipway.services import Services

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
STATIC = Path(__file__).resolve().parent.parent / "src" / "shipway" / "ui" / "static"
RUNS_QUERY = {
    "experiment": "bench",
    "filter": search.FILTER,
    "order": "metrics.acc DESC",
    "limit": "100",
}

# draws every point of the series at ``urls`` with the page's uPlot, as the charts would
# without server-side thinning; resolves with the milliseconds from the first fetch
FULL_DRAW = """async (urls) => {
  const t0 = performance.now();
  const answers = await Promise.all(urls.map((u) => fetch(u).then((r) => r.json())));
  const tables = answers.map((a) => [a.points.map((p) => p.step), a.points.map((p) => p.value)]);
  const data = uPlot.join(tables);
  const el = document.createElement("div");
  document.body.appendChild(el);
  const series = [{}].concat(tables.map(() => ({ stroke: "#0550ae" })));
  new uPlot({ width: 1000, height: 320, series }, data, el);
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""

# milliseconds from navigation start until the chart says it has drawn
DRAWN = """() => new Promise((resolve) => {
  const el = document.querySelector("[data-chart]");
  const done = () => requestAnimationFrame(() => resolve(performance.now()));
  if (el.dataset.drawn) return done();
  new MutationObserver(() => el.dataset.drawn && done()).observe(el, { attributes: true });
})"""

FCP = """() => new Promise((resolve) => {
  const seen = performance.getEntriesByName("first-contentful-paint");
  if (seen.length) return resolve(seen[0].startTime);
  new PerformanceObserver((list) => resolve(list.getEntries()[0].startTime))
    .observe({ type: "paint", buffered: true });
})"""


def _series(n: int, base: float) -> Series:
    steps = array("q", range(n))
    values = array("d", [base + 1.0 / (s + 1) + (s % 97) * 1e-3 for s in range(n)])
    stamps = array("q", [1_700_000_000_000 + 10 * s for s in range(n)])
    return Series(values, steps, stamps)


def _populate(services: Services) -> tuple[str, list[str]]:
    search.populate(services)
    tracking = services.tracking
    tracking.create_experiment("charts")
    big = tracking.create_run("charts", name="ten-long-series").id
    tracking.log_metric_series(big, {f"m{k}": _series(100_000, k) for k in range(10)})
    tracking.update_run(big, status="finished")
    many = []
    for i in range(100):
        run = tracking.create_run("charts", name=f"sweep-{i}").id
        tracking.log_metric_series(run, {"loss": _series(10_000, i / 100)})
        tracking.update_run(run, status="finished")
        many.append(run)
    return big, many


def _browse(url: str, big: str, many: list[str]) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    compare = f"{url}/compare?" + urlencode([*(("run", r) for r in many), ("key", "loss")])
    out: dict[str, list[float]] = {k: [] for k in ("fcp", "fcp_base", "run", "run_base")}
    out |= {"compare": [], "compare_base": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for _ in range(5):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{url}/runs?{urlencode(RUNS_QUERY)}")
            out["fcp"].append(page.evaluate(FCP))
            page.goto(f"{url}/signin")
            out["fcp_base"].append(page.evaluate(FCP))
            page.goto(f"{url}/runs/{big}")
            out["run"].append(page.evaluate(DRAWN))
            histories = [f"{url}/api/v1/runs/{big}/metrics/m{k}" for k in range(10)]
            out["run_base"].append(page.evaluate(FULL_DRAW, histories))
            page.goto(compare)
            out["compare"].append(page.evaluate(DRAWN))
            histories = [f"{url}/api/v1/runs/{r}/metrics/loss" for r in many]
            out["compare_base"].append(page.evaluate(FULL_DRAW, histories))
            page.context.close()
        browser.close()
    return {k: statistics.median(v) for k, v in out.items()}


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        services = Services.open(Settings.load(overrides={"home": str(home)}, environ={}))
        big, many = _populate(services)
        services.close()
        port = free_port()
        proc = start_server(home, port)
        url = f"http://127.0.0.1:{port}"
        try:
            http = httpx.Client(base_url=url, timeout=60)
            table = http.get("/runs", params=RUNS_QUERY)
            assert table.status_code == 200 and table.text.count("<tr") > 100, table.text[:300]
            body = {"experiment": "bench", "filter": search.FILTER, "order_by": search.ORDER}
            api = http.post("/api/v1/runs/search", json={**body, "limit": 100})
            assert len(api.json()["runs"]) == 100
            page_ms = median_ms(lambda: http.get("/runs", params=RUNS_QUERY), 30)
            api_ms = median_ms(
                lambda: http.post("/api/v1/runs/search", json={**body, "limit": 100}), 30
            )
            chart = {"run": big, "points": 2000}
            answer = http.get("/ui/series", params=chart).json()["series"]
            assert len(answer) == 10 and all(s["total"] == 100_000 for s in answer)
            series_ms = median_ms(lambda: http.get("/ui/series", params=chart), 20)

            def full() -> None:
                for k in range(10):
                    points = http.get(f"/api/v1/runs/{big}/metrics/m{k}").json()["points"]
                    assert len(points) == 100_000

            full_ms = median_ms(full, 3)
            compare_url = "/compare?" + urlencode([*(("run", r) for r in many), ("key", "loss")])
            sizes = {
                "runs table": len(table.content),
                "run page": len(http.get(f"/runs/{big}").content),
                "compare 100 runs": len(http.get(compare_url).content),
            }
            browser = _browse(url, big, many)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    scripts = sorted(STATIC.rglob("*.js"))
    js_gzip = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts)
    largest = max(sizes, key=lambda k: sizes[k])
    return [
        Result(
            "UI runs table, 100k runs filtered and sorted, page of 100 (server)",
            page_ms,
            "ms (median)",
            "the JSON API's answer",
            api_ms,
            "median <= 100 ms on SQLite",
            higher_is_better=False,
        ),
        Result(
            "UI runs table first contentful paint (Chromium)",
            browser["fcp"],
            "ms (median)",
            "the sign-in page",
            browser["fcp_base"],
            "<= 1,000 ms",
            higher_is_better=False,
        ),
        Result(
            "UI chart data, 10 series x 100k points",
            series_ms,
            "ms (median)",
            "every point through the history API",
            full_ms,
            "<= 150 ms",
            higher_is_better=False,
        ),
        Result(
            "UI run page, 10 series x 100k points, navigation to drawn (Chromium)",
            browser["run"],
            "ms (median)",
            "all points fetched and drawn",
            browser["run_base"],
            "<= 1,000 ms",
            higher_is_better=False,
        ),
        Result(
            "UI compare 100 runs x 10k points in one chart, navigation to drawn (Chromium)",
            browser["compare"],
            "ms (median)",
            "all points fetched and drawn",
            browser["compare_base"],
            "<= 2,000 ms",
            higher_is_better=False,
        ),
        Result(
            f"UI largest page HTML ({largest})",
            sizes[largest] / 1024,
            "KB",
            "the budget",
            100.0,
            "< 100 KB",
            higher_is_better=False,
        ),
        Result(
            f"UI JavaScript shipped, gzip ({len(scripts)} files)",
            js_gzip / 1024,
            "KB",
            "the budget",
            400.0,
            "< 400 KB",
            higher_is_better=False,
        ),
    ]


if __name__ == "__main__":
    started = time.perf_counter()
    for result in run():
        print(result.line(), flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")
