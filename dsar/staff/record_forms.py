"""The form an officer fills in for a request received by phone, letter, email or in person."""

from __future__ import annotations

from wtforms import (
    EmailField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from dsar import inputs
from dsar.forms import Form
from dsar.portal.forms import CorrectionFields, phone_number
from dsar.rules import KIND_LABELS, OFFERED_KINDS, REGIMES
from dsar.services.staff_intake import CHANNELS

LIMITS = inputs.LIMITS


class RecordRequestForm(Form, CorrectionFields):
    channel = RadioField(
        "How did the request reach us?",
        choices=[SelectChoice(key, label) for key, label in CHANNELS.items()],
        validators=[InputRequired("Choose how the request reached us.")],
        validate_choice=False,  # the service refuses, in words, anything else
    )
    received_on = StringField(
        "Day it reached us",
        validators=[
            InputRequired("Give the day the request reached us."),
            Regexp(r"^\d{4}-\d{2}-\d{2}$", message="Give the day as YYYY-MM-DD."),
        ],
    )
    reason = TextAreaField(
        "Why is it recorded after that day? (needed when the day is before today)",
        validators=[Optional(), Length(max=1000, message="Keep it under 1,000 characters.")],
    )
    kind = SelectField(
        "What the person asks for",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(k.value, KIND_LABELS[k]) for k in OFFERED_KINDS],
        validators=[InputRequired("Choose what the person asks for.")],
        validate_choice=False,
    )
    regime = SelectField(
        "Law that applies to the person",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(r.key, r.name) for r in REGIMES.values()],
        validators=[InputRequired("Choose the law that applies to the person.")],
        validate_choice=False,
    )
    name = StringField(
        "Full name",
        validators=[
            InputRequired("Enter the person's name."),
            Length(max=LIMITS["name"], message="Keep the name under 200 characters."),
        ],
    )
    email = EmailField(
        "Email address",
        validators=[
            InputRequired("Enter the person's email address: we send the answer's link there."),
            Length(max=LIMITS["email"], message="That email address is too long."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
    )
    phone = StringField(
        "Phone number (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["phone"], message="Keep the phone number under 40 characters."),
            phone_number,
        ],
    )
    country = StringField(
        "Country, or US state (optional)",
        validators=[Optional(), Length(max=LIMITS["country"], message="Keep this under 100.")],
    )
    details = TextAreaField(
        "What the person asked, in their words (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["details"], message="Keep the details under 5,000 characters."),
        ],
    )
    identity_checked = StringField(
        "How you checked who the person is (optional)",
        validators=[Optional(), Length(max=1000, message="Keep it under 1,000 characters.")],
    )
    files = MultipleFileField("The original letter, email or call note (optional)")
