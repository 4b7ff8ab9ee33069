"""The real path: portal form, email link, real Redis, real rq workers, the PDF answer."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Document, Event, Request, RequestStatus, Task, TaskStatus
from tests.conftest import api_headers, csrf_token, download_answer, link_in, pdf_text, staff_post

pytestmark = pytest.mark.slow

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958"}


def submit_form(client: FlaskClient, kind: str, regime: str = "gdpr", **fields: str) -> str:
    """Submit the portal form; return the tracking URL path the person lands on."""
    data = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": kind,
        "regime": regime,
        **JANE,
        **fields,
    }
    resp = client.post("/request", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.headers["Location"]


def confirm_email(client: FlaskClient, outbox: Callable[[], list]) -> str:
    """Follow the verification link from the outbox and press the confirm button."""
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    path = link.removeprefix("http://dsar.test")
    page = client.get(path)
    assert "Confirm my email address" in page.get_data(as_text=True)
    resp = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    return path


def the_request() -> Request:
    return db.session.scalars(select(Request)).one()


def finished() -> bool:
    return the_request().status in {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED}


def test_access_request_through_the_portal_returns_a_pdf_with_every_system(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    status_path = submit_form(client, "access")
    page = client.get(status_path).get_data(as_text=True)
    assert "We have your request DSAR-" in page
    assert "Waiting for you to confirm your email address" in page
    assert the_request().status is RequestStatus.AWAITING_VERIFICATION
    assert db.session.scalars(select(Task)).all() == []  # nothing runs before verification

    confirm_email(client, outbox)
    assert the_request().status is RequestStatus.IN_PROGRESS
    run_workers(finished)

    req = the_request()
    assert req.status is RequestStatus.COMPLETED
    assert {t.system.key for t in req.tasks} == set(demo_systems)
    assert all(t.status is TaskStatus.SUCCEEDED and t.found_count > 0 for t in req.tasks)
    page = client.get(status_path).get_data(as_text=True)
    assert "Email me a download code" in page
    assert req.due_on.strftime("%-d %B %Y") in page
    text = pdf_text(download_answer(client, status_path, outbox))  # the emailed-code path
    assert req.reference in text
    for system in ("CRM (contacts)", "Web shop", "Newsletter", "Help desk", "Events guest list"):
        assert system in text
    # A record from each system: CRM company, shop order, newsletter list, ticket, event row.
    for record in (
        "Doe & Partners Ltd",
        "Your orders (4 records)",  # 3 on her account, 1 on the old one the CRM links
        "Your invoices (4 records)",
        "Your newsletter subscriptions (1 record)",
        "Your support tickets (2 records)",
        "Your event registrations (2 records)",
    ):
        assert record in text


def _rows(path: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchall()


def _counts(demo: Path) -> dict[str, int]:
    counts = {
        "crm": _rows(demo / "crm.db", "SELECT count(*) FROM contacts")[0][0],
        "customers": _rows(demo / "shop.db", "SELECT count(*) FROM customers")[0][0],
        "orders": _rows(demo / "shop.db", "SELECT count(*) FROM orders")[0][0],
        "newsletter": _rows(demo / "newsletter.db", "SELECT count(*) FROM subscribers")[0][0],
        "helpdesk": _rows(demo / "helpdesk.db", "SELECT count(*) FROM customers")[0][0],
        "tickets": _rows(demo / "helpdesk.db", "SELECT count(*) FROM tickets")[0][0],
    }
    with open(demo / "events.csv", newline="") as fh:
        counts["events"] = sum(1 for _ in csv.DictReader(fh))
    return counts


def test_deletion_erases_jane_everywhere_and_nobody_else_after_approval(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    demo_dir: Path,
    login: Callable[[str], str],
) -> None:
    before = _counts(demo_dir)
    submit_form(client, "deletion")
    confirm_email(client, outbox)
    # A dry run first: every system searched, nothing erased, an officer must approve.
    run_workers(lambda: all(t.status is TaskStatus.SUCCEEDED for t in the_request().tasks))
    req = the_request()
    assert req.status is RequestStatus.AWAITING_APPROVAL
    assert _counts(demo_dir) == before
    login("officer")
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "What approving will erase" in page
    assert "Web shop (customers and orders) — 10 records" in page
    page = staff_post(client, req.reference, "approve")
    assert "Approved: the erasure is running in every system." in page
    run_workers(finished)
    req = the_request()
    assert req.status is RequestStatus.COMPLETED
    after = _counts(demo_dir)
    # Jane had 1 contact, 2 shop accounts (her old one found through the CRM's customer id),
    # 1 subscription, 1 help desk customer with 2 tickets and 2 event rows; exactly those are
    # gone. Her 4 orders stay, anonymised in place; her 4 invoices are kept for tax law.
    assert {k: before[k] - after[k] for k in before} == {
        "crm": 1,
        "customers": 2,
        "orders": 0,
        "newsletter": 1,
        "helpdesk": 1,
        "tickets": 2,
        "events": 2,
    }
    jane = "jane.doe@example.com"
    assert _rows(demo_dir / "crm.db", "SELECT id FROM contacts WHERE email = ?", jane) == []
    assert _rows(demo_dir / "shop.db", "SELECT id FROM customers WHERE email = ?", jane) == []
    assert _rows(demo_dir / "newsletter.db", "SELECT id FROM subscribers WHERE email=?", jane) == []
    assert _rows(demo_dir / "helpdesk.db", "SELECT id FROM customers WHERE email = ?", jane) == []
    assert jane not in (demo_dir / "events.csv").read_text()
    erased = {t.system.key: t.erased_count for t in req.tasks}
    assert erased == {"crm": 1, "shop": 6, "newsletter": 1, "helpdesk": 3, "events": 2}
    kept = {t.system.key: t.retained_count for t in req.tasks}
    assert kept == {"crm": 0, "shop": 4, "newsletter": 0, "helpdesk": 0, "events": 0}


def test_opt_out_needs_no_verification_and_confirms_per_system(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    demo_dir: Path,
) -> None:
    submit_form(client, "opt_out", regime="ccpa")
    assert the_request().status is RequestStatus.IN_PROGRESS
    assert "confirm" not in outbox()[-1]["Subject"].lower()
    run_workers(finished)
    assert the_request().status is RequestStatus.COMPLETED
    jane = "jane.doe@example.com"
    assert _rows(
        demo_dir / "newsletter.db", "SELECT opted_in FROM subscribers WHERE email = ?", jane
    ) == [(0,)]
    assert _rows(
        demo_dir / "shop.db", "SELECT sells_data_to_partners FROM customers WHERE email = ?", jane
    ) == [(0,)]
    with open(demo_dir / "events.csv", newline="") as fh:
        consents = {r["marketing_consent"] for r in csv.DictReader(fh) if r["email"] == jane}
    assert consents == {"no"}
    doc = db.session.scalars(select(Document)).one()
    assert doc.kind == "response"


def test_api_request_with_vouched_identity_completes_and_serves_the_pdf(
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
) -> None:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "access", "regime": "ccpa", "identity_verified": True, **JANE},
    )
    assert resp.status_code == 201, resp.json
    reference = resp.json["reference"]
    assert resp.json["status"] == "in_progress"
    run_workers(finished)
    body = client.get(f"/api/v1/requests/{reference}", headers=api_headers(api_key)).json
    assert body["status"] == "completed"
    assert {t["status"] for t in body["tasks"]} == {"succeeded"}
    assert sum(t["found"] for t in body["tasks"]) >= 5
    with client.get(body["response_pdf"], headers=api_headers(api_key)) as pdf:
        assert pdf.status_code == 200
        assert "jane.doe@example.com" in pdf_text(pdf.data)
    verified = db.session.scalars(select(Event).where(Event.action == "verified")).one()
    assert verified.actor.startswith("api-key:")


def test_a_failing_system_is_retried_then_marked_failed_without_holding_up_the_others(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    api_key: str,
    run_workers: Callable[..., None],
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        '[[system]]\nkey = "broken"\nname = "Legacy loyalty API"\nkind = "http"\n'
        '[system.config]\nbase_url = "http://127.0.0.1:9"\n'
        '[system.config.locate]\npath = "/search"\n'
    )
    from dsar.services import registry

    registry.load_file(broken)
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "access", "regime": "gdpr", "identity_verified": True, **JANE},
    )
    run_workers(finished)
    req = the_request()
    assert req.status is RequestStatus.ACTION_REQUIRED
    tasks = {t.system.key: t for t in req.tasks}
    assert tasks["broken"].status is TaskStatus.FAILED
    assert tasks["broken"].attempts == 3  # the first try and DSAR_TASK_RETRIES=2 retries
    assert "cannot reach 127.0.0.1:9/search" in tasks["broken"].last_error
    assert all(t.status is TaskStatus.SUCCEEDED for k, t in tasks.items() if k != "broken")
    body = client.get(
        f"/api/v1/requests/{resp.json['reference']}", headers=api_headers(api_key)
    ).json
    shown = {t["system"]: t for t in body["tasks"]}
    assert shown["broken"]["status"] == "failed"
    assert "cannot reach" in shown["broken"]["error"]
    assert db.session.scalars(select(Document)).all() == []
