"""Time jane.doe's demo access request end to end on the embedded default.

Starts `python -m dsar.launcher` (what `make run` runs) in a scratch instance, creates an API
key, submits N access requests for jane.doe with vouched identity, and times each from the
POST to `completed` (the paper archive, whose owner answers by hand, is disabled). Also
reads each answer's PDF render time, and measures the ratio of the end-to-end time to the
slowest system's task time (1.0 would be perfectly parallel work with no overhead).
Prints the figures; the last line is `e2e_ratio <x>`.

    .venv/bin/python bench/end_to_end.py [--requests 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "identity_verified": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, key: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body else None,
        method="POST" if body else "GET",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@contextmanager
def launcher(prefix: str) -> Iterator[tuple[dict[str, str], str, str]]:
    """Run `python -m dsar.launcher` in a scratch instance; yield its env, API base and a key."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DSAR_INSTANCE_PATH=str(scratch / "instance"),
        DSAR_PORT=str(port),
        DSAR_HELPDESK_URL=f"http://127.0.0.1:{free_port()}",
        # The bench polls each request's status as fast as it can: no per-key limit here.
        DSAR_API_RATE_LIMIT="1000000 per minute",
    )
    log_path = scratch / "launcher.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dsar.launcher"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while b"Press Ctrl-C" not in log_path.read_bytes():
                if proc.poll() is not None:
                    sys.exit("launcher exited:\n" + log_path.read_text()[-2000:])
                time.sleep(0.2)
            key = subprocess.run(
                [
                    *(sys.executable, "-m", "flask", "--app", "wsgi", "dsar", "create-api-key"),
                    *("--scope", "requests:create", "--scope", "requests:read"),
                    *("--scope", "requests:vouch"),
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
            yield env, f"http://127.0.0.1:{port}/api/v1/requests", key
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    with launcher("dsar-bench-") as (env, base, key):
        skip_manual_systems(env)
        totals, references = [], []
        for _ in range(args.requests):
            started = time.perf_counter()
            ref = call(base, key, {"kind": "access", "regime": "gdpr", **JANE})["reference"]
            while call(f"{base}/{ref}", key)["status"] != "completed":
                time.sleep(0.05)
            totals.append(time.perf_counter() - started)
            references.append(ref)
        renders, slowest = figures(env, references)
    e2e = statistics.median(totals)
    print(f"requests {len(totals)}")
    print(f"e2e_seconds_median {e2e:.2f} (min {min(totals):.2f}, max {max(totals):.2f})")
    print(f"pdf_render_seconds_median {statistics.median(renders):.2f}")
    print(f"slowest_task_seconds_median {statistics.median(slowest):.2f}")
    print(f"e2e_ratio {e2e / statistics.median(slowest):.2f}")


def skip_manual_systems(env: dict[str, str]) -> None:
    """Disable the paper archive: its owner answers by hand, which no benchmark should time."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from dsar import create_app
    from dsar.models import SystemKind
    from dsar.services import systems

    with create_app().app_context():
        for system in systems.all_systems():
            if system.kind is SystemKind.MANUAL:
                systems.set_enabled(system, False, actor="bench")


def figures(env: dict[str, str], references: list[str]) -> tuple[list[float], list[float]]:
    """PDF render seconds and the slowest task's seconds per request, from the database."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from dsar import create_app
    from dsar.extensions import db
    from dsar.models import Request

    with create_app().app_context():
        reqs = db.session.scalars(select(Request).where(Request.reference.in_(references)))
        renders, slowest = [], []
        for req in reqs:
            renders.append(req.documents[0].render_seconds)
            slowest.append(max((t.finished_at - t.started_at).total_seconds() for t in req.tasks))
        return renders, slowest


if __name__ == "__main__":
    main()
