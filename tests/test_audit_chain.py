"""The hash-chained audit log: built on every commit, checked by `audit-verify` and /audit/chain.

Tampering is done the way an intruder with database access would: plain SQL on the database,
behind dsar's back. Checkpoints are files outside the database. The concurrency tests write
from real separate processes (SQLite) and threads (PostgreSQL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from dsar import create_app
from dsar.config import ROOT, ConfigError, from_env
from dsar.extensions import db
from dsar.models import AuditHead, Event, Request
from dsar.services import answers, audit, audit_checks, checkpoints, workflow
from dsar.services.api_keys import create as create_api_key
from dsar.services.events import record
from tests.postgres import pg_database, pg_server  # noqa: F401

ZEROS = "0" * 64
OTHER_KEY = "another-audit-key-that-is-long-enough-to-use"


def verify_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["dsar", "audit-verify", *args])


def chain() -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event).order_by(Event.seq)))


@pytest.fixture
def finished_request(app: Flask, demo_systems: list[str]) -> Request:
    """A CCPA opt-out run in every demo system and compiled, through the services."""
    from dsar.services import intake

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
        workflow.run_task(task.id, last_attempt=True)
    answers.compile_response(done.request.id)
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
    key = audit.current_key()
    for e in events:
        assert len(e.hash) == 64
        assert e.hash == audit.event_hash(
            key=key,
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
    assert head.key_id == audit.key_id(key)

    result = audit_checks.verify()
    assert result.ok
    assert result.checked == len(events)
    cli = verify_cli(app)
    assert cli.exit_code == 0, cli.output
    assert cli.output == f"OK: {len(events)} events, chain intact, head {events[-1].hash}\n"


CANONICAL = (
    '{"action":"received","actor":"system","at":"2026-03-01T12:00:00.000005+00:00",'
    '"detail":{"a":"é","b":1},"prev_hash":"' + ZEROS + '","request_id":7,"seq":1,'
    '"status_after":"received","status_before":""}'
)
VECTOR = dict(
    seq=1,
    at=datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC),
    actor="system",
    action="received",
    request_id=7,
    status_before="",
    status_after="received",
    detail={"b": 1, "a": "é"},
    prev_hash=ZEROS,
)


def test_the_canonical_form_is_fixed() -> None:
    """A known vector: whoever holds the audit key can recompute a hash from the documented
    canonical JSON; the digest is HMAC-SHA256 under that key, not a bare SHA-256."""
    key = b"k" * 32
    assert audit.canonical_event(**VECTOR) == CANONICAL.encode()
    digest = audit.event_hash(key=key, **VECTOR)
    assert digest == hmac.new(key, CANONICAL.encode(), hashlib.sha256).hexdigest()
    assert digest == "947f64bdee5f4a63e348b47948659969690ecfb376adbe4383bd996026b1ac03"
    assert digest != hashlib.sha256(CANONICAL.encode()).hexdigest()
    assert audit.event_hash(key=b"j" * 32, **VECTOR) != digest


def test_the_audit_key_is_the_setting_or_else_derived_from_the_secret_key(tmp_path: Path) -> None:
    set_key = {"DSAR_AUDIT_KEY": OTHER_KEY, "SECRET_KEY": "s3cret"}
    assert audit.audit_key(set_key) == OTHER_KEY.encode()
    derived = audit.audit_key({"DSAR_AUDIT_KEY": "", "SECRET_KEY": "s3cret"})
    assert derived == hmac.new(b"s3cret", b"dsar audit chain key", "sha256").hexdigest().encode()
    assert audit.audit_key({"DSAR_AUDIT_KEY": "", "SECRET_KEY": "rotated"}) != derived
    # Copying the derived key into DSAR_AUDIT_KEY keeps the chain's key across a rotation.
    kept = {"DSAR_AUDIT_KEY": derived.decode(), "SECRET_KEY": "rotated"}
    assert audit.audit_key(kept) == derived
    kid = audit.key_id(derived)
    assert len(kid) == 16
    assert kid not in derived.decode()
    assert audit.key_id(OTHER_KEY.encode()) != kid

    env = {"SECRET_KEY": "x", "DSAR_AUDIT_KEY": "short"}
    with pytest.raises(ConfigError, match="DSAR_AUDIT_KEY must be at least 32 characters"):
        from_env(env, instance=tmp_path)
    with pytest.raises(ConfigError, match="DSAR_CHECKPOINT_INTERVAL must be at least 10"):
        from_env({"SECRET_KEY": "x", "DSAR_CHECKPOINT_INTERVAL": "5"}, instance=tmp_path)
    config = from_env({"SECRET_KEY": "x"}, instance=tmp_path)
    assert config["DSAR_AUDIT_KEY"] == ""
    assert config["DSAR_AUDIT_DIR"] == tmp_path / "audit"
    assert config["DSAR_CHECKPOINT_INTERVAL"] == 300


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


def insert_unchained(at: str = "2025-01-01 10:00:00.000000", i: int = 0) -> int:
    """An event row with no seq, inserted with plain SQL; its id."""
    sql(
        "INSERT INTO events (at, actor, action, status_before, status_after, detail, "
        "prev_hash, hash) VALUES (:at, 'system', 'old', '', '', :d, '', '')",
        at=at,
        d=json.dumps({"i": i}),
    )
    return db.session.scalar(select(func.max(Event.id)))  # type: ignore[return-value]


def assert_broken(app: Flask, seq: int | None, event_id: int | None, reason: str) -> None:
    result = audit_checks.verify()
    assert not result.ok
    assert (result.broken_seq, result.broken_id) == (seq, event_id)
    assert reason in result.reason
    cli = verify_cli(app)
    assert cli.exit_code == 1
    shown = "none" if seq is None else seq
    assert cli.output.startswith(f"BROKEN at event seq {shown} (id {event_id}): ")
    assert reason in cli.output
    assert cli.output == result.message + "\n"


def test_an_edited_event_is_named(app: Flask) -> None:
    write_events(6)
    victim = by_seq(4)
    sql("UPDATE events SET detail = :d WHERE id = :id", d='{"i": 99}', id=victim.id)
    assert_broken(app, 4, victim.id, "the event was edited")


def test_an_edited_event_whose_hash_was_recomputed_with_the_key_breaks_the_next_link(
    app: Flask,
) -> None:
    """Even someone holding the audit key cannot edit one event without breaking the next."""
    write_events(6)
    victim, follower = by_seq(3), by_seq(4)
    forged = audit.event_hash(
        key=audit.current_key(),
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


def test_an_edit_rehashed_with_plain_sha256_and_relinked_to_the_head_is_caught(app: Flask) -> None:
    """The probe's third forgery: without the key, recomputing every hash after the edit
    (SHA-256, as the chain used to be) and moving the head along no longer passes."""
    write_events(6)
    victim = by_seq(3)
    sql("UPDATE events SET action = 'forged' WHERE id = :id", id=victim.id)
    db.session.expire_all()
    prev = by_seq(2).hash
    for seq in range(3, 7):
        row = by_seq(seq)
        fields = dict(
            seq=seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            request_id=row.request_id,
            status_before=row.status_before,
            status_after=row.status_after,
            detail=row.detail,
            prev_hash=prev,
        )
        digest = hashlib.sha256(audit.canonical_event(**fields)).hexdigest()
        sql(
            "UPDATE events SET prev_hash = :p, hash = :h WHERE id = :id",
            p=prev,
            h=digest,
            id=row.id,
        )
        prev = digest
    sql("UPDATE audit_head SET hash = :h", h=prev)
    assert_broken(app, 3, victim.id, "the event was edited")


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


def test_an_empty_log_verifies(app: Flask) -> None:
    cli = verify_cli(app)
    assert cli.exit_code == 0
    assert cli.output == f"OK: 0 events, chain intact, head {ZEROS}\n"


# --- nothing is adopted ------------------------------------------------------------------------


def test_a_row_inserted_behind_dsars_back_stays_broken_after_later_commits(app: Flask) -> None:
    """The probe's first forgery: the app used to chain such a row at its next commit."""
    write_events(3)
    intruder = insert_unchained(at="2026-01-01 10:00:00.000000")
    assert_broken(app, None, intruder, "this event has no place in the chain")

    write_events(2, actor="later")
    events = chain()
    assert [(e.seq, e.actor) for e in events if e.seq] == [
        (1, "tests"),
        (2, "tests"),
        (3, "tests"),
        (4, "later"),
        (5, "later"),
    ]
    assert db.session.get(Event, intruder).seq is None  # type: ignore[union-attr]
    assert_broken(app, None, intruder, "this event has no place in the chain")


def test_events_from_before_the_chain_are_not_adopted_by_a_later_commit(app: Flask) -> None:
    """Rows without a seq that dsar did not write stay outside the chain; only migration
    0007 chains the events from before the chain (see the migration tests below)."""
    old = [insert_unchained(at=f"2025-01-0{i + 1} 10:00:00.000000", i=i) for i in range(3)]
    assert_broken(app, None, old[0], "this event has no place in the chain")

    write_events(1, actor="new")
    assert [(e.seq, e.action) for e in chain() if e.seq] == [(1, "test_event")]
    assert db.session.scalars(select(Event.id).where(Event.seq.is_(None))).all() == old
    assert_broken(app, None, old[0], "this event has no place in the chain")


# --- savepoints and rollbacks --------------------------------------------------------------


def test_a_rolled_back_event_takes_no_place_in_the_chain(app: Flask) -> None:
    write_events(2)
    record(None, "never", actor="tests")
    db.session.flush()
    db.session.rollback()
    write_events(1)
    assert [e.seq for e in chain()] == [1, 2, 3]
    assert "never" not in {e.action for e in chain()}
    assert audit_checks.verify().ok


def test_a_rolled_back_savepoint_keeps_the_outer_events_and_drops_its_own(app: Flask) -> None:
    record(None, "outer_before", actor="tests")
    db.session.flush()
    with pytest.raises(RuntimeError), db.session.begin_nested():
        record(None, "in_savepoint", actor="tests")
        db.session.flush()
        raise RuntimeError("roll the savepoint back")
    savepoint = db.session.begin_nested()
    record(None, "in_explicit_savepoint", actor="tests")
    db.session.flush()
    savepoint.rollback()
    record(None, "outer_after", actor="tests")
    db.session.commit()
    assert [(e.seq, e.action) for e in chain()] == [(1, "outer_before"), (2, "outer_after")]
    assert audit_checks.verify().ok


def test_events_of_released_savepoints_are_chained_by_the_outer_commit(app: Flask) -> None:
    """Released savepoints hand their events to the enclosing one; rolling that one back
    takes them all, however deep."""
    with db.session.begin_nested():
        record(None, "released", actor="tests")
        with db.session.begin_nested():
            record(None, "released_inner", actor="tests")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        with db.session.begin_nested():
            record(None, "inner_of_rolled_back", actor="tests")
        raise RuntimeError("roll the outer savepoint back")
    record(None, "outer", actor="tests")
    db.session.commit()
    assert [(e.seq, e.action) for e in chain()] == [
        (1, "released"),
        (2, "released_inner"),
        (3, "outer"),
    ]
    assert audit_checks.verify().ok


def test_a_closed_session_forgets_its_events(app: Flask) -> None:
    """SQLite hands a rolled-back id out again: a row an intruder then inserts must not be
    taken for the event the closed session once flushed."""
    write_events(1)
    record(None, "dropped", actor="tests")
    db.session.flush()
    dropped_id = db.session.scalar(select(func.max(Event.id)))
    db.session.close()
    intruder = insert_unchained()
    assert intruder == dropped_id
    write_events(1)
    assert db.session.get(Event, intruder).seq is None  # type: ignore[union-attr]
    assert [e.seq for e in chain() if e.seq] == [1, 2]
    assert_broken(app, None, intruder, "this event has no place in the chain")


# --- the audit key -------------------------------------------------------------------------


def test_another_audit_key_is_named_and_cannot_write_on(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_events(3)
    written_with = audit.key_id(audit.current_key())
    monkeypatch.setitem(app.config, "DSAR_AUDIT_KEY", OTHER_KEY)
    this_one = audit.key_id(OTHER_KEY.encode())
    said = (
        "the chain was written with another audit key "
        f"(key id {written_with}, this process has {this_one})"
    )

    result = audit_checks.verify()
    assert not result.ok
    assert result.wrong_key
    assert said in result.reason
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert cli.output.startswith(f"CANNOT VERIFY: {said}")

    # Writing on with this key would split the chain between two keys: refused.
    record(None, "with_the_other_key", actor="tests")
    with pytest.raises(audit.AuditKeyMismatch, match="another audit key"):
        db.session.commit()
    db.session.rollback()
    monkeypatch.setitem(app.config, "DSAR_AUDIT_KEY", "")
    assert [e.seq for e in chain()] == [1, 2, 3]
    assert audit_checks.verify().ok


def test_a_changed_key_id_in_the_head_is_caught(app: Flask) -> None:
    write_events(3)
    sql("UPDATE audit_head SET key_id = 'ffffffffffffffff'")
    assert_broken(app, 3, by_seq(3).id, "the head's key id was changed")


# --- checkpoints -----------------------------------------------------------------------------


def audit_dir(app: Flask) -> Path:
    return app.config["DSAR_AUDIT_DIR"]


def truncate_to(seq: int) -> None:
    """The probe's second forgery: delete the newest events and move the head back."""
    last = by_seq(seq)
    sql("DELETE FROM events WHERE seq > :seq", seq=seq)
    sql("UPDATE audit_head SET seq = :seq, hash = :h", seq=seq, h=last.hash)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_periodic_job_writes_a_signed_checkpoint_outside_the_database(app: Flask) -> None:
    from workers.jobs import checkpoint_audit_chain

    write_events(4)
    checkpoint_audit_chain()
    folder = audit_dir(app)
    assert sorted(p.name for p in folder.iterdir()) == ["latest.json", "seq-000000000004.json"]
    assert mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    latest = json.loads((folder / "latest.json").read_text())
    assert (folder / "seq-000000000004.json").read_text() == (folder / "latest.json").read_text()
    assert set(latest) == {"format", "seq", "hash", "at", "key_id", "signature"}
    assert latest["format"] == "dsar-audit-checkpoint/1"
    assert (latest["seq"], latest["hash"]) == (4, by_seq(4).hash)
    assert latest["key_id"] == audit.key_id(audit.current_key())
    signed = {k: v for k, v in latest.items() if k != "signature"}
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    expected = hmac.new(audit.current_key(), canonical, hashlib.sha256).hexdigest()
    assert latest["signature"] == expected

    write_events(1)
    checkpoint_audit_chain()
    checkpoint_audit_chain()  # idempotent: the same seq's file again
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["latest.json", "seq-000000000004.json", "seq-000000000005.json"]
    assert json.loads((folder / "latest.json").read_text())["seq"] == 5


def test_the_checkpoint_history_keeps_the_newest_100(app: Flask) -> None:
    for _ in range(102):
        write_events(1)
        checkpoints.write()
    history = sorted(p.name for p in audit_dir(app).glob("seq-*.json"))
    assert len(history) == 100
    assert history[0] == "seq-000000000003.json"
    assert history[-1] == "seq-000000000102.json"
    assert not list(audit_dir(app).glob(".checkpoint-*"))  # no temp file left behind


def test_audit_checkpoint_writes_one_now_and_says_where(app: Flask) -> None:
    write_events(2)
    out = app.test_cli_runner().invoke(args=["dsar", "audit-checkpoint"])
    assert out.exit_code == 0, out.output
    path = audit_dir(app) / "seq-000000000002.json"
    assert out.output.startswith(f"Checkpoint of seq 2 (hash {by_seq(2).hash}, ")
    assert f"written to {path} and {audit_dir(app) / 'latest.json'}." in out.output
    assert json.loads(path.read_text())["seq"] == 2


def test_audit_verify_checks_the_newest_checkpoint_and_says_which(app: Flask) -> None:
    write_events(3)
    checkpoints.write()
    write_events(2)
    checkpoint, _ = checkpoints.write()
    cli = verify_cli(app)
    assert cli.exit_code == 0, cli.output
    lines = cli.output.splitlines()
    assert lines[0].startswith("OK: 5 events, chain intact")
    used = audit_dir(app) / "seq-000000000005.json"
    assert lines[1] == (
        f"OK: checkpoint {used} (written {checkpoint.written}) saw seq 5; the chain still holds it"
    )


def test_deleting_the_newest_events_is_caught_with_a_checkpoint_file(
    app: Flask, client: FlaskClient, login: Callable[[str], str], tmp_path: Path
) -> None:
    login("auditor")  # the first event: the account's creation
    write_events(5)
    kept = tmp_path / "kept-by-the-auditor.json"
    kept.write_bytes(client.get("/audit/chain/checkpoint.json").data)
    written = checkpoints.read(kept).written
    truncate_to(4)
    assert audit_checks.verify().ok  # the chain alone cannot see it

    cli = verify_cli(app, "--checkpoint", str(kept))
    assert cli.exit_code == 1
    assert cli.output.splitlines() == [
        f"OK: 4 events, chain intact, head {by_seq(4).hash}",
        f"BROKEN: the chain ends at seq 4 but checkpoint {kept} (written {written}) saw seq 6: "
        "events were deleted",
    ]


def test_deleting_the_newest_events_is_caught_with_the_newest_checkpoint_kept_by_dsar(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("auditor")  # the first event: the account's creation
    write_events(5)
    checkpoint, path = checkpoints.write()
    truncate_to(4)
    said = (
        f"BROKEN: the chain ends at seq 4 but checkpoint {path} (written {checkpoint.written}) "
        "saw seq 6: events were deleted"
    )
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert cli.output.splitlines()[1] == said

    html = client.get("/audit/chain").get_data(as_text=True)
    assert said in html
    assert "events the chain once" in html

    # Nor may a new checkpoint hide it: the job refuses, and the newest stays at seq 6.
    with pytest.raises(checkpoints.CheckpointConflict, match="the chain ends at seq 4"):
        checkpoints.write()
    out = app.test_cli_runner().invoke(args=["dsar", "audit-checkpoint"])
    assert out.exit_code == 1
    assert "no checkpoint was written" in out.output
    assert json.loads((audit_dir(app) / "latest.json").read_text())["seq"] == 6


def test_a_rewritten_history_disagrees_with_the_checkpoint(app: Flask) -> None:
    write_events(4)
    checkpoint, path = checkpoints.write()
    victim = by_seq(4)
    sql("UPDATE events SET hash = :h WHERE id = :id", h="ab" * 32, id=victim.id)
    sql("UPDATE audit_head SET hash = :h", h="ab" * 32)
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert cli.output.splitlines()[1] == (
        f"BROKEN at event seq 4 (id {victim.id}): checkpoint {path} (written "
        f"{checkpoint.written}) saw hash {checkpoint.hash}, the chain now holds {'ab' * 32}: "
        "the history up to this event was rewritten"
    )


def forge(data: dict[str, object], what: str) -> None:
    if what == "edited seq":
        data["seq"] = 4
    elif what == "edited hash":
        data["hash"] = "cd" * 32
    elif what == "edited time":
        data["at"] = "2020-01-01T00:00:00.000000+00:00"
    elif what == "signed with plain SHA-256":
        data["seq"] = 4
        body = {k: v for k, v in data.items() if k != "signature"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        data["signature"] = hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "what", ["edited seq", "edited hash", "edited time", "signed with plain SHA-256"]
)
def test_an_edited_or_forged_checkpoint_is_refused(app: Flask, tmp_path: Path, what: str) -> None:
    write_events(6)
    data = json.loads(checkpoints.take().to_json())
    forge(data, what)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    cli = verify_cli(app, "--checkpoint", str(forged))
    assert cli.exit_code == 1
    assert cli.output.splitlines()[1] == (
        f"REFUSED: checkpoint {forged}: its signature does not match: the file was edited or forged"
    )

    # The same file put in dsar's audit folder: refused by the check and by the next job.
    checkpoints.write()
    (audit_dir(app) / "seq-000000000006.json").write_text(json.dumps(data))
    cli = verify_cli(app)
    assert cli.exit_code == 1
    assert "REFUSED: checkpoint " in cli.output
    with pytest.raises(checkpoints.CheckpointRefused, match="signature does not match"):
        checkpoints.write()


def test_a_checkpoint_signed_with_another_key_is_refused_with_both_key_ids(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_events(2)
    kept = tmp_path / "kept.json"
    kept.write_text(checkpoints.take().to_json())
    signed_with = audit.key_id(audit.current_key())
    monkeypatch.setitem(app.config, "DSAR_AUDIT_KEY", OTHER_KEY)
    cli = verify_cli(app, "--checkpoint", str(kept))
    assert cli.exit_code == 1
    assert (
        f"REFUSED: checkpoint {kept}: its signature does not match: it was signed with another "
        f"audit key (key id {signed_with}, this process has {audit.key_id(OTHER_KEY.encode())})"
    ) in cli.output


VALID = {
    "format": "dsar-audit-checkpoint/1",
    "seq": 3,
    "hash": "a" * 64,
    "at": "2026-03-01T12:00:00.000000+00:00",
    "key_id": "b" * 16,
    "signature": "c" * 64,
}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("this is not json", "it is not JSON"),
        ("", "it is not JSON"),
        ("[1, 2, 3]", "it is not a JSON object"),
        ("[" * 5000, "over 4096 bytes"),
        ("[" * 3000, "nested too deeply"),
        (json.dumps({k: v for k, v in VALID.items() if k != "hash"}), "it lacks hash"),
        (json.dumps({**VALID, "extra": 1}), "fields a checkpoint has not: extra"),
        (json.dumps({**VALID, "seq": "3"}), "seq must be a whole number, not str"),
        (json.dumps({**VALID, "seq": True}), "seq must be a whole number, not bool"),
        (json.dumps({**VALID, "seq": 3.5}), "seq must be a whole number, not float"),
        (json.dumps({**VALID, "seq": -1}), "seq must be 0 or more"),
        (json.dumps({**VALID, "hash": None}), "hash must be a string, not NoneType"),
        (json.dumps({**VALID, "hash": "xyz"}), "hash must be 64 lowercase hexadecimal digits"),
        (json.dumps({**VALID, "format": "other/1"}), "format must be 'dsar-audit-checkpoint/1'"),
        (json.dumps({**VALID, "at": "yesterday"}), "at must be an ISO 8601 time"),
        (json.dumps({**VALID, "at": "2026-03-01T12:00:00"}), "with its UTC offset"),
    ],
)
def test_a_malformed_checkpoint_file_is_a_usage_error(
    app: Flask, tmp_path: Path, content: str, said: str
) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_text(content)
    cli = verify_cli(app, "--checkpoint", str(path))
    assert cli.exit_code == 2, cli.output
    assert isinstance(cli.exception, SystemExit)  # click's usage error, not a traceback
    assert "Invalid value for --checkpoint: " in cli.output
    assert f"{path} is not a dsar audit checkpoint" in cli.output
    assert said in cli.output


def test_a_checkpoint_file_that_is_not_text_or_not_there_is_a_usage_error(
    app: Flask, tmp_path: Path
) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    cli = verify_cli(app, "--checkpoint", str(binary))
    assert cli.exit_code == 2
    assert "it is not UTF-8 text" in cli.output
    cli = verify_cli(app, "--checkpoint", str(tmp_path / "missing.json"))
    assert cli.exit_code == 2
    assert "does not exist" in cli.output


# --- the auditor's chain page ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "officer", "admin"])
def test_the_chain_page_shows_the_verdict_and_the_current_checkpoint(
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
    assert f"<dt>Seq</dt><dd>{head.seq}</dd>" in html
    assert f"<dt>Hash</dt><dd><code>{head.hash}</code></dd>" in html
    assert " UTC</dd>" in html
    assert 'href="/audit/chain/checkpoint.json"' in html
    assert "Download a signed checkpoint" in html
    assert "flask --app wsgi dsar audit-verify --checkpoint FILE" in html

    victim = by_seq(2)
    sql("UPDATE events SET actor = 'someone-else' WHERE id = :id", id=victim.id)
    html = client.get("/audit/chain").get_data(as_text=True)
    assert f"BROKEN at event seq 2 (id {victim.id}): " in html
    assert "the event was edited" in html


@pytest.mark.parametrize("role", ["auditor", "officer", "admin"])
def test_the_chain_page_hands_out_a_freshly_signed_checkpoint(
    app: Flask, client: FlaskClient, login: Callable[[str], str], role: str
) -> None:
    login(role)
    write_events(2)
    resp = client.get("/audit/chain/checkpoint.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    head = db.session.get(AuditHead, 1)
    assert head is not None
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="dsar-audit-checkpoint-seq-{head.seq}.json"'
    )
    checkpoint = checkpoints.parse(resp.get_data(as_text=True))
    checkpoints.check_signature(checkpoint, key=audit.current_key())
    assert (checkpoint.seq, checkpoint.hash) == (head.seq, head.hash)
    assert checkpoint.key_id == audit.key_id(audit.current_key())


def test_the_chain_page_needs_a_staff_login(client: FlaskClient, app: Flask) -> None:
    for url in ("/audit/chain", "/audit/chain/checkpoint.json"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]


# --- migration 0007 --------------------------------------------------------------------------


@pytest.fixture
def old_app(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app on a fresh database migrated only to 0006: the SHA-256 chain of old."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/old.db")
    old = create_app()
    with old.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0006")
        yield old
        db.session.remove()
        db.engine.dispose()


def old_event(event_id: int, seq: int | None, prev: str, action: str = "old") -> str:
    """Insert an event as dsar before 0007 wrote it (plain SHA-256); its hash."""
    at = datetime(2025, 6, 1, 9, 0, event_id, tzinfo=UTC)
    fields = dict(
        seq=seq or 0,
        at=at,
        actor="system",
        action=action,
        request_id=None,
        status_before="",
        status_after="",
        detail={"n": event_id},
        prev_hash=prev,
    )
    digest = hashlib.sha256(audit.canonical_event(**fields)).hexdigest() if seq else ""
    sql(
        "INSERT INTO events (id, seq, at, actor, action, status_before, status_after, detail, "
        "prev_hash, hash) VALUES (:id, :seq, :at, 'system', :action, '', '', :d, :p, :h)",
        id=event_id,
        seq=seq,
        at=at.strftime("%Y-%m-%d %H:%M:%S.%f"),
        action=action,
        d=json.dumps({"n": event_id}),
        p=prev if seq else "",
        h=digest,
    )
    return digest


def old_chain(pre_chain: int = 2, chained: int = 4) -> None:
    """Events from before migration 0005 (no seq), then a chain the old code wrote."""
    for event_id in range(1, pre_chain + 1):
        old_event(event_id, None, "")
    prev = ZEROS
    for seq in range(1, chained + 1):
        prev = old_event(pre_chain + seq, seq, prev)
    sql("INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :h)", seq=chained, h=prev)


def migrate_to_head() -> None:
    from alembic import command
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config(str(ROOT / "migrations"))
    command.upgrade(config, "head")


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()  # type: ignore[return-value]


def revision() -> str:
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))  # type: ignore[return-value]


def test_the_0007_upgrade_rekeys_an_intact_chain_and_chains_the_older_events_once(
    old_app: Flask,
) -> None:
    old_chain(pre_chain=2, chained=4)
    old_hashes = {e.id: e.hash for e in chain() if e.seq}
    migrate_to_head()
    assert revision() == head_revision()
    events = chain()
    # The chain as it was, hashed again with the key; then the two older events, in id order.
    assert [(e.seq, e.id) for e in events] == [(1, 3), (2, 4), (3, 5), (4, 6), (5, 1), (6, 2)]
    assert all(e.hash != old_hashes.get(e.id) for e in events)
    head = db.session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (6, events[-1].hash)
    assert head.key_id == audit.key_id(audit.current_key())
    assert audit_checks.verify().ok

    # From now on, nothing is adopted: a new row without a seq stays outside the chain.
    intruder = insert_unchained()
    write_events(1)
    assert [e.seq for e in chain() if e.seq] == [1, 2, 3, 4, 5, 6, 7]
    assert audit_checks.verify().broken_id == intruder


def test_the_0007_upgrade_chains_the_events_of_an_install_that_never_chained(
    old_app: Flask,
) -> None:
    old_chain(pre_chain=3, chained=0)
    migrate_to_head()
    assert [(e.seq, e.id) for e in chain()] == [(1, 1), (2, 2), (3, 3)]
    assert audit_checks.verify().ok


def edit_content() -> None:
    sql("UPDATE events SET action = 'forged' WHERE seq = 2")


def delete_middle() -> None:
    sql("DELETE FROM events WHERE seq = 2")


def truncate_head() -> None:
    sql("DELETE FROM events WHERE seq = 4")


def stray_row() -> None:
    old_event(50, None, "", action="stray")


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (edit_content, "BROKEN at event seq 2 (id 4): its content does not match its hash"),
        (delete_middle, "BROKEN at event seq 3 (id 5): seq 2 is missing before it"),
        (truncate_head, "BROKEN at event seq 3 (id 5): the chain head is at seq 4"),
        (stray_row, "BROKEN at event seq none (id 50): this event has no place in the chain"),
    ],
)
def test_the_0007_upgrade_refuses_a_broken_chain_and_changes_nothing(
    old_app: Flask, tamper: Callable[[], None], said: str
) -> None:
    old_chain(pre_chain=2, chained=4)
    tamper()
    before = [(e.id, e.seq, e.prev_hash, e.hash) for e in chain()]
    with pytest.raises(RuntimeError) as refused:
        migrate_to_head()
    assert type(refused.value).__name__ == "AuditChainBroken"
    assert said in str(refused.value)
    assert "revision 0007 stopped and changed nothing" in str(refused.value)
    db.session.rollback()
    assert revision() == "0006"
    assert [(e.id, e.seq, e.prev_hash, e.hash) for e in chain()] == before
    columns = [row[1] for row in db.session.execute(text("PRAGMA table_info(audit_head)"))]
    assert "key_id" not in columns


def test_the_0007_downgrade_restores_the_sha256_chain(old_app: Flask) -> None:
    from flask_migrate import downgrade

    old_chain(pre_chain=0, chained=3)
    old_hashes = [e.hash for e in chain()]
    migrate_to_head()
    write_events(1)
    downgrade(directory=str(ROOT / "migrations"), revision="0006")
    events = chain()
    assert [e.hash for e in events[:3]] == old_hashes
    assert (
        events[3].hash
        == hashlib.sha256(
            audit.canonical_event(
                seq=4,
                at=events[3].at,
                actor=events[3].actor,
                action=events[3].action,
                request_id=None,
                status_before="",
                status_after="",
                detail=events[3].detail,
                prev_hash=old_hashes[-1],
            )
        ).hexdigest()
    )


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
    result = audit_checks.verify()
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
        result = audit_checks.verify()
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
    result = audit_checks.verify()
    assert result.ok, result.message
    assert result.checked == len(events)
