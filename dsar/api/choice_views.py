"""API v1: a person's choices, for the company's own systems (registered on the API's
blueprint). Read them before mailing or selling (scope choices:read); record a change made
in a system (the shop's checkbox) so that it reaches every other one (choices:write).

The person is named by email, in a header on reads: an address never goes in a URL, where
proxies and servers log it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask_smorest import abort
from sqlalchemy import select

from dsar.api import openapi
from dsar.api.choice_schemas import HEADER, ChangeOut, ChoiceIn, ChoicesOut, PersonHeader
from dsar.api.views import COMMON_ERRORS, blp, current_key, documented_errors, require_scope
from dsar.extensions import db
from dsar.models import DataSystem, utcnow
from dsar.services import api_keys, consent, preferences

# A system's clock may run a little ahead of ours: within this, its time is taken as now.
CLOCK_SKEW = timedelta(minutes=5)


def _person(email: str) -> str:
    """The ledger's key for an address the schema has checked (ASCII, an email's shape)."""
    return email.strip().lower()


@blp.get("/choices")
@blp.arguments(PersonHeader, location="headers")
@blp.response(200, ChoicesOut)
@documented_errors(
    (400, "The address was put in the URL; send it in the Person-Email header"),
    (403, "The key's scopes do not allow this"),
    (422, "No Person-Email header, or not an email address"),
    *COMMON_ERRORS,
)
@blp.doc(operationId="getChoices", security=openapi.SECURITY)
def get_choices(header: dict[str, Any]) -> dict[str, Any]:
    """A person's current choices, each with the systems that hold it (scope choices:read).
    `opted_in` null: nothing recorded, each system keeps its own setting."""
    require_scope(api_keys.CHOICES_READ, "read people's choices")
    if "email" in request.args:
        abort(400, message=f"Send the address in the {HEADER} header, never in the URL.")
    email = _person(header["email"])
    rows = preferences.rows(email)
    return {
        "email": email,
        "choices": [
            {
                "choice": r.choice.key,
                "label": r.choice.label,
                "opted_in": r.opted_in,
                "since": r.entry.made_at if r.entry else None,
                "source": r.entry.source if r.entry else None,
                "notice_version": r.entry.notice_version if r.entry else None,
                "systems": [s.key for s in r.systems],
            }
            for r in rows
        ],
    }


@blp.post("/choices")
@blp.arguments(ChoiceIn)
@blp.response(201, ChangeOut)
@blp.alt_response(200, schema=ChangeOut, description="The choice was already so: no entry")
@documented_errors(
    (400, "The body is not JSON, or too deep"),
    (403, "The key's scopes do not allow this"),
    (413, "The body is too large"),
    (404, "No data system has the key given as `system`; nothing stored"),
    (409, "`made_at` is later than our clock: a change cannot be made in the future"),
    (422, "Field errors (an unknown choice, a bad address or time); nothing stored"),
    *COMMON_ERRORS,
)
@blp.doc(operationId="recordChoice", security=openapi.SECURITY)
def record_choice(body: dict[str, Any]) -> Any:
    """Record a change of choice made in one of the company's systems; every other system
    that holds the choice is changed too, each with its receipt (scope choices:write)."""
    require_scope(api_keys.CHOICES_WRITE, "record people's choices")
    email = _person(body["email"])
    origin = None
    if body["system"] is not None:
        origin = db.session.scalar(select(DataSystem).where(DataSystem.key == body["system"]))
        if origin is None:
            abort(404, message=f"No data system has the key {body['system']!r}; nothing stored.")
    made_at = body["made_at"]
    if made_at is not None and made_at > utcnow() + CLOCK_SKEW:
        abort(
            409,
            message="made_at is later than our clock: send the time the person made the change, "
            "with its offset; nothing stored.",
        )
    if made_at is not None:
        made_at = min(made_at, utcnow())  # a clock a little ahead of ours
    entries = preferences.change(
        email,
        {body["choice"]: body["opted_in"]},
        source="api",
        actor=f"API key {current_key().name}",
        made_at=made_at,
        origin=origin,
    )
    if not entries:
        latest = consent.current(email)[body["choice"]]
        return {
            "changed": False,
            "entry": latest.id,
            "choice": body["choice"],
            "opted_in": body["opted_in"],
            "notice_version": latest.notice_version,
            "receipts": [],
        }, 200
    entry = entries[0]
    return {
        "changed": True,
        "entry": entry.id,
        "choice": entry.choice,
        "opted_in": entry.opted_in,
        "notice_version": entry.notice_version,
        "receipts": [
            {"system": r.system.key, "status": r.status, "found": r.found} for r in entry.receipts
        ],
    }
