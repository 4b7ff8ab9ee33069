"""The officer's review of an answer before it goes out: withhold what the law allows, release.

compiling -> ready_for_review -> completed (shared/DESIGN.md). An answer waits here unless
DSAR_RELEASE_AT_ONCE says its kind (or law and kind) goes out at once. A redaction leaves a
record, or one field of it, out of the answer with a reason from the person's law
(dsar.rules.withholding); the answer is rendered again (ready_for_review -> compiling ->
ready_for_review) and the superseded files are deleted. Releasing completes the request and
only then tells the person.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dsar import inputs, mail, transitions
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import Redaction, Request, RequestKind, RequestStatus, utcnow
from dsar.rules import withholding
from dsar.services import consent, fanin, transfer
from dsar.services.events import record

MAX_NOTE = 1000


def releases_at_once(req: Request) -> bool:
    """Whether the request's answer goes out without review: DSAR_RELEASE_AT_ONCE lists kinds
    (`opt_out`) or laws and kinds (`ccpa:deletion`), or `all`."""
    rule = current_app.config["DSAR_RELEASE_AT_ONCE"]
    return "all" in rule or req.kind.value in rule or f"{req.regime}:{req.kind.value}" in rule


def _records(req: Request, system_key: str, place: str) -> list[dict]:
    task = next((t for t in req.tasks if t.system.key == system_key), None)
    rows = ((task.result or {}).get("records") or {}).get(place) if task else None
    if not isinstance(rows, list):
        raise DecisionRefused(f"The answer has no {place!r} in {system_key}.")
    return rows


def redact(
    req: Request,
    *,
    system_key: str,
    place: str,
    record_number: int,
    field: str,
    reason: str,
    note: str,
    actor: str,
) -> Redaction:
    """Withhold one record (or one field of it) and render the answer again."""
    if req.status is not RequestStatus.READY_FOR_REVIEW:
        raise DecisionRefused(f"{req.reference} is not waiting for review.")
    rows = _records(req, system_key, place)
    if not 1 <= record_number <= len(rows):
        raise DecisionRefused(f"{place} has records 1 to {len(rows)}; there is no {record_number}.")
    if field and field not in rows[record_number - 1]:
        raise DecisionRefused(f"Record {record_number} of {place} has no field {field!r}.")
    for earlier in redactions(req):
        same = (earlier.system_key, earlier.place, earlier.record) == (
            system_key,
            place,
            record_number,
        )
        if same and (not earlier.field or earlier.field == field):
            raise DecisionRefused("That record, or that field of it, is already withheld.")
    why = withholding.find(withholding.redaction_reasons(req.regime), reason)
    if why is None:
        raise DecisionRefused("Choose one of the reasons the person's law allows.")
    note = inputs.clean(note, multiline=True)[:MAX_NOTE]
    redaction = Redaction(
        request_id=req.id,
        system_key=system_key,
        place=place,
        record=record_number,
        field=field,
        reason=why.key,
        note=note,
        actor=actor,
    )
    db.session.add(redaction)
    # The withheld value never enters the history: which record, which field, and why.
    detail = {"system": system_key, "place": place, "record": record_number, "field": field}
    _render_again(req, "redacted", actor, {**detail, "reason": why.key, "citation": why.citation})
    return redaction


def unredact(req: Request, redaction_id: int, *, actor: str) -> None:
    """Put a withheld record or field back, and render the answer again."""
    if req.status is not RequestStatus.READY_FOR_REVIEW:
        raise DecisionRefused(f"{req.reference} is not waiting for review.")
    redaction = db.session.scalar(
        select(Redaction).where(Redaction.id == redaction_id, Redaction.request_id == req.id)
    )
    if redaction is None:
        raise DecisionRefused("That redaction does not exist on this request.")
    detail = {"system": redaction.system_key, "place": redaction.place, "record": redaction.record}
    db.session.delete(redaction)
    _render_again(req, "redaction_removed", actor, {**detail, "field": redaction.field})


def _render_again(req: Request, action: str, actor: str, detail: dict) -> None:
    before = transitions.move(req, RequestStatus.COMPILING)
    record(req, action, actor=actor, before=before, after=req.status, detail=detail)
    db.session.commit()
    fanin.send_compile_job(req.id)


def redactions(req: Request) -> list[Redaction]:
    return list(
        db.session.scalars(
            select(Redaction).where(Redaction.request_id == req.id).order_by(Redaction.id)
        )
    )


def release(req: Request, *, actor: str) -> None:
    """Send the reviewed answer: the request completes and the person is told."""
    if req.status is not RequestStatus.READY_FOR_REVIEW:
        raise DecisionRefused(f"{req.reference} has no answer waiting for review.")
    if not req.documents:
        raise DecisionRefused(f"{req.reference} has no answer to release yet.")
    before = transitions.move(req, RequestStatus.COMPLETED)
    complete(req)
    record(req, "released", actor=actor, before=before, after=req.status)
    db.session.commit()
    tell_ready(req)


def complete(req: Request) -> None:
    """The moment the person may have the answer: the download period starts."""
    req.completed_at = utcnow()
    days = current_app.config["DSAR_DELIVERY_DAYS"]
    req.delivery_expires_at = req.completed_at + timedelta(days=days)
    if req.kind is RequestKind.OPT_OUT and not req.is_lift:
        consent.record_request(req)  # the consent ledger notes the choices it refused


def tell_ready(req: Request) -> None:
    """The answer is released (completed and committed: both paths to `completed`, a release
    and an answer that goes out at once, call this once, after `complete`): a portability
    package also goes to the company the person named, then the person is told."""
    transfer.start(req)  # once: a second call finds its "transfer_queued" event
    mail.send(
        to=req.email,
        subject=_l("Your answer to request %(reference)s is ready", reference=req.reference),
        template="ready",
        request=req,
        request_id=req.id,
    )


def reviewed_kinds() -> list[RequestKind]:
    """The kinds whose answers wait for review under the current setting (any law)."""
    rule = current_app.config["DSAR_RELEASE_AT_ONCE"]
    if "all" in rule:
        return []
    return [k for k in RequestKind if k.value not in rule]
