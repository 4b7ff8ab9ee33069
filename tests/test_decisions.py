"""An officer's decisions: each changes what the database holds, tells the person when it
should, names who took it, and is refused when the state or the law does not allow it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import (
    DocumentDownload,
    Event,
    Request,
    RequestStatus,
    Role,
    TaskStatus,
    User,
)
from dsar.services import answers, decisions, intake, workflow
from dsar.services.accounts import create_user
from dsar.services.api_keys import create as create_api_key
from tests.conftest import body_of, csrf_token, staff_post

S = RequestStatus


def submit(
    kind: str = "access",
    regime: str = "gdpr",
    *,
    vouched: bool = True,
    email: str = "jane.doe@example.com",
    now: datetime | None = None,
) -> Request:
    key, _ = create_api_key("tests")
    sub = intake.Submission(kind=kind, regime=regime, name="Jane Doe", email=email)
    return intake.submit(
        sub, channel="api", api_key=key, identity_verified=vouched, now=now
    ).request


def events(req: Request, action: str) -> list[Event]:
    return list(
        db.session.scalars(select(Event).where(Event.request_id == req.id, Event.action == action))
    )


def test_deny_tells_the_person_why_and_how_to_appeal(
    app: Flask, outbox: Callable[[], list]
) -> None:
    req = submit("access", "us_va", vouched=False)
    decisions.deny(req, "not_verified", "We could not confirm the address.", actor="user:7")
    assert req.status is S.DENIED
    assert (req.denial_reason, req.denial_text) == (
        "not_verified",
        "We could not confirm the address.",
    )
    mail = outbox()[-1]
    assert mail["Subject"] == f"Your request {req.reference}: we cannot carry it out"
    text = body_of(mail)
    assert (
        "We could not verify your identity (Va. Code 59.1-577 (request not authenticated))" in text
    )
    assert "We could not confirm the address." in text
    assert "you may appeal our decision (Va. Code 59.1-577(C))" in text
    assert "/appeal/" in text and "within 60 days" in text
    assert "complain to the Virginia Office of the Attorney General" in text
    (event,) = events(req, "denied")
    assert event.actor == "user:7"
    assert event.detail["citation"].startswith("Va. Code")


def test_deny_needs_a_reason_from_the_regimes_list_and_text_for_other(app: Flask) -> None:
    req = submit("access", "gdpr", vouched=False)
    with pytest.raises(DecisionRefused, match="Choose one of the reasons"):
        decisions.deny(req, "too_many_requests", "", actor="user:1")  # a CCPA reason only
    with pytest.raises(DecisionRefused, match="Write the explanation"):
        decisions.deny(req, "other", "  ", actor="user:1")
    db.session.rollback()
    assert db.session.get(Request, req.id).status is S.AWAITING_VERIFICATION


def test_approval_is_refused_until_the_dry_run_is_done_and_clean(
    app: Flask, demo_systems: list[str]
) -> None:
    req = submit("deletion", "gdpr")
    assert req.status is S.AWAITING_APPROVAL
    assert {t.action.value for t in req.tasks} == {"locate"}
    with pytest.raises(DecisionRefused, match="Wait for the dry run"):
        decisions.approve(req, actor="user:1")
    for task in req.tasks:
        task.status = TaskStatus.SUCCEEDED
    req.tasks[0].status = TaskStatus.FAILED
    db.session.commit()
    with pytest.raises(DecisionRefused, match="Retry or skip"):
        decisions.approve(req, actor="user:1")
    decisions.skip_task(req.tasks[0], "legacy archive handled by post", actor="user:1")
    decisions.approve(req, actor="user:1")
    assert req.status is S.IN_PROGRESS
    assert req.tasks[0].status is TaskStatus.SKIPPED
    assert {t.action.value for t in req.tasks[1:]} == {"erase"}
    assert {t.status for t in req.tasks[1:]} == {TaskStatus.QUEUED}
    with pytest.raises(DecisionRefused, match="not waiting for approval"):
        decisions.approve(req, actor="user:1")


def test_retry_and_skip_move_a_stuck_request_on(app: Flask, demo_systems: list[str]) -> None:
    req = submit("access", "gdpr")
    for task in req.tasks:
        task.status = TaskStatus.SUCCEEDED
    failed, other = req.tasks[0], req.tasks[1]
    failed.status, failed.last_error = TaskStatus.FAILED, "cannot reach crm"
    req.status = S.ACTION_REQUIRED
    db.session.commit()
    with pytest.raises(DecisionRefused, match="Only a failed system can be retried"):
        decisions.retry_task(other, actor="user:1")
    decisions.retry_task(failed, actor="user:1")
    assert req.status is S.IN_PROGRESS
    assert failed.status is TaskStatus.QUEUED
    failed.status = TaskStatus.FAILED
    req.status = S.ACTION_REQUIRED
    db.session.commit()
    decisions.skip_task(failed, "system retired last week", actor="user:1")
    db.session.refresh(req)
    assert req.status is S.COMPILING  # nothing left to wait for: the answer is compiled
    assert failed.note == "system retired last week"


def test_a_repeat_request_is_flagged_but_still_verified(app: Flask) -> None:
    first = submit("access", "gdpr", vouched=False)
    second = submit("access", "gdpr", vouched=False, email=" JANE.DOE@example.com")
    other_kind = submit("deletion", "gdpr", vouched=False)
    assert second.duplicate_of_id == first.id
    assert second.status is S.AWAITING_VERIFICATION
    assert other_kind.duplicate_of_id is None
    assert events(second, "possible_duplicate")[0].detail == {"of": first.reference}


def test_duplicate_spam_and_cancel_close_the_request(
    app: Flask, outbox: Callable[[], list]
) -> None:
    first = submit("access", "gdpr", vouched=False)
    dup = submit("access", "gdpr", vouched=False)
    before = len(outbox())
    decisions.mark_duplicate(dup, first.reference, actor="user:1")
    assert dup.status is S.DUPLICATE and dup.duplicate_of_id == first.id
    assert f"repeats your earlier request {first.reference}" in body_of(outbox()[-1])
    with pytest.raises(DecisionRefused, match="cannot be marked duplicate now"):
        decisions.mark_duplicate(dup, first.reference, actor="user:1")
    spam = submit("access", "ccpa", vouched=False, email="bot@spam.test")
    sent = len(outbox())
    decisions.mark_spam(spam, actor="user:1")
    assert spam.status is S.CANCELLED
    assert len(outbox()) == sent  # nobody is written to
    decisions.cancel(first, "You asked us to stop.", actor="user:1")
    assert first.status is S.CANCELLED
    assert "You asked us to stop." in body_of(outbox()[-1])
    assert len(outbox()) == sent + 1
    assert before == 2  # the two verification emails


def test_clarification_pauses_the_clock_only_where_the_law_allows(
    app: Flask, outbox: Callable[[], list]
) -> None:
    uk = submit("access", "uk_gdpr", vouched=False)
    decisions.ask_clarification(uk, "Which account number?", actor="user:1", pause=True)
    assert "Which account number?" in body_of(outbox()[-1])
    assert uk.paused_since is not None
    eu = submit("deletion", "gdpr", vouched=False)  # EU pause: identity only
    decisions.ask_clarification(eu, "Which shop?", actor="user:1", pause=True)
    assert eu.paused_since is None
    assert events(eu, "clarification_requested")[0].detail == {"question": "Which shop?"}


def test_assign_only_to_active_officers_and_admins(app: Flask) -> None:
    req = submit()
    officer = create_user("o@staff.test", Role.OFFICER, "officer-password-1")
    auditor = create_user("a@staff.test", Role.AUDITOR, "auditor-password-1")
    decisions.assign(req, officer.id, actor="user:9")
    assert req.assignee_id == officer.id
    with pytest.raises(DecisionRefused, match="active officer or admin"):
        decisions.assign(req, auditor.id, actor="user:9")
    decisions.assign(req, None, actor="user:9")
    assert req.assignee_id is None


ACTIONS = [
    ("note", {"note": "called the person"}),
    ("assign", {"assignee": ""}),
    ("deny", {"reason": "not_verified", "text": ""}),
    ("clarify", {"question": "Which account?"}),
    ("duplicate", {"earlier": "DSAR-2026-000001"}),
    ("cancel", {"reason": "asked to"}),
    ("spam", {}),
    ("approve", {}),
]


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_an_auditor_can_look_but_every_decision_answers_403(
    client: FlaskClient, login: Callable[[str], str], action: str, data: dict
) -> None:
    req = submit("access", "gdpr", vouched=False)
    login("auditor")
    page = f"/staff/requests/{req.reference}"
    assert client.get(page).status_code == 200
    token = csrf_token(client, "/staff/login")
    resp = client.post(f"{page}/{action}", data={"csrf_token": token, **data})
    assert resp.status_code == 403
    db.session.refresh(req)
    assert req.status is S.AWAITING_VERIFICATION
    assert [e.action for e in req.events if e.actor.startswith("user:")] == []


def test_an_officer_decides_from_the_request_page(
    client: FlaskClient, login: Callable[[str], str], outbox: Callable[[], list]
) -> None:
    req = submit("access", "ccpa", vouched=False)
    email = login("officer")
    page = staff_post(client, req.reference, "note", note="Rang the person; will verify.")
    assert "Note added." in page
    assert "Rang the person; will verify." in page
    token = csrf_token(client, f"/staff/requests/{req.reference}")
    refused = client.post(
        f"/staff/requests/{req.reference}/deny", data={"csrf_token": token, "reason": "other"}
    )
    assert refused.status_code == 422  # refused before any confirmation, the choice kept
    assert "Write the explanation." in refused.get_data(as_text=True)
    assert '<option value="other" selected>' in refused.get_data(as_text=True)
    page = staff_post(client, req.reference, "deny", reason="too_many_requests", text="")
    assert "Denied; the person has been told why" in page
    assert "too many requests" in page
    user = db.session.scalar(select(User).where(User.email == email))
    db.session.refresh(req)
    assert req.status is S.DENIED
    assert events(req, "denied")[0].actor == f"user:{user.id}"
    assert "Civ. Code 1798.130(b)" in body_of(outbox()[-1])


def test_staff_document_downloads_are_recorded(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:

    req = submit("opt_out", "ccpa")
    for task in list(req.tasks):
        workflow.run_task(task.id, last_attempt=True)
    answers.compile_response(req.id)
    db.session.refresh(req)
    doc = req.documents[0]
    login("auditor")
    with client.get(f"/staff/requests/{req.reference}/documents/{doc.id}") as resp:
        assert resp.status_code == 200
        assert resp.data.startswith(b"%PDF")
    (download,) = db.session.scalars(select(DocumentDownload)).all()
    assert download.channel == "staff"
    assert download.user.email == "auditor@staff.test"
    assert client.get(f"/staff/requests/{req.reference}/documents/999").status_code == 404


def test_submit_uses_the_given_moment(app: Flask) -> None:
    moment = datetime(2026, 1, 16, 9, 0, tzinfo=UTC)
    assert submit(now=moment).due_on.isoformat() == "2026-02-16"
