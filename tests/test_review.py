"""The officer's review: an access answer waits in ready_for_review, shows its pages, lets the
officer withhold a record or a field with a reason the person's law allows, and goes to the
person only when released; opt-outs (by default) go out at once."""

from __future__ import annotations

import email.message
import io
import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from dsar.documents import words
from dsar.extensions import db
from dsar.models import Redaction, Request, RequestStatus
from dsar.rules import withholding
from dsar.services import intake, systems
from dsar.services.api_keys import create as create_api_key
from tests.conftest import csrf_token, download_answer, pdf_text


@pytest.fixture
def env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The shipped default: access answers wait for review, opt-outs go out at once."""
    monkeypatch.delenv("DSAR_RELEASE_AT_ONCE")
    env.pop("DSAR_RELEASE_AT_ONCE", None)
    return env


def submit(kind: str, regime: str = "gdpr") -> tuple[int, str]:
    key, _ = create_api_key("tests")
    done = intake.submit(
        intake.Submission(kind=kind, regime=regime, name="Jane Doe", email="jane.doe@example.com"),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    return done.request.id, done.tracking_token


def status_of(req_id: int) -> RequestStatus:
    return db.session.get(Request, req_id).status


def data_json(pdf: bytes) -> dict:
    blobs = PdfReader(io.BytesIO(pdf)).attachments["data.json"]
    return json.loads(blobs[0])


def staff_pdf(client: FlaskClient, page: str) -> bytes:
    found = re.search(r'href="(/staff/requests/[^"]+/documents/\d+)">Open the PDF', page)
    assert found, "no 'Open the PDF' link on the review"
    with client.get(found.group(1)) as resp:
        assert resp.status_code == 200
        return resp.data


def ready_mails(outbox: Callable[[], list[email.message.Message]]) -> list[str]:
    return [m["Subject"] for m in outbox() if "is ready" in (m["Subject"] or "")]


def test_an_access_answer_waits_for_review_and_goes_out_without_what_was_withheld(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    req_id, token = submit("access")
    run_workers(lambda: status_of(req_id) is RequestStatus.READY_FOR_REVIEW)

    # The person is told it is being checked, and is not told it is ready.
    status_page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "your answer is being checked" in status_page
    assert ready_mails(outbox) == []

    req = db.session.get(Request, req_id)
    shop = next(t for t in req.tasks if t.system.key == "shop")
    orders = shop.result["records"]["orders"]
    assert len(orders) >= 2
    order = orders[0]
    kept_ids = [row["id"] for row in orders[1:]]

    login("officer")
    page_url = f"/staff/requests/{req.reference}"
    page = client.get(page_url).get_data(as_text=True)
    assert "The answer as the person will receive it" in page
    # Every page of the answer can be looked at, as a picture.
    previews = re.findall(r'<img src="([^"]+\.png)"', page)
    assert previews, "no page previews on the review"
    with client.get(previews[0]) as resp:
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        assert resp.data.startswith(b"\x89PNG")
    assert client.get(previews[0].replace("/pages/1.png", "/pages/999.png")).status_code == 404
    # The records are shown in words, not column names.
    assert "Web shop (customers and orders)" in page
    assert "ship_to:" not in page

    before = data_json(staff_pdf(client, page))
    shop_before = next(s for s in before["systems"] if s["key"] == "shop")
    assert order in shop_before["records"]["orders"]

    reason = withholding.redaction_reasons("gdpr")[0]
    resp = client.post(
        f"{page_url}/redact",
        data={
            "csrf_token": csrf_token(client, page_url),
            "system": "shop",
            "place": "orders",
            "record": "1",
            "field": "",
            "reason": reason.key,
            "note": "Delivered to a neighbour: the address is theirs.",
        },
    )
    assert resp.status_code == 302
    assert status_of(req_id) is RequestStatus.COMPILING
    run_workers(lambda: status_of(req_id) is RequestStatus.READY_FOR_REVIEW)
    page = client.get(page_url).get_data(as_text=True)
    assert "Withheld so far" in page
    assert f"{reason.label} ({reason.citation})" in page
    assert "Delivered to a neighbour" in page

    # Only the latest answer is kept: the superseded files are deleted from the disk, their
    # rows stay for the history (and staff downloads of the draft), shown as deleted.
    req = db.session.get(Request, req_id)
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    responses = [d for d in req.documents if d.kind == "response"]
    assert [(folder / d.filename).is_file() for d in responses] == [False, True]
    assert page.count("(deleted: replaced by a later render, or purged)") == 3

    release = f"{page_url}/release"
    resp = client.post(release, data={"csrf_token": csrf_token(client, page_url)})
    assert resp.status_code == 302
    assert status_of(req_id) is RequestStatus.COMPLETED
    assert len(ready_mails(outbox)) == 1

    pdf = download_answer(client, f"/r/{token}", outbox)
    text = pdf_text(pdf)
    data = data_json(pdf)
    shop_data = next(s for s in data["systems"] if s["key"] == "shop")
    assert [row["id"] for row in shop_data["records"]["orders"]] == kept_ids
    label = words.place_label(systems.get("shop"), "orders")
    kept = len(kept_ids)
    assert f"{label} ({kept} record{'s' if kept != 1 else ''})" in text
    # The letter says what was left out and why, with the person's law.
    assert reason.citation in text
    # The history names who released it, in words.
    history = client.get(page_url).get_data(as_text=True)
    assert "released" in history and "user:" not in history


def test_one_field_is_withheld_put_back_and_bad_choices_change_nothing(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    req_id, _ = submit("access", regime="lgpd")
    run_workers(lambda: status_of(req_id) is RequestStatus.READY_FOR_REVIEW)
    req = db.session.get(Request, req_id)
    login("officer")
    page_url = f"/staff/requests/{req.reference}"
    good = {
        "system": "crm",
        "place": "contacts",
        "record": "1",
        "field": "phone",
        "reason": withholding.redaction_reasons("lgpd")[0].key,
    }

    def post(path: str, **changes: str) -> tuple[int, str]:
        data = {"csrf_token": csrf_token(client, page_url), **good, **changes}
        resp = client.post(f"{page_url}/{path}", data=data)
        return resp.status_code, client.get(page_url).get_data(as_text=True)

    refused = [
        ({"record": "0"}, 400, "whole number"),
        ({"record": "abc"}, 400, "whole number"),
        ({"record": "²"}, 400, "whole number"),
        ({"record": "99"}, 302, "there is no 99"),
        ({"field": "no_such_field"}, 302, "has no field"),
        ({"place": "nowhere"}, 302, "has no"),
        ({"system": "nosuch"}, 302, "has no"),
        ({"reason": ""}, 302, "reasons the person&#39;s law allows"),
        ({"system": ""}, 302, "Nothing was withheld"),
        ({"reason": "legal_obligation"}, 302, "reasons the person&#39;s law allows"),
        ({"note": "x" * 1001}, 302, "under 1,000 characters"),
    ]
    for changes, code, said in refused:
        status, page = post("redact", **changes)
        assert status == code, changes
        if code == 302:
            assert said in page, changes
    assert db.session.scalar(select(func.count()).select_from(Redaction)) == 0
    assert status_of(req_id) is RequestStatus.READY_FOR_REVIEW

    status, _ = post("redact")
    assert status == 302
    run_workers(lambda: status_of(req_id) is RequestStatus.READY_FOR_REVIEW)
    status, page = post("redact")  # the same again: refused, nothing added
    assert status == 302 and "is already withheld" in page
    assert db.session.scalar(select(func.count()).select_from(Redaction)) == 1
    page = client.get(page_url).get_data(as_text=True)
    assert "only “Phone number”" in page
    crm = next(s for s in data_json(staff_pdf(client, page))["systems"] if s["key"] == "crm")
    (contact,) = crm["records"]["contacts"]
    assert contact["email"] == "jane.doe@example.com"
    phone = next(t for t in db.session.get(Request, req_id).tasks if t.system.key == "crm").result[
        "records"
    ]["contacts"][0]["phone"]
    assert contact["phone"] != phone

    (redaction,) = db.session.scalars(select(Redaction)).all()
    resp = client.post(
        f"{page_url}/redactions/{redaction.id}/remove",
        data={"csrf_token": csrf_token(client, page_url)},
    )
    assert resp.status_code == 302
    run_workers(lambda: status_of(req_id) is RequestStatus.READY_FOR_REVIEW)
    page = client.get(page_url).get_data(as_text=True)
    assert "Withheld so far" not in page
    crm = next(s for s in data_json(staff_pdf(client, page))["systems"] if s["key"] == "crm")
    assert crm["records"]["contacts"][0]["phone"] == phone


def test_opt_outs_go_out_at_once_and_a_selection_is_released_from_the_queue(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    opt_out, _ = submit("opt_out", regime="ccpa")
    first, _ = submit("access")
    second, _ = submit("access", regime="uk_gdpr")
    run_workers(
        lambda: (
            status_of(opt_out) is RequestStatus.COMPLETED
            and status_of(first) is RequestStatus.READY_FOR_REVIEW
            and status_of(second) is RequestStatus.READY_FOR_REVIEW
        )
    )
    assert len(ready_mails(outbox)) == 1

    login("auditor")
    ref = db.session.get(Request, first).reference
    page = client.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert "Release the answer" not in page  # auditors look, they do not release
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})

    login("officer")
    queue = client.get("/staff/queue").get_data(as_text=True)
    assert 'value="release"' in queue
    ids = [str(first), str(second), str(opt_out)]
    resp = client.post(
        "/staff/bulk",
        data={"csrf_token": csrf_token(client, "/staff/"), "action": "release", "ids": ids},
    )
    assert resp.status_code == 302
    after = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert status_of(first) is RequestStatus.COMPLETED
    assert status_of(second) is RequestStatus.COMPLETED
    assert status_of(opt_out) is RequestStatus.COMPLETED
    assert "Released" in after
    assert len(ready_mails(outbox)) == 3
    # Released once: a second release is refused and sends nothing.
    resp = client.post(
        f"/staff/requests/{ref}/release",
        data={"csrf_token": csrf_token(client, f"/staff/requests/{ref}")},
    )
    page = client.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert "no answer waiting for review" in page
    assert len(ready_mails(outbox)) == 3
