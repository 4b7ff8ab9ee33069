"""The fan-out engine with real Redis and real rq workers: caps, resume, reconciler, proof."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus, Task, TaskStatus
from dsar.services import reconcile, registry, systems
from tests.conftest import api_headers, staff_post
from tests.vendor import http_system, vendor

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}


def submit(client: FlaskClient, api_key: str, kind: str = "opt_out", **who: str) -> str:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": kind, "regime": "ccpa", "identity_verified": True, **(who or JANE)},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json["reference"]


def request(reference: str) -> Request:
    db.session.remove()
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def settled(*references: str) -> Callable[[], bool]:
    final = {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED}
    return lambda: all(request(r).status in final for r in references)


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "systems.toml"
    path.write_text(text)
    registry.load_file(path)


def test_a_capped_system_never_runs_more_tasks_at_once_than_its_cap(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    run_workers: Callable[..., None],
    tmp_path: Path,
) -> None:
    with vendor() as server:
        load(tmp_path, http_system("slow", server.url, "/slow/0.6", max_concurrency=1))
        refs = [submit(client, api_key, email=f"p{i}@example.com", name="P") for i in range(3)]
        run_workers(settled(*refs), workers=3)
    tasks = db.session.scalars(select(Task).order_by(Task.started_at)).all()
    assert [t.status for t in tasks] == [TaskStatus.SUCCEEDED] * 3
    assert [t.attempts for t in tasks] == [1, 1, 1]  # waiting for a slot spends no attempt
    for earlier, later in pairwise(tasks):
        assert earlier.finished_at <= later.started_at, "two tasks of a capped system overlapped"
    assert server.calls["/slow/0.6"] == 3
    assert all(request(r).status is RequestStatus.COMPLETED for r in refs)


def test_resume_runs_only_the_failed_systems_again(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    tmp_path: Path,
) -> None:
    with vendor() as server:
        load(tmp_path, http_system("flaky", server.url, "/error"))
        ref = submit(client, api_key)
        run_workers(settled(ref))
        req = request(ref)
        assert req.status is RequestStatus.ACTION_REQUIRED
        before = {t.system.key: (t.attempts, t.finished_at) for t in req.tasks}
        assert before["flaky"][0] == 3
        # The vendor is fixed; the officer resumes the request.
        load(tmp_path, http_system("flaky", server.url, "/slow/0"))
        login("officer")
        page = staff_post(client, ref, "retry-failed")
        assert "Running the failed systems again" in page
        run_workers(settled(ref))
    req = request(ref)
    assert req.status is RequestStatus.COMPLETED
    after = {t.system.key: (t.attempts, t.finished_at) for t in req.tasks}
    assert after["flaky"][0] == 4
    assert {k: v for k, v in after.items() if k != "flaky"} == {
        k: v for k, v in before.items() if k != "flaky"
    }
    actions = [e.action for e in req.events]
    assert actions.count("retry_failed") == 1


def test_the_retry_button_is_refused_unless_the_request_needs_action(
    app: Flask, client: FlaskClient, api_key: str, login: Callable[[str], str]
) -> None:
    ref = submit(client, api_key)  # no systems registered: straight to compiling
    login("officer")
    page = staff_post(client, ref, "retry-failed")
    assert "only a request needing action resumes" in page
    assert request(ref).status is RequestStatus.COMPILING


def test_the_reconciler_sends_again_tasks_whose_jobs_redis_lost(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    env: dict[str, str],
    run_workers: Callable[..., None],
) -> None:
    app.config["DSAR_LOST_AFTER"] = 0
    ref = submit(client, api_key)
    tasks = request(ref).tasks
    queued = [t for t in tasks if t.status is TaskStatus.QUEUED]
    # The shop waits for the customer id the CRM finds: it is not sent before the CRM is done.
    waiting = {t.system.key for t in tasks if t.status is TaskStatus.PENDING}
    assert waiting == {"shop"}
    Redis.from_url(env["REDIS_URL"]).flushdb()  # Redis restarted without its data

    counts = reconcile.run()
    assert counts["requeued"] == len(queued)
    assert reconcile.run()["requeued"] == 0  # the jobs exist again: nothing more to send
    run_workers(settled(ref))
    req = request(ref)
    assert req.status is RequestStatus.COMPLETED
    assert all(t.attempts == 1 for t in req.tasks)
    resent = db.session.scalars(select(Event).where(Event.action == "task_resent")).all()
    assert len(resent) == len(queued) == len(tasks) - 1


def test_the_reconciler_compiles_a_request_whose_compile_job_was_lost(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    env: dict[str, str],
    run_workers: Callable[..., None],
) -> None:
    app.config["DSAR_LOST_AFTER"] = 0
    ref = submit(client, api_key)
    redis = Redis.from_url(env["REDIS_URL"])

    def compiling() -> bool:
        return request(ref).status is RequestStatus.COMPILING

    # Run only the systems' tasks: the compile job goes to the documents queue.
    import subprocess

    from dsar.config import ROOT
    from dsar.launcher import worker_argv

    subprocess.run(
        worker_argv(env["REDIS_URL"], burst=True, queues=("tasks",)), cwd=ROOT, check=True
    )
    assert compiling()
    redis.flushdb()
    assert reconcile.run()["compiles"] == 1
    run_workers(settled(ref))
    assert request(ref).status is RequestStatus.COMPLETED


@pytest.mark.parametrize("cap", [-1, 1001, "two", True])
def test_a_bad_concurrency_cap_is_refused_with_its_message(
    app: Flask, tmp_path: Path, cap: object
) -> None:
    from dsar.exceptions import ConfigFileError

    with pytest.raises(ConfigFileError, match="max_concurrency' must be a whole number"):
        load(tmp_path, http_system("capped", "http://127.0.0.1:9", "/x", max_concurrency=cap))
    assert systems.all_systems() == []


def test_the_reconciler_sends_a_pending_task_nobody_sent(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    env: dict[str, str],
    run_workers: Callable[..., None],
) -> None:
    app.config["DSAR_LOST_AFTER"] = 0
    ref = submit(client, api_key)
    Redis.from_url(env["REDIS_URL"]).flushdb()
    # As if the process died between creating the tasks and sending them.
    for task in request(ref).tasks:
        if task.status is TaskStatus.QUEUED:
            task.status, task.job_id = TaskStatus.PENDING, ""
    db.session.commit()

    counts = reconcile.run()
    assert counts["started"] == len(demo_systems) - 1  # the shop still waits for the CRM
    run_workers(settled(ref))
    assert request(ref).status is RequestStatus.COMPLETED


def lost_hand_over(client: FlaskClient, api_key: str) -> str:
    """Every task succeeded but the move to `compiling` never happened: the database went
    away between the last task's commit and the fan-in (issue: a request stuck for good)."""
    from dsar.services import workflow

    ref = submit(client, api_key)
    for task in list(request(ref).tasks):
        workflow.run_task(task.id, last_attempt=True)
    req = request(ref)
    assert req.status is RequestStatus.COMPILING
    req.status = RequestStatus.IN_PROGRESS
    db.session.commit()
    return ref


def test_a_retried_task_job_moves_on_a_request_whose_hand_over_was_lost(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    from dsar.services import workflow

    ref = lost_hand_over(client, api_key)
    # RQ retries the last job: the task is already done, and the request still moves on.
    workflow.run_task(request(ref).tasks[-1].id)
    assert request(ref).status is RequestStatus.COMPILING


def test_the_reconciler_moves_on_a_request_whose_tasks_are_all_final(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    env: dict[str, str],
    run_workers: Callable[..., None],
) -> None:
    ref = lost_hand_over(client, api_key)
    Redis.from_url(env["REDIS_URL"]).flushdb()
    counts = reconcile.run()
    assert counts["fanned_in"] == 1
    assert request(ref).status is RequestStatus.COMPILING  # and its compile job is sent
    assert reconcile.run()["fanned_in"] == 0
    run_workers(settled(ref))
    assert request(ref).status is RequestStatus.COMPLETED
    moves = db.session.scalars(
        select(Event).where(Event.action == "fan_in", Event.request_id == request(ref).id)
    ).all()
    assert len(moves) == 2  # the lost one (rolled back by hand here) and the reconciler's
