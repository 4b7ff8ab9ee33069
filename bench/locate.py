"""Compare SqlConnector.locate with a hand-written indexed SELECT on a 1,000,000-row table.

    .venv/bin/python bench/locate.py [--rows 1000000] [--repeat 300]

Both sides do what one locate job does: open a connection, run the indexed query for one
email, read the rows as dicts, close. The last line is `locate_ratio <connector/hand>`
(median over the repeats); the goal is <= 2.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsar.connectors import Identity
from dsar.connectors.sql import SqlConnector


def _people(count: int) -> Iterator[tuple[int, str, str, str]]:
    for n in range(1, count + 1):
        yield n, f"person.{n}@example.org", f"Person {n}", f"+4420{n:08d}"


def build(path: Path, count: int) -> None:
    """Write `count` contacts in one transaction, then index the email column."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT, phone TEXT)"
        )
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?)", _people(count))
        conn.execute("COMMIT")
        conn.execute("CREATE INDEX ix_contacts_email ON contacts (email)")
    finally:
        conn.close()


def hand_written(path: Path, wanted: str) -> Callable[[], int]:
    def run() -> int:
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        try:
            found = [
                dict(r) for r in conn.execute("SELECT * FROM contacts WHERE email = ?", (wanted,))
            ]
        finally:
            conn.close()
        return len(found)

    return run


def connector(path: Path, wanted: str) -> Callable[[], int]:
    config = {
        "url": f"sqlite:///{path}",
        "tables": [{"name": "contacts", "key": "id", "match": {"email": "email"}}],
    }
    sql = SqlConnector(config, settings={}, timeout=5)
    who = Identity(email=wanted)
    return lambda: sql.locate(who).found


def median_seconds(run: Callable[[], int], repeat: int) -> float:
    assert run() == 1  # warm up, and check both sides find the one person
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.db"
        start = time.perf_counter()
        build(path, args.rows)
        print(f"built {args.rows} rows in {time.perf_counter() - start:.1f} s")
        wanted = f"person.{args.rows // 2}@example.org"
        # Interleave the two sides so that a busy machine slows both alike.
        hand_times, our_times = [], []
        for _ in range(5):
            hand_times.append(median_seconds(hand_written(path, wanted), args.repeat // 5))
            our_times.append(median_seconds(connector(path, wanted), args.repeat // 5))
        hand, ours = statistics.median(hand_times), statistics.median(our_times)
        print(f"hand-written median {hand * 1e6:.0f} us")
        print(f"connector median {ours * 1e6:.0f} us")
        print(f"locate_ratio {ours / hand:.2f}")


if __name__ == "__main__":
    main()
