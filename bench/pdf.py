"""Time dsar's access answer PDF against a naive render, and measure its memory at scale.

Builds a synthetic subject (an app in a temp instance, a request whose tasks hold the records)
with 1,000 records spread over several systems, renders dsar's answer (`render_access`: the
letter, capped tables, data.json and data.csv attached) and, in the same run, a naive
WeasyPrint render of one HTML table holding every record. Then renders a 100,000-record
subject in a fresh child process and reports its peak RSS. Prints the figures; the last
line is `pdf_peak_mb <x>`.

Seconds are CPU seconds of this process (time.process_time): rendering is single-threaded
and CPU-bound, and CPU time does not move with the load that other processes put on a
shared machine, as wall time does.

    .venv/bin/python bench/pdf.py [--records 1000] [--big 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import html
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# How the records spread: (system key, place, share of the records, columns). Most of a
# heavy subject's records sit in one table (years of orders); a few systems hold a little.
LAYOUT = (
    ("shop", "orders", 0.70, ("id", "customer_id", "placed_at", "total", "currency", "status")),
    ("helpdesk", "tickets", 0.15, ("id", "opened_at", "subject", "body", "status")),
    (
        "events",
        "events.csv",
        0.10,
        ("event", "date", "name", "email", "dietary", "guests", "consent", "ssn", "notes"),
    ),
    ("crm", "contacts", 0.05, ("id", "name", "email", "phone", "company", "city")),
)


def _value(column: str, n: int) -> object:
    day = date(2025, 1, 1) + timedelta(days=n % 365)
    return {
        "id": n,
        "customer_id": 7,
        "placed_at": day.isoformat(),
        "opened_at": day.isoformat(),
        "date": day.isoformat(),
        "total": f"{(n * 37) % 500 + 0.99:.2f}",
        "guests": n % 4,
        "ssn": f"900-{n % 100:02d}-{n % 10000:04d}",
        "body": f"Hello, my order {n} has not arrived at 12 High Street; call me on 020 7946 "
        f"{n % 10000:04d}. Thanks, Jane",
    }.get(column, f"{column} value {n}")


def records(total: int) -> dict[str, dict[str, list[dict[str, object]]]]:
    out: dict[str, dict[str, list[dict[str, object]]]] = {}
    for key, place, share, columns in LAYOUT:
        count = max(1, int(total * share))
        out.setdefault(key, {})[place] = [
            {c: _value(c, n) for c in columns} for n in range(1, count + 1)
        ]
    return out


def build_app(folder: Path):  # -> Flask
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DSAR_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("DSAR_ENV", "testing")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    from dsar import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
            "DSAR_DOCUMENTS_DIR": folder / "documents",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def subject(total: int):  # -> Request
    """A completed access request whose tasks hold `total` records (call in an app context)."""
    from flask_migrate import upgrade

    from dsar.extensions import db
    from dsar.models import (
        DataSystem,
        Request,
        RequestKind,
        RequestStatus,
        SystemKind,
        Task,
        TaskAction,
        TaskStatus,
    )

    upgrade(directory=str(ROOT / "migrations"))
    now = datetime.now(UTC)
    req = Request(
        reference="DSAR-BENCH-000001",
        tracking_hash="bench",
        kind=RequestKind.ACCESS,
        regime="gdpr",
        status=RequestStatus.COMPILING,
        channel="api",
        name="Jane Doe",
        email="jane.doe@example.com",
        received_at=now,
        due_on=(now + timedelta(days=30)).date(),
    )
    for key, places in records(total).items():
        system = DataSystem(
            key=key,
            name=f"{key.title()} system",
            kind=SystemKind.MANUAL,
            owner="Operations",
            description=f"The {key} system.",
            disclosure={
                "purposes": ["orders and support"],
                "categories": ["contact details", "orders"],
                "recipients": ["carriers"],
                "retention": "6 years after the last order",
                "withheld": ["ssn"],
            },
        )
        found = sum(len(rows) for rows in places.values())
        req.tasks.append(
            Task(
                system=system,
                action=TaskAction.LOCATE,
                status=TaskStatus.SUCCEEDED,
                found_count=found,
                result={"records": places, "found": found},
            )
        )
    db.session.add(req)
    db.session.commit()
    return req


def naive(total: int) -> float:
    """One HTML table with every record, rendered with WeasyPrint's defaults."""
    from weasyprint import HTML

    rows = []
    columns: list[str] = []
    for places in records(total).values():
        for place_rows in places.values():
            for row in place_rows:
                columns.extend(c for c in row if c not in columns)
                rows.append(row)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    doc = f"<html><body><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    started = time.process_time()
    HTML(string=doc).write_pdf()
    return time.process_time() - started


def dsar_render(total: int, folder: Path) -> tuple[float, int]:
    from dsar.documents.answer import render_access

    app = build_app(folder)
    with app.app_context():
        req = subject(total)
        started = time.process_time()
        files = render_access(req)
        return time.process_time() - started, len(files[0].data)


def child(total: int) -> None:
    """Run in a fresh process: render one subject, print the seconds taken."""
    with tempfile.TemporaryDirectory(prefix="dsar-pdf-") as tmp:
        seconds, size = dsar_render(total, Path(tmp))
    print(f"{seconds:.3f} {size}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    # The big subject first, while this process is still small: a child's peak RSS counts
    # the parent's pages at fork time (Linux keeps the high-water mark across exec).
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(args.big)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # Linux reports ru_maxrss in KiB: the largest child waited for, here the only one.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="dsar-pdf-") as tmp:
        dsar_times = []
        for n in range(args.repeat):
            seconds, size = dsar_render(args.records, Path(tmp) / str(n))
            dsar_times.append(seconds)
    naive_times = [naive(args.records) for _ in range(args.repeat)]
    best_naive, best_dsar = min(naive_times), min(dsar_times)
    print(f"records {args.records}")
    print(f"pdf_bytes {size}")
    print(f"pdf_naive_seconds {best_naive:.3f}")
    print(f"pdf_dsar_seconds {best_dsar:.3f}")
    print(f"pdf_speedup {best_naive / best_dsar:.2f}")
    print(f"big_records {args.big}")
    print(f"big_pdf_seconds {float(out[0]):.3f}")
    print(f"big_pdf_bytes {out[1]}")
    print(f"pdf_peak_mb {peak_mb:.1f}")


if __name__ == "__main__":
    main()
