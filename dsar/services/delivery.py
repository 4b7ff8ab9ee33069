"""Deliver an answer to the person: an emailed one-time code, then a short download grant.

The tracking link alone shows progress but no longer opens the answer: whoever downloads must
also read the mailbox the request came from. Only an HMAC of each code is stored; the code
travels in the email and in a POST body, never in a URL or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from dsar import mail, transitions
from dsar.exceptions import (
    AnswerNotReady,
    CodeRejected,
    DecisionRefused,
    DeliveryExpired,
    DeliveryRefused,
    DocumentPurged,
    DownloadNotAllowed,
    TooManyCodes,
)
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Document, DownloadCode, Request, utcnow
from dsar.services import downloads
from dsar.services.events import record

log = logging.getLogger(__name__)

# The files a person may download, in the order the download page lists them.
PERSON_KINDS = ("response", "data_json", "data_csv", "package")
CODE_DIGITS = 8
CODES_PER_HOUR = 5  # per request: more would let one tracking link flood a mailbox
GRANT_MINUTES = 10  # how long a redeemed code opens the files, in this browser only

NOT_READY = N_("Your answer is not ready yet. This page will offer it when it is.")
USED_UP = N_("This code can no longer be used. Ask for a new code below.")


def _hash(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def expires_at(req: Request) -> datetime | None:
    """When downloads stop: the stored moment, else completion plus `DSAR_DELIVERY_DAYS`."""
    if req.delivery_expires_at is not None:
        return req.delivery_expires_at
    if req.completed_at is None:
        return None
    return req.completed_at + timedelta(days=current_app.config["DSAR_DELIVERY_DAYS"])


def person_documents(req: Request) -> list[Document]:
    """The newest document of each kind the person gets, answer first."""
    latest = {d.kind: d for d in req.documents if d.kind in PERSON_KINDS}
    return [latest[kind] for kind in PERSON_KINDS if kind in latest]


def state(req: Request, *, now: datetime | None = None) -> str:
    """What the person can do about the answer: not_ready, ready, purged or expired."""
    try:
        check_deliverable(req, now=now)
    except AnswerNotReady:
        return "not_ready"
    except DocumentPurged:
        return "purged"
    except DeliveryExpired:
        return "expired"
    return "ready"


def check_deliverable(req: Request, *, now: datetime | None = None) -> list[Document]:
    """Return the person's files, or raise why they cannot have them now."""
    docs = person_documents(req)
    # A request still open (e.g. its answer waiting for an officer's review) delivers nothing.
    if not docs or req.status in transitions.OPEN_STATUSES:
        raise AnswerNotReady(NOT_READY)
    if all(downloads.is_purged(d) for d in docs):
        raise DocumentPurged(
            N_(
                "The files of this answer were deleted under our retention policy; "
                "contact us quoting %(reference)s."
            ),
            reference=req.reference,
        )
    until = expires_at(req)
    if until is not None and (now or utcnow()) >= until:
        raise DeliveryExpired(
            N_("This download link has expired; contact us quoting %(reference)s."),
            reference=req.reference,
        )
    return docs


def issue_code(req: Request, *, now: datetime | None = None, actor: str = "person") -> datetime:
    """Email a new one-time code to the request's address; return when the code expires.

    A new code replaces any earlier one still unused: only the newest email counts.
    """
    now = now or utcnow()
    check_deliverable(req, now=now)
    if req.delivery_expires_at is None:
        req.delivery_expires_at = expires_at(req)
    hour_ago = now - timedelta(hours=1)
    recent = db.session.scalar(
        select(func.count())
        .select_from(DownloadCode)
        .where(DownloadCode.request_id == req.id, DownloadCode.created_at > hour_ago)
    )
    if recent >= CODES_PER_HOUR:
        raise TooManyCodes(
            N_(
                "We have sent %(num)s codes for this request in the last hour. Use the "
                "newest one, or ask again later."
            ),
            num=CODES_PER_HOUR,
        )
    db.session.execute(
        update(DownloadCode)
        .where(
            DownloadCode.request_id == req.id,
            DownloadCode.used_at.is_(None),
            DownloadCode.expires_at > now,
        )
        .values(expires_at=now)
    )
    minutes = current_app.config["DSAR_CODE_MINUTES"]
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = DownloadCode(
        request_id=req.id,
        code_hash=_hash(code),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(row)
    db.session.flush()
    record(req, "download_code_sent", actor=actor, detail={"code_id": row.id})
    db.session.commit()
    try:
        mail.send(
            to=req.email,
            subject=_l("Your download code for request %(reference)s", reference=req.reference),
            template="download_code",
            request_id=req.id,
            request=req,
            code=code,
            minutes=minutes,
        )
    except (OSError, mail.MailError):
        log.exception("download code for request %s could not be sent", req.id)
        raise DeliveryRefused(
            N_("We could not send the email just now. Please try again in a few minutes.")
        ) from None
    return row.expires_at


def resend_for_staff(req: Request, *, actor: str, now: datetime | None = None) -> datetime:
    """An officer sends the person a new code (they called: the email never came, or the
    download period ended). An ended period starts again from now, for DSAR_DELIVERY_DAYS,
    unless the files were purged; the code's own limits stand. Refusals say why, in English."""
    now = now or utcnow()
    until = expires_at(req)
    docs = person_documents(req)
    purged = bool(docs) and all(downloads.is_purged(d) for d in docs)
    if until is not None and now >= until and docs and not purged:
        days = current_app.config["DSAR_DELIVERY_DAYS"]
        req.delivery_expires_at = now + timedelta(days=days)
        record(req, "delivery_renewed", actor=actor, detail={"days": days})
    try:
        return issue_code(req, now=now, actor=actor)
    except DeliveryRefused as exc:
        db.session.rollback()
        raise DecisionRefused(str(exc)) from None


def redeem_code(req: Request, code: str, *, now: datetime | None = None) -> datetime:
    """Use up a correct code; return until when this browser may download the files.

    Wrong tries are counted on the code; after `DSAR_CODE_ATTEMPTS` of them it is dead.
    """
    now = now or utcnow()
    check_deliverable(req, now=now)
    allowed = current_app.config["DSAR_CODE_ATTEMPTS"]
    row = db.session.scalar(
        select(DownloadCode)
        .where(DownloadCode.request_id == req.id)
        .order_by(DownloadCode.id.desc())
        .limit(1)
    )
    if row is None or row.used_at or row.expires_at <= now or row.attempts >= allowed:
        raise CodeRejected(USED_UP)
    live = (
        DownloadCode.id == row.id,
        DownloadCode.used_at.is_(None),
        DownloadCode.attempts < allowed,
    )
    if not hmac.compare_digest(row.code_hash, _hash("".join(code.split()).replace("-", ""))):
        # One UPDATE per try, so that parallel guesses cannot share an attempt.
        db.session.execute(
            update(DownloadCode).where(*live).values(attempts=DownloadCode.attempts + 1)
        )
        db.session.refresh(row)
        record(
            req,
            "download_code_rejected",
            actor="person",
            detail={"code_id": row.id, "attempts": row.attempts},
        )
        db.session.commit()
        left = allowed - row.attempts
        if left > 0:
            # Two texts, not one plural (ngettext): N_ marks a single text; each is translated.
            one = N_("That code is not right. You have %(num)s more try.")
            more = N_("That code is not right. You have %(num)s more tries.")
            raise CodeRejected(one if left == 1 else more, num=left)
        raise CodeRejected(
            N_("That code is not right, and it can no longer be used. Ask for a new code below.")
        )
    used = db.session.execute(update(DownloadCode).where(*live).values(used_at=now))
    if used.rowcount != 1:  # another request used it a moment ago
        db.session.rollback()
        raise CodeRejected(USED_UP)
    record(req, "download_code_used", actor="person", detail={"code_id": row.id})
    db.session.commit()
    return now + timedelta(minutes=GRANT_MINUTES)


def open_document(
    req: Request, document_id: int, *, granted: bool, now: datetime | None = None
) -> Document:
    """Check that the person may have this file now, and record the download."""
    doc = next((d for d in person_documents(req) if d.id == document_id), None)
    if doc is None or req.status in transitions.OPEN_STATUSES:
        raise AnswerNotReady(N_("This request has no such file."))
    if downloads.is_purged(doc):
        raise DocumentPurged(
            N_(
                "This file was purged under our retention policy; contact us quoting %(reference)s."
            ),
            reference=req.reference,
        )
    check_deliverable(req, now=now)
    if not granted:
        raise DownloadNotAllowed(
            N_(
                "To download your files, first enter the code we email you. Codes and downloads "
                "work only in the browser where you entered the code."
            )
        )
    downloads.record_download(doc, channel="person")
    return doc
