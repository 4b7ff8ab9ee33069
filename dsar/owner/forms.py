"""The owner's report: shape only; the manual services decide what the task's action allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import IntegerField, MultipleFileField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from dsar.forms import Form
from dsar.rules.withholding import Reason
from dsar.services.manual import MAX_COUNT, MAX_NOTE

OUTCOME_LABELS = {
    "found": "I found records about this person",
    "erased": "I erased (destroyed) their records",
    "opted_out": "I marked their records: no sale, sharing or marketing",
    "corrected": "I made the changes listed above in their records",
    "restricted": "I marked their records: kept, but not used",
    "objected": "I marked their records: no longer used for the processing objected to",
    "limited": "I marked their records: sensitive data used only as strictly needed",
    "lifted": "I removed the mark: their records may be used again as before",
    "nothing": "I found nothing about this person",
}


def _count(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_COUNT, message=f"Give a number from 0 to {MAX_COUNT:,}."),
        ],
    )


class ReportForm(Form):
    outcome = RadioField(
        "What did you do?",
        validators=[InputRequired("Choose what you found or did.")],
        validate_choice=False,  # the service refuses, in words, what the task does not allow
    )
    count = _count("Number of records")
    rows = TextAreaField(
        "The records, typed (optional)",
        validators=[Optional(), Length(max=200_000, message="Send long lists as a file.")],
    )
    files = MultipleFileField("Scans, photos or spreadsheets (optional)")
    kept = _count("Records you had to keep (optional)")
    kept_reason = SelectField("Why they must be kept", validate_choice=False, default="")
    note = TextAreaField(
        "Note for the privacy team (optional)",
        validators=[
            Optional(),
            Length(max=MAX_NOTE, message=f"Keep the note under {MAX_NOTE:,} characters."),
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
        self.outcome.choices = [(o, OUTCOME_LABELS[o]) for o in outcomes]
        self.kept_reason.choices = [("", "Choose a reason…")] + [
            (r.key, f"{r.label} ({r.citation})") for r in kept_reasons
        ]
