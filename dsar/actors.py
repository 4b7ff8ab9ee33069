"""Who did something, in words: histories, evidence and the audit pages name people, not ids.

Events record their actor as a short code (`user:2`, `api-key:3`, `person`, `worker`);
this turns it into "Olivia Officer (officer)" or "API key #3 (crm-sync)". A staff member
without a name shows their email; a code this module does not know is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from dsar.extensions import db
from dsar.models import ApiKey, User

FIXED = {
    "person": "The person who made the request",
    "agent": "The person's authorised agent",
    "owner": "The system's owner (one-time link)",
    "worker": "dsar (worker)",
    "system": "dsar",
    "reconciler": "dsar (reconciler)",
    "cli": "An administrator (command line)",
    "demo": "The demo set-up",
}


def _ids(codes: Iterable[str], prefix: str) -> set[int]:
    found = set()
    for code in codes:
        head, _, tail = code.partition(":")
        if head == prefix and tail.isascii() and tail.isdigit():
            found.add(int(tail))
    return found


def names(codes: Iterable[str]) -> dict[str, str]:
    """Words for every actor code given, looked up with two queries whatever their number."""
    codes = set(codes)
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(_ids(codes, "user"))))
    }
    keys = {
        k.id: k
        for k in db.session.scalars(select(ApiKey).where(ApiKey.id.in_(_ids(codes, "api-key"))))
    }
    out = {}
    for code in codes:
        head, _, tail = code.partition(":")
        if head == "user" and tail.isdigit() and int(tail) in users:
            user = users[int(tail)]
            out[code] = f"{user.name or user.email} ({user.role.value})"
        elif head == "api-key" and tail.isdigit() and int(tail) in keys:
            out[code] = f"API key #{tail} ({keys[int(tail)].name})"
        else:
            out[code] = FIXED.get(code, code)
    return out
