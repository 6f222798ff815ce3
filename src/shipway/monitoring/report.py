"""The monitoring report as a table (text), JSON or a self-contained HTML page with inline
SVG plots: the live metric and latency over time, drift per feature, the alerts."""

# ruff: noqa: E501  (HTML and SVG templates read best unwrapped)
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import orjson

FORMATS = ("table", "json", "html")


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def to_json(report: dict[str, Any]) -> str:
    return (
        orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )


def line_chart(
    title: str,
    points: Sequence[tuple[int, float | None]],
    unit: str = "",
    floor: float | None = None,
) -> str:
    """An SVG line chart of (time ms, value) points; ``floor`` draws a dashed threshold."""
    e = html.escape
    width, height, pad = 640, 180, 36
    values = [(t, v) for t, v in points if v is not None]
    if not values:
        return f'<figure><figcaption>{e(title)}</figcaption><p class="empty">no data in the window</p></figure>'
    t0, t1 = min(t for t, _ in values), max(t for t, _ in values)
    ys = [v for _, v in values] + ([floor] if floor is not None else [])
    lo, hi = min(ys), max(ys)
    if hi == lo:
        hi, lo = hi + 1, lo - 1

    def x(t: int) -> float:
        return pad + (width - 2 * pad) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(values)
    )
    dots = "".join(
        f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3"><title>{e(_when(t))}: {v:.4g}{e(unit)}</title></circle>'
        for t, v in values
    )
    threshold = ""
    if floor is not None:
        threshold = (
            f'<line x1="{pad}" x2="{width - pad}" y1="{y(floor):.1f}" y2="{y(floor):.1f}" '
            f'class="threshold"><title>threshold {floor:g}{e(unit)}</title></line>'
        )
    return f"""<figure><figcaption>{e(title)}</figcaption>
<svg viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">
<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>
<text x="{pad}" y="{pad - 8}" class="tick">{hi:.4g}{e(unit)}</text>
<text x="{pad}" y="{height - pad + 16}" class="tick">{lo:.4g}{e(unit)} · {e(_when(t0))}</text>
<text x="{width - pad}" y="{height - pad + 16}" class="tick" text-anchor="end">{e(_when(t1))}</text>
{threshold}<path d="{path}" class="series"/>{dots}
</svg></figure>"""


def bar_chart(title: str, bars: Sequence[tuple[str, float, bool, str]]) -> str:
    """Horizontal bars: (label, score, drifted, note)."""
    e = html.escape
    if not bars:
        return (
            f'<figure><figcaption>{e(title)}</figcaption><p class="empty">no features</p></figure>'
        )
    width, row = 640, 24
    top = max((b[1] for b in bars), default=1.0) or 1.0
    rows = []
    for i, (label, score, drifted, note) in enumerate(bars):
        length = 380 * (score / top)
        rows.append(
            f'<text x="0" y="{i * row + 16}" class="label">{e(label)}</text>'
            f'<rect x="180" y="{i * row + 4}" width="{length:.1f}" height="16" '
            f'class="{"drift" if drifted else "ok"}"><title>{e(note)}</title></rect>'
            f'<text x="{185 + length:.1f}" y="{i * row + 16}" class="tick">{e(note)}</text>'
        )
    return f"""<figure><figcaption>{e(title)}</figcaption>
<svg viewBox="0 0 {width} {len(bars) * row + 8}" role="img" aria-label="{e(title)}">{"".join(rows)}</svg></figure>"""


def to_html(report: dict[str, Any]) -> str:
    e = html.escape
    series = report["series"]
    metric = next(
        (k for k in (series[0] if series else {}) if k not in ("time", "rows", "latency_p95_ms")),
        None,
    )
    charts = []
    if metric:
        charts.append(
            line_chart(f"live {metric} per bucket", [(p["time"], p.get(metric)) for p in series])
        )
    charts.append(
        line_chart(
            "latency p95 per bucket", [(p["time"], p["latency_p95_ms"]) for p in series], " ms"
        )
    )
    charts.append(
        line_chart("predictions per bucket", [(p["time"], float(p["rows"])) for p in series])
    )
    sections = []
    for version, entry in sorted(report["versions"].items()):
        drift = entry["drift"]
        bars = [
            (
                f["column"],
                _strength(f),
                f["drifted"],
                f"{f['method']} {f['score']:.3g} ({f['status']})"
                if f["score"] is not None
                else f["status"],
            )
            for f in drift.get("features", [])
        ]
        arms = "".join(
            f"<tr><td>{e(arm)}</td><td>{a['rows']}</td><td>{a['errors']}</td><td>{a['latency_p95_ms'] or ''}</td>"
            f"<td>{e(_quality(a.get('quality')))}</td></tr>"
            for arm, a in entry["arms"].items()
        )
        quality_rows = "".join(
            f"<tr><td>{e(col)}</td><td>{q['nulls']}</td><td>{q['out_of_range']}</td>"
            f"<td>{e(', '.join(f'{k} ({v})' for k, v in (q.get('unseen') or {}).items()))}</td></tr>"
            for col, q in entry["data_quality"].items()
        )
        reference = drift.get("reference") or drift.get("error") or "none"
        share = drift.get("share")
        sections.append(
            f"""<section><h2>version {e(version)}</h2>
<table><thead><tr><th>arm</th><th>rows</th><th>errors</th><th>latency p95 ms</th><th>live quality</th></tr></thead><tbody>{arms}</tbody></table>
<p>Drift against {e(str(reference))}: {"" if share is None else f"{share:.0%} of features drifted"}
{("; drifted: " + e(", ".join(drift.get("drifted", [])))) if drift.get("drifted") else ""}</p>
{bar_chart("drift per feature (bar length: strength; red: drifted)", bars)}
<table><thead><tr><th>column</th><th>nulls</th><th>out of range</th><th>unseen values</th></tr></thead><tbody>{quality_rows}</tbody></table>
</section>"""
        )
    alerts = (
        "".join(
            f'<tr class="{e(a["severity"])}"><td>#{a["id"]}</td><td>{e(_when(a["fired_at"]))}</td><td>{e(a["rule"])}</td>'
            f"<td>{e(a['message'])}</td><td>{e(a['action'])}: {e(str(a['action_result'].get('status', '')))}</td><td>{e(a['status'])}</td></tr>"
            for a in report["alerts"]
        )
        or '<tr><td colspan="6">no alerts in the window</td></tr>'
    )
    history = "".join(
        f"<li>{e(_when(h['time']))}: production v{h['from_version'] or '–'} → v{h['to_version'] or '–'} by {e(h['actor'])}: {e(h['reason'])}</li>"
        for h in report["history"]
    )
    window = report["window"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Monitoring: {e(report["model"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 960px; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; }}
tr.critical td, tr.warning td {{ background: #fdecea; }}
svg {{ width: 100%; height: auto; }} .series {{ fill: none; stroke: #1f6feb; stroke-width: 2; }}
circle {{ fill: #1f6feb; }} .axis {{ stroke: #999; }} .threshold {{ stroke: #b3261e; stroke-dasharray: 4 3; }}
.tick, .label {{ font-size: 11px; fill: #555; }} rect.ok {{ fill: #8fb8f5; }} rect.drift {{ fill: #d9534f; }}
figure {{ margin: 1rem 0; }} figcaption {{ font-weight: 600; }}
</style></head><body>
<h1>Monitoring: {e(report["model"])}</h1>
<p>Window {e(_when(window["start"]))} – {e(_when(window["end"]))}; production is
{("version " + str(report["production"])) if report["production"] else "unset"}.</p>
<h2>Alerts</h2>
<table><thead><tr><th>alert</th><th>fired</th><th>rule</th><th>message</th><th>action</th><th>status</th></tr></thead><tbody>{alerts}</tbody></table>
<h2>Production alias history</h2><ul>{history or "<li>no moves</li>"}</ul>
{"".join(charts)}
{"".join(sections)}
</body></html>
"""


def _strength(feature: dict[str, Any]) -> float:
    score = feature.get("score")
    if score is None:
        return 0.0
    return float(1 - score) if feature["method"] in ("ks", "chi2") else float(score)


def _quality(scored: dict[str, Any] | None) -> str:
    if not scored:
        return "no labels"
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in scored["metrics"].items() if v is not None)
    return f"{metrics or 'n/a'} ({scored['labelled']} labelled, {scored['coverage']:.0%} coverage)"


def to_text_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per version and arm, for the CLI's table."""
    rows: list[tuple[str, ...]] = []
    for version, entry in sorted(report["versions"].items()):
        drift = entry["drift"]
        drifted = ", ".join(drift.get("drifted", [])) or "none"
        for arm, a in entry["arms"].items():
            rows.append(
                (
                    version,
                    arm,
                    str(a["rows"]),
                    "" if a["latency_p95_ms"] is None else f"{a['latency_p95_ms']:.2f}",
                    _quality(a.get("quality")),
                    drifted,
                )
            )
    return rows
