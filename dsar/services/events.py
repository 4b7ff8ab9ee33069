"""Append a step to a request's history (chained into the audit log when committed)."""

from __future__ import annotations

import logging
from typing import Any

from dsar.extensions import db
from dsar.models import Event, Request
from dsar.services import webhook_events

log = logging.getLogger(__name__)


def record(
    request: Request | None,
    action: str,
    *,
    actor: str,
    before: str = "",
    after: str = "",
    detail: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session (the caller commits); `detail` must hold no personal data.

    The event gets its place in the hash chain (seq, prev_hash, hash) when the session
    commits (see dsar.services.audit); until then those fields are empty. Never edit an
    event after its commit: `flask dsar audit-verify` would report it as tampered with.
    """
    event = Event(
        request=request,
        action=action,
        actor=actor,
        status_before=before,
        status_after=after,
        detail=detail or {},
    )
    db.session.add(event)
    webhook_events.note(request, action, before, after)  # integrators' webhooks, if any
    log.info(
        "event %s request=%s actor=%s %s->%s",
        action,
        request.id if request is not None else None,
        actor,
        before or "-",
        after or "-",
    )
    return event


def latest(req: Request, action: str) -> Event | None:
    """The request's newest event of this kind, if any (its events are in id order)."""
    return next((e for e in reversed(req.events) if e.action == action), None)
