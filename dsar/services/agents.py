"""Authorised agents: someone files a request for a person, with the person's signed
permission (dsar.rules.agents says where the law allows it, and what proof it asks).

The request holds the person's identity; the agent is a row of its own (one per email
address) that its requests link to. The permission is kept with the request, readable by
staff only, and deleted with the request's located data. Where the law lets us, the person
is asked to confirm directly, by email, that they gave the permission; they may instead say
they did not, which closes the request. The answer always goes to the person. An officer
may revoke an agent: its requests the person has not confirmed are closed, and it can file
no more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import email_validator
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dsar import inputs, mail, transitions
from dsar.exceptions import (
    Citation,
    DecisionRefused,
    IntakeRefused,
    LinkInvalid,
    ManualTaskRefused,
    Term,
)
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Agent, Correspondence, Request, RequestKind, RequestStatus, utcnow
from dsar.rules import KIND_LABELS, REGIMES, citations
from dsar.rules import agents as agent_rules
from dsar.services import uploads
from dsar.services.events import record

log = logging.getLogger(__name__)
S = RequestStatus
PERMISSION = "permission"
PERMISSION_TYPES = {"application/pdf", "image/png", "image/jpeg"}
MAX_REASON = 1000
DISOWNED = "The person told us they did not authorise the agent who made this request."


@dataclass(frozen=True)
class AgentIn:
    """What an agent said about themselves, and the permission file they sent (if any)."""

    name: str
    email: str
    organisation: str = ""
    permission: uploads.Incoming | None = None


def _field(value: object, name: str, limit: int, *, required: str | None = None) -> str:
    if value is not None and not isinstance(value, str):
        raise IntakeRefused(N_("Type this as text."), field=f"agent_{name}")
    try:
        cleaned = inputs.clean(value or "", required=required)
    except inputs.InputRefused as exc:
        raise IntakeRefused.like(exc, field=f"agent_{name}") from None
    if len(cleaned) > limit:
        raise IntakeRefused(
            N_("Keep this under %(limit)s characters."), limit=limit, field=f"agent_{name}"
        )
    return cleaned


def check(agent: AgentIn | None, regime_key: str, kind: RequestKind, person_email: str) -> Any:
    """The agent as stored, with its checked permission, or None; IntakeRefused on the
    agent's field at fault."""
    if agent is None:
        return None
    rule = agent_rules.rule(regime_key)
    law = REGIMES[regime_key].name
    if rule is None or not rule.allows(kind):
        raise IntakeRefused(
            N_(
                "Under %(law)s, an agent cannot make a “%(right)s” request for someone else; "
                "the person may make it themselves."
            ),
            law=Term(law),
            right=Term(KIND_LABELS[kind], lower=True),
            field="agent_name",
        )
    name = _field(agent.name, "name", 200, required=N_("Give the agent's name."))
    email = _field(agent.email, "email", 254, required=N_("Give the agent's email address."))
    try:
        email_validator.validate_email(email, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise IntakeRefused(
            N_("Enter an email address like name@example.com."), field="agent_email"
        ) from None
    if email.lower() == person_email.lower():
        raise IntakeRefused(
            N_("The agent's email must differ from the person's: we write to each."),
            field="agent_email",
        )
    organisation = _field(agent.organisation, "organisation", 200)
    existing = db.session.scalar(select(Agent).where(Agent.email == email.lower()))
    if existing is not None and existing.revoked_at is not None:
        raise IntakeRefused(
            N_(
                "This agent's authority to act for others has been withdrawn; the person may "
                "make the request themselves."
            ),
            field="agent_email",
        )
    checked = None
    if agent.permission is not None:
        try:
            [(incoming, media)] = uploads.check([agent.permission])
        except ManualTaskRefused as exc:
            raise IntakeRefused.like(exc, field="agent_permission") from None
        if media not in PERMISSION_TYPES:
            raise IntakeRefused(
                N_("Send the signed permission as a PDF, or a PNG or JPEG image."),
                field="agent_permission",
            )
        checked = (incoming, media)
    elif rule.needs_permission(kind):
        raise IntakeRefused(
            N_("Attach the person's signed permission for you to act for them (%(citation)s)."),
            citation=Citation(rule.citation, citations.reference(rule.citation)),
            field="agent_permission",
        )
    return AgentIn(name, email.lower(), organisation, None), checked


def _agent_for(agent_in: AgentIn) -> Agent:
    """The agent's row, made on their first request. Two first requests at once both try to
    make it: the second one's insert fails on the unique email and it takes the first's."""
    agent = db.session.scalar(select(Agent).where(Agent.email == agent_in.email))
    if agent is not None:
        return agent
    try:
        with db.session.begin_nested():
            agent = Agent(email=agent_in.email, name=agent_in.name, revoked_reason="")
            db.session.add(agent)
    except IntegrityError:
        agent = db.session.scalars(select(Agent).where(Agent.email == agent_in.email)).one()
    return agent


def attach(req: Request, checked: Any, *, actor: str) -> Agent:
    """Link the request to its agent (the same row for the same email) and keep the
    permission with it; the caller commits."""
    agent_in, permission = checked
    agent = _agent_for(agent_in)
    agent.name, agent.organisation = agent_in.name, agent_in.organisation
    req.agent = agent
    db.session.flush()
    if permission is not None:
        (stored,) = uploads.store_correspondence(req, [permission], added_by=None)
        stored.purpose = PERMISSION
    record(
        req,
        "filed_by_agent",
        actor=actor,
        detail={"agent_id": agent.id, "permission": permission is not None},
    )
    return agent


def needs_confirmation(req: Request) -> bool:
    rule = agent_rules.rule(req.regime)
    return req.agent is not None and rule is not None and rule.needs_confirmation(req.kind)


def permission_of(req: Request) -> Correspondence | None:
    return next((c for c in req.correspondence if c.purpose == PERMISSION), None)


def tell_agent(req: Request, tracking_link: str) -> None:
    """The agent's receipt: the request's reference and where to follow it (never the
    answer, which goes to the person)."""
    if req.agent is None:
        return
    try:
        mail.send(
            to=req.agent.email,
            subject=_l(
                "We have received the request %(reference)s you made for someone",
                reference=req.reference,
            ),
            template="agent_receipt",
            request=req,
            agent=req.agent,
            confirming=req.status is S.AWAITING_VERIFICATION,
            tracking_link=tracking_link,
            request_id=req.id,
        )
    except (OSError, mail.MailError):  # the request stands; the person was written to
        log.exception("the agent's receipt for request %s could not be sent", req.id)


def disown(req: Request, *, now: datetime | None = None) -> Request:
    """The person says they did not authorise the agent: close the request, tell the agent.

    The caller checked the confirmation link (`intake.disown`): it proves the person holds
    the address the request names."""
    if req.agent is None:
        raise LinkInvalid(N_("This confirmation link is not valid."))
    if req.status is not S.AWAITING_VERIFICATION:
        raise LinkInvalid(N_("This request no longer waits for your answer."))
    _close(req, "agent_disowned", "person", now=now)
    db.session.commit()
    mail.send(
        to=req.agent.email,
        subject=_l(
            "The request %(reference)s you made for someone is closed", reference=req.reference
        ),
        template="agent_disowned",
        request=req,
        agent=req.agent,
        request_id=req.id,
    )
    return req


def _close(req: Request, action: str, actor: str, *, now: datetime | None = None) -> None:
    before = transitions.move(req, S.CANCELLED)
    req.completed_at = now or utcnow()
    record(req, action, actor=actor, before=before, after=S.CANCELLED)


def revoke(agent: Agent, reason: str, *, actor: str) -> int:
    """Withdraw an agent's authority; close its requests still waiting for the person's
    confirmation. Returns how many were closed."""
    try:
        reason = inputs.clean(reason, multiline=True, required="Give the reason.")
    except inputs.InputRefused as exc:
        raise DecisionRefused(exc.message) from None
    if len(reason) > MAX_REASON:
        raise DecisionRefused(f"Keep the reason under {MAX_REASON:,} characters.")
    if agent.revoked_at is not None:
        raise DecisionRefused(f"{agent.name}'s authority was already withdrawn.")
    agent.revoked_at, agent.revoked_reason = utcnow(), reason
    waiting = [r for r in agent.requests if r.status is S.AWAITING_VERIFICATION]
    for req in waiting:
        _close(req, "agent_revoked", actor)
    record(None, "agent_revoked", actor=actor, detail={"agent_id": agent.id})
    db.session.commit()
    return len(waiting)


def listing() -> list[tuple[Agent, int, int]]:
    """Every agent with how many requests it made and how many are still open."""
    open_statuses = list(transitions.OPEN_STATUSES)
    counts = dict(
        db.session.execute(
            select(Request.agent_id, func.count())
            .where(Request.agent_id.is_not(None))
            .group_by(Request.agent_id)
        ).all()
    )
    still_open = dict(
        db.session.execute(
            select(Request.agent_id, func.count())
            .where(Request.agent_id.is_not(None), Request.status.in_(open_statuses))
            .group_by(Request.agent_id)
        ).all()
    )
    agents = db.session.scalars(select(Agent).order_by(Agent.name, Agent.id)).all()
    return [(a, counts.get(a.id, 0), still_open.get(a.id, 0)) for a in agents]
