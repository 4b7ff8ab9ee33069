"""The deletion certificate and the opt-out confirmation, read back from the PDF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.documents import certificates, words
from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, Document, Request, RequestStatus, TaskStatus
from dsar.rules import citations
from dsar.services import decisions
from tests.conftest import api_headers, pdf_text, staff_post

pytestmark = pytest.mark.slow

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
SYSTEMS = {
    "crm": "CRM (contacts)",
    "shop": "Web shop (customers and orders)",
    "newsletter": "Newsletter (mailing lists)",
    "helpdesk": "Help desk (support tickets)",
    "events": "Events guest list (spreadsheet)",
}
MANUAL_SKIP = "checked by the records office"


def the_request() -> Request:
    return db.session.scalars(select(Request)).one()


def stored_pdf(app: Flask, req: Request) -> bytes:
    doc = db.session.scalars(select(Document).where(Document.request_id == req.id)).one()
    assert doc.kind == "response"
    return (app.config["DSAR_DOCUMENTS_DIR"] / doc.filename).read_bytes()


def waiting_only_for_people() -> bool:
    """Every task is final, or waits for a person (a system with no API)."""
    tasks = the_request().tasks
    return bool(tasks) and all(
        t.status in FINAL_TASK_STATUSES or t.status is TaskStatus.ACTION_REQUIRED for t in tasks
    )


def skip_manual_systems() -> None:
    for task in the_request().tasks:
        if task.status is TaskStatus.ACTION_REQUIRED:
            decisions.skip_task(task, MANUAL_SKIP, actor="user:0")


def submit_for_jane(client: FlaskClient, api_key: str, kind: str, regime: str) -> None:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": kind, "regime": regime, "identity_verified": True, **JANE},
    )
    assert resp.status_code == 201, resp.json


def complete(
    client: FlaskClient, api_key: str, run_workers: Callable[..., None], kind: str, regime: str
) -> Request:
    """Jane's request run by real workers to the end; an erasure is approved after its dry
    run, and systems with no API (a person's job) are skipped with a reason."""
    submit_for_jane(client, api_key, kind, regime)
    run_workers(waiting_only_for_people)
    skip_manual_systems()
    if the_request().status is RequestStatus.AWAITING_APPROVAL:
        decisions.approve(the_request(), actor="user:0")
        run_workers(waiting_only_for_people)
        skip_manual_systems()
    run_workers(lambda: the_request().status is RequestStatus.COMPLETED)
    return the_request()


def test_deletion_certificate_names_every_system_with_erased_counts_and_proof(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    submit_for_jane(client, api_key, "deletion", "gdpr")
    run_workers(waiting_only_for_people)  # the dry run
    skip_manual_systems()
    login("officer")
    assert "Approved" in staff_post(client, the_request().reference, "approve")
    run_workers(lambda: the_request().status is RequestStatus.COMPLETED)
    req = the_request()
    text = pdf_text(stored_pdf(app, req))

    assert "Certificate of erasure" in text
    assert req.reference in text
    tasks = {t.system.key: t for t in req.tasks}
    assert set(SYSTEMS) <= set(tasks)
    assert tasks["crm"].erased_count == 1 and tasks["events"].erased_count == 2
    for key, name in SYSTEMS.items():
        task = tasks[key]
        assert task.status is TaskStatus.SUCCEEDED and task.erased_count > 0, key
        # The summary row: the system, its erased and kept counts, and the re-check.
        assert f"{name} {task.erased_count} {task.retained_count} re-searched on" in text, name
        for kept in (task.result or {}).get("kept") or []:
            # Only the citations of the person's law (GDPR): no CCPA or LGPD article.
            cited = citations.only_for("gdpr", kept["citation"])
            assert cited and " ".join(cited.split()) in text
        assert " ".join(task.system.labels["erase"].split()) in text, key
    for task in tasks.values():
        if task.status is TaskStatus.SKIPPED:  # the paper archive
            assert f"{task.system.name} skipped: {MANUAL_SKIP}" in text
            continue
        # Proof of erasure: each system was searched again after erasing.
        checked, left = task.proof_checked_at, task.remaining_count or 0
        assert checked is not None
        found = "nothing left" if not left else f"{left} record{'s' if left != 1 else ''} remain"
        assert f"Proof of erasure: re-searched on {checked.day} {checked:%B %Y}: {found}" in text
    assert "row(s)" not in text  # the connectors' receipts are for the evidence, not the letter
    assert f"Request received {req.received_at.day} {req.received_at:%B %Y}" in text
    assert f"Answer due by {req.due_on.day} {req.due_on:%B %Y}" in text
    assert "GDPR Art. 17" in text  # the right, with its citation
    assert "CCR" not in text and "1798." not in text and "LGPD" not in text  # no other law
    assert "Write to us" not in text or "privacy@" in text  # an address to write to
    assert "Page 1 of" in text


@pytest.fixture
def erased(
    client: FlaskClient, demo_systems: list[str], api_key: str, run_workers: Callable[..., None]
) -> Request:
    return complete(client, api_key, run_workers, "deletion", "ccpa")


def test_kept_data_appears_with_its_exception_and_citation(erased: Request) -> None:
    tasks = {t.system.key: t for t in erased.tasks}
    shop = tasks["shop"]
    shop.erased_count, shop.retained_count = 1, 3
    shop.result = {
        **(shop.result or {}),
        "receipts": ["customers: 1 row(s) deleted"],
        "kept": [
            {
                "place": "orders",
                "count": 3,
                "reason": "invoices kept for the tax authorities",
                "citation": "Cal. Civ. Code 1798.105(d)(8)",
            }
        ],
    }
    tasks["events"].status = TaskStatus.SKIPPED
    tasks["events"].note = "spreadsheet archived offline"
    tasks["crm"].proof_checked_at = datetime(2026, 3, 4, 12, tzinfo=UTC)
    tasks["crm"].remaining_count = 2
    tasks["newsletter"].proof_checked_at = None
    db.session.commit()

    text = pdf_text(certificates.render_deletion_certificate(erased).data)

    assert "Kept, and why" in text
    orders = words.place_label(shop.system, "orders")
    assert f"{orders} 3 invoices kept for the tax authorities Cal. Civ. Code 1798.105(d)(8)" in text
    assert "Web shop (customers and orders) 1 3" in text  # summary: erased 1, kept 3
    assert "Events guest list (spreadsheet) skipped: spreadsheet archived offline" in text
    assert "Proof of erasure: re-searched on 4 March 2026: 2 records remain" in text
    assert "Proof of erasure: not checked" in text
    assert "Cal. Civ. Code" in text and "CCPA" in text  # the regime of this request


def test_a_certificate_tolerates_results_without_kept_or_receipts(erased: Request) -> None:
    for task in erased.tasks:
        task.result = {"kept": "not a list", "receipts": None}
    erased.tasks[0].result = None
    db.session.commit()
    text = pdf_text(certificates.render_deletion_certificate(erased).data)
    assert "Kept, and why" not in text
    ran = [t for t in erased.tasks if t.status is not TaskStatus.SKIPPED]
    for task in ran:  # what the registry says an erasure does there, in words
        assert " ".join(certificates.outcome_of(task).done.split()) in text, task.system.key


def test_opt_out_confirmation_lists_each_systems_receipt_and_the_gpc_signal(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
) -> None:
    req = complete(client, api_key, run_workers, "opt_out", "ccpa")
    text = pdf_text(stored_pdf(app, req))

    assert "Confirmation of your opt-out" in text
    assert "We did not ask you to prove who you are" in text
    tasks = {t.system.key: t for t in req.tasks}
    for key, name in SYSTEMS.items():
        assert name in text
        # What changed and how to change it back, in the registry's words, not a receipt.
        labels = tasks[key].system.labels
        if tasks[key].found_count:
            assert " ".join(labels["opt_out"].split()) in text, key
            assert " ".join(labels["opt_out_undo"].split()) in text, key
    assert "marketing_opt_in" not in text and "/api/v1/" not in text
    assert "opt back in at any time" not in text
    assert "Global Privacy Control" not in text  # no signal came with this request

    req.gpc = True
    db.session.commit()
    text = pdf_text(certificates.render_confirmation(req).data)
    assert "Global Privacy Control signal (Sec-GPC: 1)" in text
