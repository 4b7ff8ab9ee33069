"""API bodies: shape only, with the same limits as the portal form.

Each limit is stated once, here, and the OpenAPI document says it as JSON Schema
(dsar.api.openapi): a field's `pattern` is what dsar.inputs lets through, its `maxLength`
counts what was sent (before the trim), and the kinds and laws come from dsar.rules.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from dsar import i18n, inputs
from dsar.api.patterns import (
    EMAIL_OR_BLANK_PATTERN,
    EMAIL_PATTERN,
    PERMISSION_PATTERN,
    PHONE_PATTERN,
    TRANSFER_URL_PATTERN,
    text_pattern,
)
from dsar.inputs import LIMITS
from dsar.models import RequestKind
from dsar.rules import OFFERED_KINDS, REGIMES
from dsar.rules import corrections as correction_rules
from dsar.services import correcting


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


# BCP 47 tag -> our catalogue's code.
LANGUAGE_TAGS = {i18n.tag(code): code for code in i18n.LANGUAGES}


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
    language = fields.String(
        load_default=i18n.DEFAULT,
        validate=validate.OneOf(
            LANGUAGE_TAGS, error="Use one of the languages offered: " + ", ".join(LANGUAGE_TAGS)
        ),
        metadata={
            "description": "the person's language (BCP 47): every email and letter to them "
            "uses it, whoever sends it"
        },
    )

    @post_load
    def _language_code(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["language"] = LANGUAGE_TAGS[data["language"]]  # "pt-BR" -> "pt_BR"
        return data


# What the API answers: every field is always there (null where it says so).
