"""Reopening a completed request: a reason, a summary to confirm, the work run again by real
workers, a new answer, and the history kept (the earlier answer's row and hash, the reason
and what each system reported before)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import transitions
from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus, TaskAction, TaskStatus
from tests.conftest import csrf_token
from tests.test_delivery import completed


def page_of(req: Request) -> str:
    return f"/staff/requests/{req.reference}"


def post_reopen(client: FlaskClient, req: Request, **data: str) -> tuple[int, str]:
    token = csrf_token(client, page_of(req))
    resp = client.post(f"{page_of(req)}/reopen", data={"csrf_token": token, **data})
    return resp.status_code, resp.get_data(as_text=True)


def fresh(req: Request) -> Request:
    db.session.expire_all()
    found = db.session.get(Request, req.id)
    assert found is not None
    return found


def test_an_officer_reopens_an_answered_request_and_a_new_answer_follows(
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    run_workers: Callable[..., None],
) -> None:
    _, req = completed(run_workers)
    first = {d.id: d.sha256 for d in req.documents if d.kind == "response"}
    assert first
    login("officer")
    page = client.get(page_of(req)).get_data(as_text=True)
    assert 'id="reopen-form"' in page

    reason = "The person says their help desk tickets from 2024 are missing."
    code, summary = post_reopen(client, req, reason=reason)
    assert code == 200 and 'id="confirm-button"' in summary
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", summary)))
    assert "Help desk (support tickets): searched again." in text
    assert "A new answer replaces the current one" in text
    assert "Your reason, kept in the request's history (the person is not sent it):" in text
    assert reason in text
    assert fresh(req).status is RequestStatus.COMPLETED  # nothing happens before confirming

    code, _ = post_reopen(client, req, reason=reason, confirmed="yes")
    assert code == 302
    req = fresh(req)
    assert req.status in {RequestStatus.IN_PROGRESS, RequestStatus.COMPILING}
    assert req.completed_at is None
    event = db.session.scalars(
        select(Event).where(Event.request_id == req.id, Event.action == "reopened")
    ).one()
    assert event.detail["reason"] == reason
    assert event.status_before == "completed"
    previous = {p["system"]: p for p in event.detail["previous"]}
    assert set(previous) == set(demo_systems)
    assert all(p["status"] == "succeeded" for p in previous.values())

    run_workers(lambda: fresh(req).status not in transitions.OPEN_STATUSES)
    req = fresh(req)
    assert req.status is RequestStatus.COMPLETED
    assert {t.status for t in req.tasks} == {TaskStatus.SUCCEEDED}
    answers = [d for d in req.documents if d.kind == "response"]
    assert len(answers) == 2  # the first answer's row stays in the history, beside the new
    assert set(first) < {d.id for d in answers}
    history = client.get(page_of(req)).get_data(as_text=True)
    assert "reopened" in history and reason in history


def test_a_reopened_deletion_runs_a_dry_run_and_waits_for_approval_again(
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    run_workers: Callable[..., None],
) -> None:
    req = submitted_deletion_completed(client, login, run_workers)
    code, summary = post_reopen(client, req, reason="Records reappeared after a restore.")
    assert "Nothing is changed before you approve again" in summary
    code, _ = post_reopen(client, req, reason="Records reappeared.", confirmed="yes")
    assert code == 302
    req = fresh(req)
    assert req.status is RequestStatus.AWAITING_APPROVAL
    assert {t.action for t in req.tasks} == {TaskAction.LOCATE}


def submitted_deletion_completed(
    client: FlaskClient, login: Callable[[str], str], run_workers: Callable[..., None]
) -> Request:
    from dsar.services import decisions, intake
    from dsar.services.api_keys import create
    from tests.conftest import staff_post

    key, _ = create("tests")
    receipt = intake.submit(
        intake.Submission(
            kind="deletion", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    req = receipt.request
    run_workers(lambda: decisions.dry_run_complete(fresh(req)))
    login("officer")
    staff_post(client, req.reference or "", "approve")
    run_workers(lambda: fresh(req).status not in transitions.OPEN_STATUSES)
    req = fresh(req)
    assert req.status is RequestStatus.COMPLETED
    return req


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say why the request is reopened"),
        ({"reason": "   "}, "Say why the request is reopened"),
        ({"reason": "x" * 1001}, "Keep the reason under 1,000 characters."),
    ],
)
def test_a_reopening_without_a_good_reason_is_refused_in_words_and_keeps_nothing(
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    run_workers: Callable[..., None],
    data: dict[str, str],
    message: str,
) -> None:
    _, req = completed(run_workers)
    login("officer")
    code, page = post_reopen(client, req, **data, confirmed="yes")
    assert code == 422
    assert message in page
    assert fresh(req).status is RequestStatus.COMPLETED
    assert db.session.scalar(select(Event).where(Event.action == "reopened")) is None


def test_only_a_completed_request_can_be_reopened_and_what_was_typed_stays(
    client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    from dsar.services import intake
    from dsar.services.api_keys import create

    key, _ = create("tests")
    req = intake.submit(
        intake.Submission(kind="access", regime="gdpr", name="Jane Doe", email="j@example.com"),
        channel="api",
        api_key=key,
        identity_verified=False,
    ).request
    login("officer")
    assert 'id="reopen-form"' not in client.get(page_of(req)).get_data(as_text=True)
    code, page = post_reopen(client, req, reason="Typed with care.", confirmed="yes")
    assert code == 422
    assert "only a completed request can be reopened" in page
    assert "Typed with care." in page
    assert fresh(req).status is RequestStatus.AWAITING_VERIFICATION


def test_an_auditor_cannot_reopen(
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    run_workers: Callable[..., None],
) -> None:
    _, req = completed(run_workers)
    login("auditor")
    assert 'id="reopen-form"' not in client.get(page_of(req)).get_data(as_text=True)
    code, _ = post_reopen(client, req, reason="Looking only.", confirmed="yes")
    assert code == 403
    assert fresh(req).status is RequestStatus.COMPLETED
