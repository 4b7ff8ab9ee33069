"""Messages on the portal: the person writes (or answers our question) on their request's
page, the officer sees the thread and replies by email and on the page; an answer to a
question that paused the clock starts it again and moves the deadline as the rules say."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Correspondence, Event, Message
from dsar.services import clock
from tests.conftest import body_of, csrf_token, staff_post
from tests.test_i18n import subject_of
from tests.test_manual import archive
from tests.test_person_informed import (
    JANE,
    confirm,
    file_request,
    notice,
    the_request,
    to_person,
    under_way,
)


def write(client: FlaskClient, tracking: str, body: str, files: list | None = None):
    data = {"csrf_token": csrf_token(client, tracking), "body": body}
    if files:
        data["files"] = files
    return client.post(f"{tracking}/messages", data=data, content_type="multipart/form-data")


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(Message.id))) or 0,
        db.session.scalar(select(func.count(Correspondence.id))) or 0,
    )


def test_the_person_writes_with_a_file_and_the_officer_sees_it(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    tracking = under_way(client, outbox)[0]
    letter = (io.BytesIO(b"account,opened\nA-17,2021-03-02\n"), "accounts.csv")
    resp = write(client, tracking, "I also had an account\nunder my maiden name.", [letter])
    assert resp.status_code == 302
    page = client.get(tracking).get_data(as_text=True)
    assert "Thank you, we have your message" in page
    assert "I also had an account<br>under my maiden name." in page
    assert "accounts.csv" in page
    [message] = db.session.scalars(select(Message)).all()
    assert (message.sender, message.answers_question, len(message.file_ids)) == (
        "person",
        False,
        1,
    )
    event = db.session.scalars(select(Event).where(Event.action == "message_received")).one()
    assert "maiden" not in str(event.detail)  # the text stays on the message
    login("officer")
    staff = client.get(f"/staff/requests/{the_request().reference}").get_data(as_text=True)
    assert "From the person" in staff and "under my maiden name." in staff
    download = f"/staff/requests/{the_request().reference}/correspondence/{message.file_ids[0]}"
    assert download in staff
    resp = client.get(download)
    assert resp.data == b"account,opened\nA-17,2021-03-02\n"
    resp.close()


def test_an_answer_to_a_question_that_paused_the_clock_starts_it_again(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive()
    tracking = file_request(client)  # UK GDPR: a question may pause the clock
    confirm(client, outbox)
    due_before = the_request().due_on
    login("officer")
    staff_post(client, the_request().reference, "clarify", question="Which account?", pause="y")
    # The question was asked five days ago: the clock has stood still since.
    req = the_request()
    for event in req.events:
        if event.action in ("clarification_requested", "clock_paused"):
            event.at -= timedelta(days=5)
    clock.recompute(req)
    db.session.commit()
    page = client.get(tracking).get_data(as_text=True)
    assert "Answer our question" in page and "Which account?" in notice(page, "question")

    before = len(to_person(outbox))
    assert write(client, tracking, "The one opened in 2021.").status_code == 302
    req = the_request()
    assert req.paused_since is None
    # Five days added, then rolled to a working day as the UK GDPR's counting says.
    assert timedelta(days=5) <= req.due_on - due_before <= timedelta(days=9)
    assert "With 5 paused days" in req.due_basis
    [message] = db.session.scalars(select(Message)).all()
    assert message.answers_question
    [resumed] = to_person(outbox)[before:]  # the new date, in one email
    assert f"We will answer by {req.due_on:%A %-d %B %Y} at the latest." in body_of(resumed)
    page = client.get(tracking).get_data(as_text=True)
    assert notice(page, "question") == "" and notice(page, "paused") == ""
    assert [e.actor for e in req.events if e.action == "clock_resumed"] == ["person"]


def test_the_officer_replies_by_email_and_on_the_page(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    tracking = under_way(client, outbox)[0]
    reference = the_request().reference
    login("officer")
    staff_post(client, reference, "reply", text="We found a second account; we are searching it.")
    [mail] = [m for m in to_person(outbox) if "A message about" in subject_of(m)]
    assert subject_of(mail) == f"A message about your request {reference}"
    assert "We found a second account; we are searching it." in body_of(mail)
    page = client.get(tracking).get_data(as_text=True)
    assert "Our privacy team wrote on" in page
    assert "We found a second account; we are searching it." in page
    # An empty reply is refused in words and sends nothing.
    page = staff_post(client, reference, "reply", text="   ")
    assert "Write the message." in page
    assert len([m for m in to_person(outbox) if "A message about" in subject_of(m)]) == 1


def test_bad_messages_are_refused_in_words_and_nothing_is_stored(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    tracking = file_request(client)
    refused = write(client, tracking, "Hello")  # not confirmed yet
    assert refused.status_code == 422
    assert "Confirm your email address first" in refused.get_data(as_text=True)
    confirm(client, outbox)
    cases = [
        ("", None, "Write your message."),
        ("x" * 5001, None, "Keep your message under 5,000 characters."),
        ("See file", [(io.BytesIO(b"MZ\x90\x00binary"), "tool.exe")], "is not a PDF"),
        ("See file", [(io.BytesIO(b""), "empty.pdf")], "empty.pdf is empty."),
    ]
    for body, files, message in cases:
        resp = write(client, tracking, body, files)
        assert resp.status_code == 422, message
        page = resp.get_data(as_text=True)
        assert message in page
        if body and len(body) < 100:
            assert body in page  # what was typed is kept
        assert counts() == (0, 0)
    assert client.post(f"{tracking}/messages", data={"body": "x"}).status_code == 400
    assert JANE["name"] not in str(db.session.scalars(select(Event.detail)).all())


def test_the_thread_goes_with_the_identity_when_the_record_is_purged(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    from dsar.models import utcnow
    from dsar.services import retention

    tracking = under_way(client, outbox)[0]
    letter = (io.BytesIO(b"a,b\n1,2\n"), "note.csv")
    assert write(client, tracking, "My maiden name is Smith.", [letter]).status_code == 302
    req = the_request()
    [stored] = [c for c in req.correspondence if c.purpose == "message"]
    from dsar.services import uploads

    assert uploads.path_of(stored).is_file()
    retention.purge_record(req, now=utcnow())
    db.session.commit()
    [message] = db.session.scalars(select(Message)).all()
    assert message.body == ""
    assert not uploads.path_of(stored).is_file()
