"""The person is never left guessing: each change that concerns them shows on their request's
page, with what to do and by when, and reaches them in one email; a lost or expired
confirmation email can be sent again without a second request; a form refused by the rate
limit or by its age comes back as it was typed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus
from tests.conftest import body_of, csrf_token, link_in, staff_post
from tests.test_i18n import subject_of
from tests.test_manual import archive, paper_task

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
VERIFY = r"http://dsar\.test/r/\S+/verify/\S+"


def file_request(client: FlaskClient, regime: str = "uk_gdpr", **extra: str) -> str:
    """File an access request on the portal; return its tracking page's path."""
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": regime}
    resp = client.post("/request", data={**data, **JANE, **extra})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    return resp.headers["Location"]


def confirm(client: FlaskClient, outbox: Callable[[], list]) -> None:
    path = link_in(to_person(outbox)[-1], VERIFY).removeprefix("http://dsar.test")
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 302


def under_way(
    client: FlaskClient, outbox: Callable[[], list], regime: str = "uk_gdpr"
) -> tuple[str, Request]:
    """A confirmed access request kept open by a colleague's search by hand."""
    archive()
    tracking = file_request(client, regime=regime)
    confirm(client, outbox)
    return tracking, the_request()


def to_person(outbox: Callable[[], list]) -> list:
    return [m for m in outbox() if m["To"] == JANE["email"]]


def the_request() -> Request:
    db.session.expire_all()
    return db.session.scalars(select(Request)).one()


def notice(page: str, key: str) -> str:
    """The text of one notice on the tracking page ('' when it is not there)."""
    found = re.search(
        rf'<section class="card notice-card" id="notice-{key}".*?</section>', page, re.S
    )
    if not found:
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def minutes_pass(minutes: int) -> None:
    """As if the confirmation emails went out `minutes` earlier."""
    for event in the_request().events:
        if event.action in ("verification_requested", "verification_resent"):
            event.at -= timedelta(minutes=minutes)
    db.session.commit()


def status_words(page: str) -> str:
    found = re.search(r'<span id="status-words">([^<]*)</span>', page)
    assert found
    return found.group(1)


def test_a_pause_and_a_resume_each_send_one_email_and_show_on_the_page(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive()  # a colleague's search keeps the request open
    tracking = file_request(client)
    confirm(client, outbox)
    req = the_request()
    before = len(to_person(outbox))
    login("officer")
    staff_post(client, req.reference, "pause", reason="We need a copy of your passport.")

    [paused] = to_person(outbox)[before:]
    assert subject_of(paused) == f"Your request {req.reference} is paused"
    body = " ".join(body_of(paused).split())
    assert "Why: We need a copy of your passport." in body
    assert "UK GDPR Art. 12A" in body
    page = client.get(tracking).get_data(as_text=True)
    assert status_words(page) == "Paused: we are waiting for information from you"
    shown = notice(page, "paused")
    assert "Why: We need a copy of your passport." in shown
    assert "What to do: It starts again as soon as we have what we need." in shown
    assert "paused" in client.get(f"{tracking}/progress").json["news"]  # the page reloads

    staff_post(client, req.reference, "resume")
    [resumed] = to_person(outbox)[before + 1 :]
    req = the_request()
    assert subject_of(resumed) == f"Your request {req.reference} is going ahead"
    assert f"We will answer by {req.due_on:%A %-d %B %Y} at the latest." in body_of(resumed)
    page = client.get(tracking).get_data(as_text=True)
    assert notice(page, "paused") == ""
    assert status_words(page) == "In progress: searching our systems"


def test_a_question_that_pauses_the_clock_sends_one_email_saying_both(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    tracking, req = under_way(client, outbox)
    before = len(to_person(outbox))
    login("officer")
    question = "Which of your two accounts do you mean?"
    staff_post(client, req.reference, "clarify", question=question, pause="y")

    [asked] = to_person(outbox)[before:]  # one email, not a question and a pause notice
    assert subject_of(asked) == f"A question about your request {req.reference}"
    body = " ".join(body_of(asked).split())
    assert question in body and "the clock on your request is paused" in body
    page = client.get(tracking).get_data(as_text=True)
    assert question in notice(page, "question")
    assert "Please answer below, or reply to that email" in notice(page, "question")
    assert "It starts again as soon as we have your answer." in notice(page, "paused")
    assert "Why: waiting for the person's clarification" in notice(page, "paused")


def test_a_question_where_the_law_has_no_pause_shows_and_keeps_the_clock(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive()
    tracking = file_request(client, regime="gdpr")  # the GDPR pauses for identity only
    confirm(client, outbox)
    req = the_request()
    login("officer")
    staff_post(client, req.reference, "clarify", question="Which account?", pause="y")
    page = client.get(tracking).get_data(as_text=True)
    assert "Which account?" in notice(page, "question")
    assert notice(page, "paused") == ""
    assert the_request().paused_since is None


def test_an_extension_shows_its_reason_and_new_date(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    tracking, req = under_way(client, outbox)
    before = len(to_person(outbox))
    login("officer")
    staff_post(client, req.reference, "extend", reason="Twelve systems hold your data.")
    assert len(to_person(outbox)) == before + 1  # the extension's own email, once
    req = the_request()
    shown = notice(client.get(tracking).get_data(as_text=True), "extended")
    assert "Why: Twelve systems hold your data." in shown
    assert f"we will answer by {req.due_on:%A %-d %B %Y} at the latest" in shown


def test_a_search_by_hand_is_told_once_with_the_colleagues_date(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive(deadline_days=6)
    tracking = file_request(client)
    confirm(client, outbox)
    req = the_request()
    by_hand = [m for m in to_person(outbox) if "done by hand" in subject_of(m)]
    assert len(by_hand) == 1
    due = paper_task(req).result["link"]["due_at"][:10]
    page = client.get(tracking).get_data(as_text=True)
    shown = notice(page, "owner-paper")
    assert "Paper archive has no connection we can search automatically" in shown
    assert "There is nothing you need to do." in shown
    assert f"until {date.fromisoformat(due):%-d %B %Y}" in shown
    login("officer")
    staff_post(client, req.reference, f"tasks/{paper_task(req).id}/resend")  # a fresh link
    assert len([m for m in to_person(outbox) if "done by hand" in subject_of(m)]) == 1


def test_the_confirmation_email_is_sent_again_on_the_same_request(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    tracking = file_request(client)
    first = link_in(to_person(outbox)[-1], VERIFY).removeprefix("http://dsar.test")
    page = client.get(tracking).get_data(as_text=True)
    assert "Send the confirmation email again" in page
    token = csrf_token(client, tracking)
    resp = client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    page = client.get(tracking).get_data(as_text=True)
    assert "We sent the email less than two minutes ago." in page  # just filed
    minutes_pass(3)
    resp = client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "We sent the confirmation email again" in client.get(tracking).get_data(as_text=True)
    second = link_in(to_person(outbox)[-1], VERIFY).removeprefix("http://dsar.test")
    assert second != first
    # Again at once: refused in words, no email, and still one request.
    resp = client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    page = client.get(tracking).get_data(as_text=True)
    assert "We sent the email less than two minutes ago." in page
    verifies = [m for m in to_person(outbox) if "/verify/" in body_of(m)]
    assert len(verifies) == 2
    assert db.session.scalar(select(func.count(Request.id))) == 1
    # The old link no longer works; the new one does.
    old = client.post(first, data={"csrf_token": token})
    assert old.status_code == 404
    assert client.post(second, data={"csrf_token": token}).status_code == 302
    assert the_request().status is not RequestStatus.AWAITING_VERIFICATION
    actions = db.session.scalars(select(Event.action).order_by(Event.id)).all()
    assert actions.count("verification_resent") == 1
    # Once confirmed, there is nothing to resend.
    client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    assert "already confirmed" in client.get(tracking).get_data(as_text=True)


def test_an_expired_confirmation_link_leads_to_a_fresh_one(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    tracking = file_request(client)
    first = link_in(to_person(outbox)[-1], VERIFY).removeprefix("http://dsar.test")
    req = the_request()
    req.verification_expires_at = req.received_at
    db.session.commit()
    minutes_pass(60 * 24 * 8)
    token = csrf_token(client, first)
    page = client.post(first, data={"csrf_token": token}, follow_redirects=True)
    assert "That confirmation link has expired" in page.get_data(as_text=True)
    client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    fresh = link_in(to_person(outbox)[-1], VERIFY).removeprefix("http://dsar.test")
    assert client.post(fresh, data={"csrf_token": token}).status_code == 302
    assert the_request().verified_at is not None


def test_an_expired_form_comes_back_as_it_was_typed(client: FlaskClient) -> None:
    data = {"kind": "access", "regime": "gdpr", "csrf_token": "expired-token", **JANE}
    data["details"] = "Please include my orders from 2023."
    resp = client.post("/request", data=data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "This form has expired or did not come from our site, so nothing was saved." in page
    assert 'value="Jane Doe"' in page and 'value="jane.doe@example.com"' in page
    assert "Please include my orders from 2023." in page
    assert db.session.scalar(select(func.count(Request.id))) == 0
    # The page carries a fresh token: sending it again works.
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert fresh
    resp = client.post("/request", data={**data, "csrf_token": fresh.group(1)})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count(Request.id))) == 1


def test_a_rate_limited_form_comes_back_as_it_was_typed(app: Flask, client: FlaskClient) -> None:
    here = {"REMOTE_ADDR": "10.0.0.77"}
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": "gdpr"}
    for _ in range(20):  # refused by the form (no email): each counts
        resp = client.post("/request", data={**data, "name": "Jane Doe"}, environ_base=here)
        assert resp.status_code == 422
    resp = client.post("/request", data={**data, **JANE}, environ_base=here)
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    page = resp.get_data(as_text=True)
    assert "so we have paused it to protect your request" in page
    assert 'value="jane.doe@example.com"' in page
    assert db.session.scalar(select(func.count(Request.id))) == 0
