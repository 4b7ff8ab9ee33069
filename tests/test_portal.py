"""The person's path in the portal without workers: validation, links, what gets stored."""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus, Task, TaskStatus
from dsar.rules import REGIMES
from tests.conftest import csrf_token, link_in

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}


def post_form(client: FlaskClient, **fields: str) -> tuple[int, str]:
    data = {"csrf_token": csrf_token(client, "/request"), **fields}
    resp = client.post("/request", data=data)
    return resp.status_code, resp.get_data(as_text=True)


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


def test_home_explains_rights_per_regime(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    for name in (
        "European Union (GDPR)",
        "United Kingdom (UK GDPR)",
        "California (CCPA/CPRA)",
        "Brazil (LGPD)",
    ):
        assert name in page
    assert "Opting out never needs proof of identity" in page


def test_empty_form_shows_a_message_next_to_each_required_field(client: FlaskClient) -> None:
    status, page = post_form(client)
    assert status == 422
    for message in (
        "Choose what you would like us to do.",
        "Choose the law that applies to you.",
        "Enter your name so that we can find your records.",
        "Enter the email address you use with us.",
    ):
        assert message in page
    assert stored() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter an email address like name@example.com."),
        ({"name": "x" * 201}, "Keep your name under 200 characters."),
        ({"details": "x" * 5001}, "Keep the details under 5,000 characters."),
        ({"email": "a" * 250 + "@example.com"}, "That email address is too long."),
        ({"phone": "call me maybe"}, "Use digits, spaces and + ( ) - . / only"),
        ({"country": "y" * 101}, "Keep this under 100 characters."),
        ({"regime": "mars"}, "Unknown law &#39;mars&#39;."),
        ({"kind": "teleport"}, "Unknown kind of request &#39;teleport&#39;."),
        (
            {"kind": "deletion", "regime": "qc_law25"},
            "Québec (Law 25) gives no right to “delete my data”.",
        ),
        (
            {"kind": "limit_sensitive", "regime": "gdpr"},
            "gives no right to “limit the use of my sensitive data”",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(
    client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    status, page = post_form(client, **{"kind": "access", "regime": "gdpr", **JANE, **fields})
    assert status == 422
    assert message in page
    assert stored() == 0


def test_a_form_without_csrf_token_is_refused(client: FlaskClient) -> None:
    resp = client.post("/request", data={"kind": "access", "regime": "gdpr", **JANE})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "This form has expired or did not come from our site, so nothing was saved." in page
    assert "The CSRF token is missing." in page
    assert stored() == 0


def test_access_request_waits_for_email_confirmation(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    status, _ = post_form(client, kind="access", regime="uk_gdpr", **JANE)
    assert status == 302
    req = db.session.scalars(select(Request)).one()
    assert req.status is RequestStatus.AWAITING_VERIFICATION
    assert req.reference == f"DSAR-{req.received_at:%Y}-{req.id:06d}"
    assert db.session.scalars(select(Task)).all() == []
    mail = outbox()[-1]
    assert mail["To"] == "jane.doe@example.com"
    link = link_in(mail, r"http://dsar\.test/r/\S+/verify/\S+")
    path = link.removeprefix("http://dsar.test")
    # Opening the link (as mail scanners do) changes nothing; pressing the button does.
    assert "Confirm my email address" in client.get(path).get_data(as_text=True)
    db.session.refresh(req)
    assert req.status is RequestStatus.AWAITING_VERIFICATION
    token = csrf_token(client, path)
    client.post(path, data={"csrf_token": token})
    db.session.refresh(req)
    assert req.status is RequestStatus.IN_PROGRESS
    assert req.verified_by == "email"
    # Started: tasks queued at once (a task needing another's ids waits as pending).
    assert TaskStatus.QUEUED in {t.status for t in req.tasks}
    assert {t.status for t in req.tasks} <= {TaskStatus.QUEUED, TaskStatus.PENDING}
    # A second press is harmless, and the page says it is done.
    assert "Already confirmed" in client.get(path).get_data(as_text=True)
    resp = client.post(path, data={"csrf_token": token})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).where(Event.action == "fan_out")) == 1
    # Personal data never reaches the logs.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "jane" not in logged.lower()
    assert "Doe" not in logged


def test_opt_out_starts_at_once_and_jobs_carry_only_ids(
    client: FlaskClient, demo_systems: list[str], env: dict[str, str]
) -> None:
    post_form(client, kind="opt_out", regime="ccpa", **JANE)
    req = db.session.scalars(select(Request)).one()
    assert req.status is RequestStatus.IN_PROGRESS
    assert req.verified_by == "not required"
    redis = Redis.from_url(env["REDIS_URL"])
    job_ids = [j.decode() for j in redis.lrange("rq:queue:tasks", 0, -1)]
    queued = [t for t in req.tasks if t.status is TaskStatus.QUEUED]
    assert queued and sorted(job_ids) == sorted(t.job_id for t in queued)
    for job_id in job_ids:
        raw = zlib.decompress(redis.hget(f"rq:job:{job_id}", "data"))
        payload = json.loads(raw)  # the JSON serializer, not pickle
        assert payload[2] == [int(job_id.split("-")[1])]  # args: the task id alone
        assert b"jane" not in raw.lower()


def test_unknown_links_answer_404_with_a_message(client: FlaskClient) -> None:
    resp = client.get("/r/not-a-real-token")
    assert resp.status_code == 404
    assert "This tracking link is not valid" in resp.get_data(as_text=True)
    assert client.get("/r/not-a-real-token/response.pdf").status_code == 404


def test_a_wrong_or_expired_confirmation_link_is_refused(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    post_form(client, kind="access", regime="gdpr", **JANE)
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    path = link.removeprefix("http://dsar.test")
    tracking = path.split("/verify/")[0]
    token = csrf_token(client, path)
    resp = client.post(f"{tracking}/verify/wrong-code", data={"csrf_token": token})
    assert resp.status_code == 404
    assert "This confirmation link is not valid." in resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    req.verification_expires_at = req.received_at
    db.session.commit()
    resp = client.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert resp.request.path == tracking  # the request's page, which offers a fresh link
    page = resp.get_data(as_text=True)
    assert "That confirmation link has expired" in page
    assert "Send the confirmation email again" in page
    db.session.refresh(req)
    assert req.status is RequestStatus.AWAITING_VERIFICATION


def test_status_page_shows_due_date_and_why(client: FlaskClient) -> None:
    data = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": "access",
        "regime": "gdpr",
        **JANE,
    }
    location = client.post("/request", data=data).headers["Location"]
    page = client.get(location)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    text = page.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert req.reference in text
    assert req.due_on.strftime("%A %-d %B %Y") in text
    assert "Why this date?" in text
    assert "GDPR Art. 12(3)" in text


def test_the_home_page_links_every_right_each_law_grants_to_the_form(
    client: FlaskClient,
) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'href="/request?regime=lgpd&amp;kind=portability">Ask online</a>' in page
    assert "not yet online" not in page  # every (law, right) pair is taken online
    for regime in REGIMES.values():
        for kind in regime.kinds:
            assert f'href="/request?regime={regime.key}&amp;kind={kind.value}">Ask online' in page
    form = client.get("/request?regime=lgpd&kind=portability").get_data(as_text=True)
    assert '<option selected value="lgpd">' in form
    assert (
        '<input checked id="kind-1" name="kind" required type="radio" value="portability">' in form
    )
    # Each right says which laws grant it, for the form to show only those.
    assert 'data-laws="gdpr uk_gdpr lgpd us_va us_co us_ct qc_law25"' in form
    # Unknown values in the address are ignored, never echoed.
    odd = client.get("/request?regime=mars&kind=<script>").get_data(as_text=True)
    assert "<script>" not in odd and "mars" not in odd
