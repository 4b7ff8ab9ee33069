"""API bodies: shape only, with the same limits as the portal form.

Each limit is stated once, here, and the OpenAPI document says it as JSON Schema
(dsar.api.openapi): a field's `pattern` is what dsar.inputs lets through, its `maxLength`
counts what was sent (before the trim), and the kinds and laws come from dsar.rules.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from dsar import inputs
from dsar.inputs import LIMITS
from dsar.models import RequestKind, RequestStatus, TaskAction, TaskStatus
from dsar.rules import OFFERED_KINDS, REGIMES
from dsar.rules import corrections as correction_rules
from dsar.services import correcting

# -- text, as dsar.inputs takes it, in patterns that mean the same in ECMA-262 and Python ----
# (tests/test_openapi_contract.py checks them against dsar.inputs for every BMP character).
# Refused anywhere in one-line text: control characters, line and paragraph separators and
# noncharacters; multi-line text also takes tab, line feed and carriage return.
REFUSED = r"\u0000-\u001f\u007f-\u009f\u2028\u2029\ufdd0-\ufdef\ufffe\uffff"
REFUSED_MULTILINE = (
    r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufdd0-\ufdef\ufffe\uffff"
)
# Trimmed from both ends (white space and invisible characters): text made only of these is
# blank; EDGE is the part of them one-line text may hold.
TRIMMED = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028\u2029"
    r"\u202f\u205f\u2060\u3000\ufeff"
)
EDGE = r"\u0020\u00a0\u1680\u180e\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff"
# White space, control characters and backslashes, which no transfer address holds.
NOT_IN_URL = (
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ufdd0-\ufdef\ufffe\uffff\\"
)


def text_pattern(*, multiline: bool = False, required: bool = False) -> str:
    """What dsar.inputs.clean takes: no refused character and, when required, one that is
    not trimmed away."""
    refused = REFUSED_MULTILINE if multiline else REFUSED
    if not required:
        return f"^[^{refused}]*$"
    return f"^[^{refused}]*[^{refused}{TRIMMED}][^{refused}]*$"


BLANK_PATTERN = f"^[{EDGE}]*$"
# An email address as the API takes it: ASCII, a dot-atom before the @ and a host name with
# a top-level part of letters after it (what marshmallow's Email check also takes), nothing
# around it. (In a correction, blank for none, and white space around it is trimmed.)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_CORE = f"{_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}"
EMAIL_PATTERN = f"^{_EMAIL_CORE}$"
EMAIL_OR_BLANK_PATTERN = f"^[{EDGE}]*(?:{_EMAIL_CORE}[{EDGE}]*)?$"
# A request's reference: DSAR-<year received>-<number, at least six digits>.
REFERENCE = r"^DSAR-[0-9]{4}-[0-9]{6,}$"
# dsar.inputs.phone_problem on the trimmed value: digits, spaces and + ( ) - . / only, with
# 5 to 20 digits; or blank (no phone).
PHONE_CORE = r"\+?[ ()./-]*(?:[0-9][ ()./-]*){5,20}"
PHONE_PATTERN = f"^[{EDGE}]*(?:{PHONE_CORE})?[{EDGE}]*$"
# dsar.transfer_guard.parse: https (any case), no user name or password, a host; or blank.
TRANSFER_URL_PATTERN = (
    f"^[{EDGE}]*(?:[Hh][Tt][Tt][Pp][Ss]://[^{NOT_IN_URL}@/?#]+(?:[/?#][^{NOT_IN_URL}]*)?)?"
    f"[{EDGE}]*$"
)
# Base64 (RFC 4648, padded, no line breaks) of a file that starts as a PDF ("%PDF-"), a PNG
# or a JPEG does: dsar.services.uploads.media_type reads the first bytes.
_B64 = "[A-Za-z0-9+/]"
_B64_REST = f"(?:{_B64}{{4}})*(?:{_B64}{{2}}==|{_B64}{{3}}=)?"
PERMISSION_PATTERN = (
    f"^(?:JVBERi[0-3](?:=|{_B64}{_B64_REST})|iVBORw0KGg[o-r](?:=|{_B64}{_B64_REST})"
    f"|/9j/{_B64_REST})$"
)


class Text(fields.String):
    """A string that passes dsar.inputs.clean: no broken or control characters, trimmed,
    newlines only when `multiline`; `blank` is the message when a required one is blank.

    A maximum length counts the text as sent, so that the document's `maxLength` is exact;
    the field's pattern (in the document) is `text_pattern` unless it names its own."""

    def __init__(
        self,
        *,
        multiline: bool = False,
        blank: str | None = None,
        exact: tuple[str, str] | None = None,
        **kwargs: Any,
    ):
        """`exact`: a pattern the text must match as sent (nothing trimmed), and the message."""
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata.setdefault("pattern", exact[0] if exact else text_pattern(required=bool(blank)))
        if multiline:
            metadata["pattern"] = text_pattern(multiline=True, required=bool(blank))
        super().__init__(metadata=metadata, **kwargs)
        self.multiline = multiline
        self.blank = blank
        self.exact = (re.compile(exact[0]), exact[1]) if exact else None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        for check in self.validators:
            too_long = isinstance(check, validate.Length) and len(text) > (check.max or len(text))
            if too_long:
                check(text)  # raises, with the validator's own message
        try:
            cleaned = inputs.clean(text, multiline=self.multiline, required=self.blank)
        except inputs.InputRefused as exc:
            raise ValidationError(exc.message) from None
        if self.exact is not None and not self.exact[0].fullmatch(text):
            raise ValidationError(self.exact[1])
        return cleaned


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


BAD_EMAIL = "Not a valid email address. Write it in ASCII, like name@example.com."
_EMAIL_OR_BLANK = re.compile(EMAIL_OR_BLANK_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


def taken_kinds() -> list[str]:
    """The kinds the API takes: offered online, and a right under at least one law."""
    return [
        k.value
        for k in RequestKind
        if k in OFFERED_KINDS and any(k in r.kinds for r in REGIMES.values())
    ]


def _text(name: str, *, multiline: bool = False) -> Text:
    return Text(
        load_default="",
        multiline=multiline,
        validate=validate.Length(max=LIMITS[name]),
    )


class CorrectionIn(Schema):
    """What is wrong and what it should be (kind "correction" only); values are checked as
    the portal checks them: an email address, a phone number, text up to 200 characters.
    An email or phone given here is written as the document says (EMAIL_OR_BLANK_PATTERN,
    PHONE_PATTERN) before dsar.services.correcting reads it."""

    @pre_load
    def _phone_lengths(self, data: Any, **kwargs: Any) -> Any:
        """A phone number is at most 40 characters as sent, as the person's own is."""
        limit = LIMITS["phone"]
        errors: dict[str, dict[str, list[str]]] = {}
        for part in ("changes", "held"):
            values = data.get(part) if isinstance(data, dict) else None
            phone = values.get("phone") if isinstance(values, dict) else None
            if isinstance(phone, str) and len(phone) > limit:
                errors[part] = {"phone": [f"Longer than maximum length {limit}."]}
        if errors:
            raise ValidationError(errors)
        return data

    @validates_schema
    def _emails_and_phones(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, dict[str, list[str]]] = {}
        for part in ("changes", "held"):
            for key, value in (data.get(part) or {}).items():
                if key == "email" and not _EMAIL_OR_BLANK.fullmatch(value):
                    message = "Enter an email address like name@example.com (ASCII)."
                elif key == "phone" and not _PHONE.fullmatch(value):
                    message = inputs.phone_problem(value.strip()) or inputs.PHONE_DIGITS
                else:
                    continue
                errors.setdefault(part, {})[key] = [message]
        if errors:
            raise ValidationError(errors)

    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf([f.key for f in correction_rules.ASKED])),
        values=Text(
            validate=validate.Length(
                max=correcting.MAX_VALUE,
                error=f"Keep this under {correcting.MAX_VALUE} characters.",
            )
        ),
        load_default=dict,
        metadata={"description": "field -> the value it should have"},
    )
    held = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(correction_rules.LOCATING))),
        values=Text(
            validate=validate.Length(
                max=correcting.MAX_VALUE,
                error=f"Keep this under {correcting.MAX_VALUE} characters.",
            )
        ),
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
            "(the whole body may not exceed 1 MB)",
            "pattern": PERMISSION_PATTERN,
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
        exact=(EMAIL_PATTERN, BAD_EMAIL),
        metadata={"description": "an email address (ASCII), e.g. jane.doe@example.com"},
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
        validate=validate.OneOf(taken_kinds()),
        metadata={"description": "the right asked for; each law grants some (see `regime`)"},
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
        exact=(EMAIL_PATTERN, BAD_EMAIL),
        metadata={"description": "an email address (ASCII), e.g. jane.doe@example.com"},
    )
    phone = Text(
        load_default="",
        validate=[validate.Length(max=LIMITS["phone"]), _phone],
        metadata={
            "description": "5 to 20 digits, with + ( ) - . / and spaces; blank for none",
            "pattern": PHONE_PATTERN,
        },
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
            "pattern": TRANSFER_URL_PATTERN,
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


# What the API answers: every field is always there (null where it says so).


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
