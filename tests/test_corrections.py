"""Correction under the eight laws that grant it: asked field by field, decided by an officer
change by change, made in every system that keeps the field, proved by a second search, and
certified to the person; old values are not kept past the answer."""

from __future__ import annotations

import email.message
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Request, RequestKind, RequestStatus, TaskAction, TaskStatus
from dsar.rules import REGIMES
from tests.conftest import api_headers, csrf_token, pdf_text

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
NEW_PHONE = "+44 20 7946 0000"
GRANTING = sorted(k for k, r in REGIMES.items() if RequestKind.CORRECTION in r.kinds)


def post(client: FlaskClient, api_key: str, regime: str, correction: object, **extra: object):
    return client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "correction", "regime": regime, **JANE, "correction": correction, **extra},
    )


def count() -> int:
    db.session.remove()
    return db.session.scalar(select(func.count(Request.id)))


def test_every_law_that_grants_correction_takes_it_over_the_api(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    assert set(GRANTING) == set(REGIMES)  # all eight laws give a right to correct
    for regime in GRANTING:
        resp = post(client, api_key, regime, {"changes": {"phone": NEW_PHONE}})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        req = db.session.scalars(
            select(Request).where(Request.reference == resp.json["reference"])
        ).one()
        assert req.kind is RequestKind.CORRECTION
        assert req.status is RequestStatus.AWAITING_VERIFICATION
        assert req.correction["asked"] == {"phone": "+442079460000"}  # stored in E.164


@pytest.mark.parametrize(
    ("correction", "field", "words"),
    [
        (None, "correction", "Say what is wrong"),
        ({}, "correction", "at least one thing"),
        ({"changes": {}}, "correction", "at least one thing"),
        ({"changes": {"phone": "call me"}}, "correction-phone", "digits"),
        ({"changes": {"email": "not-an-address"}}, "correction-email", "name@example.com"),
        ({"changes": {"name": "x" * 201}}, "correction-name", "200"),
        ({"changes": {"name": "Jane\x00Doe"}}, "correction-name", "control"),
        (
            {"changes": {"email": "a@example.com"}, "held": {"email": "a@example.com"}},
            "correction-email",
            "the same",
        ),
        ({"other": "y" * 2001}, "correction-other", "2,000"),
    ],
)
def test_bad_corrections_are_refused_with_a_message_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    correction: object,
    field: str,
    words: str,
) -> None:
    resp = post(client, api_key, "gdpr", correction)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    errors = json.dumps(resp.json["errors"])
    assert words in errors, errors
    assert count() == 0


def test_an_unknown_field_is_refused_by_the_api_schema(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    for correction in ({"changes": {"salary": "1"}}, {"held": {"name": "x"}}, {"extra": 1}):
        resp = post(client, api_key, "gdpr", correction)
        assert resp.status_code == 422, resp.get_data(as_text=True)
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "access", "regime": "gdpr", **JANE, "correction": {"other": "x"}},
    )
    assert resp.status_code == 422
    assert "correct my data" in json.dumps(resp.json["errors"])
    assert count() == 0


def test_the_portal_form_takes_a_correction_and_shows_errors_beside_the_field(
    app: Flask, client: FlaskClient, demo_systems: list[str]
) -> None:
    page = client.get("/request?kind=correction&regime=ccpa").get_data(as_text=True)
    assert "What is wrong, and what should it be?" in page
    base = {"kind": "correction", "regime": "ccpa", **JANE}
    resp = client.post(
        "/request",
        data={"csrf_token": csrf_token(client, "/request"), **base, "fix_phone": "call me"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="fix_phone-error"' in html and "call me" in html  # kept, with its message
    assert count() == 0
    resp = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            **base,
            "fix_phone": NEW_PHONE,
            "fix_city": "Manchester",
            "held_email": "",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert req.correction["asked"] == {"phone": "+442079460000", "city": "Manchester"}


def _dry_run(client, api_key, run_workers, correction) -> Request:
    resp = post(client, api_key, "uk_gdpr", correction, identity_verified=True)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    reference = resp.json["reference"]

    def waiting() -> bool:
        db.session.remove()
        req = db.session.scalars(select(Request).where(Request.reference == reference)).one()
        return req.status is RequestStatus.AWAITING_APPROVAL and all(
            t.status is TaskStatus.SUCCEEDED for t in req.tasks
        )

    run_workers(waiting)
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def test_a_refused_decision_keeps_what_the_officer_typed(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    req = _dry_run(client, api_key, run_workers, {"changes": {"phone": NEW_PHONE}})
    login("officer")
    page_url = f"/staff/requests/{req.reference}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Next: decide each change" in page
    assert "CRM (contacts): holds <strong>+44 20 7946 0958</strong>" in page  # beside it
    resp = client.post(
        f"{page_url}/correction",
        data={
            "csrf_token": csrf_token(client, page_url),
            "value-phone": "+44 20 7946 1111",
            "refuse-phone": "other",
            "why-phone": "",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "explain the refusal" in html and 'value="+44 20 7946 1111"' in html
    # Control characters in an explanation (PostgreSQL refuses NUL): refused in words.
    resp = client.post(
        f"{page_url}/correction",
        data={
            "csrf_token": csrf_token(client, page_url),
            "refuse-phone": "other",
            "why-phone": "bad\x00text",
        },
    )
    assert resp.status_code == 422
    assert "control characters" in resp.get_data(as_text=True)
    resp = client.post(
        f"{page_url}/approve", data={"csrf_token": csrf_token(client, page_url)}
    )  # the erasure's button refuses a correction
    assert "decide each change" in client.get(page_url).get_data(as_text=True)
    db.session.remove()
    req = db.session.get(Request, req.id)
    assert req.status is RequestStatus.AWAITING_APPROVAL
    assert all(t.action is TaskAction.LOCATE for t in req.tasks)


def _phones(demo_dir: Path) -> dict[str, set[str]]:
    found = {}
    for name, sql in (
        ("crm", "SELECT phone FROM contacts WHERE email = 'jane.doe@example.com'"),
        ("shop", "SELECT phone FROM customers WHERE email = 'jane.doe@example.com'"),
    ):
        with sqlite3.connect(demo_dir / f"{name}.db") as conn:
            found[name] = {row[0] for row in conn.execute(sql)}
    return found


def test_a_correction_changes_the_phone_everywhere_and_the_certificate_says_where(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    before = _phones(demo_dir)
    req = _dry_run(
        client, api_key, run_workers, {"changes": {"phone": NEW_PHONE, "name": "Jane Q Doe"}}
    )
    reference, tracking = req.reference, None
    login("officer")
    page_url = f"/staff/requests/{reference}"
    resp = client.post(
        f"{page_url}/correction",
        data={
            "csrf_token": csrf_token(client, page_url),
            "value-phone": NEW_PHONE,
            "refuse-name": "accurate",
            "refuse-given_name": "accurate",
            "refuse-family_name": "accurate",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    run_workers(lambda: db.session.get(Request, req.id).status is RequestStatus.COMPLETED)
    db.session.remove()
    req = db.session.get(Request, req.id)
    after = _phones(demo_dir)
    for system in ("crm", "shop"):
        assert before[system] and after[system] == {"+442079460000"}, (system, after)
    tasks = {t.system.key: t for t in req.tasks}
    assert tasks["crm"].action is TaskAction.CORRECT
    assert tasks["crm"].remaining_count == 0 and tasks["crm"].proof_checked_at is not None
    stored = json.dumps([t.result for t in req.tasks] + [t.preview for t in req.tasks])
    assert "7946 0958" not in stored and "79460958" not in stored  # old values gone
    assert req.correction["held"] == {}
    assert req.correction["decided"]["name"]["refused"] == "accurate"
    doc = next(d for d in req.documents if d.kind == "response")
    text = pdf_text((app.config["DSAR_DOCUMENTS_DIR"] / doc.filename).read_bytes())
    assert "Certificate of correction" in text
    assert "+442079460000" in text
    assert "CRM (contacts)" in text and "Web shop" in text
    assert "The data we hold is accurate" in text and "UK GDPR Art. 16" in text
    assert "0958" not in text  # the old phone appears nowhere
    del tracking


def test_the_officer_is_told_how_many_asked_changes_are_being_made(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    """A name is one change, though systems with two columns get it as given and family name."""
    req = _dry_run(
        client, api_key, run_workers, {"changes": {"phone": NEW_PHONE, "name": "Jane Q Doe"}}
    )
    login("officer")
    page_url = f"/staff/requests/{req.reference}"
    resp = client.post(
        f"{page_url}/correction",
        data={
            "csrf_token": csrf_token(client, page_url),
            "value-phone": NEW_PHONE,
            "value-name": "Jane Q Doe",
            "value-given_name": "Jane Q",
            "value-family_name": "Doe",
        },
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert "Decided: 2 changes being made" in resp.get_data(as_text=True)
