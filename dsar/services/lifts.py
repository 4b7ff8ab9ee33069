"""Lifting a restriction or an objection that was carried out (rules: dsar.rules.lifts).

An officer lifts it, with one of the law's grounds and an explanation in their own words.
The person is told first, as GDPR Art. 18(3) asks: the email goes out before anything is
changed, and when it cannot be sent nothing is lifted. The lift is then a request of its
own, linked to the one that set the flags: a `lift` task in each system where the flag was
set, carried out by the workers like any other, and a confirmation for the person, system
by system, at its own tracking link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from dsar import inputs, mail
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import DataSystem, Request, RequestStatus, utcnow
from dsar.rules import regime
from dsar.rules.lifts import LIFTS, LiftReason, LiftRule
from dsar.services import clock, intake, workflow
from dsar.services.events import record
from dsar.services.fanout import flagged_systems
from dsar.tokens import digest, new_token

log = logging.getLogger(__name__)

MAX_TEXT = 5000


@dataclass(frozen=True)
class Plan:
    """What lifting would do: the systems where the flag is set, reachable or not."""

    rule: LiftRule
    systems: list[DataSystem]  # enabled: each gets a lift task
    disabled: list[DataSystem]  # set there, but the system is disabled now


def rule_for(req: Request) -> LiftRule | None:
    return LIFTS.get(req.kind)


def may_lift(req: Request) -> bool:
    """A restriction or objection carried out (in at least one system) and not yet lifted."""
    return (
        req.kind in LIFTS
        and req.status is RequestStatus.COMPLETED
        and not req.is_lift
        and req.lift is None
        and req.record_purged_at is None  # the identity is gone: no system can find them
        and bool(flagged_systems(req))
    )


def plan(req: Request) -> Plan | None:
    if not may_lift(req):
        return None
    flagged = set(flagged_systems(req))
    systems = [t.system for t in req.tasks if t.system_id in flagged]
    return Plan(
        LIFTS[req.kind],
        [s for s in systems if s.enabled],
        [s for s in systems if not s.enabled],
    )


def _explanation(text: str) -> str:
    try:
        value = inputs.clean(text, multiline=True, required="Explain to the person why.")
    except inputs.InputRefused as exc:
        raise DecisionRefused(exc.message) from None
    if len(value) > MAX_TEXT:
        raise DecisionRefused(f"Keep the explanation under {MAX_TEXT:,} characters.")
    return value


def _reason(rule: LiftRule, key: str) -> LiftReason:
    reason = rule.reason(key)
    if reason is None:
        raise DecisionRefused("Choose why it is lifted.")
    return reason


def lift(original: Request, reason_key: str, text: str, *, actor: str) -> Request:
    """Tell the person, then lift the flags `original` set; returns the lift request."""
    steps = plan(original)
    if steps is None:
        raise DecisionRefused(
            f"{original.reference} has nothing to lift: only a restriction or an objection "
            "that was carried out, and not lifted already, can be."
        )
    if not steps.systems:
        names = ", ".join(s.name for s in steps.disabled)
        raise DecisionRefused(
            f"Every system where it is set is disabled ({names}): enable them, or ask "
            "their owners to lift it by hand."
        )
    rule = steps.rule
    reason = _reason(rule, reason_key)
    explanation = _explanation(text)
    now = utcnow()
    tracking = new_token()
    lifted = Request(
        tracking_hash=digest(tracking),
        kind=original.kind,
        regime=original.regime,
        status=RequestStatus.RECEIVED,
        channel="staff",
        name=original.name,
        email=original.email,
        phone=original.phone,
        country=original.country,
        details=explanation,
        received_at=now,
        verified_at=now,
        verified_by=original.verified_by,  # the identity checked for the lifted request
        lift_of_id=original.id,
        lift_reason=reason.key,
        api_key_id=original.api_key_id,  # the integration that filed it sees the lift
    )
    clock.recompute(lifted)
    db.session.add(lifted)
    try:
        db.session.flush()
    except IntegrityError:  # two officers at once: the first one's lift stands
        db.session.rollback()
        raise DecisionRefused(f"{original.reference} is being lifted already.") from None
    lifted.reference = f"DSAR-{now:%Y}-{lifted.id:06d}"
    citation = rule.notice_citation(original.regime)
    _tell_first(lifted, original, rule, reason, tracking)
    detail = {
        "of": original.reference,
        "reason": reason.key,
        "citation": citation,
        "systems": [s.key for s in steps.systems],
        "not_reached": [s.key for s in steps.disabled],
    }
    record(lifted, "lift_started", actor=actor, after=RequestStatus.RECEIVED, detail=detail)
    record(lifted, "lift_notified", actor="system", detail={"citation": citation})
    record(original, "lift_started", actor=actor, detail={"lift": lifted.reference})
    workflow.prepare(lifted)  # commits the lift with its tasks
    workflow.advance(lifted)
    return lifted


def _tell_first(
    lifted: Request, original: Request, rule: LiftRule, reason: LiftReason, tracking: str
) -> None:
    """The notice before the lift; when it cannot go, nothing is lifted."""
    try:
        mail.send(
            to=lifted.email,
            subject=_l(rule.subject, reference=original.reference),
            template="lift_notice",
            request=lifted,
            original=original,
            rule=rule,
            reason=reason,
            explanation=lifted.details,
            regime=regime(lifted.regime),
            tracking_link=intake.tracking_url(tracking),
            request_id=lifted.id,
        )
    except (OSError, mail.MailError):
        db.session.rollback()
        log.exception("lift notice for request %s could not be sent", original.id)
        raise DecisionRefused(
            "The email telling the person could not be sent, so nothing was lifted. "
            "Try again in a moment."
        ) from None
    lifted.acknowledged_at = utcnow()
