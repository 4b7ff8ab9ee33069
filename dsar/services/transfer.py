"""Send a portability package straight to another company (GDPR Art. 20(2)), safely.

The person may name the receiving company's HTTPS address with a portability request. It
is checked at intake (`check`, by dsar.transfer_guard: https only, no credentials, public
addresses only), kept in `Request.transfer_url`, and used once the answer is released
(dsar.services.review calls `start`): an RQ job (`workers.jobs.send_portability_transfer`)
POSTs the ZIP package there (`send`).

At send time the host is resolved again and every address checked again (the name may point
elsewhere by now: DNS rebinding); the connection goes to an address that was checked, never
through a second lookup, with TLS verified against the host name (SNI and Host: the name).
No redirect is followed. A 2xx is delivered, any other answer below 500 is the receiver's
final refusal, and a 5xx, a timeout or a connection error is tried again with RQ's backoff,
then recorded as failed. Every outcome is an event whose detail names the host only (never
the address, which is the person's data), the HTTP status, the bytes and the SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
from datetime import datetime
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from dsar import inputs, queue, transfer_guard
from dsar.exceptions import IntakeRefused, Term
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Document, Event, Request, RequestKind
from dsar.rules import KIND_LABELS
from dsar.services import downloads
from dsar.services.events import record
from dsar.transfer_guard import Refused, Target

log = logging.getLogger(__name__)

FIELD = "transfer_url"
JOB = "workers.jobs.send_portability_transfer"
QUEUED = "transfer_queued"
RETRY = "transfer_retry"
# The final outcomes: each request's transfer ends in exactly one of them.
FINAL = {
    "transfer_delivered": "delivered",
    "transfer_refused": "refused",
    "transfer_failed": "failed",
}
ACTIONS = (QUEUED, RETRY, *FINAL)


class TransferRetry(RuntimeError):
    """A failure worth another try (5xx, timeout, connection); RQ retries the job."""


def check(url: str, kind: RequestKind, *, exempt: frozenset[str] | None = None) -> str:
    """The address as stored ("" for none), or IntakeRefused on the `transfer_url` field."""
    try:
        url = inputs.clean(url or "")
    except inputs.InputRefused as exc:
        raise IntakeRefused.like(exc, field=FIELD) from None
    if not url:
        return ""
    if kind is not RequestKind.PORTABILITY:
        raise IntakeRefused(
            N_("We send data to another company only with a “%(right)s” request."),
            right=Term(KIND_LABELS[RequestKind.PORTABILITY]),
            field=FIELD,
        )
    if exempt is None:
        exempt = current_app.config["DSAR_TRANSFER_ALLOW_HOSTS"]
    try:
        target = transfer_guard.parse(url)
        transfer_guard.resolve(target, exempt=exempt)
    except Refused as exc:
        raise IntakeRefused.like(exc, field=FIELD) from None
    except OSError:
        raise IntakeRefused(
            N_(
                "We could not look up %(host)s just now; check the address, or try again "
                "in a few minutes."
            ),
            host=target.host,
            field=FIELD,
        ) from None
    return url


def host_of(url: str) -> str:
    """The host (and port, when not 443) of a stored address, for people to read."""
    try:
        return transfer_guard.parse(url).netloc
    except Refused:
        return ""


def start(req: Request) -> bool:
    """Queue the sending of a released answer's package, once; False when there is nothing
    to send or it was queued before (a second call records and sends nothing)."""
    if not req.transfer_url or req.kind is not RequestKind.PORTABILITY:
        return False
    if _events(req.id, (QUEUED,)):
        return False
    record(req, QUEUED, actor="system", detail={"host": host_of(req.transfer_url)})
    db.session.commit()
    try:
        send_job(req.id)
    except RedisError:  # the request is complete all the same; its history shows it queued
        log.exception("the transfer job of request %s could not be queued", req.id)
    return True


def send_job(request_id: int) -> None:
    config = current_app.config
    queue.enqueue(
        JOB,
        request_id,
        queue_name=queue.TASKS,
        job_id=f"transfer-{request_id}",
        retries=config["DSAR_TASK_RETRIES"],
        intervals=config["DSAR_RETRY_INTERVALS"],
        timeout=config["DSAR_TASK_TIMEOUT"],
    )


def unfinished(before: datetime) -> list[int]:
    """Requests whose package was queued before `before` and has no outcome yet (for the
    reconciler, which sends again those whose job Redis no longer holds)."""
    queued = select(Event.request_id).where(Event.action == QUEUED, Event.at < before)
    done = select(Event.request_id).where(Event.action.in_(tuple(FINAL)))
    return list(db.session.scalars(queued.where(Event.request_id.not_in(done))).all())


def send(request_id: int, *, last_attempt: bool = True) -> str | None:
    """POST the request's package to the address the person gave; returns the outcome
    (delivered, refused, failed) or None when there is nothing (more) to do. Raises
    TransferRetry for a failure worth another try, unless this is the last attempt."""
    req = db.session.get(Request, request_id)
    if req is None or not req.transfer_url or _events(request_id, tuple(FINAL)):
        return None
    loaded = _load(req)
    if isinstance(loaded, str):
        return loaded
    target, data, sent = loaded
    config = current_app.config
    try:  # again now: the name may point somewhere else than at intake
        addresses = transfer_guard.resolve(target, exempt=config["DSAR_TRANSFER_ALLOW_HOSTS"])
    except Refused:
        return _finish(req, "transfer_failed", {**sent, "reason": "address"})
    except OSError as exc:
        return _again(req, {**sent, "error": type(exc).__name__}, last_attempt)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    headers = {
        "Content-Type": "application/zip",
        "Content-Digest": f"sha-256=:{digest}:",  # RFC 9530
        "X-DSAR-Reference": req.reference or "",
        "User-Agent": "dsar-portability/1",
    }
    timeout = config["DSAR_TRANSFER_TIMEOUT_SECONDS"]
    try:
        status = transfer_guard.post(
            target,
            addresses,
            data,
            headers,
            timeout=timeout,
            ca_bundle=config["DSAR_TRANSFER_CA_BUNDLE"],
        )
    except (OSError, http.client.HTTPException) as exc:  # TLS, timeouts, refused, cut off
        return _again(req, {**sent, "error": type(exc).__name__}, last_attempt)
    if 200 <= status < 300:
        return _finish(req, "transfer_delivered", {**sent, "status": status})
    if status >= 500:
        return _again(req, {**sent, "status": status}, last_attempt)
    # A 4xx, or a redirect (never followed): the receiver's own, final answer.
    return _finish(req, "transfer_refused", {**sent, "status": status})


def _load(req: Request) -> tuple[Target, bytes, dict[str, Any]] | str:
    """Where to, the package's bytes and the events' detail; or the outcome when the
    package cannot go (recorded as failed): an address no longer valid, no package, too
    large, or a file that is not the one its document row describes."""
    try:
        target = transfer_guard.parse(req.transfer_url)
    except Refused:
        return _finish(req, "transfer_failed", {"host": "", "reason": "address"})
    base = {"host": target.netloc}
    doc = _package(req)
    if doc is None or downloads.is_purged(doc):
        return _finish(req, "transfer_failed", {**base, "reason": "no_package"})
    limit = current_app.config["DSAR_TRANSFER_MAX_BYTES"]
    if doc.size > limit:
        detail = {"reason": "too_large", "bytes": doc.size, "limit": limit}
        return _finish(req, "transfer_failed", {**base, **detail})
    data = downloads.path_of(doc).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    sent = {**base, "bytes": len(data), "sha256": sha256, "document_id": doc.id}
    if sha256 != doc.sha256 or len(data) > limit:
        return _finish(req, "transfer_failed", {**sent, "reason": "file_changed"})
    return target, data, sent


def _package(req: Request) -> Document | None:
    return db.session.scalar(
        select(Document)
        .where(Document.request_id == req.id, Document.kind == "package")
        .order_by(Document.id.desc())
        .limit(1)
    )


def _events(request_id: int, actions: tuple[str, ...]) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.request_id == request_id, Event.action.in_(actions))
            .order_by(Event.id)
        )
    )


def _finish(req: Request, action: str, detail: dict[str, Any]) -> str:
    record(req, action, actor="system", detail=detail)
    db.session.commit()
    log.info("transfer of request %s: %s", req.id, FINAL[action])
    return FINAL[action]


def _again(req: Request, detail: dict[str, Any], last_attempt: bool) -> str:
    if last_attempt:
        return _finish(req, "transfer_failed", {**detail, "reason": "unreachable"})
    record(req, RETRY, actor="system", detail=detail)
    db.session.commit()
    what = detail.get("status") or detail.get("error")
    # No chained cause: the worker's log gets the host and the status or error type only.
    raise TransferRetry(
        f"transfer of request {req.id} to {detail['host']}: {what}; retrying"
    ) from None


def view(req: Request) -> dict[str, Any] | None:
    """Where the package goes and how far it got, or None when the person named no company.

    `state`: waiting (the answer is not released yet), sending, delivered, refused, failed;
    `http_status` of the final answer, `at` when it was reached.
    """
    events = _events(req.id, ACTIONS)
    if not events and not req.transfer_url:
        return None
    final = next((e for e in reversed(events) if e.action in FINAL), None)
    host = next((e.detail.get("host") for e in events if e.detail.get("host")), "")
    if final is not None:
        state, at = FINAL[final.action], final.at
    else:
        state, at = ("sending" if events else "waiting"), None
    return {
        "host": host or host_of(req.transfer_url),
        "state": state,
        "http_status": final.detail.get("status") if final is not None else None,
        "reason": final.detail.get("reason", "") if final is not None else "",
        "at": at,
    }
