"""Lifting a restriction (GDPR Art. 18(3)) or an upheld objection: the officer gives the
ground and an explanation, the person is emailed before anything changes, then the workers
remove the flag in every system where it was set, and the person gets a confirmation."""

from __future__ import annotations

import email.message
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, Event, Request, RequestStatus, TaskAction
from tests.conftest import api_headers, body_of, csrf_token, link_in
from tests.test_flags import DONE, events_rows, flag, letter, request, submit

EXPLANATION = "Our check of your address against the post office register is finished."


def carried_out(
    client: FlaskClient, api_key: str, run_workers: Callable[..., None], kind: str = "restriction"
) -> str:
    """A restriction (or an upheld objection) of Jane's, carried out in every system."""
    resp = submit(client, api_key, kind, "gdpr", identity_verified=True)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    reference = resp.json["reference"]
    run_workers(
        lambda: (
            request(reference).status in DONE
            and all(t.status in FINAL_TASK_STATUSES for t in request(reference).tasks)
        )
    )
    if kind == "objection":
        page = post_staff(client, reference, "approve", {"confirmed": "yes"})
        assert "Upheld" in page.get_data(as_text=True)
        run_workers(lambda: request(reference).status is RequestStatus.COMPLETED)
    assert request(reference).status is RequestStatus.COMPLETED
    return reference


def post_staff(client: FlaskClient, reference: str, action: str, data: dict[str, str]):
    token = csrf_token(client, f"/staff/requests/{reference}")
    return client.post(
        f"/staff/requests/{reference}/{action}",
        data={"csrf_token": token, **data},
        follow_redirects=True,
    )


def lift_of(reference: str) -> Request | None:
    db.session.remove()
    return db.session.scalar(select(Request).where(Request.lift_of_id == request(reference).id))


def test_an_officer_lifts_a_restriction_after_telling_the_person(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    reference = carried_out(client, api_key, run_workers)
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {1}
    assert flag(demo_dir, "shop", "customers", "processing_restricted") == {1}
    assert {r["restricted"] for r in events_rows(demo_dir)} == {"yes"}
    login("officer")

    page = client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Lift the restriction" in page
    assert "GDPR Art. 18(3)" in page
    assert "GDPR Art. 18(1)(a)" in page  # the ground, cited

    sent_before = len(outbox())
    resp = post_staff(
        client,
        reference,
        "lift",
        {"reason": "accuracy_verified", "text": EXPLANATION, "confirm": "y"},
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    lift = lift_of(reference)
    assert lift is not None and lift.reference in page
    assert "The person is told" in page
    assert {t.action for t in lift.tasks} == {TaskAction.LIFT}
    assert {t.system.key for t in lift.tasks} == {t.system.key for t in request(reference).tasks}

    # The notice went out before any system changed.
    notice = outbox()[sent_before]
    assert "We are lifting the restriction" in notice["Subject"]
    text = body_of(notice)
    assert EXPLANATION in text and "GDPR Art. 18(3)" in text and "GDPR Art. 18(1)(a)" in text
    actions = [e.action for e in lift_of(reference).events]
    assert actions.index("lift_notified") < actions.index("fan_out")
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {1}

    run_workers(lambda: lift_of(reference).status is RequestStatus.COMPLETED)
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {0}
    assert flag(demo_dir, "shop", "customers", "processing_restricted") == {0}
    assert {r["restricted"] for r in events_rows(demo_dir)} == {"no"}
    lift = lift_of(reference)
    confirmation = letter(app, lift)
    assert "Confirmation that the restriction is lifted" in confirmation
    assert EXPLANATION in confirmation
    assert reference in confirmation and "GDPR Art. 18(3)" in confirmation

    # The integration that filed it sees the lift, both ways.
    api = client.get(f"/api/v1/requests/{reference}", headers=api_headers(api_key)).json
    assert api["lifted_by"] == lift.reference and api["lift_of"] is None
    api = client.get(f"/api/v1/requests/{lift.reference}", headers=api_headers(api_key)).json
    assert api["lift_of"] == reference and api["status"] == "completed"
    assert {t["action"] for t in api["tasks"]} == {"lift"}

    # The person follows it at the link the notice gave.
    status = client.get(link_in(notice, r"/r/[\w-]+")).get_data(as_text=True)
    assert "Lifting the restriction" in status and EXPLANATION in status
    # The officer sees both ends linked, and cannot lift twice.
    page = client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Restriction lifted" in page and lift.reference in page
    again = post_staff(
        client, reference, "lift", {"reason": "person_asked", "text": "Again.", "confirm": "y"}
    )
    assert again.status_code == 422
    assert "nothing to lift" in again.get_data(as_text=True)
    db.session.remove()
    assert db.session.scalar(select(func.count()).where(Request.lift_of_id.is_not(None))) == 1


def test_a_withdrawn_objection_is_lifted_in_every_system_that_marked_it(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    login("officer")
    reference = carried_out(client, api_key, run_workers, kind="objection")
    assert flag(demo_dir, "crm", "contacts", "objected") == {1}
    page = client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Withdraw the objection" in page
    resp = post_staff(
        client,
        reference,
        "lift",
        {"reason": "person_withdrew", "text": "You wrote to us on 2 May.", "confirm": "y"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    run_workers(lambda: lift_of(reference).status is RequestStatus.COMPLETED)
    assert flag(demo_dir, "crm", "contacts", "objected") == {0}
    assert flag(demo_dir, "shop", "customers", "objected") == {0}
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {0}  # untouched
    assert "Confirmation that your objection is withdrawn" in letter(app, lift_of(reference))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": EXPLANATION, "confirm": "y"}, "Choose why it is lifted."),
        ({"reason": "because", "text": EXPLANATION, "confirm": "y"}, "Choose why it is lifted."),
        ({"reason": "person_asked", "text": "  ", "confirm": "y"}, "Explain to the person why."),
        ({"reason": "person_asked", "text": "a\x00b", "confirm": "y"}, "control character"),
        ({"reason": "person_asked", "text": "x" * 5001, "confirm": "y"}, "5,000 characters"),
        ({"reason": "person_asked", "text": EXPLANATION}, "Tick the box to confirm"),
    ],
)
def test_a_refused_lift_says_why_keeps_what_was_typed_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
    data: dict[str, str],
    message: str,
) -> None:
    reference = carried_out(client, api_key, run_workers)
    login("officer")
    sent = len(outbox())
    resp = post_staff(client, reference, "lift", data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    if data.get("text", "").strip() and "\x00" not in data["text"] and len(data["text"]) < 100:
        assert data["text"] in page  # what the officer typed is still there
    assert lift_of(reference) is None
    assert len(outbox()) == sent
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {1}


def test_nothing_is_lifted_when_the_person_cannot_be_told_first(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    reference = carried_out(client, api_key, run_workers)
    login("officer")
    app.config["DSAR_SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens: the mail fails
    data = {"reason": "person_asked", "text": EXPLANATION, "confirm": "y"}
    resp = post_staff(client, reference, "lift", data)
    assert resp.status_code == 422
    assert "could not be sent, so nothing was lifted" in resp.get_data(as_text=True)
    assert lift_of(reference) is None
    db.session.remove()
    assert not db.session.scalars(select(Event).where(Event.action == "lift_started")).all()
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {1}


def test_only_a_carried_out_restriction_or_objection_offers_a_lift_and_only_to_officers(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    access = submit(client, api_key, "access", "gdpr", identity_verified=True).json["reference"]
    pending = submit(client, api_key, "restriction", "gdpr").json["reference"]  # unverified
    login("officer")
    data = {"reason": "person_asked", "text": EXPLANATION, "confirm": "y"}
    for reference in (access, pending):
        assert "lift-form" not in client.get(f"/staff/requests/{reference}").get_data(True)
        resp = post_staff(client, reference, "lift", data)
        assert resp.status_code == 422
        assert "has nothing to lift" in resp.get_data(as_text=True)
    assert client.post("/staff/requests/DSAR-2026-999999/lift", data=data).status_code in (
        400,
        404,
    )
    db.session.remove()
    assert db.session.scalar(select(func.count()).where(Request.lift_of_id.is_not(None))) == 0
