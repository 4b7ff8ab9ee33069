"""Secure delivery: the tracking link alone no longer opens the answer; an emailed code does."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import transitions
from dsar.extensions import db
from dsar.models import (
    Document,
    DocumentDownload,
    DownloadCode,
    Event,
    Request,
    RequestStatus,
    utcnow,
)
from dsar.services import intake
from dsar.services.api_keys import create as create_api_key
from tests.conftest import body_of, csrf_token, download_answer

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}


def completed(
    run_workers: Callable[..., None], kind: str = "access", **who: str
) -> tuple[str, Request]:
    """A request taken, run by real workers in every demo system, and compiled."""
    key, _ = create_api_key("tests")
    receipt = intake.submit(
        intake.Submission(kind=kind, regime="ccpa", **(who or JANE)),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    request_id = receipt.request.id

    def finished() -> bool:
        return db.session.get(Request, request_id).status not in transitions.OPEN_STATUSES

    run_workers(finished)
    req = db.session.get(Request, request_id)
    assert req.status is RequestStatus.COMPLETED
    return f"/r/{receipt.tracking_token}", req


@pytest.fixture
def done(demo_systems: list[str], run_workers: Callable[..., None]) -> tuple[str, Request]:
    return completed(run_workers)


def ask_for_code(client: FlaskClient, path: str) -> int:
    return client.post(f"{path}/code", data={"csrf_token": csrf_token(client, path)}).status_code


def emailed_code(outbox: Callable[[], list]) -> str:
    found = re.search(r"^\s+(\d{8})\s*$", body_of(outbox()[-1]), re.MULTILINE)
    assert found
    return found.group(1)


def enter_code(client: FlaskClient, path: str, code: str) -> tuple[int, str]:
    page = f"{path}/download"
    resp = client.post(page, data={"csrf_token": csrf_token(client, "/request"), "code": code})
    return resp.status_code, resp.get_data(as_text=True)


def answer(req: Request) -> Document:
    return next(d for d in req.documents if d.kind == "response")


def test_the_tracking_link_alone_opens_no_file(
    client: FlaskClient, done: tuple[str, Request]
) -> None:
    path, req = done
    page = client.get(path).get_data(as_text=True)
    assert "Your answer is ready" in page
    assert "Email me a download code" in page
    assert "/files/" not in page and "response.pdf" not in page
    resp = client.get(f"{path}/files/{answer(req).id}")
    assert resp.status_code == 403
    text = resp.get_data(as_text=True)
    assert "first enter the code we email you" in text
    assert f'action="{path}/code"' in text  # the way back to get a code
    old = client.get(f"{path}/response.pdf")
    assert old.status_code == 302
    assert old.headers["Location"] == f"{path}/download"
    assert db.session.scalars(select(DocumentDownload)).all() == []


def test_an_emailed_code_opens_the_files_once_and_each_download_is_recorded(
    client: FlaskClient,
    done: tuple[str, Request],
    outbox: Callable[[], list],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    path, req = done
    resp = client.post(f"{path}/code", data={"csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"{path}/download"
    mail = outbox()[-1]
    assert mail["To"] == "jane.doe@example.com"
    assert mail["Subject"] == f"Your download code for request {req.reference}"
    code = emailed_code(outbox)
    row = db.session.scalars(select(DownloadCode)).one()
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at == row.created_at + timedelta(minutes=15)
    page = client.get(f"{path}/download").get_data(as_text=True)
    assert "We have emailed a download code" in page
    assert "Enter your download code" in page

    status, page = enter_code(client, path, "00000000" if code != "00000000" else "11111111")
    assert status == 422
    assert "That code is not right. You have 4 more tries." in page
    status, _ = enter_code(client, path, code)
    assert status == 302
    page = client.get(f"{path}/download").get_data(as_text=True)
    assert "Your files" in page and "Your answer (PDF)" in page
    doc = answer(req)
    with client.get(f"{path}/files/{doc.id}") as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Content-Disposition"] == f"attachment; filename={req.reference}.pdf"
        assert resp.data.startswith(b"%PDF")
    # The old address serves the answer too, now that this browser holds a grant.
    with client.get(f"{path}/response.pdf") as resp:
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    downloads = db.session.scalars(select(DocumentDownload)).all()
    assert [(d.document_id, d.channel) for d in downloads] == [(doc.id, "person")] * 2
    event = db.session.scalars(select(Event).where(Event.action == "document_downloaded")).first()
    assert event.actor == "person"
    assert event.detail == {
        "document_id": doc.id,
        "kind": "response",
        "sha256": doc.sha256,
        "channel": "person",
    }
    # Used once: the same code opens nothing again.
    status, page = enter_code(client, path, code)
    assert status == 422
    assert "This code can no longer be used" in page
    # Neither the code nor the address reaches the logs.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert code not in logged
    assert "jane" not in logged.lower()


def test_access_answers_list_the_data_files_that_exist(
    client: FlaskClient, done: tuple[str, Request], outbox: Callable[[], list]
) -> None:
    path, req = done
    ask_for_code(client, path)
    enter_code(client, path, emailed_code(outbox))
    page = client.get(f"{path}/download").get_data(as_text=True)
    labels = {"response": "Your answer (PDF)", "data_json": "Your data alone (JSON)"}
    labels["data_csv"] = "Your data alone (CSV)"
    kinds = {d.kind for d in req.documents}
    for kind, label in labels.items():
        assert (label in page) is (kind in kinds), kind
        for doc in (d for d in req.documents if d.kind == kind):
            if doc is max((d for d in req.documents if d.kind == kind), key=lambda d: d.id):
                with client.get(f"{path}/files/{doc.id}") as resp:
                    assert resp.status_code == 200, kind


def test_wrong_tries_kill_the_code(
    app: Flask, client: FlaskClient, done: tuple[str, Request], outbox: Callable[[], list]
) -> None:
    path, _ = done
    ask_for_code(client, path)
    code = emailed_code(outbox)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for left in (4, 3, 2, 1):
        status, page = enter_code(client, path, wrong)
        assert status == 422
        assert f"You have {left} more tr" in page
    status, page = enter_code(client, path, wrong)
    assert "That code is not right, and it can no longer be used" in page
    status, page = enter_code(client, path, code)
    assert status == 422
    assert "This code can no longer be used" in page
    assert db.session.scalars(select(DownloadCode)).one().attempts == 5


def test_a_code_expires_and_a_new_one_replaces_the_old(
    client: FlaskClient, done: tuple[str, Request], outbox: Callable[[], list]
) -> None:
    path, _ = done
    ask_for_code(client, path)
    first = emailed_code(outbox)
    row = db.session.scalars(select(DownloadCode)).one()
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    status, page = enter_code(client, path, first)
    assert status == 422 and "This code can no longer be used" in page
    ask_for_code(client, path)
    second = emailed_code(outbox)
    ask_for_code(client, path)
    third = emailed_code(outbox)
    if second != third:
        assert enter_code(client, path, second)[0] == 422  # replaced by the newer code
    assert enter_code(client, path, third)[0] == 302


def test_at_most_five_codes_an_hour_per_request(
    client: FlaskClient, done: tuple[str, Request], outbox: Callable[[], list]
) -> None:
    path, _ = done
    sent = len(outbox())
    assert [ask_for_code(client, path) for _ in range(5)] == [302] * 5
    resp = client.post(f"{path}/code", data={"csrf_token": csrf_token(client, path)})
    assert resp.status_code == 429
    assert "We have sent 5 codes for this request in the last hour" in resp.get_data(as_text=True)
    assert len(outbox()) == sent + 5


def test_a_grant_is_short_and_opens_only_its_own_request(
    client: FlaskClient,
    done: tuple[str, Request],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    path, req = done
    other_path, other = completed(run_workers, name="Sam Roe", email="sam.roe@example.com")
    req = intake.find_by_tracking(path.removeprefix("/r/"))  # the workers' run reset the session
    download_answer(client, path, outbox)
    # Jane's grant opens nothing of Sam's, and Sam's files are not reachable via Jane's link.
    assert client.get(f"{other_path}/files/{answer(other).id}").status_code == 403
    assert client.get(f"{path}/files/{answer(other).id}").status_code == 404
    with client.session_transaction() as session:
        grants = session["download_grants"]
        assert set(grants) == {str(req.id)}
        assert time.time() + 9 * 60 < grants[str(req.id)] <= time.time() + 10 * 60
        session["download_grants"] = {str(req.id): time.time() - 1}
    assert client.get(f"{path}/files/{answer(req).id}").status_code == 403


def test_downloads_stop_when_the_delivery_period_ends(
    client: FlaskClient, done: tuple[str, Request], outbox: Callable[[], list]
) -> None:
    path, req = done
    download_answer(client, path, outbox)  # a grant, and delivery_expires_at set
    assert req.delivery_expires_at == req.completed_at + timedelta(days=30)
    # Unset (a request compiled before the column existed): completion + DSAR_DELIVERY_DAYS.
    req.delivery_expires_at = None
    req.completed_at -= timedelta(days=30)
    db.session.commit()
    expired = f"This download link has expired; contact us quoting {req.reference}."
    for resp in (
        client.get(f"{path}/files/{answer(req).id}"),
        client.get(f"{path}/download"),
        client.post(f"{path}/code", data={"csrf_token": csrf_token(client, "/request")}),
    ):
        assert resp.status_code == 410
        assert expired in resp.get_data(as_text=True)
    assert "This download link has expired" in client.get(path).get_data(as_text=True)
    assert "Email me a download code" not in client.get(path).get_data(as_text=True)


def test_nothing_to_deliver_before_the_answer_is_ready(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    receipt = intake.submit(
        intake.Submission(kind="access", regime="gdpr", **JANE), channel="portal"
    )
    path = f"/r/{receipt.tracking_token}"
    sent = len(outbox())
    resp = client.post(f"{path}/code", data={"csrf_token": csrf_token(client, "/request")})
    assert resp.status_code == 404
    assert "Your answer is not ready yet" in resp.get_data(as_text=True)
    assert client.get(f"{path}/download").status_code == 404
    assert len(outbox()) == sent
    assert db.session.scalars(select(DownloadCode)).all() == []


def test_code_forms_need_their_csrf_token(client: FlaskClient, done: tuple[str, Request]) -> None:
    path, _ = done
    assert client.post(f"{path}/code").status_code == 400
    assert client.post(f"{path}/download", data={"code": "12345678"}).status_code == 400
    assert db.session.scalars(select(DownloadCode)).all() == []
    resp = client.post(
        f"{path}/download", data={"csrf_token": csrf_token(client, path), "code": "abc"}
    )
    assert resp.status_code == 422
    assert "The code is made of digits only." in resp.get_data(as_text=True)


def test_an_officer_sends_a_new_code_and_renews_an_ended_period(
    client: FlaskClient,
    done: tuple[str, Request],
    outbox: Callable[[], list],
    login: Callable[[str], str],
) -> None:
    """The person calls: the code never came, or the download period ended."""
    path, req = done
    req.completed_at -= timedelta(days=31)  # the period ended yesterday
    req.delivery_expires_at = req.completed_at + timedelta(days=30)
    db.session.commit()
    assert "Email me a download code" not in client.get(path).get_data(as_text=True)
    login("officer")
    page = f"/staff/requests/{req.reference}"
    assert "Email the person a new download code" in client.get(page).get_data(as_text=True)
    before = len(outbox())
    sent = client.post(f"{page}/resend-code", data={"csrf_token": csrf_token(client, page)})
    assert sent.status_code == 302
    assert "A new download code was emailed" in client.get(page).get_data(as_text=True)
    [mail] = outbox()[before:]
    assert mail["To"] == JANE["email"]
    db.session.expire_all()
    req = db.session.get(Request, req.id)
    assert req.delivery_expires_at > utcnow() + timedelta(days=29)
    latest = db.session.scalars(
        select(Event).where(Event.request_id == req.id).order_by(Event.id.desc()).limit(2)
    ).all()
    assert [e.action for e in latest] == ["download_code_sent", "delivery_renewed"]
    assert all(e.actor.startswith("user:") for e in latest)
    # The person downloads with the code the officer sent.
    status, _ = enter_code(client, path, emailed_code(outbox))
    assert status == 302

    # The code's own limit stands: said in words, nothing sent.
    for _ in range(5):
        client.post(f"{page}/resend-code", data={"csrf_token": csrf_token(client, page)})
    before = len(outbox())
    client.post(f"{page}/resend-code", data={"csrf_token": csrf_token(client, page)})
    assert len(outbox()) == before
    assert "codes for this request in the last hour" in client.get(page).get_data(as_text=True)
    expired = client.post(f"{page}/resend-code", data={"csrf_token": "stale"})
    assert expired.status_code == 400
