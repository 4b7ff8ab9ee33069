"""API v1 views: bearer key, then one service call each."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, send_from_directory, url_for
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from dsar.api.schemas import CreatedOut, RequestIn, RequestOut
from dsar.exceptions import IntakeRefused
from dsar.extensions import db
from dsar.models import Request
from dsar.services import accounts, downloads, intake, reminders

blp = Blueprint(
    "api", __name__, url_prefix="/api/v1", description="Create and follow privacy requests."
)


@blp.before_request
def require_key() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    key = accounts.find_api_key(secret.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        abort(401, message="Send a valid API key as 'Authorization: Bearer <key>'.")
    g.api_key = key


def _view(req: Request) -> dict[str, Any]:
    has_pdf = any(d.kind == "response" for d in req.documents)
    return {
        "reference": req.reference,
        "kind": req.kind.value,
        "regime": req.regime,
        "status": req.status.value,
        "received_at": req.received_at,
        "acknowledge_by": req.acknowledge_by,
        "due_at": req.due_on,
        "first_due_at": req.first_due_on or req.due_on,
        "extended_due_at": req.extended_due_on,
        "paused_since": req.paused_since,
        "overdue": reminders.overdue(req, reminders.today_here()),
        "due_basis": req.due_basis,
        "verified": req.verified_at is not None or req.verified_by == "not required",
        "tasks": [
            {
                "system": t.system.key,
                "system_name": t.system.name,
                "action": t.action.value,
                "status": t.status.value,
                "attempts": t.attempts,
                "found": t.found_count,
                "erased": t.erased_count,
                "retained": t.retained_count,
                "error": t.last_error,
            }
            for t in req.tasks
        ],
        "response_pdf": url_for("api.response_pdf", reference=req.reference, _external=False)
        if has_pdf
        else None,
    }


def _by_reference(reference: str) -> Request:
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    if req is None:
        abort(404, message=f"No request with reference {reference!r}.")
    return req


@blp.post("/requests")
@blp.arguments(RequestIn)
@blp.response(201, CreatedOut)
@blp.alt_response(401, description="No or bad API key")
@blp.alt_response(422, description="Field errors")
def create_request(body: dict[str, Any]) -> dict[str, Any]:
    """Create a request on a person's behalf."""
    verified = body.pop("identity_verified")
    try:
        receipt = intake.submit(
            intake.Submission(**body),
            channel="api",
            api_key=g.api_key,
            identity_verified=verified,
        )
    except IntakeRefused as exc:
        abort(422, messages={"json": {exc.field or "kind": [exc.message]}})
    view = _view(receipt.request)
    view["tracking_url"] = intake.tracking_url(receipt.tracking_token)
    return view


@blp.get("/requests/<reference>")
@blp.response(200, RequestOut)
@blp.alt_response(404, description="Unknown reference")
def get_request(reference: str) -> dict[str, Any]:
    """Status, due date and per-system tasks of one request."""
    return _view(_by_reference(reference))


@blp.get("/requests/<reference>/response.pdf")
@blp.response(200, description="The answer as PDF", content_type="application/pdf")
@blp.alt_response(404, description="Unknown reference, or the answer is not ready")
@blp.alt_response(410, description="The answer was purged under the retention policy")
def response_pdf(reference: str) -> Any:
    """Download the answer once it is ready."""
    req = _by_reference(reference)
    doc = next((d for d in reversed(req.documents) if d.kind == "response"), None)
    if doc is None:
        abort(404, message=f"The answer to {reference} is not ready (status {req.status.value}).")
    if downloads.is_purged(doc):
        abort(410, message=f"The answer to {reference} was purged under the retention policy.")
    downloads.record_download(doc, channel="api", api_key_id=g.api_key.id)
    return send_from_directory(
        current_app.config["DSAR_DOCUMENTS_DIR"],
        doc.filename,
        mimetype="application/pdf",
        download_name=f"{req.reference}.pdf",
        max_age=0,
    )
