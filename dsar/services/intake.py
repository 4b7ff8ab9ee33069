"""Take a request in, decide whether it needs verification, and start it when it may."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dsar import i18n, mail, transitions
from dsar.exceptions import IntakeRefused, LinkExpired, LinkInvalid
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import ApiKey, Request, RequestKind, RequestStatus, utcnow
from dsar.rules import GPC_CITATION, GPC_REGIME, REGIMES, Verification
from dsar.services import agents, clock, correcting, transfer, workflow
from dsar.services.events import record
from dsar.services.submissions import (
    Submission,
    check_allowed,
    checked,
    find_possible_duplicate,
)
from dsar.tokens import digest, new_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    request: Request
    tracking_token: str


def tracking_url(token: str) -> str:
    return f"{current_app.config['DSAR_BASE_URL']}/r/{token}"


def verification_url(tracking_token: str, verification_token: str) -> str:
    return f"{tracking_url(tracking_token)}/verify/{verification_token}"


def submit(
    sub: Submission,
    *,
    channel: str,
    api_key: ApiKey | None = None,
    identity_verified: bool = False,
    gpc: bool = False,
    now: datetime | None = None,
    idempotency: tuple[str, str] | None = None,
    staff_actor: str | None = None,
    vouched_by: str | None = None,
    before_start: Callable[[Request], None] | None = None,
) -> Receipt:
    """Store a new request with its due dates, then verify or start it.

    `idempotency`: an API call's Idempotency-Key and its body's digest, stored with the
    request; a second request under the same key and API key fails the first flush
    (IntegrityError), before anything is sent or written.

    `gpc`: the request came with a Global Privacy Control signal; it must be an opt-out, and
    no verification may be asked for (11 CCR 7025, 7026(d)).

    `staff_actor`, `vouched_by`: an officer recorded a request that came by phone, letter or
    email (see dsar.services.staff_intake), and may say how they checked who it is from.
    """
    kind = check_allowed(sub.regime, sub.kind)
    sub = checked(sub, name_required=not gpc)
    if gpc and kind is not RequestKind.OPT_OUT:
        raise IntakeRefused(
            N_("A Global Privacy Control signal is an opt-out request."), field="kind"
        )
    correction = None
    if kind is RequestKind.CORRECTION:
        correction = correcting.parse(sub.correction)
    elif sub.correction:
        raise IntakeRefused(
            N_("Changes to make go with a “correct my data” request only."), field="correction"
        )
    transfer_url = transfer.check(sub.transfer_url, kind)  # portability only; public HTTPS
    agent = agents.check(sub.agent, sub.regime, kind, sub.email)
    received_at = now or utcnow()
    tracking = new_token()
    req = Request(
        tracking_hash=digest(tracking),
        kind=kind,
        regime=sub.regime,
        status=RequestStatus.RECEIVED,
        channel=channel,
        name=sub.name,
        email=sub.email.lower(),
        phone=sub.phone,
        country=sub.country,
        details=sub.details,
        transfer_url=transfer_url,
        correction=correction,
        language=i18n.chosen(sub.language) or i18n.DEFAULT,
        received_at=received_at,
        api_key_id=api_key.id if api_key else None,
        gpc=gpc,
        idempotency_key=idempotency[0] if idempotency else None,
        idempotency_digest=idempotency[1] if idempotency else "",
    )
    clock.recompute(req)
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-{received_at:%Y}-{req.id:06d}"
    actor = staff_actor or (
        f"api-key:{api_key.id}" if api_key else ("agent" if agent is not None else "person")
    )
    record(
        req,
        "submitted",
        actor=actor,
        after=RequestStatus.RECEIVED,
        detail={"kind": kind.value, "regime": sub.regime, "channel": channel},
    )
    if gpc:
        detail = {"header": "Sec-GPC", "value": "1", "citation": GPC_CITATION}
        record(req, "gpc_signal", actor=actor, detail=detail)
    earlier = find_possible_duplicate(req)
    if earlier is not None:
        # Flagged for the officer only: verification is never skipped because of it.
        req.duplicate_of = earlier
        record(req, "possible_duplicate", actor="system", detail={"of": earlier.reference})
    if agent is not None:
        agents.attach(req, agent, actor=actor)
    if before_start is not None:  # stored in the same transaction as the request
        before_start(req)
    if identity_verified and api_key is not None:
        vouched_by = f"api-key:{api_key.id}"
    _begin(req, tracking, vouched_by=vouched_by, staff_actor=staff_actor, actor=actor, gpc=gpc)
    return Receipt(req, tracking)


def _begin(
    req: Request,
    tracking: str,
    *,
    vouched_by: str | None,
    staff_actor: str | None,
    actor: str,
    gpc: bool,
) -> None:
    """Start the stored request, or ask for the confirmation it needs first."""
    # Filed by an agent: the person confirms directly that they gave the permission, whoever
    # vouches for the agent (an officer who recorded it checked that when recording).
    confirm = agents.needs_confirmation(req) and not staff_actor
    if vouched_by and not confirm:
        # An officer checks when they record it, which may be days after the receipt.
        now = utcnow() if staff_actor else req.received_at
        _mark_verified(req, by=vouched_by, actor=actor, now=now)
        _start(req, tracking)
    elif not confirm and (
        gpc or REGIMES[req.regime].verification_for(req.kind).level is Verification.NONE
    ):
        req.verified_by = "not required"
        _start(req, tracking)
    else:
        # A request an officer records late is confirmed from now, not from its receipt.
        _ask_for_verification(req, tracking, now=utcnow() if staff_actor else req.received_at)


def submit_gpc_opt_out(
    *, email: str, phone: str = "", channel: str = "portal", now: datetime | None = None
) -> Receipt:
    """File a one-step opt-out of sale and sharing for a browser's Global Privacy Control signal.

    Only what locates the person is taken (email, optional phone): the law forbids asking for
    more, or for proof of identity, before honouring the signal.
    """
    sub = Submission(
        kind=RequestKind.OPT_OUT.value, regime=GPC_REGIME, name="", email=email, phone=phone
    )
    return submit(sub, channel=channel, gpc=True, now=now)


def _ask_for_verification(req: Request, tracking: str, *, now: datetime) -> None:
    token = _new_verification(req, now)
    before = transitions.move(req, RequestStatus.AWAITING_VERIFICATION)
    record(req, "verification_requested", actor="system", before=before, after=req.status)
    db.session.commit()
    _send_verification(req, tracking, token)


def _new_verification(req: Request, now: datetime) -> str:
    """A fresh confirmation link's token: the one before it stops working."""
    token = new_token()
    req.verification_hash = digest(token)
    hours = current_app.config["DSAR_VERIFY_HOURS"]
    req.verification_expires_at = now + timedelta(hours=hours)
    return token


def _verification_email(req: Request, tracking: str, token: str) -> dict[str, object]:
    """The confirmation email's subject, template and links (to the person, or to the
    person an agent acts for)."""
    by_agent = req.agent is not None
    return {
        "subject": _l(
            "Did you ask %(agent)s to make a request for you? (%(reference)s)",
            agent=req.agent.name,
            reference=req.reference,
        )
        if req.agent is not None
        else _l("Please confirm your request %(reference)s", reference=req.reference),
        "template": "verify_agent" if by_agent else "verify",
        "link": verification_url(tracking, token),
        "tracking_link": tracking_url(tracking),
        "hours": current_app.config["DSAR_VERIFY_HOURS"],
    }


def _send_verification(req: Request, tracking: str, token: str) -> None:
    acknowledge(req, **_verification_email(req, tracking, token))  # type: ignore[arg-type]
    agents.tell_agent(req, tracking_url(tracking))


RESEND_GAP = timedelta(minutes=2)


def send_verification_again(tracking_token: str, *, now: datetime | None = None) -> Request:
    """The confirmation email once more, with a fresh link (the old one stops working): for
    an email that never came or a link that expired. Never a second request; at most one
    every RESEND_GAP."""
    req = find_by_tracking(tracking_token)
    if req.status is not RequestStatus.AWAITING_VERIFICATION:
        raise IntakeRefused(N_("This request is already confirmed: there is nothing to resend."))
    now = now or utcnow()
    sent = [
        e.at for e in req.events if e.action in ("verification_requested", "verification_resent")
    ]
    if sent and now - max(sent) < RESEND_GAP:
        raise IntakeRefused(
            N_(
                "We sent the email less than two minutes ago. Check your inbox and your spam "
                "folder; if it is not there, ask again in two minutes."
            )
        )
    token = _new_verification(req, now)
    record(req, "verification_resent", actor="person")
    db.session.commit()
    mail.send(
        to=req.email,
        request=req,
        request_id=req.id,
        **_verification_email(req, tracking_token, token),
    )
    return req


def _mark_verified(req: Request, *, by: str, actor: str, now: datetime) -> None:
    req.verified_at = now
    req.verified_by = by
    record(req, "verified", actor=actor, detail={"method": by})


def _start(req: Request, tracking: str) -> None:
    # The request, its verification and its tasks are stored in one transaction: no crash
    # can leave a verified request that nothing starts.
    workflow.prepare(req)
    acknowledge(
        req,
        subject=_l("We have received your request %(reference)s", reference=req.reference),
        template="received",
        tracking_link=tracking_url(tracking),
    )
    agents.tell_agent(req, tracking_url(tracking))
    workflow.advance(req)


def acknowledge(
    req: Request, *, subject: str | LazyString, template: str, **context: object
) -> bool:
    """Send the first email, which is the acknowledgement of receipt, and record it.

    A mail failure never loses the request: it is logged, and the reminder job sends the
    acknowledgement again later (`services.reminders`).
    """
    try:
        mail.send(
            to=req.email,
            subject=subject,
            template=template,
            request=req,
            request_id=req.id,
            **context,
        )
    except (OSError, mail.MailError):
        log.exception("acknowledgement of request %s could not be sent", req.id)
        return False
    req.acknowledged_at = utcnow()
    record(req, "acknowledged", actor="system", detail={"template": template})
    db.session.commit()
    return True


def disown(tracking_token: str, verification_token: str) -> Request:
    """The person answers the confirmation link: they did not ask the agent who filed it."""
    req = find_by_tracking(tracking_token)
    if req.verification_hash != digest(verification_token):
        raise LinkInvalid(N_("This confirmation link is not valid."))
    return agents.disown(req)


def find_by_tracking(token: str) -> Request:
    req = db.session.scalar(select(Request).where(Request.tracking_hash == digest(token)))
    if req is None:
        raise LinkInvalid(N_("This tracking link is not valid."))
    return req


def verify(tracking_token: str, verification_token: str, *, now: datetime | None = None) -> Request:
    """Confirm the person controls the email address; safe to call twice."""
    req = find_by_tracking(tracking_token)
    if req.verification_hash != digest(verification_token):
        raise LinkInvalid(N_("This confirmation link is not valid."))
    if req.status is not RequestStatus.AWAITING_VERIFICATION:
        return req  # already confirmed, or closed since
    now = now or utcnow()
    expires = req.verification_expires_at
    if expires is not None and expires < now:
        raise LinkExpired(
            N_("This confirmation link has expired. On your request's page, ask for a new one.")
        )
    _mark_verified(req, by="email", actor="person", now=now)
    if req.agent is not None:
        record(req, "agent_confirmed", actor="person", detail={"agent_id": req.agent_id})
    workflow.start(req)  # commits the verification with the tasks it makes
    return req
