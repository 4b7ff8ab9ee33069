"""The migrations, a request end to end and the fan-in race, on a real PostgreSQL server.

The server is started by the suite itself (see tests/postgres.py); every test gets a fresh
database, which the `env` fixture hands to the app and to the rq workers as DATABASE_URL.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import DataError

from dsar.config import ROOT
from dsar.extensions import db
from dsar.launcher import IN_PROCESS, cron_argv, worker_argv
from dsar.logs import DatabaseFailure, no_database_values
from dsar.models import Document, Event, Request, RequestStatus, Task, TaskStatus
from dsar.queue import DOCUMENTS, get_queue
from dsar.services import fanin
from tests.conftest import api_headers, csrf_token
from tests.postgres import PgServer, pg_database, pg_server  # noqa: F401

pytestmark = pytest.mark.slow

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958"}
THREADS = 8


@pytest.fixture
def pg_env(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """Point the `env` fixture (and so the app and the workers) at a fresh PostgreSQL database."""
    monkeypatch.setenv("DSAR_TEST_DATABASE_URL", pg_database)
    return pg_database


@pytest.fixture
def env(pg_env: str, env: dict[str, str]) -> dict[str, str]:
    """conftest's `env`, set up only after `pg_env`, whatever order a test names fixtures in."""
    assert env["DATABASE_URL"] == pg_env
    return env


@pytest.fixture
def app(app: Flask) -> Flask:
    """conftest's migrated app, refusing to run these tests on anything but PostgreSQL."""
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert db.engine.dialect.name == "postgresql"
    return app


def create_request(client: FlaskClient, api_key: str) -> str:
    """Create jane.doe's access request over the API with a vouched identity; its reference."""
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "access", "regime": "ccpa", "identity_verified": True, **JANE},
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "in_progress"
    return resp.json["reference"]


def request_by(reference: str) -> Request:
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def test_migrations_create_every_model_table_and_match_the_models(app: Flask) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables == {*db.metadata.tables, "alembic_version"}
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
        assert context.get_current_revision() == head
        assert compare_metadata(context, db.metadata) == []


def test_api_access_request_completes_through_real_workers(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
) -> None:
    reference = create_request(client, api_key)
    run_workers(
        lambda: (
            request_by(reference).status in {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED}
        )
    )
    req = request_by(reference)
    assert req.status is RequestStatus.COMPLETED
    assert {t.system.key for t in req.tasks} == set(demo_systems)
    assert {t.status for t in req.tasks} == {TaskStatus.SUCCEEDED}
    doc = db.session.scalars(
        select(Document).where(Document.request_id == req.id, Document.kind == "response")
    ).one()
    assert doc.kind == "response"
    body = client.get(f"/api/v1/requests/{reference}", headers=api_headers(api_key)).json
    assert body["status"] == "completed"
    assert {t["status"] for t in body["tasks"]} == {"succeeded"}
    with client.get(body["response_pdf"], headers=api_headers(api_key)) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        data = resp.data
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "jane.doe@example.com" in text
    assert reference in text


def test_concurrent_fan_in_moves_the_request_and_enqueues_compiling_exactly_once(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
) -> None:
    request_id = request_by(create_request(client, api_key)).id
    db.session.execute(
        update(Task).where(Task.request_id == request_id).values(status=TaskStatus.SUCCEEDED)
    )
    db.session.commit()
    db.session.remove()
    documents = get_queue(DOCUMENTS)
    assert documents.job_ids == []

    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    fanin.fan_in(request_id)
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=finish) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    fan_ins = db.session.scalars(
        select(Event).where(Event.request_id == request_id, Event.action == "fan_in")
    ).all()
    assert len(fan_ins) == 1
    assert fan_ins[0].status_after == RequestStatus.COMPILING
    assert db.session.get(Request, request_id).status is RequestStatus.COMPILING
    assert documents.job_ids == [f"compile-{request_id}"]


@pytest.mark.parametrize("field", ["name", "details", "country"])
def test_a_nul_byte_is_refused_with_a_message_not_a_database_error(
    app: Flask, client: FlaskClient, api_key: str, field: str
) -> None:
    body = {"kind": "access", "regime": "gdpr", **JANE, field: "Ja\x00ne"}
    resp = client.post("/api/v1/requests", json=body, headers=api_headers(api_key))
    assert resp.status_code == 422
    assert "control characters" in resp.json["errors"]["json"][field][0]
    form = client.post("/request", data={**body, "csrf_token": csrf_token(client, "/request")})
    assert form.status_code == 422
    assert db.session.scalars(select(Request)).all() == []


@pytest.mark.parametrize(
    "path", ["/api/v1/requests/DSAR%00", "/staff/requests/DSAR%00", "/r/x%00", "/task/x%00"]
)
def test_a_nul_byte_in_an_address_is_a_400(
    app: Flask, client: FlaskClient, api_key: str, path: str
) -> None:
    assert client.get(path, headers=api_headers(api_key)).status_code == 400


def test_a_database_error_quoting_a_value_is_logged_without_it(app: Flask) -> None:
    """PostgreSQL's own message quotes the value it refused; the log line must not."""
    who = "Jane Doe jane.doe@example.com"  # a variable: a traceback shows source lines
    with pytest.raises(DataError) as failed, db.engine.connect() as conn:
        conn.execute(text("SELECT CAST(:who AS integer)"), {"who": who})
    assert "[SQL parameters hidden" in str(failed.value)
    assert "jane.doe" in str(failed.value)  # the database's own words: why the filter exists
    handler = logging.getLogger("dsar").handlers[0]
    record = logging.LogRecord(
        "dsar", logging.ERROR, __file__, 1, "a request failed", None, failed._excinfo
    )
    assert handler.filter(record)
    line = handler.format(record)
    assert "jane.doe" not in line and "Jane" not in line
    assert "InvalidTextRepresentation (SQLSTATE 22P02)" in line
    assert "SELECT CAST(%(who)s AS integer)" in line

    @no_database_values
    def job() -> None:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT CAST(:who AS integer)"), {"who": who})

    with pytest.raises(DatabaseFailure) as scrubbed:
        job()
    # What RQ logs and keeps in Redis for a failed job: the formatted exception.
    assert "jane" not in "".join(traceback.format_exception(scrubbed.value)).lower()


def test_a_database_outage_answers_503_stores_nothing_and_the_app_recovers_by_itself(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    pg_server: PgServer,  # noqa: F811
    pg_env: str,
) -> None:
    from psycopg import sql

    name = pg_env.rsplit("/", 1)[-1]
    before = create_request(client, api_key)  # the pool holds a live connection now

    def outage(allowed: bool) -> None:
        with pg_server.connect() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.SQL("true" if allowed else "false")
                )
            )
            if not allowed:  # and every open connection is cut, as by a restart
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )

    db.session.remove()  # the test's own session lets go of its connection (to the pool)
    outage(False)
    try:
        resp = client.post(
            "/api/v1/requests",
            headers=api_headers(api_key),
            json={"kind": "access", "regime": "ccpa", "identity_verified": True, **JANE},
        )
        assert resp.status_code == 503, resp.get_data(as_text=True)
        assert int(resp.headers["Retry-After"]) > 0
        assert "nothing was saved" in resp.json["message"]
        page = client.get("/r/a-tracking-token-of-some-length-000000000")
        assert page.status_code == 503
        assert "nothing was saved" in page.get_data(as_text=True)
    finally:
        outage(True)
    db.session.remove()
    # The next call works without a restart: the pool replaced the dead connections.
    after = create_request(client, api_key)
    references = db.session.scalars(select(Request.reference).order_by(Request.id)).all()
    assert references == [before, after]


def test_concurrent_calls_with_one_idempotency_key_make_one_request(
    app: Flask, demo_systems: list[str], api_key: str
) -> None:
    db.session.remove()
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=30)
            resp = client.post(
                "/api/v1/requests",
                headers={**api_headers(api_key), "Idempotency-Key": "burst-1"},
                json={"kind": "access", "regime": "ccpa", "identity_verified": True, **JANE},
            )
            answers.append((resp.status_code, resp.json["reference"]))
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(code for code, _ in answers) == [200] * (THREADS - 1) + [201]
    assert len({reference for _, reference in answers}) == 1
    assert db.session.scalars(select(Request.reference)).all() == [answers[0][1]]


def test_a_restart_during_a_burst_leaves_no_request_behind(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    pg_server: PgServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pg_ctl restart` while 20 requests come in and run: every one completes, once, with
    no human action (RQ's retries and the reconciler that cron runs do the rest)."""
    monkeypatch.setenv("DSAR_RECONCILE_INTERVAL", "5")
    monkeypatch.setenv("DSAR_LOST_AFTER", "5")
    redis_url = app.config["REDIS_URL"]
    argvs = [
        worker_argv(redis_url, queues=("tasks",), worker_class=IN_PROCESS),
        worker_argv(redis_url, queues=("tasks",), worker_class=IN_PROCESS),
        worker_argv(redis_url, queues=("documents",)),
        cron_argv(redis_url),
    ]
    procs = [
        subprocess.Popen(argv, env=dict(os.environ), cwd=ROOT, start_new_session=True)
        for argv in argvs
    ]
    restart = threading.Thread(target=pg_server.restart)
    statuses: list[int] = []
    started_at = "SELECT pg_postmaster_start_time()"
    with pg_server.connect() as conn:
        first_start = conn.execute(started_at).fetchone()
    try:
        for i in range(20):
            if i == 4:
                restart.start()
            for _ in range(120):  # an integrator retries a 503 with the same key
                resp = client.post(
                    "/api/v1/requests",
                    headers={**api_headers(api_key), "Idempotency-Key": f"burst-{i}"},
                    json={"kind": "access", "regime": "ccpa", "identity_verified": True, **JANE},
                )
                db.session.remove()
                statuses.append(resp.status_code)
                if resp.status_code in (200, 201):
                    break
                assert resp.status_code == 503, resp.get_data(as_text=True)
                time.sleep(0.5)
        restart.join(120)
        assert not restart.is_alive()
        with pg_server.connect() as conn:
            assert conn.execute(started_at).fetchone() != first_start  # it did restart
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            db.session.remove()
            done = db.session.scalars(select(Request.status)).all()
            if len(done) == 20 and set(done) == {RequestStatus.COMPLETED}:
                break
            time.sleep(2)
        db.session.remove()
        requests = db.session.scalars(select(Request)).all()
        assert sorted(r.idempotency_key for r in requests) == sorted(
            f"burst-{i}" for i in range(20)
        )
        left = {
            r.reference: r.status.value for r in requests if r.status is not RequestStatus.COMPLETED
        }
        assert left == {}, f"requests left behind: {left}"
        assert all(any(d.kind == "response" for d in r.documents) for r in requests)
        assert not [p.args for p in procs if p.poll() is not None], "a worker process died"
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
