"""API bodies: shape only, with the same limits as the portal form."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dsar.models import RequestKind, RequestStatus, TaskStatus
from dsar.portal.forms import LIMITS, PHONE_MESSAGE, PHONE_PATTERN
from dsar.rules import REGIMES


def _text(name: str, *, required: bool = False) -> fields.String:
    return fields.String(
        required=required,
        load_default="",
        validate=validate.Length(min=1 if required else None, max=LIMITS[name]),
    )


class RequestIn(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in RequestKind]),
        metadata={"description": "access, deletion or opt_out (others are refused for now)"},
    )
    regime = fields.String(required=True, validate=validate.OneOf(list(REGIMES)))
    name = fields.String(required=True, validate=validate.Length(min=1, max=LIMITS["name"]))
    email = fields.Email(required=True, validate=validate.Length(max=LIMITS["email"]))
    phone = fields.String(
        load_default="",
        validate=validate.Regexp(PHONE_PATTERN, error=PHONE_MESSAGE),
    )
    country = _text("country")
    details = _text("details")
    identity_verified = fields.Boolean(
        load_default=False,
        metadata={"description": "true if you have verified the person; recorded with your key"},
    )


class TaskOut(Schema):
    system = fields.String(metadata={"description": "the data system's key"})
    system_name = fields.String()
    action = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in TaskStatus]))
    attempts = fields.Integer()
    found = fields.Integer()
    erased = fields.Integer()
    retained = fields.Integer()
    error = fields.String(metadata={"description": "the last error, empty when none"})


class RequestOut(Schema):
    reference = fields.String()
    kind = fields.String()
    regime = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in RequestStatus]))
    received_at = fields.DateTime()
    acknowledge_by = fields.Date(allow_none=True)
    due_at = fields.Date(metadata={"description": "the legal deadline to respond, in force"})
    first_due_at = fields.Date(metadata={"description": "the deadline before any extension"})
    extended_due_at = fields.Date(allow_none=True)
    paused_since = fields.Date(allow_none=True, metadata={"description": "clock paused"})
    overdue = fields.Boolean(metadata={"description": "open and past its due date"})
    due_basis = fields.String(metadata={"description": "how the deadline was computed"})
    verified = fields.Boolean()
    tasks = fields.List(fields.Nested(TaskOut))
    response_pdf = fields.String(allow_none=True)


class CreatedOut(RequestOut):
    tracking_url = fields.String(metadata={"description": "the person's private status page"})
