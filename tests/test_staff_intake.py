"""Requests taken by staff: a call, a letter or an email recorded by an officer, with the true
day of receipt (the deadline runs from it), a reason when that day is past, and the original
attached."""

from __future__ import annotations

import email.message
import io
import json
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar import deadlines
from dsar.extensions import db
from dsar.models import Correspondence, Event, Request, RequestStatus, utcnow
from dsar.services import orphans, retention, staff_intake, uploads
from tests.conftest import csrf_token, link_in

PAGE = "/staff/requests/new"


def tiny_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Dear Sirs, please send me a copy of my data. J. Doe</p>").write_pdf()


def form(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    data = {
        "csrf_token": csrf_token(client, PAGE),
        "channel": "letter",
        "received_on": (staff_intake.today() - timedelta(days=10)).isoformat(),
        "reason": "The letter was in the post room over the holidays.",
        "kind": "access",
        "regime": "gdpr",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "phone": "",
        "country": "",
        "details": "Please send me everything you hold about me.",
        "identity_checked": "",
    }
    data.update(overrides)
    return data


def post(client: FlaskClient, data: dict[str, Any], files: list[tuple[bytes, str]] = ()) -> Any:
    body = {**data, "files": [(io.BytesIO(blob), name) for blob, name in files]}
    return client.post(PAGE, data=body, content_type="multipart/form-data")


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


def test_a_letter_received_ten_days_ago_is_due_from_that_day_with_its_original_attached(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    login("officer")
    assert "Record a request received by phone, letter or email" in client.get(
        "/staff/queue"
    ).get_data(as_text=True)
    page = client.get(PAGE)
    assert page.status_code == 200
    day = staff_intake.today() - timedelta(days=10)
    pdf = tiny_pdf()
    resp = post(client, form(client), [(pdf, "letter from Jane.pdf")])
    assert resp.status_code == 302, resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert resp.headers["Location"].endswith(f"/staff/requests/{req.reference}")
    assert req.channel == "letter"
    assert deadlines.received_on(req.received_at, app.config["DSAR_TIMEZONE"]) == day
    explained = app.test_cli_runner().invoke(
        args=[
            "dsar",
            "explain-deadline",
            "--regime",
            "gdpr",
            "--kind",
            "access",
            "--received",
            day.isoformat(),
        ]
    )
    assert req.due_on.isoformat() == json.loads(explained.stdout)["respond_by"]
    assert req.received_note == "The letter was in the post room over the holidays."
    # Not checked by the officer: the person confirms by email, from now (not from the
    # day of receipt, or the link would be born expired).
    assert req.status is RequestStatus.AWAITING_VERIFICATION
    assert req.verification_expires_at > utcnow() + timedelta(hours=70)
    mail = outbox()[-1]
    assert mail["To"] == "jane.doe@example.com"
    link = link_in(mail, r"http://dsar\.test/r/\S+/verify/\S+").removeprefix("http://dsar.test")
    client.post(link, data={"csrf_token": csrf_token(client, link)})
    db.session.refresh(req)
    assert req.status is RequestStatus.IN_PROGRESS

    (original,) = req.correspondence
    assert original.original_name == "letter from Jane.pdf"
    path = uploads.path_of(original)
    assert path.read_bytes() == pdf
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The request page says how it came, why it is recorded late, and links the original.
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert f"By letter, on {day.isoformat()}" in page
    assert "Why later: The letter was in the post room over the holidays." in page
    assert "letter from Jane.pdf" in page
    with client.get(f"/staff/requests/{req.reference}/correspondence/{original.id}") as download:
        assert download.status_code == 200
        assert download.data == pdf
        assert "attachment" in download.headers["Content-Disposition"]
    actions = [
        e.action for e in db.session.scalars(select(Event).where(Event.request_id == req.id))
    ]
    assert "recorded_by_staff" in actions and "correspondence_downloaded" in actions
    assert client.get(f"/staff/requests/{req.reference}/correspondence/999").status_code == 404
    # The orphan purge keeps it; stripping the identity at the end of the record period
    # deletes it (its row and SHA-256 stay).
    assert orphans.purge(utcnow() + timedelta(days=2)) == 0
    assert path.is_file()
    retention.purge_record(req, now=utcnow())
    assert not path.is_file()
    assert db.session.get(Correspondence, original.id).sha256 == original.sha256


def test_a_call_checked_by_the_officer_starts_at_once_and_says_how(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("officer")
    how = "Called back on the number in our CRM; she gave her last order number."
    data = form(
        client,
        channel="phone",
        received_on=staff_intake.today().isoformat(),
        reason="",
        kind="opt_out",
        regime="ccpa",
        identity_checked=how,
    )
    resp = post(client, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert req.status is RequestStatus.IN_PROGRESS
    assert req.verified_by.startswith("user:")
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "By phone, on" in page
    assert how in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"received_on": "2999-01-01"}, "received_on", "cannot be in the future"),
        ({"received_on": "2026-02-30"}, "received_on", "That day does not exist"),
        ({"received_on": "last week"}, "received_on", "Give the day as YYYY-MM-DD."),
        ({"received_on": "2019-01-01"}, "received_on", "more than a year ago"),
        ({"reason": ""}, "reason", "Say why the request is recorded after the day"),
        ({"channel": "pigeon"}, "channel", "Choose how the request reached us."),
        ({"kind": "teleport"}, "kind", "Unknown kind of request"),
        ({"kind": "deletion", "regime": "qc_law25"}, "kind", "gives no right"),
        ({"email": "not-an-email"}, "email", "Enter an email address like"),
        ({"name": ""}, "name", "Enter the person&#39;s name."),
        ({"identity_checked": "x" * 1001}, "identity_checked", "under 1,000 characters"),
        ({"reason": "bad\x00byte"}, "reason", ""),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    login("officer")
    resp = post(client, form(client, **overrides))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert f'href="#{field}"' in page
    assert message in page
    assert stored() == 0


def test_a_file_that_is_not_a_letter_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("officer")
    resp = post(client, form(client), [(b"MZ\x90\x00 not a pdf", "letter.pdf")])
    assert resp.status_code == 422
    assert "letter.pdf is not a PDF, a PNG or JPEG image, or a CSV spreadsheet." in resp.get_data(
        as_text=True
    )
    assert stored() == 0
    folder = Path(app.config["DSAR_UPLOADS_DIR"])
    assert not folder.exists() or list(folder.iterdir()) == []


def test_only_officers_and_admins_record_requests_and_every_form_needs_its_token(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    assert client.get(PAGE).status_code in (302, 401)  # signed out: to the sign-in page
    login("auditor")
    assert client.get(PAGE).status_code == 403
    assert "Record a request" not in client.get("/staff/queue").get_data(as_text=True)
    resp = client.post(PAGE, data={"channel": "phone"})
    assert resp.status_code in (400, 403)
    assert stored() == 0


def test_every_mistake_shows_at_once(
    app: Flask, client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("officer")
    resp = post(client, form(client, reason="", email="jane.doe@example", name=""))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    for field in ("reason", "email", "name"):
        assert f'href="#{field}"' in page
    assert 'value="jane.doe@example"' in page  # what was typed stays
    assert stored() == 0
