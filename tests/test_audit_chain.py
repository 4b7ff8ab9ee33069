"""The hash-chained audit log: built on every commit, checked by `audit-verify` and /audit/chain.

Tampering is done the way an intruder would: plain SQL on the database, behind dsar's back.
The concurrency tests write from real separate processes (SQLite) and threads (PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select, text

from dsar import create_app
from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import AuditHead, Event, Request
from dsar.services import audit
from dsar.services.accounts import create_api_key
from dsar.services.events import record
from tests.postgres import pg_database, pg_server  # noqa: F401

ZEROS = "0" * 64


def verify_cli(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["dsar", "audit-verify"])


def chain() -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event).order_by(Event.seq)))


@pytest.fixture
def finished_request(app: Flask, demo_systems: list[str]) -> Request:
    """A CCPA opt-out run in every demo system and compiled, through the services."""
    from dsar.services import intake, processing

    key, _ = create_api_key("tests")
    done = intake.submit(
        intake.Submission(
            kind="opt_out", regime="ccpa", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    for task in list(done.request.tasks):
        processing.run_task(task.id, last_attempt=True)
    processing.compile_response(done.request.id)
    req = db.session.get(Request, done.request.id)
    assert req is not None
    return req


def test_a_finished_request_leaves_an_unbroken_chain(app: Flask, finished_request: Request) -> None:
    events = chain()
    assert len(events) >= 8
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == ZEROS
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    for e in events:
        assert len(e.hash) == 64
        assert e.hash == audit.event_hash(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            request_id=e.request_id,
            status_before=e.status_before,
            status_after=e.status_after,
            detail=e.detail,
            prev_hash=e.prev_hash,
        )
    assert {e.request_id for e in events} >= {finished_request.id}
    head = db.session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)

    result = audit.verify()
    assert result.ok
    assert result.checked == len(events)
    cli = verify_cli(app)
    assert cli.exit_code == 0, cli.output
    assert cli.output == f"OK: {len(events)} events, chain intact, head {events[-1].hash}\n"


def test_the_canonical_form_is_fixed() -> None:
    """A known vector: anyone can recompute a hash from the documented canonical JSON."""
    from datetime import UTC, datetime

    at = datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC)
    fields = dict(
        seq=1,
        at=at,
        actor="system",
        action="received",
        request_id=7,
        status_before="",
        status_after="received",
        detail={"b": 1, "a": "é"},
        prev_hash=ZEROS,
    )
    import hashlib

    canonical = (
        '{"action":"received","actor":"system","at":"2026-03-01T12:00:00.000005+00:00",'
        '"detail":{"a":"é","b":1},"prev_hash":"' + ZEROS + '","request_id":7,"seq":1,'
        '"status_after":"received","status_before":""}'
    )
    assert audit.event_hash(**fields) == hashlib.sha256(canonical.encode()).hexdigest()


def write_events(count: int, actor: str = "tests") -> None:
    for i in range(count):
        record(None, "test_event", actor=actor, detail={"i": i})
        db.session.commit()


def by_seq(seq: int) -> Event:
    return db.session.scalars(select(Event).where(Event.seq == seq)).one()


def sql(statement: str, **params: object) -> None:
    """Change the database behind dsar's back, as an intruder with database access would."""
    db.session.execute(text(statement), params)
    db.session.commit()


def assert_broken(app: Flask, seq: int, event_id: int | None, reason: str) -> None:
    result = audit.verify()
    assert not result.ok
    assert (result.broken_seq, result.broken_id) == (seq, event_id)
    assert reason in result.reason
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert cli.output.startswith(f"BROKEN at event seq {seq} (id {event_id}): ")
    assert reason in cli.output
    assert cli.output == result.message + "\n"


def test_an_edited_event_is_named(app: Flask) -> None:
    write_events(6)
    victim = by_seq(4)
    sql("UPDATE events SET detail = :d WHERE id = :id", d='{"i": 99}', id=victim.id)
    assert_broken(app, 4, victim.id, "the event was edited")


def test_an_edited_event_whose_hash_was_recomputed_breaks_the_next_link(app: Flask) -> None:
    write_events(6)
    victim, follower = by_seq(3), by_seq(4)
    forged = audit.event_hash(
        seq=3,
        at=victim.at,
        actor=victim.actor,
        action="forged",
        request_id=None,
        status_before="",
        status_after="",
        detail=victim.detail,
        prev_hash=victim.prev_hash,
    )
    sql("UPDATE events SET action = 'forged', hash = :h WHERE id = :id", h=forged, id=victim.id)
    assert_broken(app, 4, follower.id, "prev_hash mismatch")


def test_a_deleted_event_is_caught(app: Flask) -> None:
    write_events(6)
    gone, next_one = by_seq(3), by_seq(4)
    sql("DELETE FROM events WHERE id = :id", id=gone.id)
    assert_broken(app, 4, next_one.id, "seq 3 missing before it: events were deleted")


def test_two_swapped_events_are_caught(app: Flask) -> None:
    write_events(6)
    a, b = by_seq(2), by_seq(3)
    sql("UPDATE events SET seq = -1 WHERE id = :id", id=a.id)
    sql("UPDATE events SET seq = 2 WHERE id = :id", id=b.id)
    sql("UPDATE events SET seq = 3 WHERE id = :id", id=a.id)
    assert_broken(app, 2, b.id, "reordered")


def test_deleting_the_last_events_is_caught_by_the_head(app: Flask) -> None:
    write_events(6)
    survivor = by_seq(4)
    sql("DELETE FROM events WHERE seq > 4")
    assert_broken(app, 4, survivor.id, "the last 2 event(s) after this one were deleted")


def test_a_deleted_head_is_caught(app: Flask) -> None:
    write_events(3)
    sql("DELETE FROM audit_head")
    assert_broken(app, 3, by_seq(3).id, "the chain head is missing")


def test_events_from_before_the_chain_are_chained_in_id_order_by_the_next_commit(
    app: Flask,
) -> None:
    """Migration 0005 leaves older events without seq; the first event after it chains them."""
    for i in range(3):
        sql(
            "INSERT INTO events (at, actor, action, status_before, status_after, detail, "
            "prev_hash, hash) VALUES (:at, 'system', 'old', '', '', :d, '', '')",
            at=f"2025-01-0{i + 1} 10:00:00.000000",
            d=f'{{"i": {i}}}',
        )
    oldest = db.session.scalars(select(Event.id).order_by(Event.id)).first()
    result = audit.verify()
    assert not result.ok
    assert result.broken_id == oldest
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert cli.output.startswith(f"BROKEN at event seq none (id {oldest}): ")

    write_events(1, actor="new")
    events = chain()
    assert [(e.seq, e.action) for e in events] == [
        (1, "old"),
        (2, "old"),
        (3, "old"),
        (4, "test_event"),
    ]
    assert [e.detail for e in events[:3]] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert audit.verify().ok


def test_an_empty_log_verifies(app: Flask) -> None:
    cli = verify_cli(app)
    assert cli.exit_code == 0
    assert cli.output == f"OK: 0 events, chain intact, head {ZEROS}\n"


def test_a_rolled_back_event_takes_no_place_in_the_chain(app: Flask) -> None:
    write_events(2)
    record(None, "never", actor="tests")
    db.session.flush()
    db.session.rollback()
    write_events(1)
    assert [e.seq for e in chain()] == [1, 2, 3]
    assert "never" not in {e.action for e in chain()}
    assert audit.verify().ok


@pytest.mark.parametrize("role", ["auditor", "officer", "admin"])
def test_the_chain_page_shows_the_verdict(
    app: Flask, client: FlaskClient, login: Callable[[str], str], role: str
) -> None:
    login(role)
    write_events(3)
    page = client.get("/audit/chain")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    head = by_seq(db.session.get(AuditHead, 1).seq)  # type: ignore[union-attr]
    assert f"OK: {head.seq} events, chain intact, head {head.hash}" in html

    victim = by_seq(2)
    sql("UPDATE events SET actor = 'someone-else' WHERE id = :id", id=victim.id)
    html = client.get("/audit/chain").get_data(as_text=True)
    assert f"BROKEN at event seq 2 (id {victim.id}): " in html
    assert "the event was edited" in html


def test_the_chain_page_needs_a_staff_login(client: FlaskClient, app: Flask) -> None:
    resp = client.get("/audit/chain")
    assert resp.status_code == 302
    assert "/staff/login" in resp.headers["Location"]


# --- concurrency -----------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from sqlalchemy import func, select
from dsar import create_app
from dsar.extensions import db
from dsar.models import Event, Request
from dsar.services.events import record

name, count, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
app = create_app()
with app.app_context():
    db.session.scalar(select(func.count(Event.id)))  # connect before the start line
    db.session.rollback()
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        # Read first, then write: the transaction that writes must not fail on a stale read.
        db.session.scalar(select(func.count(Request.id)))
        record(None, "concurrent", actor=name, detail={"i": i})
        db.session.scalar(select(func.max(Event.id)))  # autoflush: the INSERT happens here
        record(None, "concurrent_pair", actor=name, detail={"i": i})
        db.session.commit()
print("done", name)
"""


@pytest.mark.slow
def test_two_processes_writing_at_once_never_fork_the_chain(
    app: Flask, env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    per_process = 100  # 100 commits of 2 events: 200 events per process
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"proc-{n}", str(per_process), str(go)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    time.sleep(3)  # both connected and waiting
    started = time.monotonic()
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert out.startswith(b"done")
    elapsed = time.monotonic() - started
    events = chain()
    assert len(events) == 400
    assert [e.seq for e in events] == list(range(1, 401))
    for name in ("proc-0", "proc-1"):
        mine = [e for e in events if e.actor == name]
        assert len(mine) == 200
        # Each commit's two events are adjacent: one transaction, one stretch of the chain.
        for first, second in zip(mine[::2], mine[1::2], strict=True):
            assert second.seq == first.seq + 1
            assert (first.action, second.action) == ("concurrent", "concurrent_pair")
    interleaved = sum(1 for a, b in pairwise(events) if a.actor != b.actor)
    print(f"400 events from 2 processes in {elapsed:.2f}s; actor switches: {interleaved}")
    result = audit.verify()
    assert result.ok, result.message
    assert result.checked == 400


@pytest.fixture
def pg_app(
    pg_database: str,  # noqa: F811
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    """A second app on a fresh PostgreSQL database (the `app` fixture stays on SQLite)."""
    monkeypatch.setenv("DATABASE_URL", pg_database)
    pg = create_app()
    with pg.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        assert db.engine.dialect.name == "postgresql"
    yield pg
    with pg.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_threads_writing_at_once_on_postgresql_never_fork_the_chain(pg_app: Flask) -> None:
    threads, per_thread = 4, 100
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with pg_app.app_context():
                db.session.scalar(select(Event.id).limit(1))
                db.session.rollback()
                barrier.wait(30)
                for i in range(per_thread):
                    db.session.scalar(select(Request.id).limit(1))  # read, then write
                    record(None, "concurrent", actor=f"thread-{n}", detail={"i": i})
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    started = time.monotonic()
    for t in workers:
        t.start()
    for t in workers:
        t.join(240)
    elapsed = time.monotonic() - started
    assert errors == []
    with pg_app.app_context():
        seqs = db.session.scalars(select(Event.seq).order_by(Event.seq)).all()
        assert seqs == list(range(1, threads * per_thread + 1))
        result = audit.verify()
        assert result.ok, result.message
        assert result.checked == threads * per_thread
        cli = pg_app.test_cli_runner().invoke(args=["dsar", "audit-verify"])
        assert cli.exit_code == 0
        assert cli.output.startswith(f"OK: {threads * per_thread} events, chain intact")
        db.session.remove()
    print(f"{threads * per_thread} events from {threads} threads on PostgreSQL in {elapsed:.2f}s")


@pytest.mark.slow
def test_real_workers_processing_requests_in_parallel_keep_the_chain_intact(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
) -> None:
    from tests.conftest import api_headers

    references = []
    for kind, regime in [("access", "gdpr"), ("opt_out", "ccpa"), ("access", "ccpa")]:
        resp = client.post(
            "/api/v1/requests",
            headers=api_headers(api_key),
            json={
                "kind": kind,
                "regime": regime,
                "name": "Jane Doe",
                "email": "jane.doe@example.com",
                "identity_verified": True,
            },
        )
        assert resp.status_code == 201, resp.json
        references.append(resp.json["reference"])
    busy = {"received", "in_progress", "compiling"}

    def settled() -> bool:
        statuses = db.session.scalars(select(Request.status)).all()
        return all(s.value not in busy for s in statuses)

    run_workers(settled, workers=3)
    events = chain()
    assert {e.actor for e in events} >= {"worker"}
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    result = audit.verify()
    assert result.ok, result.message
    assert result.checked == len(events)
