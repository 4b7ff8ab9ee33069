"""Forms of the team page, the invitation link and two-factor sign-in: shape only."""

from __future__ import annotations

from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import Email, InputRequired, Length

from dsar.forms import Form
from dsar.models import Role
from dsar.services.accounts import MAX_PASSWORD, MIN_PASSWORD

ROLE_LABELS = {
    Role.OFFICER: "Officer: works on requests",
    Role.AUDITOR: "Auditor: reads everything, changes nothing",
    Role.ADMIN: "Admin: the team, data systems and API keys, and an officer's work",
}


def _role_field(label: str) -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice(role.value, words) for role, words in ROLE_LABELS.items()],
        validators=[InputRequired("Choose a role.")],
        invalid_choice_message="Choose officer, auditor or admin.",
    )


def _name_field(label: str) -> StringField:
    return StringField(
        label,
        validators=[
            InputRequired("Give the name their colleagues know them by."),
            Length(max=200, message="Keep the name under 200 characters."),
        ],
    )


class InviteForm(Form):
    name = _name_field("Name")
    email = EmailField(
        "Email address",
        validators=[
            InputRequired("Give their work email address: the invitation goes there."),
            Length(max=254, message="That email address is too long."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
    )
    role = _role_field("Role")


class RoleForm(Form):
    role = _role_field("Role")


class WelcomeForm(Form):
    """The invited person names themselves and chooses a password."""

    name = _name_field("Your name")
    password = PasswordField(
        "Choose a password",
        validators=[
            InputRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"Use between {MIN_PASSWORD} and {MAX_PASSWORD} characters.",
            ),
        ],
    )
    repeat = PasswordField(
        "The same password again",
        validators=[InputRequired("Type the password again."), Length(max=MAX_PASSWORD)],
    )


class CodeForm(Form):
    """A 6-digit code from the app, or a recovery code."""

    code = StringField(
        "Code",
        validators=[
            InputRequired("Enter the code."),
            Length(max=32, message="A code has 6 digits; a recovery code 10 letters and digits."),
        ],
    )
