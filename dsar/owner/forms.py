"""The owner's report: shape only; the manual service decides what the task's action allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from dsar.forms import Form
from dsar.services.manual import MAX_COUNT, MAX_NOTE

OUTCOME_LABELS = {
    "found": "I found records about this person",
    "erased": "I erased (destroyed) their records",
    "opted_out": "I marked their records: no sale, sharing or marketing",
    "nothing": "I found nothing about this person",
}


class ReportForm(Form):
    outcome = RadioField(
        "What did you do?",
        validators=[InputRequired("Choose what you found or did.")],
        validate_choice=False,  # the service refuses, in words, what the task does not allow
    )
    count = IntegerField(
        "Number of records",
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_COUNT, message=f"Give a number from 0 to {MAX_COUNT:,}."),
        ],
    )
    note = TextAreaField(
        "Note for the privacy team (optional)",
        validators=[
            Optional(),
            Length(max=MAX_NOTE, message=f"Keep the note under {MAX_NOTE:,} characters."),
        ],
    )

    def __init__(self, *args: Any, outcomes: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = [(o, OUTCOME_LABELS[o]) for o in outcomes]
