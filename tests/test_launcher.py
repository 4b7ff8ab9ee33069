"""The README's first command: everything starts, a request completes, everything stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dsar.config import ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(log: Path, text: str, proc: subprocess.Popen, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        assert proc.poll() is None, f"launcher exited early:\n{content[-3000:]}"
        time.sleep(0.2)
    pytest.fail(f"{text!r} not printed in time:\n{log.read_text()[-3000:]}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def call(url: str, *, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method="POST" if body else "GET",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:  # a cold start on a loaded machine
        return json.loads(resp.read())


def start(tmp_path: Path, env: dict[str, str], log_name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / log_name
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dsar.launcher"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


def test_run_command_starts_every_part_serves_a_request_and_stops_them_all(
    tmp_path: Path,
) -> None:
    port, helpdesk = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DSAR_INSTANCE_PATH=str(tmp_path / "instance"),
        DSAR_PORT=str(port),
        DSAR_HELPDESK_URL=f"http://127.0.0.1:{helpdesk}",
        DSAR_DEMO_PEOPLE="300",
        DSAR_WORKERS="2",
        DSAR_ENV="development",
    )
    for name in ("DSAR_DEMO_DIR", "DSAR_RATELIMIT_STORAGE", "DSAR_BASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    proc, log = start(tmp_path, env, "first.log")
    try:
        out = wait_for_line(log, "Press Ctrl-C to stop.", proc)
        assert f"dsar is running at http://127.0.0.1:{port}/" in out
        assert "officer@example.com" in out
        assert "jane.doe@example.com" in out
        pids = [int(p) for p in (tmp_path / "instance" / "launcher.pids").read_text().split()]
        assert len(pids) == 7  # redis, help desk, two workers, documents worker, rq cron, web
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as resp:
            assert "Make a request" in resp.read().decode()
        made = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "dsar", "create-api-key"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip().splitlines()[-1]
        assert key.startswith("dsar_")
        base = f"http://127.0.0.1:{port}/api/v1/requests"
        created = call(
            base,
            key=key,
            body={
                "kind": "opt_out",
                "regime": "ccpa",
                "name": "Jane Doe",
                "email": "jane.doe@example.com",
            },
        )
        # Every system with an API answers; the paper archive waits for its owner, who has
        # been emailed a one-time link.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = call(f"{base}/{created['reference']}", key=key)
            status = {t["system"]: t["status"] for t in got["tasks"]}
            if list(status.values()).count("succeeded") == 5:
                break
            time.sleep(0.5)
        assert status == {
            **dict.fromkeys(("crm", "shop", "newsletter", "helpdesk", "events"), "succeeded"),
            "archive": "action_required",
        }
        assert got["status"] == "in_progress"
        outbox = tmp_path / "instance" / "outbox"
        assert any("archive@example.com" in m.read_text() for m in outbox.glob("*.eml"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert "Stopped." in log.read_text()
    time.sleep(0.5)
    assert [p for p in pids if alive(p)] == []

    # Twice in a row: the same database and demo world, nothing added twice; Ctrl-C stops it.
    proc, log = start(tmp_path, env, "second.log")
    try:
        out = wait_for_line(log, "Press Ctrl-C to stop.", proc)
        assert "Demo data systems found" in out
        assert "Data systems registered: 0 added, 0 updated, 6 unchanged" in out
        assert "Demo staff account created" not in out
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
