"""Idempotency-Key for POST /api/v1/requests: a retried call makes no second request.

A client that timed out, or got a 5xx, cannot know whether its request was stored. With the
same `Idempotency-Key` (and the same body) a retry gets back the request the first call
made, marked as a replay; the same key with another body is refused. Keys are per API key,
stored on the request with a keyed hash (HMAC with SECRET_KEY) of the body, never the body.
Concurrent calls with one key are settled by a unique index: the loser finds the winner's
request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dsar import inputs
from dsar.extensions import db
from dsar.models import ApiKey, Request
from dsar.services import intake

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")


@dataclass(frozen=True)
class Outcome:
    request: Request
    receipt: intake.Receipt | None  # None for a replay: the tracking token is not kept


def parse(raw: str | None) -> str | None:
    """The header's value, or None when absent; 400 when it is not 1-200 visible ASCII."""
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise inputs.InputRefused(
            f"{HEADER} must be 1 to 200 visible ASCII characters (a UUID is a good choice)."
        )
    return raw


def body_digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def _earlier(api_key: ApiKey, key: str, digest: str) -> Request | None:
    req = db.session.scalar(
        select(Request).where(Request.api_key_id == api_key.id, Request.idempotency_key == key)
    )
    if req is not None and not hmac.compare_digest(req.idempotency_digest, digest):
        raise inputs.InputRefused(
            f"This {HEADER} was used for {req.reference} with a different body; "
            "use a new key for a new request.",
            status=409,
        )
    return req


def submit_once(
    sub: intake.Submission,
    *,
    api_key: ApiKey,
    identity_verified: bool,
    key: str | None,
    body: dict[str, Any],
) -> Outcome:
    """Submit, unless this key already made a request: then that one, as a replay."""
    if key is None:
        receipt = intake.submit(
            sub, channel="api", api_key=api_key, identity_verified=identity_verified
        )
        return Outcome(receipt.request, receipt)
    digest = body_digest(body)
    earlier = _earlier(api_key, key, digest)
    if earlier is not None:
        return Outcome(earlier, None)
    try:
        receipt = intake.submit(
            sub,
            channel="api",
            api_key=api_key,
            identity_verified=identity_verified,
            idempotency=(key, digest),
        )
    except IntegrityError:  # a concurrent call with the same key won the race
        db.session.rollback()
        earlier = _earlier(api_key, key, digest)
        if earlier is None:
            raise
        return Outcome(earlier, None)
    return Outcome(receipt.request, receipt)
