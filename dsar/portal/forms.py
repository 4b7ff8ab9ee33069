"""The request form: shape only; the intake service decides what the law allows."""

from __future__ import annotations

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    FileField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp, ValidationError

from dsar import inputs
from dsar.forms import Form, long_text
from dsar.i18n import N_
from dsar.rules import KIND_LABELS, OFFERED_KINDS, REGIMES
from dsar.services import agents, messages, uploads

LIMITS = inputs.LIMITS


def phone_number(form: Form, field: Field) -> None:
    """A WTForms validator: the shape of a phone number (dsar.inputs.phone_problem), said in
    the page's language."""
    why = inputs.phone_problem(field.data or "")
    if why is not None:
        raise ValidationError(gettext(why))


class _RequestFields(Form):
    kind = RadioField(
        _l("What would you like us to do?"),
        choices=[SelectChoice(k.value, _l(KIND_LABELS[k])) for k in OFFERED_KINDS],
        validators=[InputRequired(_l("Choose what you would like us to do."))],
        validate_choice=False,  # the intake service refuses, in words, what the law does not give
    )
    regime = SelectField(
        _l("Which law applies to you?"),
        choices=[SelectChoice("", _l("Choose where you live…"))]
        + [SelectChoice(r.key, _l(r.name)) for r in REGIMES.values()],
        validators=[InputRequired(_l("Choose the law that applies to you."))],
        validate_choice=False,
    )
    name = StringField(
        _l("Your full name"),
        validators=[
            InputRequired(_l("Enter your name so that we can find your records.")),
            Length(max=LIMITS["name"], message=_l("Keep your name under 200 characters.")),
        ],
    )
    email = EmailField(
        _l("Your email address"),
        validators=[
            InputRequired(_l("Enter the email address you use with us.")),
            Length(max=LIMITS["email"], message=_l("That email address is too long.")),
            Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        ],
    )
    phone = StringField(
        _l("Phone number (optional)"),
        validators=[
            Optional(),
            Length(max=LIMITS["phone"], message=_l("Keep the phone number under 40 characters.")),
            phone_number,
        ],
    )
    country = StringField(
        _l("Country, or US state (optional)"),
        validators=[
            Optional(),
            Length(max=LIMITS["country"], message=_l("Keep this under 100 characters.")),
        ],
    )
    details = TextAreaField(
        _l("Anything that helps us (optional)"),
        validators=[
            Optional(),
            Length(max=LIMITS["details"], message=_l("Keep the details under 5,000 characters.")),
        ],
    )


def _fix(label: str | LazyString, limit: int = 200) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Length(max=limit, message=_l("Keep this under %(limit)s characters.", limit=limit)),
        ],
    )


class CorrectionFields:
    """What is wrong and what it should be, field by field (for "Correct my data"); the
    intake service checks the values (dsar.services.correcting.parse)."""

    fix_name = _fix(_l("Name, as it should read"))
    fix_email = _fix(_l("Email address, as it should be"), 254)
    held_email = _fix(_l("Email address we may hold now (if different)"), 254)
    fix_phone = _fix(_l("Phone number, as it should be"), 40)
    held_phone = _fix(_l("Phone number we may hold now"), 40)
    fix_street = _fix(_l("Street and number"))
    fix_postcode = _fix(_l("Postcode or ZIP code"))
    fix_city = _fix(_l("City"))
    fix_country = _fix(_l("Country"), 100)
    fix_other = TextAreaField(
        _l("Anything else that is wrong, and what it should be"),
        validators=[Optional(), Length(max=2000, message=_l("Keep this under 2,000 characters."))],
    )

    def correction(self) -> dict[str, object]:
        """The correction as the intake service takes it."""
        names = [n for n in dir(CorrectionFields) if n.startswith(("fix_", "held_"))]
        data = {name: getattr(self, name).data or "" for name in names}
        other = data.pop("fix_other")
        return {
            "changes": {k[4:]: v for k, v in data.items() if k.startswith("fix_") and v},
            "held": {k[5:]: v for k, v in data.items() if k.startswith("held_") and v},
            "other": other,
        }

    def correction_field(self, intake_field: str | None) -> str:
        """The form field an intake refusal names (correction-held-email -> held_email)."""
        name = (intake_field or "").removeprefix("correction")
        if not name:
            return "fix_other"
        name = name.lstrip("-")
        return f"held_{name[5:]}" if name.startswith("held-") else f"fix_{name}"


class AgentFields:
    """An authorised agent filing for the person named above (dsar.services.agents checks
    what the law allows and asks)."""

    on_behalf = BooleanField(_l("I am an authorised agent, making this request for someone else"))
    agent_name = _fix(_l("Agent's name (yours)"))
    agent_email = _fix(_l("Agent's email address (yours)"), 254)
    agent_organisation = _fix(_l("Agent's organisation (optional)"))
    agent_permission = FileField(_l("The person's signed permission (PDF, PNG or JPEG)"))

    def agent(self) -> agents.AgentIn | None:
        if not self.on_behalf.data:
            return None
        sent = self.agent_permission.data
        permission = None
        if isinstance(sent, FileStorage) and sent.filename:
            permission = uploads.Incoming(sent.filename, sent.read())
        return agents.AgentIn(
            name=self.agent_name.data or "",
            email=self.agent_email.data or "",
            organisation=self.agent_organisation.data or "",
            permission=permission,
        )


class RequestForm(_RequestFields, CorrectionFields, AgentFields):
    """The person's request; the correction fields count only for "Correct my data", the
    receiving company's address only for portability (the intake service checks it)."""

    transfer_url = URLField(
        _l("Send my data directly to another company (optional)"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Keep the address under 2,000 characters.")),
        ],
    )


class ConfirmForm(Form):
    """An empty form: the CSRF token makes the confirmation a deliberate POST."""


class GpcForm(Form):
    """The one-step opt-out for a Global Privacy Control signal: only what locates the person."""

    email = EmailField(
        _l("Your email address"),
        validators=[
            InputRequired(_l("Enter the email address you use with us.")),
            Length(max=LIMITS["email"], message=_l("That email address is too long.")),
            Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        ],
    )
    phone = StringField(
        _l("Phone number (optional)"),
        validators=[
            Optional(),
            Length(max=LIMITS["phone"], message=_l("Keep the phone number under 40 characters.")),
            phone_number,
        ],
    )


class CodeForm(Form):
    """The emailed download code; whether it is right is the delivery service's call."""

    code = StringField(
        _l("Download code"),
        validators=[
            InputRequired(_l("Enter the code from our email.")),
            Length(max=20, message=_l("The code has 8 digits.")),
            Regexp(r"^[0-9 -]+$", message=_l("The code is made of digits only.")),
        ],
    )


class MessageForm(Form):
    body = long_text(
        _l("Your message"),
        _l("Write your message."),
        N_("Keep your message under %(limit)s characters."),
        messages.MAX_TEXT,
    )
    files = MultipleFileField(_l("Files (optional)"))
