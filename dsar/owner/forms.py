"""The owner's report: shape only; the manual services decide what the task's action allows.

Built in the owner's page language (dsar.i18n): labels and messages are lazy, the answers
and reasons are rule texts translated when the form is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import LazyString, format_number, gettext
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, MultipleFileField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from dsar.forms import Form
from dsar.rules.citations import cited
from dsar.rules.withholding import Reason
from dsar.services.manual import MAX_COUNT, MAX_NOTE
from dsar.services.manual_words import outcome


def _most(value: int) -> Any:
    """A limit in a message, formatted for the page's language when the message is shown."""
    return LazyString(format_number, value)


def _count(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_COUNT,
                message=_l("Give a number from 0 to %(most)s.", most=_most(MAX_COUNT)),
            ),
        ],
    )


class ReportForm(Form):
    outcome = RadioField(
        _l("What did you do?"),
        validators=[InputRequired(_l("Choose what you found or did."))],
        validate_choice=False,  # the service refuses, in words, what the task does not allow
    )
    count = _count(_l("Number of records"))
    rows = TextAreaField(
        _l("The records, typed (optional)"),
        validators=[Optional(), Length(max=200_000, message=_l("Send long lists as a file."))],
    )
    files = MultipleFileField(_l("Scans, photos or spreadsheets (optional)"))
    kept = _count(_l("Records you had to keep (optional)"))
    kept_reason = SelectField(_l("Why they must be kept"), validate_choice=False, default="")
    note = TextAreaField(
        _l("Note for the privacy team (optional)"),
        validators=[
            Optional(),
            Length(
                max=MAX_NOTE,
                message=_l("Keep the note under %(most)s characters.", most=_most(MAX_NOTE)),
            ),
        ],
    )

    def __init__(
        self,
        *args: Any,
        outcomes: Sequence[str],
        kept_reasons: Sequence[Reason] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = [(o, outcome(o)) for o in outcomes]
        self.kept_reason.choices = [("", gettext("Choose a reason…"))] + [
            (r.key, f"{gettext(r.label)} ({cited(r.citation)})") for r in kept_reasons
        ]
