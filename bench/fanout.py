"""Fan-out: a request over 8 data systems that each take 1 s, on the embedded default.

Starts `python -m dsar.launcher` (what `make run` runs, with its default number of workers)
in a scratch instance, replaces the demo registry with 8 HTTP systems served by a local
vendor that answers every call after 1 s, then submits opt-out requests (they need no
verification) and times each from the POST to `completed` (the confirmation PDF included).

Two times per request, both from the POST: until every system's task is final as the API
shows it (the fan-out and fan-in), and until the request is `completed` (the confirmation PDF
rendered too). The last line is `fanout_ratio <x>`: the first divided by the slowest system's
time (measured on the task rows); serial work would give 8, the goal is 1.3. The line before
it, `completed_ratio`, includes the PDF.

    .venv/bin/python bench/fanout.py [--requests 5] [--systems 8] [--seconds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FINAL = {"succeeded", "failed", "skipped"}
sys.path.insert(0, str(ROOT))

from bench.end_to_end import call, launcher  # noqa: E402
from tests.vendor import http_system, vendor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--systems", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    with vendor() as server, launcher("dsar-fanout-") as (env, base, key):
        workers = use_slow_systems(env, server.url, args.systems, args.seconds)
        totals, fanouts, posts, references = [], [], [], []
        for i in range(args.requests):
            body = {
                "kind": "opt_out",
                "regime": "ccpa",
                "name": "Bench Person",
                "email": f"bench{i}@example.com",
            }
            started = time.perf_counter()
            ref = call(base, key, body)["reference"]
            posts.append(time.perf_counter() - started)
            while True:
                shown = call(f"{base}/{ref}", key)
                if not fanouts[i:] and all(t["status"] in FINAL for t in shown["tasks"]):
                    fanouts.append(time.perf_counter() - started)
                if shown["status"] == "completed":
                    break
                time.sleep(0.02)
            totals.append(time.perf_counter() - started)
            references.append(ref)
        slowest, spans = task_figures(env, references)
    e2e = statistics.median(totals)
    fanout = statistics.median(fanouts)
    slow = statistics.median(slowest)
    print(f"workers {workers}, systems {args.systems}, each answering in {args.seconds:g} s")
    print(f"requests {len(totals)}")
    print(f"completed_seconds_median {e2e:.2f} (min {min(totals):.2f}, max {max(totals):.2f})")
    print(f"fanout_seconds_median {fanout:.2f} (min {min(fanouts):.2f}, max {max(fanouts):.2f})")
    print(f"post_seconds_median {statistics.median(posts):.2f} (the API call that files it)")
    print(f"slowest_system_seconds_median {slow:.2f}")
    print(f"fan_out_span_seconds_median {statistics.median(spans):.2f} (first start to last end)")
    print(f"serial_would_be_seconds {args.systems * slow:.2f}")
    print(f"completed_ratio {e2e / slow:.2f}")
    print(f"fanout_ratio {fanout / slow:.2f}")


def use_slow_systems(env: dict[str, str], url: str, count: int, secs: float) -> int:
    """Disable the demo systems and register `count` vendor systems that take `secs` each."""
    os.environ.update(env)
    from dsar import create_app
    from dsar.services import registry, systems

    path = Path(env["DSAR_INSTANCE_PATH"]) / "slow.toml"
    path.write_text("".join(http_system(f"slow{i}", url, f"/slow/{secs}") for i in range(count)))
    app = create_app()
    with app.app_context():
        for system in systems.all_systems():
            systems.set_enabled(system, False, actor="bench")
        registry.load_file(path, actor="bench")
        return app.config["DSAR_WORKERS"]


def task_figures(env: dict[str, str], references: list[str]) -> tuple[list[float], list[float]]:
    """Per request: the slowest task's seconds, and the span from first start to last end."""
    os.environ.update(env)
    from sqlalchemy import select

    from dsar import create_app
    from dsar.extensions import db
    from dsar.models import Request

    with create_app().app_context():
        slowest, spans = [], []
        for req in db.session.scalars(select(Request).where(Request.reference.in_(references))):
            slowest.append(max((t.finished_at - t.started_at).total_seconds() for t in req.tasks))
            spans.append(
                (
                    max(t.finished_at for t in req.tasks) - min(t.started_at for t in req.tasks)
                ).total_seconds()
            )
        return slowest, spans


if __name__ == "__main__":
    main()
