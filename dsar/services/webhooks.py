"""Webhook endpoints, for admins: add one per API key, disable, delete, send a delivery again.

An endpoint is an HTTPS address that the integrator's software serves; dsar POSTs each
event it chose there (dsar.services.webhook_delivery). The address passes the same checks
as a portability address (dsar.transfer_guard: https only, no credentials, every address
it resolves to public), at adding and again at every send.

The signing secret is random, shown once when the endpoint is added, and kept sealed
(AES-256-GCM, nonce first, base64) under a key derived from SECRET_KEY: a copy of the
database alone cannot sign. Rotating SECRET_KEY makes the sealed secrets unreadable: the
deliveries then fail saying so, and the admin adds the endpoint again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import delete, func, select

from dsar import inputs, transfer_guard
from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import ApiKey, WebhookDelivery, WebhookEndpoint
from dsar.services.events import record
from dsar.services.webhook_events import EVENTS, new_job_id, send_job

MAX_URL = transfer_guard.MAX_URL
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SHOWN = 50  # deliveries listed per endpoint


class WebhookError(DsarError):
    """A webhook change that cannot be made; `field` is the form field it is about."""

    def __init__(self, message: str, *, field: str = "url") -> None:
        super().__init__(message)
        self.field = field


def _box() -> AESGCM:
    key = hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"dsar webhook secrets", hashlib.sha256
    ).digest()
    return AESGCM(key)


def seal(secret: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _box().encrypt(nonce, secret.encode(), None)).decode()


def unseal(sealed: str) -> str | None:
    """The endpoint's secret, or None when it was sealed under another SECRET_KEY."""
    raw = base64.b64decode(sealed)
    try:
        return _box().decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        return None


def check_url(url: str) -> str:
    try:
        url = inputs.clean(url or "")
    except inputs.InputRefused as exc:
        raise WebhookError(str(exc)) from None
    if not url:
        raise WebhookError("Give the endpoint's address, like https://crm.example.com/dsar-hook.")
    try:
        target = transfer_guard.parse(url)
        transfer_guard.resolve(target, exempt=current_app.config["DSAR_TRANSFER_ALLOW_HOSTS"])
    except transfer_guard.Refused as exc:
        raise WebhookError(exc.message) from None
    except OSError:
        raise WebhookError(
            f"We could not look up {target.host} just now; check the address or try again."
        ) from None
    return url


def check_events(chosen: Iterable[str]) -> list[str]:
    picked = set(chosen)
    unknown = sorted(picked - set(EVENTS))
    if unknown:
        raise WebhookError(
            f"Unknown event {unknown[0]!r}; choose from {', '.join(EVENTS)}.", field="events"
        )
    if not picked:
        raise WebhookError("Choose at least one event to send.", field="events")
    return [name for name in EVENTS if name in picked]


def add(key: ApiKey, url: str, events: Iterable[str], *, actor: str) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret (shown once)."""
    if key.revoked_at is not None:
        raise WebhookError(f"API key #{key.id} is revoked; its endpoints would never hear.")
    chosen = check_events(events)
    url = check_url(url)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint = WebhookEndpoint(api_key=key, url=url, events=chosen, secret_sealed=seal(secret))
    db.session.add(endpoint)
    db.session.flush()
    detail = {
        "api_key_id": key.id,
        "endpoint_id": endpoint.id,
        "host": transfer_guard.parse(url).netloc,
        "events": chosen,
    }
    record(None, "webhook_endpoint_added", actor=actor, detail=detail)
    db.session.commit()
    return endpoint, secret


def get(key: ApiKey, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.api_key_id != key.id:
        raise WebhookError(f"There is no endpoint #{endpoint_id} on API key #{key.id}.")
    return endpoint


def of_key(key: ApiKey) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.api_key_id == key.id)
            .order_by(WebhookEndpoint.id)
        )
    )


def counts() -> dict[int, int]:
    """How many endpoints each API key has, by key id."""
    rows = db.session.execute(
        select(WebhookEndpoint.api_key_id, func.count(WebhookEndpoint.id)).group_by(
            WebhookEndpoint.api_key_id
        )
    )
    return {key_id: n for key_id, n in rows}


def deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's newest deliveries first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(SHOWN)
        )
    )


def set_active(endpoint: WebhookEndpoint, active: bool, *, actor: str) -> None:
    if endpoint.active == active:
        return
    endpoint.active = active
    action = "webhook_endpoint_enabled" if active else "webhook_endpoint_disabled"
    detail = {"api_key_id": endpoint.api_key_id, "endpoint_id": endpoint.id}
    record(None, action, actor=actor, detail=detail)
    db.session.commit()


def remove(endpoint: WebhookEndpoint, *, actor: str) -> None:
    """Delete the endpoint and its deliveries' log (their jobs then find nothing to do)."""
    detail = {"api_key_id": endpoint.api_key_id, "endpoint_id": endpoint.id}
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    record(None, "webhook_endpoint_deleted", actor=actor, detail=detail)
    db.session.commit()


def send_again(endpoint: WebhookEndpoint, delivery_id: int, *, actor: str) -> WebhookDelivery:
    """Send a delivered or failed delivery again, with the same id (receivers de-duplicate)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise WebhookError(f"There is no delivery #{delivery_id} to this endpoint.")
    if delivery.status == PENDING:
        raise WebhookError(f"Delivery #{delivery.id} is still being sent; wait for its outcome.")
    if not endpoint.active:
        raise WebhookError(f"Endpoint #{endpoint.id} is disabled; enable it first.")
    delivery.status, delivery.job_id = PENDING, new_job_id()
    detail = {"endpoint_id": endpoint.id, "delivery_id": delivery.id, "event": delivery.event}
    record(None, "webhook_delivery_resent", actor=actor, detail=detail)
    db.session.commit()
    send_job(delivery.id, delivery.job_id)
    return delivery
