"""Batch scoring: a model over a Parquet or CSV file (local or S3) or a dataset version,
partitioned on Dask, memory bounded by the partition.

>>> from shipway.runner import predict
>>> report = predict("models:/cancer@production", "scores.parquet", "out/")

Each partition (Parquet row groups, or a byte range of a CSV aligned to its lines) is one
task: read it, check it against the model's signature exactly as the inference server
does, predict, write ``part-NNNNN.parquet`` (the input row number ``_row`` and
``prediction``, with ``--keep-columns`` the inputs too). Rows that do not fit the
signature are never dropped silently: they go to ``OUTPUT.rejected/`` with the reason, and
the report counts them by reason. A partition with bad rows finds them by bisection, so a
clean partition pays one check. With ``log=True`` each partition is also a segment of the
model's prediction log (arm and protocol ``batch``), so monitoring sees batch jobs as it
sees online traffic.

An output path ending in ``.parquet`` (or ``.csv``) is assembled into that one file after
the parts are written, part by part, so memory stays bounded there too.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.errors import (
    ConnectionFailed,
    InvalidInput,
    JobFailed,
    NotFound,
    SchemaError,
    ShipwayError,
)
from shipway.runner.worker import client_for, worker_address

DEFAULT_PARTITION_ROWS = 500_000
_models: dict[str, Any] = {}
_models_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Part:
    """One partition: row groups of a Parquet file, or a byte range of a CSV file."""

    index: int
    file: str
    first_row: int  # the number of its first row in the whole input (from 0)
    row_groups: tuple[int, ...] = ()
    start: int = 0  # CSV byte range [start, end)
    end: int = 0


@dataclasses.dataclass(frozen=True)
class ScoreTask:
    tracking_uri: str
    model_uri: str
    model: str
    version: int
    part: Part
    fmt: str  # parquet | csv
    header: bytes  # a CSV file's header line
    output: str  # the folder the parts go to
    rejected: str
    keep_columns: bool
    proba: bool
    log: bool
    job: str
    s3_endpoint: str


@dataclasses.dataclass
class BatchReport:
    model: str
    version: int
    input: str
    output: str
    rejected_output: str | None
    partitions: int
    rows: int
    predicted: int
    rejected: int
    reasons: dict[str, int]
    seconds: float
    logged: bool
    job: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["rows_per_second"] = round(self.rows_per_second, 1)
        return out


# file systems ---------------------------------------------------------------------------


def filesystem(path: str, s3_endpoint: str = "") -> tuple[Any, str]:
    """(pyarrow file system, path in it) for a local path or an ``s3://bucket/key`` URI
    (credentials from the usual AWS variables; the endpoint from SHIPWAY_S3_ENDPOINT_URL
    or AWS_ENDPOINT_URL)."""
    import pyarrow.fs as pafs

    if path.startswith("s3://"):
        endpoint = s3_endpoint or os.environ.get("AWS_ENDPOINT_URL", "")
        options: dict[str, Any] = {}
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            options = {"endpoint_override": host or scheme, "scheme": scheme if host else "https"}
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        if region:
            options["region"] = region
        return pafs.S3FileSystem(**options), path.removeprefix("s3://")
    return pafs.LocalFileSystem(), str(Path(path).resolve())


def _files(fs: Any, path: str, fmt: str | None) -> tuple[list[str], str]:
    import pyarrow.fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise NotFound(f"input {path} does not exist")
    if info.type == pafs.FileType.Directory:
        found = sorted(
            f.path
            for f in fs.get_file_info(pafs.FileSelector(path, recursive=True))
            if f.type == pafs.FileType.File and f.path.endswith((".parquet", ".csv"))
        )
        if not found:
            raise InvalidInput(f"input folder {path} holds no .parquet or .csv file")
    else:
        found = [path]
    kinds = {"csv" if f.endswith(".csv") else "parquet" for f in found}
    if fmt is None:
        if len(kinds) > 1:
            raise InvalidInput(f"input {path} mixes CSV and Parquet files; give one kind")
        fmt = kinds.pop()
    if fmt not in ("parquet", "csv"):
        raise InvalidInput(f"format {fmt!r} is not parquet or csv")
    return found, fmt


def plan(fs: Any, files: list[str], fmt: str, partition_rows: int) -> tuple[list[Part], bytes]:
    """The partitions: Parquet row groups gathered up to ``partition_rows`` rows; CSV byte
    ranges sized from the first rows' width, each cut at a line end."""
    import pyarrow.parquet as pq

    parts: list[Part] = []
    header = b""
    row = 0
    for file in files:
        if fmt == "parquet":
            with fs.open_input_file(file) as f:
                meta = pq.ParquetFile(f).metadata
            groups: list[int] = []
            rows = first = 0
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                if groups and rows + n > partition_rows:
                    parts.append(Part(len(parts), file, row + first, tuple(groups)))
                    first += rows
                    groups, rows = [], 0
                groups.append(g)
                rows += n
            if groups:
                parts.append(Part(len(parts), file, row + first, tuple(groups)))
            row += meta.num_rows
        else:
            size = fs.get_file_info(file).size
            with fs.open_input_file(file) as f:
                head = f.read(min(size, 1 << 20))
            line_end = head.find(b"\n")
            if line_end < 0:
                raise InvalidInput(f"{file} has no line end in its first MiB: is it a CSV file?")
            file_header = head[: line_end + 1]
            if header and file_header != header:
                raise InvalidInput(f"{file} has another header than the first CSV file")
            header = file_header
            lines = head[line_end + 1 :].count(b"\n") or 1
            width = max(1, (len(head) - line_end - 1) // lines)
            step = max(1 << 16, width * partition_rows)
            cuts = [line_end + 1]
            with fs.open_input_file(file) as f:
                while cuts[-1] + step < size:
                    f.seek(cuts[-1] + step)
                    chunk = f.read(1 << 20)
                    nl = chunk.find(b"\n")
                    if nl < 0:
                        break
                    cuts.append(cuts[-1] + step + nl + 1)
            cuts.append(size)
            with fs.open_input_file(file) as f:
                for a, b in zip(cuts, cuts[1:], strict=False):
                    if b <= a:
                        continue
                    parts.append(Part(len(parts), file, row, start=a, end=b))
                    row += _count_lines(f, a, b)
    return parts, header


def _count_lines(f: Any, start: int, end: int) -> int:
    """Rows in a CSV byte range (its lines; the last may lack its line end)."""
    f.seek(start)
    count, left, last = 0, end - start, b""
    while left > 0:
        chunk = f.read(min(left, 8 << 20))
        if not chunk:
            break
        count += chunk.count(b"\n")
        left -= len(chunk)
        last = chunk[-1:]
    return count + (1 if last and last != b"\n" else 0)


# one partition ----------------------------------------------------------------------------


def _loaded(task: ScoreTask) -> Any:
    key = f"{task.tracking_uri}|{task.model_uri}"
    with _models_lock:
        if key not in _models:
            from shipway.client.models import load

            _models[key] = load(task.model_uri, client=client_for(task.tracking_uri))
        return _models[key]


def _read(task: ScoreTask, model: Any) -> Any:
    """The partition's rows. A CSV's columns the model does not take are read as text, so
    every part has the same schema whatever its values look like."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fs, path = filesystem(task.part.file, task.s3_endpoint)
    if task.fmt == "parquet":
        with fs.open_input_file(path) as f:
            return pq.ParquetFile(f).read_row_groups(list(task.part.row_groups))
    with fs.open_input_file(path) as f:
        f.seek(task.part.start)
        data = f.read(task.part.end - task.part.start)
    text: dict[str, Any] = {}
    if model.signature is not None and model.signature.columns:
        taken = {c.name for c in model.signature.columns}
        header = pacsv.read_csv(pa.py_buffer(task.header)).schema.names
        text = {n: pa.string() for n in header if n not in taken}
    options = pacsv.ConvertOptions(column_types=text)
    return pacsv.read_csv(pa.py_buffer(task.header + data), convert_options=options)


def score_part(task: ScoreTask) -> dict[str, Any]:
    """Score one partition; its counts (the parts are written by then)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.monotonic()
    model = _loaded(task)
    where = _describe(task.part)
    try:
        table = _read(task, model)
    except (OSError, ValueError) as exc:
        if not isinstance(exc, OSError):  # ArrowInvalid: a malformed CSV line, bad Parquet
            raise InvalidInput(f"{where} cannot be read: {exc}") from None
        raise ConnectionFailed(
            f"a worker ({worker_address()}) cannot read {task.part.file}: {exc}; workers need "
            "the input (for s3://, AWS credentials in their environment)"
        ) from None
    frame = _frame(table, model, task.keep_columns)
    n = len(frame)
    rows = np.arange(n, dtype=np.int64) + task.part.first_row
    prepared, bad = _check(model, frame)
    good = np.ones(n, dtype=bool)
    good[[i for i, _ in bad]] = False
    out_fs, out_root = filesystem(task.output, task.s3_endpoint)
    name = f"part-{task.part.index:05d}.parquet"
    reasons: dict[str, int] = {}
    if prepared is not None and len(prepared):
        try:
            predictions = np.asarray(model.predict(prepared))
        except Exception as exc:
            raise JobFailed(f"the model failed on {where}: {type(exc).__name__}: {exc}") from None
        columns: dict[str, Any] = {"_row": pa.array(rows[good])}
        if task.keep_columns:  # the model's columns as it took them, the others as read
            converted = pa.Table.from_pandas(prepared, preserve_index=False)
            kept = table.filter(pa.array(good)) if bad else table
            for field in kept.schema.names:
                source = converted if field in converted.schema.names else kept
                columns[field] = source.column(field)
        columns["prediction"] = _array(predictions, pa)
        probabilities = None
        if task.proba and model.has_predict_proba:
            probabilities = np.asarray(model.predict_proba(prepared))
            labels = model.classes or list(range(probabilities.shape[1]))
            for i, label in enumerate(labels):
                columns[f"proba_{label}"] = pa.array(probabilities[:, i])
        _write(pq, pa.table(columns), out_fs, f"{out_root}/{name}")
        if task.log:
            _log(task, prepared, predictions, probabilities, np)
    if bad:
        rej_fs, rej_root = filesystem(task.rejected, task.s3_endpoint)
        index = [i for i, _ in bad]
        why = [reason for _, reason in bad]
        for reason in why:
            reasons[reason] = reasons.get(reason, 0) + 1
        rejected = table.take(pa.array(index))  # as text: the same schema in every part
        rejected = pa.table(
            {name: rejected.column(name).cast(pa.string()) for name in rejected.schema.names}
        )
        rejected = rejected.append_column("_row", pa.array(rows[index]))
        rejected = rejected.append_column("_reason", pa.array(why, pa.string()))
        _write(pq, rejected, rej_fs, f"{rej_root}/{name}")
    return {
        "part": task.part.index,
        "rows": n,
        "predicted": n - len(bad),
        "rejected": len(bad),
        "reasons": reasons,
        "seconds": time.monotonic() - started,
    }


def _write(pq: Any, table: Any, fs: Any, path: str) -> None:
    """Write a part atomically: a temporary name, then renamed (S3 puts are atomic)."""
    parent = path.rsplit("/", 1)[0]
    try:
        fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        pq.write_table(table, tmp, filesystem=fs, compression="zstd")
        fs.move(tmp, path)
    except OSError as exc:
        raise ConnectionFailed(f"cannot write {path}: {exc}") from None


def _describe(part: Part) -> str:
    if part.row_groups:
        return f"row groups {part.row_groups[0]}-{part.row_groups[-1]} of {part.file}"
    return f"bytes {part.start}-{part.end} of {part.file}"


def _array(values: Any, pa: Any) -> Any:
    if values.ndim > 1:
        return pa.array(list(values))
    if values.dtype.kind in "OUS":
        return pa.array([str(v) for v in values], pa.string())
    return pa.array(values)


def _frame(table: Any, model: Any, keep: bool) -> Any:
    """The partition as a DataFrame: only the model's columns unless all are kept."""
    names = [c.name for c in model.signature.columns] if model.signature else []
    if names and not keep and all(n in table.schema.names for n in names):
        table = table.select(names)
    return table.to_pandas()


def _check(model: Any, frame: Any) -> tuple[Any, list[tuple[int, str]]]:
    """(the model's input for the rows that fit its signature, the other rows' positions
    with the reason). A clean frame costs one check, whose result is the input; a frame
    with bad rows is bisected down to them, then the rest is prepared once."""
    try:
        return model.prepare(frame), []
    except SchemaError as exc:
        if (exc.details or {}).get("missing"):
            raise  # a column is missing: every row would be rejected for it
    bad: list[tuple[int, str]] = []
    stack = [(0, len(frame))]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi:
            continue
        try:
            model.prepare(frame.iloc[lo:hi])
        except SchemaError as exc:
            if hi - lo == 1:
                bad.append((lo, exc.message))
                continue
            mid = (lo + hi) // 2
            stack.append((mid, hi))
            stack.append((lo, mid))
    bad.sort()
    if len(bad) == len(frame):
        return None, bad
    import numpy as np

    keep = np.ones(len(frame), dtype=bool)
    keep[[b for b, _ in bad]] = False
    return model.prepare(frame.iloc[keep]), bad


def _log(task: ScoreTask, prepared: Any, predictions: Any, probabilities: Any, np: Any) -> None:
    """The partition as one segment of the model's prediction log (arm ``batch``)."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from shipway.serving.codecs import Rows
    from shipway.serving.predlog import PredictionRecord, build_table

    names = [str(c) for c in prepared.columns]
    kinds = {"i": "int", "u": "int", "f": "float", "b": "bool"}
    types = [kinds.get(prepared[c].dtype.kind, "string") for c in prepared.columns]
    if all(t == "float" for t in types):
        rows = Rows(len(prepared), matrix=prepared.to_numpy(dtype=np.float64))
    else:
        rows = Rows(len(prepared), columns={n: prepared[n].tolist() for n in names})
    now = int(time.time() * 1000)
    record = PredictionRecord(
        request_id=f"batch-{task.job}-{task.part.index}",
        time_ms=now,
        endpoint="batch",
        model=task.model,
        version=task.version,
        arm="batch",
        protocol="batch",
        latency_ms=0.0,
        input_names=names,
        input_types=types,
        rows=rows,
        predictions=predictions,
        probabilities=probabilities,
    )
    table = build_table([record], pa)
    client = client_for(task.tracking_uri)
    with tempfile.TemporaryDirectory(prefix="shipway-batch-") as tmp:
        path = Path(tmp) / "segment.parquet"
        pq.write_table(table, path, compression="zstd")
        client.backend.prediction_segment_add(
            task.model, task.version, path, table.num_rows, now, now
        )


# the job --------------------------------------------------------------------------------


def predict(
    model_uri: str,
    input: str,
    output: str,
    *,
    rejected: str | None = None,
    fmt: str | None = None,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    keep_columns: bool = False,
    proba: bool = False,
    log: bool = False,
    force: bool = False,
    client: Any = None,
    tracking_uri: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = False,
    dask: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Score ``input`` (a file or folder of Parquet/CSV, local or ``s3://``, or a dataset
    ``NAME[@VERSION]``) with the model at ``model_uri``; see the module doc. The local
    cluster runs ``workers`` threads in one worker process (reading, predicting and writing
    release the GIL, and the model loads once); ``processes=True`` makes them processes,
    for models whose predict holds the GIL."""
    from shipway.runner.execute import Cluster, on_this_machine, open_client, worker_location

    started = time.monotonic()
    if partition_rows < 1:
        raise InvalidInput(f"partition rows must be positive, got {partition_rows}")
    client = open_client(client, tracking_uri)
    scheduler, location = worker_location(client, scheduler)
    version = client.registry.resolve(model_uri)
    pinned = f"models:/{version.name}/{version.version}"
    endpoint = client.settings.s3_endpoint_url
    source = _local(_input_path(client, input))
    output = _local(output)
    rejected = _local(rejected) if rejected else None
    if source != input and scheduler and not on_this_machine(scheduler):
        raise InvalidInput(
            f"dataset {input!r} is materialized on this machine, where workers of {scheduler} "
            "cannot read it: give its files' s3:// location instead"
        )
    fs, path = filesystem(source, endpoint)
    files, fmt = _files(fs, path, fmt)
    single = output.endswith((".parquet", ".csv"))
    parts_dir = f"{output}.parts" if single else output
    rejected = rejected or f"{output.removesuffix('/')}.rejected"
    for target in ([output] if single else []) + [parts_dir, rejected]:
        tfs, tpath = filesystem(target, endpoint)
        exists = tfs.get_file_info(tpath).type.name != "NotFound"
        if exists and not force:
            raise InvalidInput(f"{target} exists; remove it or pass --force to replace it")
        if exists:
            _remove(tfs, tpath)
    _check_columns(client, pinned, fs, files[0], fmt)
    partitions, header = plan(fs, files, fmt, partition_rows)
    if source.startswith("s3://"):  # tasks open their file by URI
        partitions = [dataclasses.replace(p, file=f"s3://{p.file}") for p in partitions]
    job = uuid.uuid4().hex[:12]
    tasks = [
        ScoreTask(
            location,
            pinned,
            version.name,
            version.version,
            part,
            fmt,
            header,
            parts_dir,
            rejected,
            keep_columns,
            proba,
            log,
            job,
            endpoint,
        )
        for part in partitions
    ]
    cluster = Cluster(scheduler, workers, [], dask, processes=processes)
    results: list[dict[str, Any]] = []
    try:
        dask_client = cluster.dask()
        futures = [
            dask_client.submit(score_part, t, key=f"score-{job}-{t.part.index}", pure=False)
            for t in tasks
        ]
        as_completed: Any = importlib.import_module("distributed").as_completed
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except ShipwayError:
                for other in futures:
                    other.cancel()
                raise
            if progress is not None:
                progress(len(results), len(tasks))
    finally:
        cluster.close()
    reasons: dict[str, int] = {}
    for r in results:
        for reason, count in r["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    rejected_rows = sum(r["rejected"] for r in results)
    if single:
        _assemble(parts_dir, output, endpoint, sum(1 for r in results if r["predicted"]))
    report = BatchReport(
        model=version.name,
        version=version.version,
        input=input,
        output=output,
        rejected_output=rejected if rejected_rows else None,
        partitions=len(tasks),
        rows=sum(r["rows"] for r in results),
        predicted=sum(r["predicted"] for r in results),
        rejected=rejected_rows,
        reasons=dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        seconds=time.monotonic() - started,
        logged=log,
        job=job,
    )
    return report


def _local(path: str) -> str:
    """A local path made absolute here, so workers started elsewhere write where meant."""
    return path if path.startswith("s3://") else str(Path(path).expanduser().resolve())


def _input_path(client: Any, given: str) -> str:
    """A path or URI as it is; a dataset ``NAME[@VERSION]`` as its files on this machine."""
    if given.startswith("s3://") or Path(given).exists():
        return given
    try:
        from shipway.client.datasets import get

        return str(get(given, client=client).path())
    except NotFound:
        raise NotFound(
            f"input {given!r} is neither a file or folder here, an s3:// URI, nor a dataset"
        ) from None


def _check_columns(client: Any, uri: str, fs: Any, file: str, fmt: str) -> None:
    """Refuse an input that lacks a column of the model's signature before any work."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from shipway.client.models import package_dir
    from shipway.models.info import read_info

    # the package's model.yaml says it: the model itself is loaded by the workers only
    signature = read_info(package_dir(uri, client=client)).signature
    if signature is None or not signature.columns:
        return
    with fs.open_input_file(file) as f:
        if fmt == "parquet":
            names = pq.ParquetFile(f).schema_arrow.names
        else:
            first = f.read(1 << 20).split(b"\n", 1)[0] + b"\n"  # the header line alone
            names = pacsv.read_csv(pa.py_buffer(first)).schema.names
    missing = [c.name for c in signature.columns if c.name not in names]
    if missing:
        raise SchemaError(
            f"the input lacks column(s) {', '.join(missing)} of the model's signature "
            f"({', '.join(c.name for c in signature.columns)})",
            details={"missing": missing},
        )


def _remove(fs: Any, path: str) -> None:
    import pyarrow.fs as pafs

    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)
    else:
        fs.delete_file(path)


def _assemble(parts: str, output: str, endpoint: str, expected: int) -> None:
    """The parts as one file, streamed part by part (memory: one part), then removed."""
    import pyarrow.csv as pacsv
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, root = filesystem(parts, endpoint)
    out_fs, out = filesystem(output, endpoint)
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        fs.create_dir(root, recursive=True)
    files = sorted(
        f.path
        for f in fs.get_file_info(pafs.FileSelector(root))
        if f.path.endswith(".parquet") and not f.base_name.startswith(".")
    )
    if len(files) != expected:
        raise JobFailed(
            f"{parts} holds {len(files)} part(s), {expected} were written: were the workers "
            "writing somewhere else (another machine's folder)?"
        )
    tmp = f"{out.rsplit('/', 1)[0]}/.tmp-{uuid.uuid4().hex}"
    writer: Any = None
    stream: Any = None
    try:
        for file in files:
            table = pq.read_table(file, filesystem=fs)
            if writer is None:
                if output.endswith(".csv"):
                    stream = out_fs.open_output_stream(tmp)
                    writer = pacsv.CSVWriter(stream, table.schema)
                else:
                    writer = pq.ParquetWriter(tmp, table.schema, filesystem=out_fs)
            writer.write_table(table)
        if writer is None:  # every row was rejected: an empty file with the output column
            import pyarrow as pa

            empty = pa.table({"_row": pa.array([], pa.int64())})
            if output.endswith(".csv"):
                with out_fs.open_output_stream(tmp) as empty_stream:
                    pacsv.write_csv(empty, empty_stream)
            else:
                pq.write_table(empty, tmp, filesystem=out_fs)
        else:
            writer.close()
            writer = None
            if stream is not None:
                stream.close()  # a CSV's stream is the writer's to use, ours to close
                stream = None
        out_fs.move(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        if stream is not None:
            stream.close()
    fs.delete_dir(root)
    if isinstance(fs, pafs.LocalFileSystem):
        shutil.rmtree(root, ignore_errors=True)
