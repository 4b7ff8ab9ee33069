"""The base of every form: each field's raw input passes `dsar.inputs` before anything else.

A form that subclasses `Form` refuses, with a message on the field, a file sent where text
is expected, broken or control characters, line breaks in a one-line field, and a required
field filled with blanks only; text fields come out trimmed (passwords excepted). The form's
own validators then check shape as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, FileField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from dsar import inputs


def _required_message(field: Field) -> str | None:
    for validator in field.validators:
        if isinstance(validator, InputRequired | DataRequired):
            return validator.message or inputs.BLANK
    return None


def refusal(field: Field) -> str | None:
    """Why the field's raw input is refused, in the page's language (English on staff
    screens), or None; cleans the field's text on the way."""
    if isinstance(field, FileField):
        return None  # files are checked by what reads them (dsar.services.uploads)
    raw = field.raw_data or []
    if any(not isinstance(value, str) for value in raw):
        field.data = None
        return gettext(inputs.NOT_TEXT)
    multiline = isinstance(field, TextAreaField)
    for value in raw:
        why = inputs.problem(value, multiline=multiline)
        if why is not None:
            field.data = None
            return gettext(why)
    trimmed = isinstance(field, StringField) and not isinstance(field, PasswordField)
    if trimmed and isinstance(field.data, str):
        try:
            field.data = inputs.clean(
                field.data, multiline=multiline, required=_required_message(field)
            )
        except inputs.InputRefused as exc:
            return exc.translated()
    return None


class Form(FlaskForm):
    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        refused = [(field, why) for field in self if (why := refusal(field)) is not None]
        valid = super().validate(extra_validators)
        for field, why in refused:
            field.errors = [why]
        return valid and not refused


def long_text(label: Any, required: Any, too_long: str, limit: int) -> TextAreaField:
    """A required text area of at most `limit` characters. `too_long` is an N_ template
    with %(limit)s, shown in the page's language with the number as it writes it ("5,000",
    "5.000")."""
    from flask_babel import LazyString, format_number, lazy_gettext

    message = lazy_gettext(too_long, limit=LazyString(format_number, limit))
    return TextAreaField(
        label, validators=[InputRequired(required), Length(max=limit, message=message)]
    )
