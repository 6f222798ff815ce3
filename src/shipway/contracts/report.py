"""A gate report as Markdown (a CI job summary or merge-request note), JUnit XML (CI test
reports), self-contained HTML, or JSON."""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from typing import Any

import orjson

from shipway.records import CheckResult, GateReport

FORMATS = ("table", "json", "markdown", "junit", "html")
MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "➖"}


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k.removesuffix('_ms')} {value_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def headline(report: GateReport) -> str:
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in MARK}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return (
        f"{report.model} version {report.version} against contract version "
        f"{report.contract_version}: {report.status.upper()} ({parts})"
    )


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: GateReport) -> str:
    lines = [
        f"## Gate report #{report.id}: {report.model} v{report.version} "
        f"{MARK.get(report.status, '')} {report.status}",
        "",
        f"Contract version {report.contract_version} · run by {report.created_by} · "
        f"{_when(report.created_at)} · {report.seconds:.1f} s",
    ]
    if report.datasets:
        lines.append(f"Data: {', '.join(report.datasets)}")
    if report.baseline:
        lines.append(
            "Compared with: "
            + ", ".join(
                f"{a} ({'v' + str(v) if v else 'unset'})" for a, v in report.baseline.items()
            )
        )
    lines += ["", "| | check | measured | threshold | note |", "|---|---|---|---|---|"]
    for c in report.checks:
        lines.append(
            f"| {MARK.get(c.status, c.status)} | {_md_cell(c.name)} | "
            f"{_md_cell(value_text(c.value))} | {_md_cell(value_text(c.threshold))} | "
            f"{_md_cell(c.reason)} |"
        )
    return "\n".join(lines) + "\n"


def to_junit(report: GateReport) -> str:
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in MARK}
    suite = ET.Element(
        "testsuite",
        name=f"shipway gates: {report.model} v{report.version}",
        tests=str(len(report.checks)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{report.seconds:.3f}",
        timestamp=dt.datetime.fromtimestamp(report.created_at / 1000, tz=dt.UTC).isoformat(),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("model", report.model),
        ("version", report.version),
        ("contract_version", report.contract_version),
        ("report", report.id),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    for c in report.checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"gates.{c.kind}", name=c.name, time=f"{c.seconds:.3f}"
        )
        detail = _junit_detail(c)
        if c.status == "failed":
            ET.SubElement(case, "failure", message=c.reason or "failed").text = detail
        elif c.status == "error":
            ET.SubElement(case, "error", message=c.reason or "error").text = detail
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", message=c.reason)
        else:
            ET.SubElement(case, "system-out").text = detail
    root = ET.Element("testsuites", name="shipway gates")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_detail(c: CheckResult) -> str:
    return (
        f"measured: {value_text(c.value)}\nthreshold: {value_text(c.threshold)}\n"
        f"details: {orjson.dumps(c.details).decode()}"
    )


def to_html(report: GateReport) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr class="{e(c.status)}"><td>{MARK.get(c.status, "")} {e(c.status)}</td>'
        f"<td>{e(c.kind)}</td><td>{e(c.name)}</td><td>{e(value_text(c.value))}</td>"
        f"<td>{e(value_text(c.threshold))}</td><td>{e(c.reason)}</td>"
        f"<td>{c.seconds:.2f} s</td></tr>"
        for c in report.checks
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Gate report #{report.id}: {e(report.model)} v{report.version}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
tr.failed td, tr.error td {{ background: #fdecea; }}
tr.passed td:first-child {{ color: #1b7f3b; }}
.status-passed {{ color: #1b7f3b; }} .status-failed, .status-error {{ color: #b3261e; }}
</style></head><body>
<h1>Gate report #{report.id}: {e(report.model)} version {report.version}</h1>
<p class="status-{e(report.status)}"><strong>{e(headline(report))}</strong></p>
<p>Run by {e(report.created_by)} at {e(_when(report.created_at))} in {report.seconds:.1f} s.
Data: {e(", ".join(report.datasets) or "none")}.</p>
<table><thead><tr><th>status</th><th>kind</th><th>check</th><th>measured</th>
<th>threshold</th><th>note</th><th>time</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def to_json(report: GateReport) -> str:
    data = report.to_dict() | {"datasets": report.datasets}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def render(report: GateReport, fmt: str) -> str:
    if fmt == "markdown":
        return to_markdown(report)
    if fmt == "junit":
        return to_junit(report)
    if fmt == "html":
        return to_html(report)
    return to_json(report)
