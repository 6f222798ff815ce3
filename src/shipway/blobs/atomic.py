"""Files that appear whole or not at all: write a temp file beside, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from shipway.blobs.backends import TEMP_PREFIX


@contextlib.contextmanager
def atomic_writer(dest: Path, *, fsync: bool = True) -> Iterator[BinaryIO]:
    """Yield a file to write; on a clean exit it replaces ``dest``, on an error it is removed.
    ``fsync=False`` leaves durability to a later ``os.sync()`` by the caller (bulk writes).

    Example::

        with atomic_writer(Path("model.bin")) as f:
            f.write(data)
    """
    # Same folder as dest, so the rename cannot cross filesystems.
    tmp = dest.with_name(f"{TEMP_PREFIX}{dest.name[:100]}-{secrets.token_hex(8)}")
    # os.open rather than mkstemp: mkstemp's 0600 would ignore the user's umask.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(dest.parent)


def fsync_dir(path: Path) -> None:
    """Persist a folder's entries (a rename is durable only once its folder is synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        # Some filesystems cannot fsync a folder; the rename itself already happened.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_folder(target: Path, fill: Callable[[Path], Path], marker: str) -> Path:
    """Make the folder ``target`` appear whole: ``fill(staging)`` writes it under a temporary
    folder beside it and returns the folder to move into place. A concurrent writer that got
    there first wins (``target/marker`` shows it is complete)."""
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        filled = fill(staging)
        try:
            os.replace(filled, target)
        except OSError:  # another process made it first
            if not (target / marker).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
