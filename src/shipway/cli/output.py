"""How the CLI talks back: tables, JSON, one-line errors and exit codes.

Exit codes: 0 success; 1 a failed check or an operational failure (server down, corrupt
blob); 2 a usage error (bad option, unknown id, invalid value).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from shipway import errors

console = Console()
err_console = Console(stderr=True)

USAGE_ERRORS = (errors.InvalidInput, errors.NotFound, errors.Conflict)


def exit_code_for(exc: errors.ShipwayError) -> int:
    if isinstance(exc, errors.PromotionRefused):
        return 1  # a failed check, not a usage error
    return 2 if isinstance(exc, USAGE_ERRORS) else 1


def fail(exc: errors.ShipwayError) -> int:
    err_console.print(
        f"[bold red]error:[/] {exc.message}", highlight=False, markup=True, soft_wrap=True
    )
    return exit_code_for(exc)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int, end: int | None) -> str:
    if end is None:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    t = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*[str(c) for c in row])
    return t
