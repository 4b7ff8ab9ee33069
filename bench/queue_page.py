"""Time the staff queue page with 1,000 and with 1,000,000 requests.

Builds two SQLite databases in a scratch folder through the app's real schema (the Alembic
migrations), fills them fast with a realistic spread of requests (mostly open, due dates
within 120 days either side of today, five staff members as assignees), signs in as an
officer through /staff/login, and takes the median time of 20 requests of each of several
pages after a warm-up, alternating between the two databases. Prints the medians for both
sizes; the last line is
`queue_page_ratio <x>`: the sum of the medians at 1M over the sum at 1k (goal: at most 2),
after `search_ratio <x>`: the same for the searches by part of a name and part of an email
(goal: at most 2). Names are drawn from 60 first names and some 20,000 made-up surnames, so
part of a surname finds a few dozen requests among a million, as in a real desk.

    .venv/bin/python bench/queue_page.py [--big 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from dsar import create_app, rules, search_text, transitions  # noqa: E402
from dsar.extensions import db  # noqa: E402
from dsar.models import RequestKind, RequestStatus, Role  # noqa: E402
from dsar.services import accounts  # noqa: E402

SMALL = 1_000
CHUNK = 50_000
RUNS = 20
WARMUP = 5
PASSWORD = "bench-officer-password"  # noqa: S105 - a scratch database
STAFF = [f"officer{n}@example.com" for n in range(1, 6)]

# Mostly open, as a desk with a backlog looks.
STATUS_WEIGHTS = {
    RequestStatus.RECEIVED: 3,
    RequestStatus.AWAITING_VERIFICATION: 8,
    RequestStatus.AWAITING_APPROVAL: 5,
    RequestStatus.IN_PROGRESS: 35,
    RequestStatus.ACTION_REQUIRED: 5,
    RequestStatus.COMPILING: 3,
    RequestStatus.READY_FOR_REVIEW: 6,
    RequestStatus.COMPLETED: 25,
    RequestStatus.DENIED: 4,
    RequestStatus.CANCELLED: 4,
    RequestStatus.DUPLICATE: 2,
}
COLUMNS = (
    "id, reference, tracking_hash, kind, regime, status, channel, name, email, phone, country,"
    " details, received_at, due_on, due_basis, verified_by, assignee_id, first_due_on,"
    " extended_due_on, paused_since, denial_reason, denial_text, search_text"
)
FIRST = (  # noqa: SIM905 - a list of names reads better as words
    "Ana Ben Chloé Dara Elif Femi Gaia Hugo Ines Jon Kemal Lea Mateo Nadia Omar Pia Quinn "
    "Rosa Sami Tove Uma Vera Wim Xena Yara Zoe Adam Bruna Carlos Dilan Emma Farid Greta "
    "Hana Ivan Julia Kai Lucas Maya Nils Olga Pedro Rui Sara Tomas Ugo Vitor Wanda Yusuf "
    "Zara Aline Bernd Cem Dimitra Eva Felipe Georgios Heidi Irina"
).split()
SYLLABLES = (
    "ka lo mi ne ru sa te vo zi ba de fo gu hi ja ko lu ma no pe ri so tu va we xi yo".split(  # noqa: SIM905
    )
)


def person(i: int, rng: random.Random) -> tuple[str, str]:
    """A made-up name and email for request i."""
    surname = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
    first = rng.choice(FIRST)
    return f"{first} {surname}", f"{first.lower()}.{surname.lower()}{i % 97}@example.com"


def make_app(folder: Path, name: str) -> Flask:
    os.environ.update(
        DSAR_INSTANCE_PATH=str(folder / f"i{name}"),
        DATABASE_URL=f"sqlite:///{folder}/q{name}.db",
        DSAR_ENV="testing",
        SECRET_KEY="x",  # noqa: S106 - a scratch instance
        DSAR_RATELIMIT_STORAGE="memory://",
        REDIS_URL="redis://127.0.0.1:1/0",  # never contacted: nothing here enqueues a job
    )
    return create_app()


def rows(start: int, count: int, total: int, staff_ids: list[int], rng: random.Random) -> list:
    today = date.today()
    statuses = [s.value for s in STATUS_WEIGHTS]
    weights = list(STATUS_WEIGHTS.values())
    kinds = [k.value for k in RequestKind]
    regimes = list(rules.REGIMES)
    out = []
    for i in range(start, start + count):
        name, email = person(i, rng)
        due = today + timedelta(days=rng.randint(-120, 120))
        received = datetime.combine(due - timedelta(days=30), datetime.min.time(), UTC)
        extended = due if rng.random() < 0.03 else None
        out.append(
            (
                i,
                f"DSAR-{received:%Y}-{i:06d}",
                hashlib.sha256(str(i).encode()).hexdigest(),
                rng.choice(kinds),
                rng.choice(regimes),
                rng.choices(statuses, weights)[0],
                rng.choice(("portal", "api")),
                name,
                email,
                "",
                "",
                "",
                received.strftime("%Y-%m-%d %H:%M:%S.%f"),
                due.isoformat(),
                "bench",
                "email",
                rng.choice(staff_ids) if rng.random() < 0.6 else None,
                (due - timedelta(days=60)).isoformat() if extended else due.isoformat(),
                extended.isoformat() if extended else None,
                (today - timedelta(days=3)).isoformat() if rng.random() < 0.02 else None,
                "",
                "",
                search_text.line(f"DSAR-{received:%Y}-{i:06d}", name, email, ""),
            )
        )
    return out


def build(folder: Path, name: str, count: int) -> tuple[Flask, list[int]]:
    app = make_app(folder, name)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        staff_ids = [accounts.create_user(e, Role.OFFICER, PASSWORD).id for e in STAFF]
        db.session.remove()
        db.engine.dispose()
    # Plain sqlite3 for the fill: the schema is the app's, the rows go in 50k at a time.
    started = time.perf_counter()
    rng = random.Random(20261130)
    con = sqlite3.connect(folder / f"q{name}.db")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    marks = ",".join("?" * len(COLUMNS.split(",")))
    for start in range(1, count + 1, CHUNK):
        con.executemany(
            f"INSERT INTO requests ({COLUMNS}) VALUES ({marks})",  # noqa: S608 - constants
            rows(start, min(CHUNK, count + 1 - start), count, staff_ids, rng),
        )
        con.commit()
        done = min(start + CHUNK - 1, count)
        if count > CHUNK:
            print(f"  {name}: {done:,} rows, {time.perf_counter() - started:.0f}s", flush=True)
    con.close()
    print(f"{name}: {count:,} requests in {time.perf_counter() - started:.1f}s", flush=True)
    return app, staff_ids


def sign_in(client: FlaskClient) -> None:
    html = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token
    resp = client.post(
        "/staff/login",
        data={"csrf_token": token.group(1), "email": STAFF[0], "password": PASSWORD},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]


def pages(folder: Path, name: str, staff_ids: list[int]) -> dict[str, str]:
    """The pages to time; the names, email and the deep cursor are read from this database.
    Searches by part of a name or email are labelled "part of …" (search_ratio)."""
    con = sqlite3.connect(folder / f"q{name}.db")
    count = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    (email,) = con.execute("SELECT email FROM requests WHERE id = ?", (count // 3,)).fetchone()
    (full_name,) = con.execute("SELECT name FROM requests WHERE id = ?", (count // 2,)).fetchone()
    surname = full_name.split(" ")[1]
    open_ = ",".join(f"'{s.value}'" for s in transitions.OPEN_STATUSES)
    due, rid = con.execute(
        f"SELECT due_on, id FROM requests WHERE status IN ({open_})"  # noqa: S608 - constants
        " ORDER BY due_on, id LIMIT 1 OFFSET ?",
        (int(count * 0.65) // 2,),
    ).fetchone()
    con.close()
    return {
        "default": "/staff/queue",
        "in_progress": "/staff/queue?status=in_progress",
        "overdue": "/staff/queue?overdue=1",
        "assignee+due14": f"/staff/queue?assignee={staff_ids[1]}&due_within=14",
        "search email": f"/staff/queue?q={email}",
        "deep keyset": f"/staff/queue?after={due}.{rid}",
        "received newest": "/staff/queue?sort=-received",
        "part of name": f"/staff/queue?q={surname[1:6].lower()}",
        "part of email": f"/staff/queue?q={email.split('@')[0][-8:]}",
    }


def measure(apps: dict[str, tuple[Flask, dict[str, str]]]) -> dict[str, dict[str, float]]:
    """Median milliseconds per page and database. The runs alternate between the databases,
    so that whatever drifts in the process (warming up, garbage) weighs on both alike. No app
    context is held open: each request gets its own, hence a fresh session, as under a real
    server."""
    clients = {}
    for name, (app, urls) in apps.items():
        clients[name] = app.test_client()
        sign_in(clients[name])
        for url in urls.values():
            for _ in range(WARMUP):
                resp = clients[name].get(url)
                assert resp.status_code == 200, (url, resp.get_data(as_text=True)[-2000:])
                assert "DSAR-" in resp.get_data(as_text=True), url
    times: dict[str, dict[str, list[float]]] = {
        name: {label: [] for label in urls} for name, (_, urls) in apps.items()
    }
    for _ in range(RUNS):
        for name, (_, urls) in apps.items():
            for label, url in urls.items():
                started = time.perf_counter()
                clients[name].get(url)
                times[name][label].append(time.perf_counter() - started)
    for app, _ in apps.values():
        with app.app_context():
            db.engine.dispose()
    return {
        name: {label: statistics.median(ts) * 1000 for label, ts in by_page.items()}
        for name, by_page in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dsar-queue-bench-"))
    try:
        apps = {}
        for name, count in (("1k", SMALL), ("1m", args.big)):
            app, staff_ids = build(folder, name, count)
            apps[name] = (app, pages(folder, name, staff_ids))
        results = measure(apps)
        print(f"{'page':<16}{'1k ms':>10}{'1M ms':>10}")
        for label in results["1k"]:
            print(f"{label:<16}{results['1k'][label]:>10.2f}{results['1m'][label]:>10.2f}")
        pages_ = [label for label in results["1k"] if not label.startswith("part of")]
        searches = [label for label in results["1k"] if label.startswith("part of")]
        small, big = (sum(results[size][p] for p in pages_) for size in ("1k", "1m"))
        print(f"{'sum (pages)':<16}{small:>10.2f}{big:>10.2f}")
        small_s, big_s = (sum(results[size][p] for p in searches) for size in ("1k", "1m"))
        print(f"{'sum (searches)':<16}{small_s:>10.2f}{big_s:>10.2f}")
        if args.keep:
            print(f"databases kept in {folder}")
        print(f"search_ratio {big_s / small_s:.2f}")
        print(f"queue_page_ratio {big / small:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
