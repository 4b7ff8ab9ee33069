"""API v1 views: bearer key with scopes, then one service call each."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import current_app, g, request, send_from_directory, url_for
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from dsar import i18n, inputs
from dsar.api import openapi
from dsar.api.answers import CreatedOut, ErrorOut, FieldErrorsOut, RequestOut
from dsar.api.schemas import RequestIn
from dsar.exceptions import IntakeRefused
from dsar.extensions import db, limiter
from dsar.models import ApiKey, Request
from dsar.services import (
    agents,
    api_keys,
    downloads,
    idempotency,
    intake,
    reminders,
    transfer,
    uploads,
)
from dsar.tokens import digest

# A request body is a handful of short fields, and at most an agent's signed permission
# (base64): anything larger or deeper is a mistake or an attack, refused before it is parsed
# (see dsar.inputs.load_json). Just under the app's MAX_CONTENT_LENGTH (1 MiB), so that a
# body between the two is refused by the parser in words.
MAX_BODY = 1_000_000
MAX_DEPTH = 8


class StrictParser(FlaskParser):
    """Parse JSON bodies with dsar.inputs.load_json: size, depth, duplicate keys, numbers."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return missing
        try:
            return inputs.load_json(
                req.get_data(cache=True), max_bytes=MAX_BODY, max_depth=MAX_DEPTH
            )
        except inputs.InputRefused as exc:
            abort(exc.status, message=exc.message)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def register_views_in_doc(self, api: Any, app: Any, spec: Any, **kwargs: Any) -> None:
        super().register_views_in_doc(api, app, spec, **kwargs)
        openapi.complete(spec)


blp = ApiBlueprint(
    "api", __name__, url_prefix="/api/v1", description="Create and follow privacy requests."
)

NOT_FOUND = "No request with reference {!r}."

# The answers every operation may give besides its own (an error body, and the headers the
# status calls for).
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
    }
}


def documented_errors(*statuses: tuple[int, str]) -> Any:
    """Document error answers: each with the ErrorOut body (422: FieldErrorsOut)."""

    def decorate(func: Any) -> Any:
        for status, description in reversed(statuses):
            headers = None
            if status in (429, 503):
                headers = _RETRY_AFTER
            elif status == 401:
                headers = {
                    "WWW-Authenticate": {
                        "description": "Bearer: the scheme to sign in with",
                        "schema": {"type": "string"},
                        "required": True,
                    }
                }
            schema = FieldErrorsOut if status == 422 else ErrorOut
            func = blp.alt_response(
                status, schema=schema, description=description, headers=headers
            )(func)
        return func

    return decorate


COMMON_ERRORS = (
    (401, "No or bad API key"),
    (429, "Too many calls; see Retry-After"),
    (503, "The database cannot be reached; nothing was stored. See Retry-After"),
)
_BAD_ADDRESS = (400, "The address holds characters that no reference has")


def _key_bucket() -> str:
    """Rate-limit per key, read from the header (the limit is checked before the views)."""
    secret = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return "api-key:" + digest(secret)[:32]


# Per key, every call; per address, failed sign-ins with a key (guessing keys is slowed).
limiter.limit(
    lambda: current_app.config["DSAR_API_RATE_LIMIT"],
    key_func=_key_bucket,
    error_message="Too many calls with this API key; wait for the time in Retry-After.",
)(blp)
limiter.limit(
    "30 per minute",
    key_func=lambda: "api-401:" + get_remote_address(),
    deduct_when=lambda response: response.status_code == 401,
    error_message="Too many calls with a wrong API key from this address; wait and retry.",
)(blp)


@blp.before_request
def require_key() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    key = api_keys.find(secret.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        abort(
            401,
            message="Send a valid API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="dsar"'},
        )
    g.api_key = key


def current_key() -> ApiKey:
    return g.api_key


def require_scope(scope: str, doing: str) -> None:
    if not api_keys.allows(current_key(), scope):
        abort(403, message=f"This API key may not {doing}; an admin can grant the {scope} scope.")


def _view(req: Request) -> dict[str, Any]:
    has_pdf = any(d.kind == "response" for d in req.documents)
    return {
        "reference": req.reference,
        "kind": req.kind.value,
        "regime": req.regime,
        "status": req.status.value,
        "language": i18n.tag(req.language or i18n.DEFAULT),
        "received_at": req.received_at,
        "acknowledge_by": req.acknowledge_by,
        "due_at": req.due_on,
        "first_due_at": req.first_due_on or req.due_on,
        "extended_due_at": req.extended_due_on,
        "paused_since": req.paused_since,
        "overdue": reminders.overdue(req, reminders.today_here()),
        "due_basis": req.due_basis,
        "verified": req.verified_at is not None or req.verified_by == "not required",
        "agent": None
        if req.agent is None
        else {
            "name": req.agent.name,
            "email": req.agent.email,
            "organisation": req.agent.organisation,
            "revoked": req.agent.revoked_at is not None,
            "person_confirmed": req.verified_by == "email",
        },
        "appeal_of": req.appeal_of.reference if req.appeal_of else None,
        "lift_of": req.lift_of.reference if req.lift_of else None,
        "lifted_by": req.lift.reference if req.lift else None,
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
        if has_pdf and api_keys.may_download(current_key(), req)
        else None,
        "transfer": transfer.view(req),
    }


def _readable(reference: str) -> Request:
    """The request, if this key may read it; 404 alike for unknown and not covered."""
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    if req is None or not api_keys.may_read(current_key(), req):
        abort(404, message=NOT_FOUND.format(reference))
    return req


def _agent(raw: dict[str, Any] | None) -> agents.AgentIn | None:
    """The `agent` object as the intake service takes it (the permission decoded)."""
    if raw is None:
        return None
    permission = None
    if raw.get("permission") is not None:
        try:
            data = base64.b64decode(raw["permission"]["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            message = "Send the file base64-encoded (RFC 4648, no line breaks)."
            abort(422, messages={"json": {"agent": {"permission": {"content_base64": [message]}}}})
        permission = uploads.Incoming(raw["permission"]["filename"], data)
    return agents.AgentIn(raw["name"], raw["email"], raw.get("organisation", ""), permission)


@blp.post("/requests")
@blp.arguments(RequestIn)
@blp.response(201, CreatedOut)
@blp.alt_response(
    200,
    schema=CreatedOut,
    description="A retry with an Idempotency-Key already used with this body: the request "
    "the first call made (tracking_url is null)",
    headers={
        "Idempotent-Replayed": {
            "description": "true: this is the request the first call made",
            "schema": {"type": "string", "enum": ["true"]},
            "required": True,
        }
    },
)
@documented_errors(
    (400, "The body is not JSON, or too deep; a bad Idempotency-Key"),
    (403, "The key's scopes do not allow this"),
    (409, "This Idempotency-Key was used with a different body"),
    (413, "The body is too large"),
    (422, "Field errors, or a right the law does not grant; nothing was stored"),
    *COMMON_ERRORS,
)
@blp.doc(
    operationId=openapi.CREATE,
    security=openapi.SECURITY,
    responses={201: {"links": openapi.LINKS}, 200: {"links": openapi.LINKS}},
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
            "description": "Any unique string of 1 to 200 visible ASCII characters (a UUID): "
            "a retry with the same key and body returns the request the first call made "
            "instead of making a second one.",
        }
    ],
)
def create_request(body: dict[str, Any]) -> Any:
    """Create a request on a person's behalf (scope requests:create)."""
    require_scope(api_keys.CREATE, "create requests")
    key = idempotency.parse(request.headers.get(idempotency.HEADER))
    sent = dict(body)
    verified = body.pop("identity_verified")
    body["agent"] = _agent(body.get("agent"))
    if verified:
        require_scope(api_keys.VOUCH, "vouch for identities")
    try:
        done = idempotency.submit_once(
            intake.Submission(**body),
            api_key=current_key(),
            identity_verified=verified,
            key=key,
            body=sent,
        )
    except IntakeRefused as exc:
        field = exc.field or "kind"
        where: dict[str, Any] = {field: [exc.message]}
        if field.startswith("agent_"):  # the agent object's own field
            where = {"agent": {field.removeprefix("agent_"): [exc.message]}}
        abort(422, messages={"json": where})
    view = _view(done.request)
    if done.receipt is None:  # a retry: the request the first call made, not a new one
        view["tracking_url"] = None
        return view, 200, {"Idempotent-Replayed": "true"}
    view["tracking_url"] = intake.tracking_url(done.receipt.tracking_token)
    return view


@blp.get("/requests/<reference>")
@blp.response(200, RequestOut)
@documented_errors(
    _BAD_ADDRESS, (404, "Unknown reference, or one this key may not read"), *COMMON_ERRORS
)
@blp.doc(operationId=openapi.READ, security=openapi.SECURITY)
def get_request(reference: str) -> dict[str, Any]:
    """Status, due date and per-system tasks of one request (scope requests:read for the
    key's own requests, requests:read_all for any)."""
    return _view(_readable(reference))


@blp.get("/requests/<reference>/response.pdf")
@blp.response(200, description="The answer as PDF", content_type="application/pdf")
@documented_errors(
    _BAD_ADDRESS,
    (403, "The key may read the request but not download answers"),
    (404, "Unknown reference, not readable, or the answer not ready"),
    (410, "The answer was purged under the retention policy"),
    *COMMON_ERRORS,
)
@blp.doc(
    operationId=openapi.DOWNLOAD,
    security=openapi.SECURITY,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=<reference>.pdf",
                    "schema": {"type": "string"},
                    "required": True,
                }
            },
        }
    },
)
def response_pdf(reference: str) -> Any:
    """Download the answer once it is ready (scope answers:download, on a readable request)."""
    req = _readable(reference)
    require_scope(api_keys.DOWNLOAD, "download answers")
    doc = next((d for d in reversed(req.documents) if d.kind == "response"), None)
    if doc is None:
        abort(404, message=f"The answer to {reference} is not ready (status {req.status.value}).")
    if downloads.is_purged(doc):
        abort(410, message=f"The answer to {reference} was purged under the retention policy.")
    downloads.record_download(doc, channel="api", api_key_id=current_key().id)
    return send_from_directory(
        current_app.config["DSAR_DOCUMENTS_DIR"],
        doc.filename,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{req.reference}.pdf",
        max_age=0,
    )


@blp.after_request
def no_store(response: Any) -> Any:
    """Requests and answers hold personal data: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# The choices API registers on `blp` when imported.
from dsar.api import choice_views  # noqa: E402, F401
