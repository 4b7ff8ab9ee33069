"""The consent ledger: every change of a person's choices, and what they are now.

A change comes from the preference centre (`portal`), a browser's Global Privacy Control
signal (`gpc`), the API, when the company's own systems report a change made there (`api`),
or a completed opt-out request (`request`). Each is a `ConsentEntry`, never changed or deleted
(the database refuses), with the time, the source, who made it and the number of the
transparency notice in force (`transparency.current()`), the version the person was shown.
Its `choice_recorded` event in the audit chain carries the entry's digest (HMAC-SHA256 under
the audit key over its fields), so that an entry altered behind dsar's back shows as such.

A person's current choice is their latest entry for it; with none, the systems' own records
stand and the preference centre says that nothing was recorded yet. A change that reaches the
systems gets a `ChoiceReceipt` for every enabled system that holds the choice (`holders`),
but the one it was made in; `choice_sync` carries them out.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select

from dsar.connectors import declared_choices
from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import (
    ChoiceReceipt,
    ConsentEntry,
    DataSystem,
    Event,
    Request,
    SystemKind,
    utcnow,
)
from dsar.rules.choices import BY_KEY, CHOICES, Choice
from dsar.services import audit, transparency
from dsar.services.events import record

SOURCES = ("portal", "gpc", "api", "request")
MAX_EMAIL = 254


class ChoiceRefused(DsarError):
    """A change of choice that cannot be recorded; `message` says why (an N_ template),
    `field` which input it concerns."""

    def __init__(self, message: str, field: str = "", **values: object) -> None:
        super().__init__(message % values if values else message)
        self.template, self.values, self.field = message, values, field


def normal_email(raw: object) -> str:
    """The address as the ledger keys it (trimmed, lower-case), or ChoiceRefused."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ChoiceRefused(N_("Enter your email address."), "email")
    if len(text) > MAX_EMAIL:
        raise ChoiceRefused(N_("An email address has at most 254 characters."), "email")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ChoiceRefused(
            N_("Enter a valid email address, like name@example.com."), "email"
        ) from None


def _systems() -> list[DataSystem]:
    return list(
        db.session.scalars(
            select(DataSystem)
            .where(DataSystem.enabled.is_(True), DataSystem.kind != SystemKind.MANUAL)
            .order_by(DataSystem.name)
        )
    )


def holders(choice: str) -> list[DataSystem]:
    """The enabled systems whose settings say how to change this choice."""
    return [s for s in _systems() if choice in declared_choices(s.config or {})]


def offered() -> list[Choice]:
    """The choices at least one enabled system holds, in the rules' order."""
    held = {key for s in _systems() for key in declared_choices(s.config or {})}
    return [c for c in CHOICES if c.key in held]


def choice(key: object) -> Choice:
    found = BY_KEY.get(key) if isinstance(key, str) else None
    if found is None:
        raise ChoiceRefused(
            N_("Unknown choice %(key)s; the choices are: %(known)s."),
            "choice",
            key=str(key)[:40],
            known=", ".join(BY_KEY),
        )
    return found


def current(email: str) -> dict[str, ConsentEntry]:
    """The person's latest entry for each choice they (or a source for them) made."""
    newest = (
        select(func.max(ConsentEntry.id))
        .where(ConsentEntry.email == email)
        .group_by(ConsentEntry.choice)
    )
    entries = db.session.scalars(select(ConsentEntry).where(ConsentEntry.id.in_(newest)))
    return {e.choice: e for e in entries}


def ledger(email: str) -> list[ConsentEntry]:
    """Every change for this person, newest first."""
    return list(
        db.session.scalars(
            select(ConsentEntry).where(ConsentEntry.email == email).order_by(ConsentEntry.id.desc())
        )
    )


def _canonical(entry: ConsentEntry) -> bytes:
    def at(value: datetime) -> str:
        return audit.canonical_at(value)

    fields = {
        "id": entry.id,
        "email": entry.email,
        "choice": entry.choice,
        "opted_in": entry.opted_in,
        "source": entry.source,
        "actor": entry.actor,
        "notice_version": entry.notice_version,
        "made_at": at(entry.made_at),
        "recorded_at": at(entry.recorded_at),
        "origin_system_id": entry.origin_system_id,
        "request_id": entry.request_id,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def entry_digest(entry: ConsentEntry) -> str:
    return hmac.new(audit.current_key(), _canonical(entry), "sha256").hexdigest()


def intact(entry: ConsentEntry) -> bool:
    """Whether the entry still reads as it did when its event entered the audit chain."""
    event = db.session.get(Event, entry.event_id)
    recorded = (event.detail or {}).get("digest", "") if event is not None else ""
    return bool(recorded) and hmac.compare_digest(recorded, entry_digest(entry))


@dataclass(frozen=True)
class Change:
    email: str
    choice: str
    opted_in: bool
    source: str
    actor: str = ""
    made_at: datetime | None = None
    origin: DataSystem | None = None  # the system it was made in: not changed again
    request: Request | None = None
    propagate: bool = True  # False: the change is already done (an opt-out request's tasks)


def record_change(change: Change) -> ConsentEntry:
    """Add the entry, its audit event and its receipts to the session (the caller commits,
    then sends the receipts with `choice_sync.send`)."""
    if change.source not in SOURCES:
        raise ValueError(f"unknown source {change.source!r}")
    chosen = choice(change.choice)
    now = utcnow()
    # The notice in force, published in this transaction if the registry changed: nothing
    # of the caller's work is committed before it is whole, and the event below is chained
    # only at that commit, with its detail complete.
    notice = transparency.current(commit=False).number
    event = record(
        change.request,
        "choice_recorded",
        actor=change.source if change.source != "api" else "api",
        detail={},
    )
    db.session.flush()
    entry = ConsentEntry(
        email=change.email,
        choice=chosen.key,
        opted_in=change.opted_in,
        source=change.source,
        actor=change.actor[:120],
        notice_version=notice,
        made_at=change.made_at or now,
        recorded_at=now,
        origin_system=change.origin,
        request_id=change.request.id if change.request is not None else None,
        event_id=event.id,
    )
    db.session.add(entry)
    db.session.flush()
    # The event is not yet chained (that happens at commit): filling its detail now is safe.
    event.detail = {
        "entry": entry.id,
        "choice": entry.choice,
        "opted_in": entry.opted_in,
        "source": entry.source,
        "notice_version": entry.notice_version,
        "digest": entry_digest(entry),
    }
    if change.propagate:
        origin_id = change.origin.id if change.origin is not None else None
        for system in holders(chosen.key):
            if system.id != origin_id:
                db.session.add(ChoiceReceipt(entry=entry, system=system))
    db.session.flush()
    current_app.logger.info(
        "choice %s recorded (%s, %s)", entry.id, entry.choice, "in" if entry.opted_in else "out"
    )
    return entry


def record_request(req: Request) -> list[ConsentEntry]:
    """An opt-out request carried out: the choices it covers, recorded as refused (source
    `request`, or `gpc` for one a browser's signal filed). Its own tasks changed the systems,
    so nothing is sent again."""
    source = "gpc" if req.gpc else "request"
    return [
        record_change(
            Change(
                email=req.email.lower(),
                choice=c.key,
                opted_in=False,
                source=source,
                actor=req.reference,
                request=req,
                propagate=False,
            )
        )
        for c in offered()
        if c.by_request
    ]
