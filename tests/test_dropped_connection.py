"""A database connection that drops at any commit point leaves no request behind.

The request path (API intake, the tasks on every demo system, the fan-in, the compile) runs
in this process with real Redis and RQ's own SimpleWorker, so that a fault can be injected
into dsar's database engine: the Nth COMMIT fails (nothing of that transaction is stored),
or the first statement after the Nth COMMIT fails (the transaction is stored, the next step
is not). Then the world goes on as it would in production: the integrator sends the POST
again with its Idempotency-Key, RQ retries failed jobs, and the periodic reconciler runs. Every
request must end completed, with every document row's file on disk and no file without a row
once the orphan purge has run, and never twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from dsar import queue
from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus, utcnow
from dsar.services import orphans, reconcile
from tests.conftest import api_headers

BODY = {
    "kind": "access",
    "regime": "gdpr",
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "identity_verified": True,
}


@pytest.fixture
def env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # RQ retries a failed job at once (no scheduler in a burst of SimpleWorker).
    monkeypatch.setenv("DSAR_RETRY_INTERVALS", "0")
    monkeypatch.setenv("DSAR_TASK_RETRIES", "3")
    return {**env, "DSAR_RETRY_INTERVALS": "0", "DSAR_TASK_RETRIES": "3"}


class Fault:
    """Counts dsar's COMMITs; fails the `at`th one, or the first statement after it."""

    def __init__(self, at: int = 0, *, after: bool = False) -> None:
        self.at, self.after = at, after
        self.commits = 0
        self.armed_for_next_statement = False
        self.fired = False
        self.active = True

    def on_commit(self, conn: Connection) -> None:
        if not self.active:
            return
        self.commits += 1
        if self.fired or self.commits != self.at:
            return
        if self.after:
            self.armed_for_next_statement = True
            return
        self.fired = True
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    def before_execute(self, conn: Connection, *args: Any) -> None:
        if self.armed_for_next_statement:
            self.armed_for_next_statement = False
            self.fired = True
            raise OperationalError("SELECT", {}, ConnectionError("server closed the connection"))


@pytest.fixture
def inject(app: Flask) -> Iterator[Any]:
    installed: list[Fault] = []

    def install(fault: Fault) -> Fault:
        event.listen(db.engine, "commit", fault.on_commit)
        event.listen(db.engine, "before_cursor_execute", fault.before_execute)
        installed.append(fault)
        return fault

    yield install
    for fault in installed:
        event.remove(db.engine, "commit", fault.on_commit)
        event.remove(db.engine, "before_cursor_execute", fault.before_execute)


class InAppWorker(SimpleWorker):
    """RQ's own worker, running jobs in this process and its app context."""

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.rollback()
            db.session.remove()


def work(*, rounds: int = 6) -> None:
    """Run the jobs as the workers and the reconciler would, until nothing is left to do."""
    queues = [queue.get_queue(name) for name in queue.QUEUE_NAMES]
    for _ in range(rounds):
        InAppWorker(queues, connection=queue.connection(), serializer=JSONSerializer).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
        db.session.remove()
        # The reconciler looks every minute; an hour on, every grace period has passed.
        counts = reconcile.run(now=utcnow() + timedelta(hours=1))
        db.session.remove()
        if not any(counts.values()) and not any(q.count for q in queues):
            return


def submit(client: FlaskClient, api_key: str, key: str) -> None:
    """POST as an integrator does: again with the same key after a 5xx."""
    for _ in range(3):
        resp = client.post(
            "/api/v1/requests",
            headers={**api_headers(api_key), "Idempotency-Key": key},
            json=BODY,
        )
        db.session.remove()
        if resp.status_code in (200, 201):
            return
        assert resp.status_code == 503, resp.get_data(as_text=True)
    pytest.fail("the POST never succeeded")


def run_path(client: FlaskClient, api_key: str, key: str) -> None:
    submit(client, api_key, key)
    work()


def check_nothing_left_behind(app: Flask, key: str) -> None:
    requests = db.session.scalars(select(Request).where(Request.idempotency_key == key)).all()
    assert len(requests) == 1, f"{len(requests)} requests for one POST"
    req = requests[0]
    assert req.status is RequestStatus.COMPLETED, req.status
    folder = Path(app.config["DSAR_DOCUMENTS_DIR"])
    kinds = [d.kind for d in req.documents]
    assert "response" in kinds
    for doc in req.documents:
        assert (folder / doc.filename).is_file(), f"row {doc.kind} has no file"


def check_files_follow_rows(app: Flask) -> None:
    folder = Path(app.config["DSAR_DOCUMENTS_DIR"])
    later = utcnow() + timedelta(days=1)
    orphans.purge(now=later)
    named = set(db.session.scalars(select(Document.filename)))
    on_disk = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert on_disk == named


def count_commits(client: FlaskClient, api_key: str, inject: Any) -> int:
    fault = inject(Fault())
    run_path(client, api_key, "count-commits")
    fault.active = False
    return fault.commits


def test_the_clean_path_completes_and_counts_its_commits(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str], inject: Any
) -> None:
    commits = count_commits(client, api_key, inject)
    check_nothing_left_behind(app, "count-commits")
    assert commits >= 10  # intake, a claim and a result per system, fan-in, compile


@pytest.mark.parametrize("after", [False, True], ids=["commit-fails", "next-statement-fails"])
def test_a_dropped_connection_at_every_commit_point_leaves_no_request_behind(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    inject: Any,
    after: bool,
) -> None:
    total = count_commits(client, api_key, inject)
    before = db.session.scalar(select(func.count()).select_from(Request))
    for at in range(1, total + 1):
        key = f"fault-{at}"
        fault = inject(Fault(at, after=after))
        run_path(client, api_key, key)
        fault.active = False
        assert fault.fired or fault.commits < at, f"fault {at} did not fire"
        check_nothing_left_behind(app, key)
    check_files_follow_rows(app)
    created = db.session.scalar(select(func.count()).select_from(Request)) - before
    assert created == total
