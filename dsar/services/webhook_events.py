"""Which request events an integrator's webhook hears of, and the rows that carry them.

`dsar.services.events.record` calls `note` for every event it adds: a status change, a
request received, an answer ready or a deadline reminder becomes one pending
WebhookDelivery per active endpoint that asked for it, in the same transaction as the
event (the coupling goes one way: this module knows nothing of the rest of dsar). The
jobs are enqueued once that transaction commits (`init_app`'s listeners), never before:
a rolled-back change sends nothing. If Redis is down, or the process dies between the
commit and the enqueue, the reconciler finds the pending row and sends it
(dsar.services.webhook_delivery.resend_lost).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from dsar import queue
from dsar.extensions import db
from dsar.models import ApiKey, Request, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

RECEIVED = "request.received"
STATUS_CHANGED = "request.status_changed"
ANSWER_READY = "request.answer_ready"
DEADLINE_AT_RISK = "request.deadline_at_risk"
# In the words the admin's form shows.
EVENTS: dict[str, str] = {
    RECEIVED: "A request was received",
    STATUS_CHANGED: "A request's status changed",
    ANSWER_READY: "An answer is ready for the person",
    DEADLINE_AT_RISK: "A deadline is near or passed (the officers' reminder)",
}
# dsar.services.api_keys.READ_ALL (that module records events, so it cannot be imported
# here): a key with it hears of every request, not only of those it made.
READ_ALL = "requests:read_all"
JOB = "workers.jobs.deliver_webhook"
_NEW = "dsar_webhook_new"


def _value(status: Any) -> str:
    return str(getattr(status, "value", status) or "")


def names(action: str, before: Any, after: Any) -> list[str]:
    """The webhook events an audit event is (none for most)."""
    before, after = _value(before), _value(after)
    found = []
    if not before and after == "received":
        found.append(RECEIVED)
    elif before and after and before != after:
        found.append(STATUS_CHANGED)
        if after == "completed" and action in ("released", "response_compiled"):
            found.append(ANSWER_READY)
    if action == "reminder_sent":
        found.append(DEADLINE_AT_RISK)
    return found


def note(req: Request | None, action: str, before: Any, after: Any) -> None:
    """Add a pending delivery per endpoint that wants this event (the caller commits)."""
    if req is None:
        return
    wanted = names(action, before, after)
    if not wanted:
        return
    with db.session.no_autoflush:
        endpoints = db.session.scalars(
            select(WebhookEndpoint)
            .join(ApiKey, ApiKey.id == WebhookEndpoint.api_key_id)
            .where(WebhookEndpoint.active.is_(True), ApiKey.revoked_at.is_(None))
            .order_by(WebhookEndpoint.id)
        ).all()
    for endpoint in endpoints:
        own = req.api_key_id is not None and req.api_key_id == endpoint.api_key_id
        if not own and READ_ALL not in (endpoint.api_key.scopes or []):
            continue
        for name in wanted:
            if name in endpoint.events:
                db.session.add(
                    WebhookDelivery(
                        endpoint=endpoint,
                        request=req,
                        event=name,
                        status_before=_value(before),
                        status_after=_value(after),
                        job_id=new_job_id(),
                    )
                )


def new_job_id() -> str:
    return f"webhook-{secrets.token_hex(8)}"


def send_job(delivery_id: int, job_id: str) -> None:
    """Enqueue one delivery's job, retried with DSAR_WEBHOOK_RETRY_INTERVALS."""
    intervals = current_app.config["DSAR_WEBHOOK_RETRY_INTERVALS"]
    queue.enqueue(
        JOB,
        delivery_id,
        queue_name=queue.TASKS,
        job_id=job_id,
        retries=len(intervals),
        intervals=intervals,
        timeout=current_app.config["DSAR_WEBHOOK_TIMEOUT_SECONDS"] * 3 + 30,
    )


# --- enqueue after commit ---------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Send the deliveries a transaction made once it commits (safe to call for many apps)."""
    for name, listener in (
        ("after_flush", _note_new),
        ("after_commit", _send_committed),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _note_new(session: Session, flush_context: Any) -> None:
    new = [(o.id, o.job_id) for o in session.new if isinstance(o, WebhookDelivery)]
    if new:
        session.info.setdefault(_NEW, []).extend(new)


def _send_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: the outermost commit sends
    for delivery_id, job_id in session.info.pop(_NEW, []):
        try:
            send_job(delivery_id, job_id)
        except RedisError:  # the reconciler sends what is still pending
            log.exception("webhook delivery %s could not be queued", delivery_id)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NEW, None)
