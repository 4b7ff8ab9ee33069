"""The request status machine: every legal move in one table; anything else raises."""

from __future__ import annotations

from sqlalchemy import update

from dsar.exceptions import IllegalTransition
from dsar.extensions import db
from dsar.models import Request, RequestStatus

S = RequestStatus
_CLOSING = {S.DENIED, S.CANCELLED}

TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.RECEIVED: frozenset(
        {
            S.AWAITING_VERIFICATION,
            S.AWAITING_APPROVAL,
            S.AWAITING_DECISION,
            S.IN_PROGRESS,
            S.DUPLICATE,
            *_CLOSING,
        }
    ),
    # An appeal: granted, it runs as the request would have (a dry run first where the
    # kind needs approval); refused, it is denied; or it is withdrawn.
    S.AWAITING_DECISION: frozenset({S.AWAITING_APPROVAL, S.IN_PROGRESS, *_CLOSING}),
    S.AWAITING_VERIFICATION: frozenset(
        {S.AWAITING_APPROVAL, S.IN_PROGRESS, S.DUPLICATE, *_CLOSING}
    ),
    S.AWAITING_APPROVAL: frozenset({S.IN_PROGRESS, S.DUPLICATE, *_CLOSING}),
    S.IN_PROGRESS: frozenset({S.COMPILING, S.ACTION_REQUIRED, S.CANCELLED}),
    S.ACTION_REQUIRED: frozenset({S.IN_PROGRESS, S.COMPILING, *_CLOSING}),
    S.COMPILING: frozenset({S.READY_FOR_REVIEW, S.COMPLETED, S.ACTION_REQUIRED}),
    # Review: release, send back, or render again after a redaction.
    S.READY_FOR_REVIEW: frozenset({S.COMPLETED, S.IN_PROGRESS, S.COMPILING}),
    # Reopened by an officer with a reason (dsar.services.reopening): the work runs again
    # (a dry run first where the kind needs approval) and a new answer replaces the old.
    S.COMPLETED: frozenset({S.IN_PROGRESS, S.AWAITING_APPROVAL}),
    S.DENIED: frozenset(),
    S.CANCELLED: frozenset(),
    S.DUPLICATE: frozenset(),
}

CLOSED_STATUSES = frozenset({S.COMPLETED, S.DENIED, S.CANCELLED, S.DUPLICATE})
OPEN_STATUSES = frozenset(TRANSITIONS) - CLOSED_STATUSES


def check(before: RequestStatus, after: RequestStatus) -> None:
    if after not in TRANSITIONS[before]:
        raise IllegalTransition(before.value, after.value)


def move(request: Request, after: RequestStatus) -> RequestStatus:
    """Change a loaded request's status in the session; returns the status it had."""
    before = request.status
    check(before, after)
    request.status = after
    return before


def move_if(request_id: int, before: RequestStatus, after: RequestStatus) -> bool:
    """Move only if the row still has `before`, in one UPDATE; True for the single winner.

    Two workers finishing a request's last tasks at the same moment both try this; the
    database lets exactly one of them change the row.
    """
    check(before, after)
    result = db.session.execute(
        update(Request)
        .where(Request.id == request_id, Request.status == before)
        .values(status=after)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
