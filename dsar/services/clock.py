"""Pause, resume and extend a request's clock; every due date is recomputed from history."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from dsar import deadlines, mail, transitions
from dsar.exceptions import ClockRefused
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Request, utcnow
from dsar.rules import regime
from dsar.services.events import record

# Event actions that move the clock, and the deadline module's name for each.
CLOCK_ACTIONS = {"clock_paused": "pause", "clock_resumed": "resume", "deadline_extended": "extend"}
MAX_REASON = 1000
# The reason a question pauses the clock: stored as written, shown translated; an answer on
# the portal resumes a clock paused for it (dsar.services.messages).
WAITING_FOR_ANSWER = N_("waiting for the person's clarification")


def _zone() -> str:
    return current_app.config["DSAR_TIMEZONE"]


def local_day(moment: datetime) -> date:
    return deadlines.received_on(moment, _zone())


def history(req: Request) -> list[deadlines.ClockEvent]:
    return [
        deadlines.ClockEvent(CLOCK_ACTIONS[e.action], local_day(e.at), e.detail.get("reason", ""))
        for e in req.events
        if e.action in CLOCK_ACTIONS
    ]


def recompute(req: Request, *, today: date | None = None) -> deadlines.Deadline:
    """Set the request's dates from its receipt and clock history (the caller commits)."""
    due = deadlines.compute(
        req.regime,
        req.kind,
        req.received_at,
        _zone(),
        events=history(req),
        today=today,
        appeal=req.is_appeal,
    )
    req.due_on = due.respond_by
    req.first_due_on = due.first_respond_by
    req.extended_due_on = due.extended_respond_by
    req.paused_since = due.paused_since
    req.acknowledge_by = due.acknowledge_by
    req.due_basis = due.basis
    return due


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ClockRefused("Give the reason: it goes into the request's history.")
    if len(reason) > MAX_REASON:
        raise ClockRefused(f"Keep the reason under {MAX_REASON} characters.")
    return reason


def _open(req: Request) -> None:
    if req.status not in transitions.OPEN_STATUSES:
        raise ClockRefused(f"{req.reference} is {req.status.value}: its clock has stopped.")


def pause(
    req: Request, *, reason: str, actor: str, now: datetime | None = None, tell: bool = True
) -> None:
    """Stop the clock while we wait for the person, and tell them why (one email; a caller
    whose own email says it, as a clarification's does, passes `tell=False`)."""
    rules = regime(req.regime)
    if rules.pause is None:
        note = rules.notes[0] if rules.notes else ""
        raise ClockRefused(f"{rules.name} has no pause of the clock. {note}".strip())
    _open(req)
    if req.paused_since is not None:
        raise ClockRefused(f"The clock has been paused since {req.paused_since:%-d %B %Y}.")
    now = now or utcnow()
    reason = _reason(reason)
    record(req, "clock_paused", actor=actor, detail={"reason": reason}).at = now
    db.session.flush()
    recompute(req, today=local_day(now))
    db.session.commit()
    if tell:
        mail.send(
            to=req.email,
            subject=_l("Your request %(reference)s is paused", reference=req.reference),
            template="paused",
            request=req,
            reason=reason,
            citation=rules.pause.citation,
            request_id=req.id,
        )


def resume(req: Request, *, actor: str, now: datetime | None = None) -> None:
    """Start the clock again, and tell the person the new date."""
    _open(req)
    if req.paused_since is None:
        raise ClockRefused("The clock is not paused.")
    now = now or utcnow()
    record(req, "clock_resumed", actor=actor).at = now
    db.session.flush()
    recompute(req, today=local_day(now))
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l("Your request %(reference)s is going ahead", reference=req.reference),
        template="resumed",
        request=req,
        request_id=req.id,
    )


def extend(req: Request, *, reason: str, actor: str, now: datetime | None = None) -> None:
    """Extend once, within the first deadline, and tell the person why and until when."""
    rules = regime(req.regime)
    extension = rules.extension_for(req.kind, appeal=req.is_appeal)
    if extension is None:
        what = "an appeal" if req.is_appeal else "this kind of request"
        raise ClockRefused(f"{rules.name} allows no extension for {what}.")
    _open(req)
    reason = _reason(reason)
    if req.extended_due_on is not None:
        raise ClockRefused(
            f"Already extended to {req.extended_due_on:%-d %B %Y}, the most the law allows "
            f"({extension.citation})."
        )
    now = now or utcnow()
    today = local_day(now)
    notice_by = req.first_due_on or req.due_on
    if extension.notice_by_first_deadline and today > notice_by:
        raise ClockRefused(
            f"Too late to extend: the person had to be told by {notice_by:%-d %B %Y} "
            f"({extension.citation})."
        )
    record(req, "deadline_extended", actor=actor, detail={"reason": reason}).at = now
    db.session.flush()
    recompute(req, today=today)
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l("We need more time for your request %(reference)s", reference=req.reference),
        template="extended",
        request=req,
        reason=reason,
        citation=extension.citation,
        request_id=req.id,
    )
