"""The thread between the person and the privacy team on a request.

The person writes on their tracking page (text, and files checked as an owner's are); the
team replies from the request's page and the reply is emailed. A message that answers our
question resumes a clock that the question paused (UK GDPR Art. 12A: it runs again from
the day we have the answer), and the person is told the new date. Texts stay on the
message; events carry ids and counts only.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from dsar import inputs, mail, transitions
from dsar.exceptions import DecisionRefused, IntakeRefused, ManualTaskRefused
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Event, Message, Request, RequestStatus, utcnow
from dsar.services import clock, uploads
from dsar.services.events import latest, record

MAX_TEXT = 5000


def open_question(req: Request) -> Event | None:
    """Our latest question, while the person has not answered it (a message after it, or
    the clock running again after it, answers it)."""
    asked = latest(req, "clarification_requested")
    if asked is None or req.status not in transitions.OPEN_STATUSES:
        return None
    if any(m.sender == "person" and _after(m, asked) for m in req.messages):
        return None
    resumed = latest(req, "clock_resumed")
    return None if resumed is not None and resumed.id > asked.id else asked


def _after(message: Message, event: Event) -> bool:
    return message.created_at >= event.at


def may_write(req: Request) -> bool:
    """The person may write once their address is confirmed, while the request is open."""
    return req.status in transitions.OPEN_STATUSES and (
        req.status is not RequestStatus.AWAITING_VERIFICATION
    )


def _text(body: str | None) -> str:
    text = inputs.clean(body or "", multiline=True)
    if not text:
        raise IntakeRefused(N_("Write your message."), field="body")
    if len(text) > MAX_TEXT:
        raise IntakeRefused(
            N_("Keep your message under %(limit)s characters."), field="body", limit=MAX_TEXT
        )
    return text


def from_person(req: Request, body: str | None, files: list[uploads.Incoming]) -> Message:
    """Take the person's message; everything is checked before anything is stored."""
    if req.status is RequestStatus.AWAITING_VERIFICATION:
        raise IntakeRefused(
            N_("Confirm your email address first (the link in our email); then you can write here.")
        )
    if not may_write(req):
        raise IntakeRefused(N_("This request is closed: write to us by email instead."))
    text = _text(body)
    try:
        checked = uploads.check(files)
    except ManualTaskRefused as exc:
        raise IntakeRefused.like(exc, field="files") from None
    question = open_question(req)
    stored = uploads.store_correspondence(req, checked, added_by=None)
    for item in stored:
        item.purpose = "message"
    db.session.flush()
    message = Message(
        request_id=req.id,
        sender="person",
        body=text,
        answers_question=question is not None,
        file_ids=[c.id for c in stored],
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    detail = {"message": message.id, "files": len(stored), "answers_question": bool(question)}
    record(req, "message_received", actor="person", detail=detail)
    db.session.commit()
    paused = latest(req, "clock_paused")
    waiting = paused is not None and (paused.detail or {}).get("reason") == clock.WAITING_FOR_ANSWER
    if question is not None and req.paused_since is not None and waiting:
        clock.resume(req, actor="person")  # emails the person the new date
    return message


def from_staff(req: Request, body: str | None, *, user_id: int, actor: str) -> Message:
    """The team's reply: on the thread, and emailed to the person in their language."""
    if req.record_purged_at is not None:
        raise DecisionRefused("This request's record has been purged: there is no one to write to.")
    text = inputs.clean(body or "", multiline=True)
    if not text:
        raise DecisionRefused("Write the message.")
    if len(text) > MAX_TEXT:
        raise DecisionRefused(f"Keep the message under {MAX_TEXT:,} characters.")
    message = Message(
        request_id=req.id, sender="staff", user_id=user_id, body=text, created_at=utcnow()
    )
    db.session.add(message)
    db.session.flush()
    record(req, "message_sent", actor=actor, detail={"message": message.id})
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l("A message about your request %(reference)s", reference=req.reference),
        template="message",
        request=req,
        text=text,
        request_id=req.id,
    )
    return message


def files_of(req: Request, message: Message) -> list:
    """The files sent with a message, as stored (names, types, sizes)."""
    wanted = set(message.file_ids or [])
    return [c for c in req.correspondence if c.id in wanted]
