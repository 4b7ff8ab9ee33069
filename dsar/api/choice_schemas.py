"""The choices API's bodies and answers (shape only): a person's choices, read by email,
and a change of one made in another system."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dsar.api.patterns import EMAIL_PATTERN
from dsar.api.schemas import BAD_EMAIL, StrictBoolean, Text
from dsar.inputs import LIMITS
from dsar.rules.choices import KEYS

HEADER = "Person-Email"


class PersonHeader(Schema):
    email = Text(
        required=True,
        data_key=HEADER,
        blank="Give the person's email address in the Person-Email header.",
        validate=[validate.Length(max=LIMITS["email"]), validate.Email(error=BAD_EMAIL)],
        exact=(EMAIL_PATTERN, BAD_EMAIL),
        metadata={"description": "the person's email address (ASCII); never put it in the URL"},
    )


class ChoiceIn(Schema):
    email = Text(
        required=True,
        blank="Give the person's email address.",
        validate=[validate.Length(max=LIMITS["email"]), validate.Email(error=BAD_EMAIL)],
        exact=(EMAIL_PATTERN, BAD_EMAIL),
        metadata={"description": "the person's email address (ASCII)"},
    )
    choice = fields.String(required=True, validate=validate.OneOf(KEYS))
    opted_in = StrictBoolean(
        required=True, metadata={"description": "true: the person allows it; false: refuses it"}
    )
    system = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "the registry key of the system the change was made in (the shop's "
            "checkbox): it is not changed again; every other system holding the choice is",
            "pattern": r"^[A-Za-z0-9_.-]{1,64}$",
        },
    )
    made_at = fields.AwareDateTime(
        load_default=None,
        metadata={"description": "when the person made it (ISO 8601 with offset); default now"},
    )


class ReceiptOut(Schema):
    system = fields.String(required=True, metadata={"description": "the system's key"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(["waiting", "done", "failed", "superseded"]),
        metadata={"description": "superseded: a later change replaced it before it ran"},
    )
    found = fields.Integer(
        required=True, allow_none=True, metadata={"description": "records changed, once done"}
    )


class CurrentOut(Schema):
    choice = fields.String(required=True, validate=validate.OneOf(KEYS))
    label = fields.String(required=True)
    opted_in = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "null: nothing recorded; each system keeps its own setting"},
    )
    since = fields.DateTime(required=True, allow_none=True)
    source = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(["portal", "gpc", "api", "request"]),
    )
    notice_version = fields.Integer(required=True, allow_none=True)
    systems = fields.List(
        fields.String(), required=True, metadata={"description": "the systems that hold it"}
    )


class ChoicesOut(Schema):
    email = fields.String(required=True)
    choices = fields.List(fields.Nested(CurrentOut), required=True)


class ChangeOut(Schema):
    changed = fields.Boolean(
        required=True, metadata={"description": "false: the choice was already so"}
    )
    entry = fields.Integer(
        required=True, allow_none=True, metadata={"description": "the ledger entry made"}
    )
    choice = fields.String(required=True, validate=validate.OneOf(KEYS))
    opted_in = fields.Boolean(required=True)
    notice_version = fields.Integer(required=True, allow_none=True)
    receipts = fields.List(fields.Nested(ReceiptOut), required=True)
