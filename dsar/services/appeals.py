"""Appeals: a person whose request was denied contests the decision where the law grants it
(Va. Code 59.1-577(C), C.R.S. 6-1-1306(3), Conn. Gen. Stat. 42-520(d)).

The denial email carries a one-time appeal link; the denied request's tracking page offers
the same form. An appeal is a request of its own, linked to the denied one, with the
identity and the right of the first, the person's grounds as its details, and its own due
date: the law's time to decide an appeal, counted from the day it was filed (and its
extension, where the law has one). An officer other than the one who denied decides, in
writing: granted, the request is carried out as it would have been; refused, the person is
told how to complain to the Attorney General.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dsar import inputs, mail, transitions
from dsar.exceptions import DecisionRefused, IntakeRefused, LinkInvalid
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Request, RequestStatus, utcnow
from dsar.rules import regime
from dsar.services import clock, intake, workflow
from dsar.services.events import record
from dsar.tokens import digest, new_token

log = logging.getLogger(__name__)

S = RequestStatus
MAX_TEXT = 5000
REFUSED = "appeal_refused"  # the denial reason of a refused appeal
OUTCOMES = ("granted", "refused")


@dataclass(frozen=True)
class Filed:
    appeal: Request
    tracking_token: str


def link(token: str) -> str:
    return f"{current_app.config['DSAR_BASE_URL']}/appeal/{token}"


def may_appeal(req: Request) -> bool:
    """The law gives this denied request an appeal (an appeal's own refusal has none)."""
    return req.status is S.DENIED and not req.is_appeal and regime(req.regime).appeal is not None


def issue_link(req: Request) -> str | None:
    """On denial: a new appeal link for the email (only its keyed hash is kept), or None."""
    if not may_appeal(req):
        return None
    token = new_token()
    req.appeal_hash = digest(token)
    return link(token)


def find_by_link(token: str) -> Request:
    req = db.session.scalar(select(Request).where(Request.appeal_hash == digest(token)))
    if req is None:
        raise LinkInvalid(N_("This appeal link is not valid. Check that you copied it whole."))
    return req


def _grounds(text: str) -> str:
    try:
        value = inputs.clean(text, multiline=True, required=N_("Tell us why you disagree."))
    except inputs.InputRefused as exc:
        raise IntakeRefused.like(exc, field="grounds") from None
    if len(value) > MAX_TEXT:
        raise IntakeRefused(
            N_("Keep this under %(limit)s characters."), limit=MAX_TEXT, field="grounds"
        )
    return value


def file(original: Request, grounds: str, *, now: datetime | None = None) -> Filed:
    """Store the appeal against `original`'s denial and tell the person it is received."""
    if not may_appeal(original):
        raise IntakeRefused(N_("This decision cannot be appealed."), field="grounds")
    if original.appeal is not None:
        raise IntakeRefused(
            N_(
                "You appealed this decision on %(day)s (reference %(reference)s); follow it "
                "with the link in our email."
            ),
            day=original.appeal.received_at,
            reference=original.appeal.reference,
            field="grounds",
        )
    grounds = _grounds(grounds)
    received_at = now or utcnow()
    tracking = new_token()
    appeal = Request(
        tracking_hash=digest(tracking),
        kind=original.kind,
        regime=original.regime,
        status=S.RECEIVED,
        channel="portal",
        name=original.name,
        email=original.email,
        phone=original.phone,
        country=original.country,
        details=grounds,
        correction=original.correction,
        received_at=received_at,
        appeal_of_id=original.id,
        api_key_id=original.api_key_id,
    )
    clock.recompute(appeal)
    db.session.add(appeal)
    try:
        db.session.flush()
    except IntegrityError:  # the same appeal sent twice at once: the first one stands
        db.session.rollback()
        raise IntakeRefused(
            N_("You have already appealed this decision."), field="grounds"
        ) from None
    appeal.reference = f"DSAR-{received_at:%Y}-{appeal.id:06d}"
    detail = {"of": original.reference, "citation": regime(original.regime).appeal.citation}
    record(appeal, "appeal_filed", actor="person", after=S.RECEIVED, detail=detail)
    record(original, "appealed", actor="person", detail={"appeal": appeal.reference})
    before = transitions.move(appeal, S.AWAITING_DECISION)
    record(appeal, "awaiting_decision", actor="system", before=before, after=appeal.status)
    db.session.commit()
    try:
        mail.send(
            to=appeal.email,
            subject=_l("We have received your appeal %(reference)s", reference=appeal.reference),
            template="appeal_received",
            request=appeal,
            original=original,
            regime=regime(appeal.regime),
            tracking_link=intake.tracking_url(tracking),
            request_id=appeal.id,
        )
    except (OSError, mail.MailError):
        log.exception("acknowledgement of appeal %s could not be sent", appeal.id)
    else:
        appeal.acknowledged_at = utcnow()
        record(appeal, "acknowledged", actor="system", detail={"template": "appeal_received"})
        db.session.commit()
    return Filed(appeal, tracking)


def denied_by(original: Request) -> str:
    """Who denied the request the appeal contests (the actor of its denial event)."""
    return next((e.actor for e in reversed(original.events) if e.action == "denied"), "")


def may_decide(appeal: Request, actor: str) -> bool:
    return appeal.appeal_of is not None and denied_by(appeal.appeal_of) != actor


def decide(appeal: Request, outcome: str, text: str, *, actor: str) -> None:
    """The written decision on an appeal, by an officer who did not deny the request."""
    if not appeal.is_appeal or appeal.status is not S.AWAITING_DECISION:
        raise DecisionRefused(f"{appeal.reference} is not an appeal waiting for a decision.")
    if outcome not in OUTCOMES:
        raise DecisionRefused("Choose whether to grant or refuse the appeal.")
    rules = regime(appeal.regime)
    original = appeal.appeal_of
    if not may_decide(appeal, actor):
        raise DecisionRefused(
            f"You denied {original.reference}: another officer must decide its appeal "
            f"({rules.appeal.citation})."
        )
    try:
        text = inputs.clean(text, multiline=True, required="Write the decision.")
    except inputs.InputRefused as exc:
        raise DecisionRefused(exc.message) from None
    if len(text) > MAX_TEXT:
        raise DecisionRefused(f"Keep the decision under {MAX_TEXT:,} characters.")
    appeal.denial_text = text  # the written decision, whichever way it went
    detail = {"of": original.reference, "citation": rules.appeal.citation}
    if outcome == "refused":
        before = transitions.move(appeal, S.DENIED)
        appeal.denial_reason = REFUSED
        appeal.completed_at = utcnow()
        record(appeal, "appeal_refused", actor=actor, before=before, after=S.DENIED, detail=detail)
        db.session.commit()
        _tell(
            appeal,
            original,
            "appeal_refused",
            _l("Our decision on your appeal %(reference)s", reference=appeal.reference),
        )
        return
    # Granted: the request is carried out as if it had not been denied.
    appeal.verified_at = appeal.verified_at or utcnow()
    appeal.verified_by = appeal.verified_by or f"appeal granted by {actor}"
    record(appeal, "appeal_granted", actor=actor, detail=detail)
    workflow.prepare(appeal)  # commits the decision with the tasks that carry it out
    _tell(
        appeal,
        original,
        "appeal_granted",
        _l("Your appeal %(reference)s is granted", reference=appeal.reference),
    )
    workflow.advance(appeal)


def _tell(appeal: Request, original: Request, template: str, subject: LazyString) -> None:
    mail.send(
        to=appeal.email,
        subject=subject,
        template=template,
        request=appeal,
        original=original,
        regime=regime(appeal.regime),
        text=appeal.denial_text,
        request_id=appeal.id,
    )
