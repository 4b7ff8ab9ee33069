"""Production observability: /healthz for load balancers, /metrics for Prometheus, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from dsar import create_app
from dsar.config import ConfigError, from_env
from dsar.extensions import db
from dsar.models import Request, RequestStatus, Task, TaskStatus
from dsar.queue import DOCUMENTS, TASKS, enqueue
from dsar.services import intake

TOKEN = "a-metrics-token-of-enough-length-42"
SECRET = "s3cret-pw"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def with_token(app: Flask) -> Flask:
    app.config["DSAR_METRICS_TOKEN"] = TOKEN
    return app


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    samples = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def submit(name: str, email: str) -> Request:
    done = intake.submit(
        intake.Submission(kind="opt_out", regime="ccpa", name=name, email=email),
        channel="portal",
    )
    return done.request


# -- /healthz --------------------------------------------------------------------------------


def test_healthz_says_ok_when_the_database_and_redis_answer(client: FlaskClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers


def test_healthz_names_redis_when_it_cannot_be_reached(env: dict[str, str]) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{closed_port()}/0"
    app = create_app({"REDIS_URL": url})
    with app.app_context():
        resp = app.test_client().get("/healthz")
        db.session.remove()
        db.engine.dispose()
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "failing", "database": "ok", "redis": "unreachable"}
    body = resp.get_data(as_text=True)
    assert SECRET not in body and "127.0.0.1" not in body and "Error" not in body
    assert "Set-Cookie" not in resp.headers


def test_healthz_names_the_database_when_it_cannot_be_reached(env: dict[str, str]) -> None:
    url = f"postgresql+psycopg://dsar:{SECRET}@127.0.0.1:{closed_port()}/dsar"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        resp = app.test_client().get("/healthz")
        db.engine.dispose()
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "failing", "database": "unreachable", "redis": "ok"}
    assert SECRET not in resp.get_data(as_text=True)


def test_healthz_is_never_rate_limited(client: FlaskClient, app: Flask) -> None:
    app.config["RATELIMIT_ENABLED"] = True
    assert {client.get("/healthz").status_code for _ in range(60)} == {200}


# -- /metrics --------------------------------------------------------------------------------


def test_metrics_are_off_until_a_token_is_set(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_metrics_refuse_a_missing_or_wrong_token(
    with_token: Flask, client: FlaskClient, header: str | None
) -> None:
    resp = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "dsar_" not in resp.get_data(as_text=True)


def test_metrics_count_requests_tasks_and_queued_jobs(
    with_token: Flask, client: FlaskClient, demo_systems: list[str]
) -> None:
    assert not any(name == "dsar_requests" for name, _ in scrape(client))  # none yet
    first = submit("Jane Doe", "jane.doe@example.com")
    submit("Ann Smith", "ann@example.org")
    first.status = RequestStatus.COMPLETED
    tasks = list(first.tasks)
    for index, task in enumerate(tasks):
        task.status = TaskStatus.SUCCEEDED
        task.queued_at = task.queued_at or first.received_at
        task.finished_at = task.queued_at + timedelta(seconds=10 + index)
    db.session.commit()
    for number in range(3):
        enqueue(
            "workers.jobs.compile_response",
            1,
            queue_name=DOCUMENTS,
            job_id=f"doc-{number}",
            timeout=60,
        )

    samples = scrape(client)

    statuses = {labels[0][1]: v for (name, labels), v in samples.items() if name == "dsar_requests"}
    in_db = db.session.execute(
        db.select(Request.status, db.func.count()).group_by(Request.status)
    ).all()
    assert statuses == {str(status): count for status, count in in_db}
    assert statuses["completed"] == 1 and sum(statuses.values()) == 2
    assert samples[("dsar_queue_jobs", (("queue", DOCUMENTS),))] == 3
    assert samples[("dsar_queue_jobs", (("queue", TASKS),))] >= 0
    assert ("dsar_queue_jobs_failed", (("queue", TASKS),)) in samples
    key = tasks[0].system.key
    assert samples[("dsar_tasks_total", (("status", "succeeded"), ("system", key)))] == 1
    per_system = db.session.execute(
        db.select(Task.system_id, db.func.count()).group_by(Task.system_id)
    ).all()
    counted = sum(v for (name, _), v in samples.items() if name == "dsar_tasks_total")
    assert counted == sum(n for _, n in per_system) == 2 * len(tasks)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    assert "jane" not in text.lower() and "example.com" not in text


def test_metrics_give_task_durations_and_rendered_documents(
    with_token: Flask, client: FlaskClient, demo_systems: list[str]
) -> None:
    for number in range(4):
        req = submit("Jane Doe", f"jane{number}@example.com")
        for task in req.tasks:
            task.status = TaskStatus.SUCCEEDED
            task.queued_at = task.queued_at or req.received_at
            task.finished_at = task.queued_at + timedelta(seconds=10 * (number + 1))
    db.session.commit()
    samples = scrape(client)
    key = demo_systems[0]
    median = samples[("dsar_task_duration_seconds", (("quantile", "0.5"), ("system", key)))]
    p95 = samples[("dsar_task_duration_seconds", (("quantile", "0.95"), ("system", key)))]
    assert median == 25.0 and 38.0 <= p95 <= 40.0
    # No document was rendered: the families are there, with no kind yet.
    assert not any(name.startswith("dsar_documents_rendered") for name, _ in samples)


# -- JSON logs -------------------------------------------------------------------------------


@pytest.fixture
def dsar_stream() -> Iterator[io.StringIO]:
    handler = next(h for h in logging.getLogger("dsar").handlers if h.get_name() == "dsar")
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_json_logs_are_one_object_a_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, dsar_stream: io.StringIO
) -> None:
    monkeypatch.setenv("DSAR_LOG_FORMAT", "json")
    app = create_app()
    try:
        logging.getLogger("dsar.services.intake").info("request %s received", "DSAR-2026-000001")
        line = dsar_stream.getvalue().strip()
        record = json.loads(line)
        assert record["level"] == "INFO" and record["logger"] == "dsar.services.intake"
        assert record["message"] == "request DSAR-2026-000001 received"
        assert record["time"].startswith("20")
        assert len(line.splitlines()) == 1
    finally:
        monkeypatch.delenv("DSAR_LOG_FORMAT")
        with app.app_context():
            db.engine.dispose()
        create_app()  # back to text for the tests that follow


def test_json_logs_withhold_what_the_database_quoted(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, dsar_stream: io.StringIO
) -> None:
    monkeypatch.setenv("DSAR_LOG_FORMAT", "json")
    app = create_app()
    try:
        with app.app_context(), pytest.raises(OperationalError) as failed:
            db.session.execute(db.text("SELECT * FROM no_such_table_jane_doe"))
        logging.getLogger("dsar").error("a request failed", exc_info=failed.value)
        record = json.loads(dsar_stream.getvalue().strip())
        assert "the database's message is withheld" in record["exc_info"]
        assert "no such table" not in record["exc_info"]
    finally:
        monkeypatch.delenv("DSAR_LOG_FORMAT")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        create_app()


def test_text_logs_stay_the_default(env: dict[str, str], dsar_stream: io.StringIO) -> None:
    create_app()
    logging.getLogger("dsar.queue").info("enqueued a job")
    assert dsar_stream.getvalue().split(" ", 2)[2].startswith("INFO dsar.queue: enqueued a job")


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DSAR_LOG_FORMAT": "yaml"}, "DSAR_LOG_FORMAT must be text or json, got 'yaml'"),
        ({"DSAR_METRICS_TOKEN": "short"}, "DSAR_METRICS_TOKEN must be at least 24 characters"),
    ],
)
def test_bad_observability_settings_are_refused_with_a_message(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        from_env(env, instance=tmp_path)


def test_good_observability_settings_are_kept(tmp_path: Path) -> None:
    config = from_env({"DSAR_LOG_FORMAT": "JSON", "DSAR_METRICS_TOKEN": TOKEN}, instance=tmp_path)
    assert config["DSAR_LOG_FORMAT"] == "json" and config["DSAR_METRICS_TOKEN"] == TOKEN
    assert from_env({}, instance=tmp_path)["DSAR_METRICS_TOKEN"] == ""


def test_gunicorn_logs_json_and_leaves_passing_health_checks_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gunicorn.config import Config

    from dsar.access_log import RedactingLogger

    monkeypatch.setenv("DSAR_LOG_FORMAT", "json")
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    logger = RedactingLogger(cfg)
    stream = io.StringIO()
    for handler in (*logger.error_log.handlers, *logger.access_log.handlers):
        handler.setStream(stream)  # type: ignore[attr-defined]

    def access(path: str, status: int) -> None:
        resp = SimpleNamespace(
            status=f"{status} X", status_code=status, headers=[], sent=2, response_length=2
        )
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path}
        environ |= {"QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"}
        req = SimpleNamespace(headers=[], path=path)
        logger.access(resp, req, environ, timedelta(milliseconds=3))

    logger.error("Worker (pid:%s) was sent SIGTERM!", 42)
    access("/healthz", 200)
    access("/healthz", 503)
    access("/r/secret-token", 200)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["logger"], r["level"]) for r in lines] == [
        ("gunicorn.error", "ERROR"),
        ("gunicorn.access", "INFO"),
        ("gunicorn.access", "INFO"),
    ]
    assert lines[0]["message"] == "Worker (pid:42) was sent SIGTERM!"
    assert "/healthz" in lines[1]["message"] and "503" in lines[1]["message"]
    assert "/r/…" in lines[2]["message"] and "secret-token" not in stream.getvalue()


def test_json_logs_reach_rq_once_whenever_its_handlers_were_made() -> None:
    from rq.logutils import setup_loghandlers

    from dsar import logs

    rq, worker = logging.getLogger("rq"), logging.getLogger("rq.worker")
    saved = (rq.handlers[:], rq.level, rq.propagate, worker.handlers[:], worker.propagate)
    stream = io.StringIO()
    try:
        setup_loghandlers("INFO", name="rq.worker")  # before the app, as a worker does
        logs.configure("json")
        for handler in (*rq.handlers, *worker.handlers):
            if type(handler).__name__ != "LogCaptureHandler":  # pytest's own, not a stream
                handler.setStream(stream)  # type: ignore[attr-defined]
        worker.info("Worker %s: started", "w1")
        lines = stream.getvalue().splitlines()
        assert len(lines) == 1
        assert json.loads(lines[0])["message"] == "Worker w1: started"
    finally:
        rq.handlers, rq.level, rq.propagate = saved[0], saved[1], saved[2]
        worker.handlers, worker.propagate = saved[3], saved[4]
        logs.configure("text")
