"""Reading the tabular files of a dataset version as one Arrow table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipway.datasets.profile import table_format
from shipway.errors import InvalidInput, MissingDependency
from shipway.records import ManifestEntry


def read_table(
    ref: str, entries: Sequence[ManifestEntry], root: Path, file: str | None = None
) -> Any:
    """``file``, or the version's only tabular file, or all its tabular files of one format
    concatenated, as a ``pyarrow.Table``. ``root`` is where the version is materialized."""
    try:
        import pyarrow as pa
    except ImportError:
        raise MissingDependency("reading tables needs pyarrow: pip install pyarrow") from None
    tabular = [e for e in entries if e.link is None and table_format(e.path)]
    if file is not None:
        tabular = [e for e in tabular if e.path == file]
        if not tabular:
            raise InvalidInput(f"{ref} has no tabular file {file!r}")
    if not tabular:
        raise InvalidInput(f"{ref} has no CSV, Parquet or JSON lines files")
    formats = {table_format(e.path) for e in tabular}
    if len(formats) > 1:
        raise InvalidInput(
            f"{ref} mixes table formats ({', '.join(sorted(f or '' for f in formats))}); "
            "pick one file"
        )
    fmt = formats.pop()
    tables = [_read(root / e.path, fmt) for e in tabular]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="default")


def _read(path: Path, fmt: str | None) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if fmt == "csv":
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    import pyarrow.json as pjson

    return pjson.read_json(path)
