"""Write a demo file whole or not at all: filled under a temporary name, then moved over.

A reader sees either the old file or the new one, never half of one; the new file and the
move are synced, so that a crash leaves one of the two as well.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic(target: Path, fill: Callable[[Path], None]) -> None:
    """Write `target` through `fill(tmp)` on a temporary sibling, then move it into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        fill(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # A journal left by a crashed writer of the old database must not meet the new one.
        for suffix in ("-journal", "-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_sqlite(
    target: Path, schema: str, inserts: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]
) -> None:
    """Create `target` from `schema` (statements split on ";") and the rows of each INSERT."""

    def fill(tmp: Path) -> None:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # A fresh private file: no journal needed; it is synced once before the move.
            conn.execute("PRAGMA journal_mode = MEMORY")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("BEGIN")
            for statement in schema.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for sql, rows in inserts:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
        finally:
            conn.close()

    _atomic(target, fill)


def write_csv(target: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write `target` as UTF-8 CSV: the header, then the rows."""

    def fill(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)

    _atomic(target, fill)
