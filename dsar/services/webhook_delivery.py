"""Deliver one webhook event: a signed JSON POST to the endpoint, retried by RQ.

The body names the request by its reference and status only. The person's name and email
are added only when the endpoint's key may download that request's answer
(api_keys.may_download: the `answers:download` scope): such a key can read the whole
answer, identity included, already; `requests:read` and `requests:read_all` read the
request's progress, never who the person is, and so do their webhooks.

Signature (`Dsar-Signature: t=<unix seconds>,v1=<hex>`): HMAC-SHA256 under the endpoint's
secret of `f"{t}.{body}"`, as Stripe does: the receiver checks it in constant time and
refuses an old `t` (a replay). `Dsar-Delivery` is the delivery's id, the same on every
try and on "Send again": receivers de-duplicate on it.

A 2xx is delivered. Anything else (another code, a timeout, a refused connection, TLS)
is kept on the row (the code and a short error, never the answer's body) and raises for
RQ to try again after the next of DSAR_WEBHOOK_RETRY_INTERVALS; the last try marks the
row failed. The address is checked again at every send (the name may point elsewhere now).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
from datetime import datetime
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from dsar import queue, transfer_guard
from dsar.extensions import db
from dsar.models import WebhookDelivery, utcnow
from dsar.services import api_keys
from dsar.services.webhook_events import new_job_id, send_job
from dsar.services.webhooks import DELIVERED, FAILED, PENDING, unseal

log = logging.getLogger(__name__)


MAX_TRIES = 20  # tries kept on a delivery's row


class DeliveryRetry(RuntimeError):
    """A try that did not reach a 2xx; RQ tries again."""


def payload(delivery: WebhookDelivery) -> dict[str, Any]:
    req = delivery.request
    data: dict[str, Any] = {
        "reference": req.reference,
        "status": delivery.status_after or req.status.value,
        "previous_status": delivery.status_before or None,
        "due_at": req.due_on.isoformat() if req.due_on else None,
    }
    if api_keys.may_download(delivery.endpoint.api_key, req):
        data["name"], data["email"] = req.name, req.email
    return {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": data,
    }


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def deliver(delivery_id: int, *, job_id: str | None, last_attempt: bool = True) -> str | None:
    """A worker's job: POST the delivery once; its status, or None when there is nothing to
    do (gone, already final, or a stale job that another one replaced)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != PENDING:
        return None
    if job_id is not None and delivery.job_id != job_id:
        return None
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _outcome(delivery, None, "the endpoint is disabled", final=True)
    secret = unseal(endpoint.secret_sealed)
    if secret is None:
        why = "its secret cannot be read (SECRET_KEY changed): add the endpoint again"
        return _outcome(delivery, None, why, final=True)
    body = json.dumps(payload(delivery), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "Dsar-Event": delivery.event,
        "Dsar-Delivery": str(delivery.id),
        "Dsar-Signature": signature(secret, int(time.time()), body),
        "User-Agent": "dsar-webhooks/1",
    }
    config = current_app.config
    try:
        target = transfer_guard.parse(endpoint.url)
        addresses = transfer_guard.resolve(target, exempt=config["DSAR_TRANSFER_ALLOW_HOSTS"])
        code = transfer_guard.post(
            target,
            addresses,
            body,
            headers,
            timeout=config["DSAR_WEBHOOK_TIMEOUT_SECONDS"],
            ca_bundle=config["DSAR_TRANSFER_CA_BUNDLE"],
        )
    except transfer_guard.Refused as exc:
        return _outcome(delivery, None, exc.message[:200], final=last_attempt)
    except (OSError, http.client.HTTPException) as exc:
        return _outcome(delivery, None, _words(exc), final=last_attempt)
    if 200 <= code < 300:
        return _outcome(delivery, code, "", final=True)
    return _outcome(delivery, code, f"answered HTTP {code}", final=last_attempt)


def _words(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and "CERTIFICATE" in str(exc).upper():
        return "TLS certificate not trusted"
    return f"could not connect ({type(exc).__name__})"


def _outcome(delivery: WebhookDelivery, code: int | None, error: str, *, final: bool) -> str:
    delivered = code is not None and 200 <= code < 300
    delivery.attempts += 1
    delivery.last_code, delivery.last_error = code, error
    delivery.last_attempt_at = utcnow()
    tried = {"at": delivery.last_attempt_at.isoformat(timespec="seconds"), "code": code}
    delivery.tries = [*(delivery.tries or []), {**tried, "error": error}][-MAX_TRIES:]
    if delivered:
        delivery.status, delivery.delivered_at = DELIVERED, delivery.last_attempt_at
    elif final:
        delivery.status = FAILED
    db.session.commit()
    log.info("webhook delivery %s: try %s, code %s", delivery.id, delivery.attempts, code)
    if not delivered and not final:
        raise DeliveryRetry(f"webhook delivery {delivery.id}: {error}; retrying") from None
    return delivery.status


def resend_lost(before: datetime) -> int:
    """Pending deliveries made before `before` whose job Redis no longer holds (a crash
    between the commit and the enqueue, Redis flushed): sent again with a new job id."""
    lost = db.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.status == PENDING, WebhookDelivery.created_at < before
        )
    ).all()
    sent = 0
    for delivery in lost:
        if queue.job_alive(delivery.job_id):
            continue
        delivery.job_id = new_job_id()
        db.session.commit()
        try:
            send_job(delivery.id, delivery.job_id)
        except RedisError:
            log.exception("webhook delivery %s could not be queued", delivery.id)
            continue
        sent += 1
    return sent
