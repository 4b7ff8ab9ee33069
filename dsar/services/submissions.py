"""What a person (or an integrator, or an officer) submits, checked one way for every door:
the right asked for under the law named, and every field through dsar.inputs; and the earlier
request the same person made, if any."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from dsar import inputs
from dsar.exceptions import IntakeRefused, Term
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Request, RequestKind, RequestStatus
from dsar.rules import KIND_LABELS, OFFERED_KINDS, REGIMES
from dsar.services import agents


@dataclass(frozen=True)
class Submission:
    """What a person (or an integrator on their behalf) asked for; shape already checked."""

    kind: str
    regime: str
    name: str
    email: str
    phone: str = ""
    country: str = ""
    details: str = ""
    # A correction: {"changes": {field: value}, "held": {...}, "other": text}.
    correction: Any = None
    # Portability: another company's HTTPS address to send the package to (Art. 20(2)).
    transfer_url: str = ""
    # Filed by an authorised agent for the person named above (dsar.services.agents).
    agent: agents.AgentIn | None = None
    # The language the person used (dsar.i18n.LANGUAGES); later emails and letters use it.
    language: str = "en"


def check_allowed(regime_key: str, kind_value: str) -> RequestKind:
    """Refuse, in plain words, a regime we do not know or a right it does not grant."""
    rules = REGIMES.get(regime_key)
    if rules is None:
        raise IntakeRefused(N_("Unknown law %(law)s."), law=repr(regime_key), field="regime")
    try:
        kind = RequestKind(kind_value)
    except ValueError:
        raise IntakeRefused(
            N_("Unknown kind of request %(kind)s."), kind=repr(kind_value), field="kind"
        ) from None
    if kind not in rules.kinds:
        raise IntakeRefused(
            N_("%(law)s gives no right to “%(right)s”."),
            law=Term(rules.name),
            right=Term(KIND_LABELS[kind], lower=True),
            field="kind",
        )
    if kind not in OFFERED_KINDS:
        raise IntakeRefused(
            N_("“%(right)s” requests are not yet taken online; please write to us."),
            right=Term(KIND_LABELS[kind]),
            field="kind",
        )
    return kind


def checked(sub: Submission, *, name_required: bool) -> Submission:
    """The submission as stored: every field through dsar.inputs, whoever called.

    The form and the API check the same first; this keeps a caller that skipped them (a
    script, a future door) from storing a row that they would have refused.
    """
    required = {
        "name": N_("Give your name.") if name_required else None,
        "email": N_("Give an email."),
    }
    values = {}
    for name in ("name", "email", "phone", "country", "details"):
        try:
            value = inputs.clean(
                getattr(sub, name), multiline=name == "details", required=required.get(name)
            )
        except inputs.InputRefused as exc:
            raise IntakeRefused.like(exc, field=name) from None
        if len(value) > inputs.LIMITS[name]:
            raise IntakeRefused(
                N_("Keep this under %(limit)s characters."), limit=inputs.LIMITS[name], field=name
            )
        values[name] = value
    if values["phone"] and (why := inputs.phone_problem(values["phone"])) is not None:
        raise IntakeRefused(why, field="phone")
    return replace(sub, **values)


def find_possible_duplicate(req: Request) -> Request | None:
    """An earlier open or completed request from the same email for the same kind."""
    days = current_app.config["DSAR_DUPLICATE_DAYS"]
    since = req.received_at - timedelta(days=days)
    return db.session.scalar(
        select(Request)
        .where(
            Request.email == req.email,
            Request.kind == req.kind,
            Request.id != req.id,
            Request.received_at >= since,
            Request.status.not_in([RequestStatus.CANCELLED, RequestStatus.DUPLICATE]),
        )
        .order_by(Request.id.desc())
        .limit(1)
    )
