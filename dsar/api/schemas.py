"""API bodies: shape only, with the same limits as the portal form."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from dsar import inputs
from dsar.inputs import LIMITS
from dsar.models import RequestKind, RequestStatus, TaskStatus
from dsar.rules import REGIMES
from dsar.rules import corrections as correction_rules


class Text(fields.String):
    """A string that passes dsar.inputs.clean: no broken or control characters, trimmed,
    newlines only when `multiline`; `blank` is the message when a required one is blank."""

    def __init__(self, *, multiline: bool = False, blank: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.multiline = multiline
        self.blank = blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return inputs.clean(text, multiline=self.multiline, required=self.blank)
        except inputs.InputRefused as exc:
            raise ValidationError(exc.message) from None


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, "yes" or "true" (a vouching must be meant)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _phone(value: str) -> None:
    why = inputs.phone_problem(value) if value else None
    if why is not None:
        raise ValidationError(why)


def _text(name: str, *, multiline: bool = False) -> Text:
    return Text(
        load_default="",
        multiline=multiline,
        validate=validate.Length(max=LIMITS[name]),
    )


class CorrectionIn(Schema):
    """What is wrong and what it should be (kind "correction" only); values are checked as
    the portal checks them: an email address, a phone number, text up to 200 characters."""

    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf([f.key for f in correction_rules.ASKED])),
        values=Text(validate=validate.Length(max=200, error="Keep this under 200 characters.")),
        load_default=dict,
        metadata={"description": "field -> the value it should have"},
    )
    held = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(correction_rules.LOCATING))),
        values=Text(validate=validate.Length(max=254)),
        load_default=dict,
        metadata={"description": "the email or phone as we may hold it now, to find the records"},
    )
    other = Text(
        multiline=True,
        load_default="",
        validate=validate.Length(
            max=correction_rules.MAX_OTHER,
            error=f"Keep this under {correction_rules.MAX_OTHER:,} characters.",
        ),
        metadata={"description": "anything else that is wrong, and what it should be"},
    )


class AgentOut(Schema):
    name = fields.String()
    email = fields.String()
    organisation = fields.String()
    revoked = fields.Boolean(metadata={"description": "an officer withdrew its authority"})
    person_confirmed = fields.Boolean(
        metadata={"description": "the person confirmed, by email, that they asked the agent"}
    )


class PermissionIn(Schema):
    filename = Text(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the file's name, e.g. permission.pdf"},
    )
    content_base64 = fields.String(
        required=True,
        validate=validate.Length(min=1, max=900_000),
        metadata={
            "description": "the file, base64-encoded: a PDF, PNG or JPEG signed by the person "
            "(the whole body may not exceed 1 MB)"
        },
    )


class AgentIn(Schema):
    name = Text(
        required=True,
        blank="Give the agent's name.",
        validate=validate.Length(min=1, max=LIMITS["name"]),
    )
    email = Text(
        required=True,
        blank="Give the agent's email address.",
        validate=[validate.Length(max=LIMITS["email"]), validate.Email()],
        metadata={"format": "email"},
    )
    organisation = Text(load_default="", validate=validate.Length(max=200))
    permission = fields.Nested(
        PermissionIn,
        load_default=None,
        metadata={
            "description": "the person's signed permission; required except for opt-out and "
            "limit requests, and where the law allows agents at all (see the README)"
        },
    )


class RequestIn(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in RequestKind]),
        metadata={
            "description": "access, portability, correction, deletion or opt_out "
            "(others are refused for now)"
        },
    )
    regime = fields.String(required=True, validate=validate.OneOf(list(REGIMES)))
    name = Text(
        required=True,
        blank="Give the person's name; it cannot be blank.",
        validate=validate.Length(min=1, max=LIMITS["name"]),
    )
    email = Text(
        required=True,
        blank="Give the person's email address.",
        validate=[validate.Length(max=LIMITS["email"]), validate.Email()],
        metadata={"format": "email"},
    )
    phone = Text(
        load_default="",
        validate=_phone,
        metadata={"description": "5 to 20 digits, with + ( ) - . / and spaces"},
    )
    country = _text("country")
    details = _text("details", multiline=True)
    correction = fields.Nested(
        CorrectionIn,
        load_default=None,
        metadata={"description": "required for kind correction; refused with other kinds"},
    )
    transfer_url = Text(
        load_default="",
        validate=validate.Length(max=2000, error="Keep the address under 2,000 characters."),
        metadata={
            "format": "uri",
            "description": "kind portability only: another company's https:// address to POST "
            "the ZIP package to when the answer is released (GDPR Art. 20(2)). No user name or "
            "password in it; its host must be on the public internet (not private, loopback, "
            "link-local, multicast, reserved or shared addresses); at most 2,000 characters. "
            "Refused with 422 on this field otherwise",
        },
    )
    agent = fields.Nested(
        AgentIn,
        load_default=None,
        metadata={
            "description": "an authorised agent filing for the person named above: the person "
            "is emailed to confirm they asked the agent (identity_verified does not skip it), "
            "and the answer goes to the person"
        },
    )
    identity_verified = StrictBoolean(
        load_default=False,
        metadata={
            "description": "true if you have verified the person (needs the requests:vouch "
            "scope); recorded with your key"
        },
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


class TransferOut(Schema):
    host = fields.String(metadata={"description": "the receiving company's host (and port)"})
    state = fields.String(
        validate=validate.OneOf(["waiting", "sending", "delivered", "refused", "failed"]),
        metadata={
            "description": "waiting (the answer is not released yet), sending (queued, or tried "
            "again after a 5xx or a connection error), delivered (2xx), refused (the receiver's "
            "4xx), failed (too large, unreachable after the last try, or no longer public)"
        },
    )
    http_status = fields.Integer(allow_none=True, metadata={"description": "final answer"})
    reason = fields.String(
        metadata={"description": "why it failed: too_large, unreachable, address, no_package"}
    )
    at = fields.DateTime(allow_none=True, metadata={"description": "when it ended"})


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
    transfer = fields.Nested(
        TransferOut,
        allow_none=True,
        metadata={"description": "portability sent to another company; null when none asked"},
    )
    agent = fields.Nested(
        AgentOut,
        allow_none=True,
        metadata={"description": "the authorised agent who filed it; null when the person did"},
    )
    appeal_of = fields.String(
        allow_none=True,
        metadata={"description": "for an appeal: the reference of the denied request"},
    )
    lift_of = fields.String(
        allow_none=True,
        metadata={
            "description": "for a lift: the reference of the restriction or objection an "
            "officer lifted, after telling the person"
        },
    )
    lifted_by = fields.String(
        allow_none=True,
        metadata={"description": "the reference of the lift of this request; null when none"},
    )


class CreatedOut(RequestOut):
    tracking_url = fields.String(
        allow_none=True,
        metadata={"description": "the person's private status page; null on a replay"},
    )
