"""Time the staff home (/staff/) with 1,000 and with 100,000 requests.

Builds the databases as bench/queue_page.py does, then gives each request the tasks it would
have in six data systems (one of them manual) and each answered request the moment it was
answered, so that every tile and both statistics have rows to read. Takes the median of 20
page views after a warm-up, first with the statistics kept (as most views find them), then
computed afresh at each view (as the first view every few minutes). Prints the medians and
the number of SQL statements per view; the last line is `dashboard_page_ratio <x>`: the
cold view at the big size over the cold view at 1k.

    .venv/bin/python bench/dashboard_page.py [--big 100000] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import queue_page
from flask import Flask
from sqlalchemy import event

from dsar.extensions import db
from dsar.models import DataSystem, SystemKind
from dsar.services import dashboard_stats

SMALL = 1_000
RUNS = 20
WARMUP = 3
SYSTEMS = [
    ("crm", "CRM", SystemKind.SQL),
    ("shop", "Shop", SystemKind.SQL),
    ("newsletter", "Newsletter", SystemKind.SQL),
    ("helpdesk", "Help desk", SystemKind.HTTP),
    ("events", "Events spreadsheet", SystemKind.CSV),
    ("archive", "Paper archive", SystemKind.MANUAL),
]
TASK_COLUMNS = "request_id, system_id, action, status, attempts, last_error, found_count"
TASK_COLUMNS += ", erased_count, retained_count, note, job_id, queued_at, started_at"
TASK_COLUMNS += ", finished_at, result"
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def add_systems(app: Flask) -> list[int]:
    with app.app_context():
        systems = [DataSystem(key=k, name=n, kind=kind) for k, n, kind in SYSTEMS]
        db.session.add_all(systems)
        db.session.commit()
        ids = [s.id for s in systems]
        db.session.remove()
        db.engine.dispose()
    return ids


def _task(rid: int, sid: int, manual: bool, status: str, end: datetime | None, rng) -> tuple:
    took = (
        timedelta(days=rng.uniform(0.5, 6)) if manual else timedelta(seconds=rng.expovariate(1 / 8))
    )
    start = (end or datetime.now(UTC)) - took
    queued = None if manual or status == "pending" else start.strftime(STAMP)
    result = f'{{"link": {{"sent_at": "{start.isoformat()}"}}}}' if manual else None
    finished = end.strftime(STAMP) if end else None
    return (rid, sid, "locate", status, 1, "", 0, 0, 0, "", "", queued, queued, finished, result)


def add_history(folder: Path, name: str, system_ids: list[int]) -> None:
    """Answer moments for completed and denied requests, and six tasks per request that got
    as far as the systems, in states that match the request's."""
    rng = random.Random(20261129)
    now = datetime.now(UTC)
    con = sqlite3.connect(folder / f"q{name}.db")
    con.execute("PRAGMA synchronous=OFF")
    rows = con.execute("SELECT id, status, received_at FROM requests").fetchall()
    answers, tasks = [], []
    for rid, status, received in rows:
        received_at = datetime.strptime(received, STAMP).replace(tzinfo=UTC)
        end = None
        if status in ("completed", "denied", "cancelled", "duplicate"):
            end = min(received_at + timedelta(days=rng.uniform(2, 40)), now - timedelta(hours=1))
            answers.append((end.strftime(STAMP), rid))
        if status in ("received", "awaiting_verification", "awaiting_decision"):
            continue
        for sid, (_, _, kind) in zip(system_ids, SYSTEMS, strict=True):
            manual = kind is SystemKind.MANUAL
            state = "succeeded"
            if status in ("in_progress", "action_required"):
                state = rng.choice(
                    ("succeeded", "running", "action_required" if manual else "queued")
                )
                if status == "action_required" and not manual and rng.random() < 0.3:
                    state = "failed"
            elif not manual and rng.random() < 0.03:
                state = "failed"
            done = state in ("succeeded", "failed")
            finished = (end or now - timedelta(hours=rng.uniform(1, 2000))) if done else None
            tasks.append(_task(rid, sid, manual, state, finished, rng))
    con.executemany("UPDATE requests SET completed_at = ? WHERE id = ?", answers)
    marks = ",".join("?" * len(TASK_COLUMNS.split(",")))
    con.executemany(f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES ({marks})", tasks)  # noqa: S608
    con.commit()
    con.execute("ANALYZE")
    con.close()
    print(f"{name}: {len(tasks):,} tasks, {len(answers):,} closed requests", flush=True)


def measure(app: Flask, cold: bool) -> tuple[float, int]:
    """Median milliseconds of the home page, and the statements of the last view."""
    client = app.test_client()
    queue_page.sign_in(client)
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    times = []
    try:
        for n in range(WARMUP + RUNS):
            if cold:
                with app.app_context():
                    dashboard_stats.forget()
            seen.clear()
            started = time.perf_counter()
            resp = client.get("/staff/")
            elapsed = time.perf_counter() - started
            assert resp.status_code == 200, resp.get_data(as_text=True)[-2000:]
            if n >= WARMUP:
                times.append(elapsed)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times) * 1000, len(seen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dsar-dashboard-bench-"))
    try:
        results = {}
        for name, count in (("1k", SMALL), ("big", args.big)):
            app, _ = queue_page.build(folder, name, count)
            add_history(folder, name, add_systems(app))
            results[name] = {kind: measure(app, kind == "cold") for kind in ("warm", "cold")}
            with app.app_context():
                db.engine.dispose()
        print(f"{'statistics':<12}{'1k ms':>10}{f'{args.big:,} ms':>14}{'queries':>10}")
        for kind in ("warm", "cold"):
            small, big = results["1k"][kind], results["big"][kind]
            print(f"{kind:<12}{small[0]:>10.1f}{big[0]:>14.1f}{big[1]:>10}")
        if args.keep:
            print(f"databases kept in {folder}")
        print(f"dashboard_page_ratio {results['big']['cold'][0] / results['1k']['cold'][0]:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
