"""Bulk decisions on a selection from the queue: each request decided on its own."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Request, RequestStatus, TaskStatus
from dsar.services import intake
from dsar.services.api_keys import create as create_api_key
from tests.conftest import body_of, csrf_token

S = RequestStatus


def submit(kind: str, regime: str, *, vouched: bool = False, email: str = "a@example.org"):
    key, _ = create_api_key("tests")
    sub = intake.Submission(kind=kind, regime=regime, name="A Person", email=email)
    return intake.submit(sub, channel="api", api_key=key, identity_verified=vouched).request


def bulk(client: FlaskClient, ids: list[int], **data: str) -> str:
    token = csrf_token(client, "/staff/")
    resp = client.post(
        "/staff/bulk",
        data={"csrf_token": token, "ids": ids, "next": "/staff/queue?status=all", **data},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/staff/queue?status=all")
    return client.get("/staff/queue?status=all").get_data(as_text=True)


def test_bulk_extend_tells_each_person_and_reports_those_the_law_refuses(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Callable[[], list]
) -> None:
    gdpr = submit("access", "gdpr", email="one@example.org")
    uk = submit("access", "uk_gdpr", email="two@example.org")
    lgpd = submit("access", "lgpd", email="three@example.org")
    login("officer")
    page = bulk(
        client, [gdpr.id, uk.id, lgpd.id], action="extend", text="Our archive is being moved."
    )
    assert f"Extended 2: {gdpr.reference}, {uk.reference}." in page
    assert f"{lgpd.reference}: Brazil (LGPD) allows no extension" in page
    for req in (gdpr, uk):
        db.session.refresh(req)
        assert req.extended_due_on is not None
    told = [m for m in outbox() if m["Subject"].startswith("We need more time")]
    assert len(told) == 2
    assert all("Our archive is being moved." in body_of(m) for m in told)


def test_bulk_deny_applies_the_reason_where_the_regime_has_it(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    ccpa = submit("access", "ccpa", email="one@example.org")
    gdpr = submit("access", "gdpr", email="two@example.org")
    login("officer")
    page = bulk(client, [ccpa.id, gdpr.id], action="deny", reason="too_many_requests", text="")
    assert f"Denied 1: {ccpa.reference}." in page
    assert f"{gdpr.reference}: Choose one of the reasons European Union (GDPR) allows." in page
    db.session.refresh(ccpa)
    db.session.refresh(gdpr)
    assert (ccpa.status, gdpr.status) == (S.DENIED, S.AWAITING_VERIFICATION)


def test_bulk_approve_starts_erasures_whose_dry_run_is_done(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    ready = submit("deletion", "gdpr", vouched=True, email="one@example.org")
    running = submit("deletion", "gdpr", vouched=True, email="two@example.org")
    for task in ready.tasks:
        task.status = TaskStatus.SUCCEEDED
    db.session.commit()
    login("officer")
    page = bulk(client, [ready.id, running.id], action="approve")
    assert f"Approved 1: {ready.reference}." in page
    assert f"{running.reference}: Wait for the dry run to finish in every system." in page
    db.session.refresh(ready)
    assert ready.status is S.IN_PROGRESS
    assert {t.action.value for t in ready.tasks} == {"erase"}


def test_bulk_needs_a_selection_and_the_decisions_reason(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    req = submit("access", "gdpr")
    login("officer")
    assert "Select at least one request." in bulk(client, [], action="approve")
    assert "Give the reason for the extension." in bulk(client, [req.id], action="extend")
    assert "Choose the denial reason." in bulk(client, [req.id], action="deny")
    statuses = db.session.scalars(select(Request.status)).all()
    assert statuses == [S.AWAITING_VERIFICATION]


def test_the_queue_offers_the_bulk_form_to_officers_only(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    submit("access", "gdpr")
    login("auditor")
    assert 'id="bulk"' not in client.get("/staff/queue").get_data(as_text=True)
    login("officer")
    page = client.get("/staff/queue").get_data(as_text=True)
    assert 'id="bulk"' in page
    assert "Apply to selected" in page
