"""The stat cache: (path, size, mtime, inode) -> digest, kept on this machine.

It makes re-adding an unchanged folder nearly free: a file whose size, mtime and inode
are what they were when it was hashed is not read again. Anything else is re-hashed. It
lives in the home as its own small SQLite file (not in the metadata database, which may
be a team's PostgreSQL: these facts are about this machine's disk).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from shipway.datasets.manifest import FileStat


class StatCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, inode INTEGER, digest TEXT)"
        )

    def lookup(self, files: Iterable[FileStat]) -> dict[str, str]:
        """Digests for the files whose stat matches the cache, keyed by absolute path."""
        wanted = {f.path: f for f in files}
        if not wanted:
            return {}
        lo, hi = min(wanted), max(wanted)
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, inode, digest FROM stat WHERE path BETWEEN ? AND ?",
            (lo, hi),
        )
        found = {}
        for path, size, mtime_ns, inode, digest in rows:
            f = wanted.get(path)
            if f and (f.size, f.mtime_ns, f.inode) == (size, mtime_ns, inode):
                found[path] = digest
        return found

    def remember(self, hashed: Iterable[tuple[FileStat, str]]) -> None:
        rows = [(f.path, f.size, f.mtime_ns, f.inode, d) for f, d in hashed]
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self.conn.close()
