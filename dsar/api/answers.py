"""API answers: what a request looks like when read, and the error bodies (shape only).

The bodies the API takes are in dsar.api.schemas; the OpenAPI document describes both.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dsar import i18n
from dsar.api.patterns import REFERENCE
from dsar.models import RequestKind, RequestStatus, TaskAction, TaskStatus
from dsar.rules import REGIMES


class AgentOut(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)
    organisation = fields.String(required=True)
    revoked = fields.Boolean(
        required=True, metadata={"description": "an officer withdrew its authority"}
    )
    person_confirmed = fields.Boolean(
        required=True,
        metadata={"description": "the person confirmed, by email, that they asked the agent"},
    )


class TaskOut(Schema):
    system = fields.String(required=True, metadata={"description": "the data system's key"})
    system_name = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf([a.value for a in TaskAction]))
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in TaskStatus]))
    attempts = fields.Integer(required=True)
    found = fields.Integer(required=True)
    erased = fields.Integer(required=True)
    retained = fields.Integer(required=True)
    error = fields.String(
        required=True, metadata={"description": "the last error, empty when none"}
    )


class TransferOut(Schema):
    host = fields.String(
        required=True, metadata={"description": "the receiving company's host (and port)"}
    )
    state = fields.String(
        required=True,
        validate=validate.OneOf(["waiting", "sending", "delivered", "refused", "failed"]),
        metadata={
            "description": "waiting (the answer is not released yet), sending (queued, or tried "
            "again after a 5xx or a connection error), delivered (2xx), refused (the receiver's "
            "4xx), failed (too large, unreachable after the last try, or no longer public)"
        },
    )
    http_status = fields.Integer(
        required=True, allow_none=True, metadata={"description": "final answer"}
    )
    reason = fields.String(
        required=True,
        metadata={"description": "why it failed: too_large, unreachable, address, no_package"},
    )
    at = fields.DateTime(required=True, allow_none=True, metadata={"description": "when it ended"})


class RequestOut(Schema):
    reference = fields.String(
        required=True, metadata={"description": "DSAR-<year>-<number>", "pattern": REFERENCE}
    )
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in RequestKind]))
    regime = fields.String(required=True, validate=validate.OneOf(list(REGIMES)))
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in RequestStatus]))
    language = fields.String(
        required=True,
        validate=validate.OneOf([i18n.tag(code) for code in i18n.LANGUAGES]),
        metadata={"description": "the person's language (BCP 47): emails and letters use it"},
    )
    received_at = fields.DateTime(required=True)
    acknowledge_by = fields.Date(required=True, allow_none=True)
    due_at = fields.Date(
        required=True, metadata={"description": "the legal deadline to respond, in force"}
    )
    first_due_at = fields.Date(
        required=True, metadata={"description": "the deadline before any extension"}
    )
    extended_due_at = fields.Date(required=True, allow_none=True)
    paused_since = fields.Date(
        required=True, allow_none=True, metadata={"description": "clock paused"}
    )
    overdue = fields.Boolean(required=True, metadata={"description": "open and past its due date"})
    due_basis = fields.String(
        required=True, metadata={"description": "how the deadline was computed"}
    )
    verified = fields.Boolean(required=True)
    tasks = fields.List(fields.Nested(TaskOut), required=True)
    response_pdf = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "where to download the answer (see the answer operation), once it "
            "is ready and if this key may download it; null until then"
        },
    )
    transfer = fields.Nested(
        TransferOut,
        required=True,
        allow_none=True,
        metadata={"description": "portability sent to another company; null when none asked"},
    )
    agent = fields.Nested(
        AgentOut,
        required=True,
        allow_none=True,
        metadata={"description": "the authorised agent who filed it; null when the person did"},
    )
    appeal_of = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "for an appeal: the reference of the denied request"},
    )
    lift_of = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "for a lift: the reference of the restriction or objection an "
            "officer lifted, after telling the person"
        },
    )
    lifted_by = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the reference of the lift of this request; null when none"},
    )


class CreatedOut(RequestOut):
    tracking_url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the person's private status page; null on a replay"},
    )


class ErrorOut(Schema):
    """Every error the API answers: the status again, its name, and what went wrong."""

    code = fields.Integer(required=True, metadata={"description": "the HTTP status"})
    status = fields.String(required=True, metadata={"description": "the status's name"})
    message = fields.String(required=True)


class FieldErrorsOut(ErrorOut):
    """422: the fields at fault, under `json`, each with its messages (nested as sent)."""

    errors = fields.Dict(
        required=True,
        keys=fields.String(validate=validate.OneOf(["json"])),
        values=fields.Dict(),
        metadata={"description": '{"json": {field: [message, ...] or {field: ...}}}'},
    )
