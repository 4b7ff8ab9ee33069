"""Retention: located data purged after DSAR_PURGE_DAYS, identities after DSAR_RECORD_MONTHS."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import transitions
from dsar.extensions import db
from dsar.models import Document, Event, Request, RequestStatus, Task, utcnow
from dsar.services import downloads, intake, retention
from dsar.services.api_keys import create as create_api_key
from tests.conftest import download_answer

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+1 415 555 0100"}


@pytest.fixture
def done(
    client: FlaskClient, demo_systems: list[str], run_workers: Callable[..., None]
) -> tuple[str, int]:
    """A completed access request (real workers), downloaded once by the person."""
    key, _ = create_api_key("tests")
    receipt = intake.submit(
        intake.Submission(kind="access", regime="ccpa", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    rid = receipt.request.id
    run_workers(lambda: db.session.get(Request, rid).status not in transitions.OPEN_STATUSES)
    assert db.session.get(Request, rid).status is RequestStatus.COMPLETED
    return f"/r/{receipt.tracking_token}", rid


def snapshot(rid: int) -> dict:
    db.session.expire_all()
    req = db.session.get(Request, rid)
    return {
        "counts": [(t.found_count, t.erased_count, t.retained_count) for t in req.tasks],
        "receipts": [(t.result or {}).get("receipts") for t in req.tasks],
        "documents": [(d.id, d.kind, d.sha256) for d in req.documents],
        "events": len(req.events),
    }


def later(rid: int, **delta: float) -> datetime:
    return db.session.get(Request, rid).completed_at + timedelta(**delta)


def test_nothing_is_purged_early_and_open_requests_are_untouched(
    app: Flask, done: tuple[str, int], outbox: Callable[[], list]
) -> None:
    _, rid = done
    waiting = intake.submit(
        intake.Submission(kind="access", regime="gdpr", name="Ann Lee", email="ann@example.org"),
        channel="portal",
    ).request.id
    before = snapshot(rid)
    counts = retention.run(now=later(rid, days=29, hours=23))
    assert counts == {
        "requests_data_purged": 0,
        "tasks_cleared": 0,
        "files_deleted": 0,
        "records_purged": 0,
        "orphans_deleted": 0,
        "choice_links_deleted": 0,
    }
    # Years later, a request still waiting for its email confirmation keeps everything.
    retention.run(now=later(rid, days=365 * 3))
    ann = db.session.get(Request, waiting)
    assert ann.email == "ann@example.org" and ann.data_purged_at is None
    assert ann.record_purged_at is None
    jane = db.session.get(Request, rid)
    assert jane.record_purged_at is not None  # the closed one, for contrast
    assert before["events"] < len(jane.events)


def test_located_data_is_purged_after_thirty_days_and_the_record_kept(
    app: Flask, client: FlaskClient, done: tuple[str, int], outbox: Callable[[], list]
) -> None:
    path, rid = done
    assert download_answer(client, path, outbox).startswith(b"%PDF")
    req = db.session.get(Request, rid)
    assert any((t.result or {}).get("records") for t in req.tasks)
    files = [downloads.path_of(d) for d in req.documents]
    assert files and all(f.is_file() for f in files)
    before = snapshot(rid)

    now = later(rid, days=30)
    counts = retention.run(now=now)
    assert counts["requests_data_purged"] == 1
    assert counts["files_deleted"] == len(files)
    assert counts["tasks_cleared"] == len(req.tasks)
    assert counts["records_purged"] == 0

    db.session.expire_all()
    req = db.session.get(Request, rid)
    assert req.data_purged_at == now
    assert all(not f.exists() for f in files)
    for task in req.tasks:
        assert "records" not in (task.result or {})
        assert "identifiers" not in (task.result or {})
        assert task.preview is None
    raw = str([t.result for t in req.tasks]).lower()
    assert "jane" not in raw and "doe" not in raw
    after = snapshot(rid)
    assert after["counts"] == before["counts"]
    assert after["receipts"] == before["receipts"]
    assert after["documents"] == before["documents"]  # rows and SHA-256 stay
    assert after["events"] == before["events"] + 1
    (purged,) = db.session.scalars(select(Event).where(Event.action == "data_purged")).all()
    assert purged.detail["tasks_cleared"] == len(req.tasks)
    assert sorted(purged.detail["documents_deleted"]) == sorted(d[0] for d in before["documents"])
    assert "jane" not in str(purged.detail).lower()
    assert req.name == "Jane Doe"  # the identity stays until the record period ends

    # The person is told the files are gone, not shown an error.
    doc = db.session.scalars(select(Document).where(Document.kind == "response")).first()
    resp = client.get(f"{path}/files/{doc.id}")
    assert resp.status_code == 410
    assert "purged under our retention policy" in resp.get_data(as_text=True)
    assert "deleted under our retention policy" in client.get(path).get_data(as_text=True)

    # Running again changes nothing.
    assert retention.run(now=now + timedelta(days=1)) == {
        "requests_data_purged": 0,
        "tasks_cleared": 0,
        "files_deleted": 0,
        "records_purged": 0,
        "orphans_deleted": 0,
        "choice_links_deleted": 0,
    }
    assert snapshot(rid) == after


def test_the_identity_is_stripped_after_the_record_period(
    app: Flask, client: FlaskClient, done: tuple[str, int]
) -> None:
    path, rid = done
    req = db.session.get(Request, rid)
    reference, kind, received = req.reference, req.kind, req.received_at
    completed = req.completed_at
    early = retention.run(now=later(rid, days=700))  # under 24 months: only the data goes
    assert (early["requests_data_purged"], early["records_purged"]) == (1, 0)
    assert db.session.get(Request, rid).name == "Jane Doe"

    now = retention.months_before(completed, -24)
    counts = retention.run(now=now)
    assert counts["records_purged"] == 1
    assert counts["requests_data_purged"] == 0  # done at 700 days already
    db.session.expire_all()
    req = db.session.get(Request, rid)
    assert req.record_purged_at == now
    assert (req.name, req.email, req.phone, req.country, req.details) == (
        retention.REMOVED_NAME,
        "",
        "",
        "",
        "",
    )
    # The accountability record stays (CCPA 11 CCR 7101).
    assert (req.reference, req.kind, req.received_at) == (reference, kind, received)
    assert req.status is RequestStatus.COMPLETED and req.completed_at == completed
    assert all(t.found_count for t in db.session.scalars(select(Task)))
    actions = [e.action for e in req.events]
    assert actions[0] == "submitted" and actions[-2:] == ["data_purged", "record_purged"]
    assert all(downloads.is_purged(d) for d in req.documents)
    page = client.get(path).get_data(as_text=True)
    assert reference in page and "Jane" not in page
    assert retention.run(now=now + timedelta(days=1))["records_purged"] == 0


def test_months_before_keeps_the_day_or_takes_the_last_day_of_the_month() -> None:
    assert retention.months_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert retention.months_before(datetime(2028, 2, 29), 24) == datetime(2026, 2, 28)
    assert retention.months_before(datetime(2026, 1, 15), 24) == datetime(2024, 1, 15)
    assert retention.months_before(datetime(2024, 1, 15), -24) == datetime(2026, 1, 15)


def test_the_purge_command_counts_and_dry_run_changes_nothing(
    app: Flask, done: tuple[str, int]
) -> None:
    _, rid = done
    req = db.session.get(Request, rid)
    req.completed_at -= timedelta(days=31)
    db.session.commit()
    files = [downloads.path_of(d) for d in req.documents]
    runner = app.test_cli_runner()
    dry: Result = runner.invoke(args=["dsar", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert re.search(r'would purge: .*"requests_data_purged": 1', dry.output)
    assert all(f.is_file() for f in files)
    db.session.expire_all()
    assert db.session.get(Request, rid).data_purged_at is None
    real = runner.invoke(args=["dsar", "purge"])
    assert real.exit_code == 0, real.output
    assert f'"files_deleted": {len(files)}' in real.output
    assert all(not f.exists() for f in files)


def test_files_no_row_names_are_deleted_once_no_job_can_still_be_writing_them(
    app: Flask, done: tuple[str, int]
) -> None:
    import os

    from dsar.services import orphans

    _, rid = done
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    uploads_dir = app.config["DSAR_UPLOADS_DIR"]
    uploads_dir.mkdir(parents=True, exist_ok=True)
    kept = [downloads.path_of(d) for d in db.session.get(Request, rid).documents]
    old = utcnow().timestamp() - orphans.min_age() - 60
    left = folder / "DSAR-2026-000009-response-0123456789ab.pdf"  # a failed job's file
    left.write_bytes(b"%PDF- personal data")
    scan = uploads_dir / "0123456789abcdef0123456789abcdef.pdf"
    scan.write_bytes(b"%PDF- a scan")
    writing = folder / ".tmp-abc123"  # a render in progress: too young to touch
    writing.write_bytes(b"%PDF- being written")
    for path in (left, scan, *kept):
        os.utime(path, (old, old))

    assert retention.run(dry_run=True)["orphans_deleted"] == 2
    assert left.exists() and scan.exists()
    counts = retention.run()
    assert counts["orphans_deleted"] == 2
    assert not left.exists() and not scan.exists()
    assert writing.exists() and all(p.exists() for p in kept)
    (event,) = db.session.scalars(select(Event).where(Event.action == "orphan_files_deleted"))
    assert event.detail == {"files": 2}
    assert retention.run()["orphans_deleted"] == 0
