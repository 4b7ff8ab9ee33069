"""The preference centre's forms: the address to send a link to, and the person's choices
(one pair of answers per choice the registry offers, the same for opting in and out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, RadioField, SelectChoice
from wtforms.validators import Email, InputRequired, Length, Optional

from dsar import inputs
from dsar.forms import Form

if TYPE_CHECKING:
    from dsar.services.preferences import Row


class ChoiceLinkForm(Form):
    email = EmailField(
        _l("Your email address"),
        validators=[
            InputRequired(_l("Enter the email address you use with us.")),
            Length(max=inputs.LIMITS["email"], message=_l("That email address is too long.")),
            Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        ],
    )


def choices_form(rows: list[Row], *, posted: bool = False) -> Form:
    """A form with a yes/no field per offered choice, set to the current choice (none set
    when nothing is recorded: the person's systems keep what they said before)."""

    class ChoicesForm(Form):
        pass

    for row in rows:
        c = row.choice
        field = RadioField(
            _l(c.label),
            choices=[SelectChoice("yes", _l(c.yes)), SelectChoice("no", _l(c.no))],
            validators=[Optional()],
        )
        setattr(ChoicesForm, c.key, field)
    form = ChoicesForm()
    if not form.is_submitted() and not posted:
        for row in rows:
            if row.opted_in is not None:
                form[row.choice.key].data = "yes" if row.opted_in else "no"
    return form
