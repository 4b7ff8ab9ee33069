"""The request form: shape only; the intake service decides what the law allows."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from dsar.rules import KIND_LABELS, OFFERED_KINDS, REGIMES

# One set of limits for the form and the API.
LIMITS = {"name": 200, "email": 254, "phone": 40, "country": 100, "details": 5000}
PHONE_PATTERN = r"^\+?[0-9 ()./-]{5,40}$"
PHONE_MESSAGE = "Use digits, spaces and + ( ) - . / only, e.g. +44 20 7946 0958."


class RequestForm(FlaskForm):
    kind = RadioField(
        "What would you like us to do?",
        choices=[SelectChoice(k.value, KIND_LABELS[k]) for k in OFFERED_KINDS],
        validators=[InputRequired("Choose what you would like us to do.")],
        validate_choice=False,  # the intake service refuses, in words, what the law does not give
    )
    regime = SelectField(
        "Which law applies to you?",
        choices=[SelectChoice("", "Choose where you live…")]
        + [SelectChoice(r.key, r.name) for r in REGIMES.values()],
        validators=[InputRequired("Choose the law that applies to you.")],
        validate_choice=False,
    )
    name = StringField(
        "Your full name",
        validators=[
            InputRequired("Enter your name so that we can find your records."),
            Length(max=LIMITS["name"], message="Keep your name under 200 characters."),
        ],
    )
    email = EmailField(
        "Your email address",
        validators=[
            InputRequired("Enter the email address you use with us."),
            Length(max=LIMITS["email"], message="That email address is too long."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
    )
    phone = StringField(
        "Phone number (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["phone"], message="Keep the phone number under 40 characters."),
            Regexp(PHONE_PATTERN, message=PHONE_MESSAGE),
        ],
    )
    country = StringField(
        "Country, or US state (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["country"], message="Keep this under 100 characters."),
        ],
    )
    details = TextAreaField(
        "Anything that helps us (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["details"], message="Keep the details under 5,000 characters."),
        ],
    )


class ConfirmForm(FlaskForm):
    """An empty form: the CSRF token makes the confirmation a deliberate POST."""


class GpcForm(FlaskForm):
    """The one-step opt-out for a Global Privacy Control signal: only what locates the person."""

    email = EmailField(
        "Your email address",
        validators=[
            InputRequired("Enter the email address you use with us."),
            Length(max=LIMITS["email"], message="That email address is too long."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
    )
    phone = StringField(
        "Phone number (optional)",
        validators=[
            Optional(),
            Length(max=LIMITS["phone"], message="Keep the phone number under 40 characters."),
            Regexp(PHONE_PATTERN, message=PHONE_MESSAGE),
        ],
    )


class CodeForm(FlaskForm):
    """The emailed download code; whether it is right is the delivery service's call."""

    code = StringField(
        "Download code",
        validators=[
            InputRequired("Enter the code from our email."),
            Length(max=20, message="The code has 8 digits."),
            Regexp(r"^[0-9 -]+$", message="The code is made of digits only."),
        ],
    )
