"""Appeals (Va. Code 59.1-577(C), C.R.S. 6-1-1306(3), Conn. Gen. Stat. 42-520(d)): the denial
email links to an appeal form; the appeal is a linked request with its own due date, decided
in writing by an officer who did not deny; a refused appeal says how to complain to the
Attorney General; a granted one is carried out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.exceptions import ClockRefused, DecisionRefused
from dsar.extensions import db
from dsar.models import Request, RequestStatus, Role
from dsar.services import appeals, clock, decisions, intake, metrics
from dsar.services.accounts import create_user
from tests.conftest import STAFF_PASSWORD, body_of, csrf_token, link_in
from tests.conftest import sign_in as staff_sign_in

S = RequestStatus
JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}


def denied(regime: str = "us_va", kind: str = "access", *, actor: str = "user:1") -> Request:
    sub = intake.Submission(kind=kind, regime=regime, **JANE)
    req = intake.submit(sub, channel="portal").request
    decisions.deny(req, "not_verified", "We could not confirm the address.", actor=actor)
    return req


def appeal_link(outbox: Callable[[], list]) -> str:
    return link_in(outbox()[-1], r"http://[^\s]+/appeal/[A-Za-z0-9_-]+")


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def appeal_count() -> int:
    return db.session.scalar(select(func.count()).where(Request.appeal_of_id.is_not(None)))


def sign_in(client: FlaskClient, email: str, role: Role = Role.OFFICER) -> int:
    """Sign a new staff member in (after signing out whoever was), through the real form."""
    user = create_user(email, role, STAFF_PASSWORD)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/login")})
    staff_sign_in(client, (email, STAFF_PASSWORD))
    return user.id


def test_the_denial_email_links_to_an_appeal_form_that_files_a_linked_request(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    original = denied("us_va")
    text = body_of(outbox()[-1])
    assert "you may appeal our decision (Va. Code 59.1-577(C))" in text
    url = path(appeal_link(outbox))
    page = client.get(url).get_data(as_text=True)
    assert "Appeal our decision" in page and "We could not confirm the address." in page

    # Nothing typed: a clear message beside the field, nothing stored.
    resp = client.post(url, data={"csrf_token": csrf_token(client, url), "grounds": "  \u200b "})
    assert resp.status_code == 422
    assert "Tell us why you disagree." in resp.get_data(as_text=True)
    assert appeal_count() == 0
    # Too long, or with control characters: refused the same way.
    for bad, message in (("x" * 5001, "under 5,000 characters"), ("a\x00b", "control")):
        resp = client.post(url, data={"csrf_token": csrf_token(client, url), "grounds": bad})
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    # Without the CSRF token: refused.
    assert client.post(url, data={"grounds": "I did confirm it."}).status_code == 400
    assert appeal_count() == 0

    token = csrf_token(client, url)
    resp = client.post(url, data={"csrf_token": token, "grounds": "I did confirm it."})
    assert resp.status_code == 302
    status_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "We have your appeal" in status_page
    assert f"against our decision on request {original.reference}" in status_page
    assert "did not take the first decision" in status_page

    appeal = db.session.scalar(select(Request).where(Request.appeal_of_id == original.id))
    assert appeal.status is S.AWAITING_DECISION
    assert (appeal.kind, appeal.regime, appeal.email) == (original.kind, "us_va", JANE["email"])
    assert appeal.details == "I did confirm it."
    filed = clock.local_day(appeal.received_at)
    assert appeal.due_on == filed + timedelta(days=60)
    assert "Decision: 60 calendar days (Va. Code 59.1-577(C)" in appeal.due_basis
    mail = outbox()[-1]
    assert mail["Subject"] == f"We have received your appeal {appeal.reference}"
    assert f"by {appeal.due_on:%A %-d %B %Y}" in body_of(mail)

    # One appeal per denial: the link again says so, and a second post stores nothing.
    again = client.post(url, data={"csrf_token": token, "grounds": "Again"})
    assert again.status_code == 422
    assert "You have already appealed this decision" in again.get_data(as_text=True)
    assert appeal_count() == 1
    with pytest.raises(Exception, match="You appealed this decision"):
        appeals.file(original, "Once more")


def test_a_law_without_appeals_offers_none(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    sub = intake.Submission(kind="access", regime="gdpr", **JANE)
    receipt = intake.submit(sub, channel="portal")
    decisions.deny(receipt.request, "not_verified", "", actor="user:1")
    assert "/appeal/" not in body_of(outbox()[-1])
    assert receipt.request.appeal_hash is None
    url = f"/r/{receipt.tracking_token}/appeal"
    page = client.get(url).get_data(as_text=True)
    assert "This decision cannot be appealed here" in page
    status = client.get(f"/r/{receipt.tracking_token}").get_data(as_text=True)
    assert "Appeal this decision" not in status
    assert "We could not verify your identity" in status
    token = csrf_token(client, "/staff/login")  # one per session; this page has no form
    resp = client.post(url, data={"csrf_token": token, "grounds": "Please"})
    assert resp.status_code == 422
    assert appeal_count() == 0
    assert client.get("/appeal/not-a-real-link").status_code == 404


def test_the_tracking_page_of_a_denied_request_offers_the_appeal(
    app: Flask, client: FlaskClient
) -> None:
    sub = intake.Submission(kind="deletion", regime="us_ct", **JANE)
    receipt = intake.submit(sub, channel="portal")
    decisions.deny(receipt.request, "not_verified", "", actor="user:1")
    page = client.get(f"/r/{receipt.tracking_token}").get_data(as_text=True)
    assert "Why we could not carry out this request" in page
    assert "Appeal this decision" in page
    url = f"/r/{receipt.tracking_token}/appeal"
    resp = client.post(url, data={"csrf_token": csrf_token(client, url), "grounds": "Wrong."})
    assert resp.status_code == 302
    page = client.get(f"/r/{receipt.tracking_token}").get_data(as_text=True)
    assert "You appealed on" in page and "Appeal this decision" not in page


def test_only_another_officer_decides_and_a_refusal_names_the_attorney_general(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    first = sign_in(client, "first@staff.test")
    original = denied("us_co", actor=f"user:{first}")
    appeal = appeals.file(original, "I did confirm my address.").appeal
    # Colorado: 45 days to decide, which may be extended by 60 (configurable, unverified).
    assert appeal.due_on == clock.local_day(appeal.received_at) + timedelta(days=45)
    queue = client.get("/staff/queue?status=awaiting_decision").get_data(as_text=True)
    assert appeal.reference in queue and '<span class="badge">appeal</span>' in queue
    page_url = f"/staff/requests/{appeal.reference}"
    page = client.get(page_url).get_data(as_text=True)
    assert "You denied" in page and 'id="appeal-decision"' not in page
    assert f'action="/staff/requests/{appeal.reference}/deny"' not in page
    resp = client.post(
        f"{page_url}/appeal-decision",
        data={"csrf_token": csrf_token(client, page_url), "outcome": "refused", "text": "No."},
    )
    assert resp.status_code == 422
    assert "another officer must decide its appeal (C.R.S. 6-1-1306(3))" in resp.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Request, appeal.id).status is S.AWAITING_DECISION

    sign_in(client, "second@staff.test")
    page = client.get(page_url).get_data(as_text=True)
    assert 'id="appeal-decision"' in page and "I did confirm my address." in page
    # No written decision: refused, and the choice made is kept.
    resp = client.post(
        f"{page_url}/appeal-decision",
        data={"csrf_token": csrf_token(client, page_url), "outcome": "refused", "text": " "},
    )
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Write the decision." in body
    assert 'value="refused" checked' in body
    # An outcome that is not one of the two: refused.
    resp = client.post(
        f"{page_url}/appeal-decision",
        data={"csrf_token": csrf_token(client, page_url), "outcome": "maybe", "text": "Hm"},
    )
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(Request, appeal.id).status is S.AWAITING_DECISION

    decision = "We sent the confirmation link three times and it was never opened."
    resp = client.post(
        f"{page_url}/appeal-decision",
        data={"csrf_token": csrf_token(client, page_url), "outcome": "refused", "text": decision},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Request, appeal.id)
    assert appeal.status is S.DENIED and appeal.denial_reason == appeals.REFUSED
    (event,) = [e for e in appeal.events if e.action == "appeal_refused"]
    assert event.actor != f"user:{first}"
    mail = outbox()[-1]
    assert mail["Subject"] == f"Our decision on your appeal {appeal.reference}"
    text = body_of(mail)
    assert decision in text and "Colorado Attorney General" in text
    assert "https://coag.gov/file-complaint/" in text


def test_a_granted_appeal_is_carried_out_by_the_workers(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    outbox: Callable[[], list],
) -> None:
    original = denied("us_va", actor="user:1")
    filed = appeals.file(original, "I can confirm it now.")
    appeals.decide(filed.appeal, "granted", "You confirmed your address since.", actor="user:2")
    assert outbox()[-1]["Subject"] == f"Your appeal {filed.appeal.reference} is granted"
    appeal_id = filed.appeal.id
    run_workers(lambda: db.session.get(Request, appeal_id).status is S.COMPLETED)
    appeal = db.session.get(Request, appeal_id)
    assert {t.system.key for t in appeal.tasks} == set(demo_systems)
    with pytest.raises(DecisionRefused, match="is a granted appeal"):
        decisions.deny(appeal, "not_verified", "", actor="user:3")
    assert any(d.kind == "response" for d in appeal.documents)
    page = client.get(f"/r/{filed.tracking_token}").get_data(as_text=True)
    assert "We granted your appeal" in page and "Your answer is ready" in page


def test_appeal_rules_extension_the_generic_deny_and_the_metrics(app: Flask) -> None:
    now = datetime(2026, 3, 2, 15, tzinfo=UTC)
    virginia = appeals.file(denied("us_va"), "Please look again.", now=now).appeal
    with pytest.raises(ClockRefused, match="allows no extension for an appeal"):
        clock.extend(virginia, reason="busy", actor="user:2", now=now)
    with pytest.raises(DecisionRefused, match="is an appeal"):
        decisions.deny(virginia, "not_verified", "", actor="user:2")
    with pytest.raises(DecisionRefused, match="not an appeal waiting"):
        appeals.decide(denied("us_ct"), "refused", "No", actor="user:2")

    colorado = appeals.file(denied("us_co"), "Please look again.", now=now).appeal
    clock.extend(colorado, reason="We need the archive.", actor="user:2", now=now)
    assert colorado.due_on == datetime(2026, 6, 15).date()  # 45 + 60 days from 2 March
    assert colorado.first_due_on == datetime(2026, 4, 16).date()

    appeals.decide(virginia, "refused", "Upheld.", actor="user:2")
    report = metrics.report(2026)
    assert report.appeals.received == 2
    assert (report.appeals.refused, report.appeals.granted, report.appeals.open) == (1, 0, 1)
    # An appeal is not a second request of its kind in the yearly figures.
    assert report.total.received == 3
