"""jane.doe through every demo system, the paper archive included: access, deletion, opt-out.

Real Redis, real rq workers, the help desk over HTTP, and the archive's owner answering through
the one-time link the workers email them.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus, TaskStatus
from dsar.services import decisions
from tests.conftest import api_headers, link_in

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958"}


def submit(client: FlaskClient, api_key: str, kind: str, regime: str = "gdpr") -> str:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": kind, "regime": regime, "identity_verified": True, **JANE},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json["reference"]


def the(reference: str) -> Request:
    db.session.remove()
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def owner_reports(
    client: FlaskClient, outbox: Callable[[], list], outcome: str, count: int
) -> None:
    """The archive's owner follows the newest task link they were sent and reports."""
    sent = [m for m in outbox() if m["To"] == "archive@example.com"]
    assert sent, "the archive's owner got no task link"
    link = link_in(sent[-1], r"(http://dsar\.test/task/[\w-]+)")
    path = link.removeprefix("http://dsar.test")
    page = client.get(path)
    assert page.status_code == 200
    assert "jane.doe@example.com" in page.get_data(as_text=True)  # whom to look for
    html = page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        path,
        data={"csrf_token": token.group(1), "outcome": outcome, "count": str(count), "note": ""},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert client.get(path).status_code == 404  # one-time


def answered(reference: str) -> Callable[[], bool]:
    """Every system has answered, or waits for its owner (the archive)."""
    waiting = {TaskStatus.SUCCEEDED, TaskStatus.ACTION_REQUIRED}
    return lambda: all(t.status in waiting for t in the(reference).tasks)


def by_system(req: Request) -> dict[str, tuple[str, int, int, int]]:
    return {
        t.system.key: (t.status.value, t.found_count, t.erased_count, t.retained_count)
        for t in req.tasks
    }


def test_jane_access_reaches_every_system_and_the_archive_owner(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_archive: str,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    ref = submit(client, api_key, "access")
    run_workers(answered(ref))
    assert the(ref).status is RequestStatus.IN_PROGRESS  # waiting for the archive's owner
    owner_reports(client, outbox, "found", 2)
    run_workers(lambda: the(ref).status is RequestStatus.COMPLETED)
    req = the(ref)
    found = {k: v[1] for k, v in by_system(req).items()}
    # The shop finds her old account (another email) through the customer id the CRM holds.
    assert found == {
        "crm": 1,
        "shop": 10,
        "newsletter": 1,
        "helpdesk": 3,
        "events": 2,
        "archive": 2,
    }
    shop = next(t for t in req.tasks if t.system.key == "shop")
    emails = {r.get("email") for r in shop.result["records"]["customers"]}
    assert emails == {"jane.doe@example.com", "j.doe.old@example.com"}
    pdf = next(d for d in req.documents if d.kind == "response")
    data = (app.config["DSAR_DOCUMENTS_DIR"] / pdf.filename).read_bytes()
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Paper archive" in " ".join(text.split())
    attached = db.session.scalars(
        select(Document).where(Document.request_id == req.id, Document.kind == "data_json")
    ).one()
    held = json.loads((app.config["DSAR_DOCUMENTS_DIR"] / attached.filename).read_text())
    assert "j.doe.old@example.com" in json.dumps(held)


def test_jane_deletion_erases_everywhere_keeps_what_the_law_keeps_and_proves_it(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_archive: str,
    demo_dir: Path,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    ref = submit(client, api_key, "deletion")
    run_workers(answered(ref))
    owner_reports(client, outbox, "found", 1)  # the dry run: the owner found one contract
    assert the(ref).status is RequestStatus.AWAITING_APPROVAL
    decisions.approve(the(ref), actor="user:1")
    run_workers(answered(ref))
    owner_reports(client, outbox, "erased", 1)
    run_workers(lambda: the(ref).status is RequestStatus.COMPLETED)
    req = the(ref)
    assert by_system(req) == {
        "crm": ("succeeded", 1, 1, 0),
        "shop": ("succeeded", 10, 6, 4),  # 4 invoices kept for tax law
        "newsletter": ("succeeded", 1, 1, 0),
        "helpdesk": ("succeeded", 3, 3, 0),
        "events": ("succeeded", 2, 2, 0),
        "archive": ("succeeded", 1, 1, 0),
    }
    automated = [t for t in req.tasks if t.system.key != "archive"]
    assert all(t.proof_checked_at is not None and t.remaining_count == 0 for t in automated)
    shop = next(t for t in req.tasks if t.system.key == "shop")
    assert {k["place"] for k in shop.result["kept"]} == {"invoices"}
    assert all(k["citation"] for k in shop.result["kept"])


def test_jane_opt_out_reaches_every_system_with_a_receipt_each(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_archive: str,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    ref = submit(client, api_key, "opt_out", regime="ccpa")
    run_workers(answered(ref))
    owner_reports(client, outbox, "opted_out", 1)
    run_workers(lambda: the(ref).status is RequestStatus.COMPLETED)
    req = the(ref)
    assert all(t.status is TaskStatus.SUCCEEDED for t in req.tasks)
    receipts = {t.system.key: " ".join(t.result["receipts"]) for t in req.tasks}
    assert all(receipts.values()), receipts
    assert "suppression" in receipts["newsletter"]
