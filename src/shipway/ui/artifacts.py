"""A run's artifacts in the browser: a preview page per file and the file itself.

The preview is chosen by the file's extension: images shown as images, text, logs and
code as text, Markdown rendered (sanitized), JSON pretty-printed, CSV and Parquet as their
first rows, HTML inside a sandboxed frame (no script, no form, no navigation of the
page), anything else as its size and digest with a download link. Only the first
``MAX_PREVIEW`` bytes of a text file are read, so a huge log costs what a small one does.

The file itself (``/ui/raw/...``) is served with a policy that lets it run nothing
(``sandbox``, ``default-src 'none'``), ``nosniff``, and as text/plain unless it is an
image or HTML, so an SVG or HTML artifact with a script in it cannot run it, even when
opened directly.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from shipway.services import Services
from shipway.ui import markdown
from shipway.ui.web import caller, page, render

router = APIRouter(include_in_schema=False)
MAX_PREVIEW = 256 * 1024  # bytes of a text file read for its preview
MAX_TABLE_FILE = 64 * 1024 * 1024  # a Parquet file larger than this is not previewed
ROWS = 50  # rows of a CSV or Parquet preview
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
TEXT = {
    ".txt", ".log", ".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".diff", ".patch",
    ".sh", ".sql", ".r", ".ipynb", ".xml", ".js", ".css", ".tsv", ".env", "",
}  # fmt: skip
HTML = {".html", ".htm"}
# what a served artifact may do: nothing (its own scripts never run, even opened alone)
RAW_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; "
    "frame-ancestors 'self'"
)


def kind_of(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    name = PurePosixPath(path).name
    if suffix in IMAGES:
        return "image"
    if suffix in HTML:
        return "html"
    if suffix == ".md":
        return "markdown"
    if suffix == ".json" or name == "MLmodel":
        return "json" if suffix == ".json" else "text"
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix in TEXT:
        return "text"
    return "binary"


def raw_url(run_id: str, path: str, download: bool = False) -> str:
    url = f"/ui/raw/{quote(run_id, safe='')}/{quote(path)}"
    return url + "?download=true" if download else url


def _head(chunks: object, limit: int) -> bytes:
    out = bytearray()
    for chunk in chunks:  # type: ignore[attr-defined]
        out += chunk
        if len(out) >= limit:
            break
    return bytes(out[:limit])


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@router.get("/runs/{run_id}/artifacts/{path:path}", response_class=HTMLResponse)
@page("viewer")
def artifact_page(request: Request, services: Services, run_id: str, path: str) -> HTMLResponse:
    """One artifact previewed (its kind chosen by its extension), with a download link."""
    run = services.tracking.get_run(run_id)  # 404 pages for an unknown run or file
    artifact = services.artifacts.get(run_id, path)
    kind = kind_of(path)
    preview: dict[str, object] = {"kind": kind}
    truncated = False
    if kind in ("text", "markdown", "json", "csv"):
        _, chunks = services.artifacts.open(run_id, path)
        data = _head(chunks, MAX_PREVIEW)
        truncated = artifact.size > len(data)
        text = _text(data)
        if kind == "markdown":
            preview["html"] = markdown.render(text)
        elif kind == "json":
            try:
                preview["text"] = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except (ValueError, RecursionError):
                preview["text"] = text  # cut short, not JSON or nested too deep: as it is
        elif kind == "csv":
            try:
                rows = list(itertools.islice(csv.reader(io.StringIO(text)), ROWS + 2))
            except csv.Error:  # a field too long, an unclosed quote: shown as text
                preview["kind"], preview["text"] = "text", text
            else:
                preview["header"] = rows[0] if rows else []
                preview["rows"] = rows[1 : ROWS + 1]
                truncated = truncated or len(rows) > ROWS + 1
        else:
            preview["text"] = text
    elif kind == "parquet":
        preview.update(_parquet(services, run_id, path, artifact.size))
    return render(
        "artifact.html",
        request=request,
        run=run,
        artifact=artifact,
        preview=preview,
        truncated=truncated,
        limit_kb=MAX_PREVIEW // 1024,
        raw=raw_url(run_id, path),
        download=raw_url(run_id, path, download=True),
    )


def _parquet(services: Services, run_id: str, path: str, size: int) -> dict[str, object]:
    if size > MAX_TABLE_FILE:
        return {"note": f"larger than {MAX_TABLE_FILE // 2**20} MB: download it to look inside"}
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return {"note": "previewing Parquet needs pyarrow: pip install 'shipway[sklearn]'"}
    _, chunks = services.artifacts.open(run_id, path)
    try:
        table = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
        first = next(table.iter_batches(batch_size=ROWS), None)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: say so on the page
        return {"note": f"not a readable Parquet file: {exc}"}
    header = list(table.schema_arrow.names)
    rows = [] if first is None else [[str(v) for v in row.values()] for row in first.to_pylist()]
    return {
        "header": header,
        "rows": rows,
        "note": f"{table.metadata.num_rows:,} rows, {len(header)} columns",
    }


@router.get("/ui/raw/{run_id}/{path:path}")
def raw(request: Request, run_id: str, path: str, download: bool = False) -> Response:
    """The artifact's bytes, served so that nothing in them can run."""
    services = caller(request, "viewer")
    artifact, chunks = services.artifacts.open(run_id, path)  # errors: the API's envelope
    kind = kind_of(path)
    suffix = PurePosixPath(path).suffix.lower()
    if download:
        media = "application/octet-stream"
    elif kind == "image":
        media = IMAGES[suffix]
    elif kind == "html":
        media = "text/html; charset=utf-8"
    elif kind == "binary" or kind == "parquet":
        media, download = "application/octet-stream", True
    else:
        media = "text/plain; charset=utf-8"
    name = quote(PurePosixPath(path).name)
    disposition = "attachment" if download else "inline"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={
            "Content-Length": str(artifact.size),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
            "Content-Security-Policy": RAW_CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Shipway-Digest": artifact.digest,
        },
    )
