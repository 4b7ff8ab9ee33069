"""Staff forms: shape only."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=200)]
    )


class LogoutForm(FlaskForm):
    pass


class ReasonForm(FlaskForm):
    """Pause or extend: the reason goes into the history (and, for an extension, to the
    person)."""

    reason = TextAreaField(
        "Reason",
        validators=[
            InputRequired("Give the reason."),
            Length(max=1000, message="Keep the reason under 1,000 characters."),
        ],
    )


class ConfirmForm(FlaskForm):
    pass


def _text_field(label: str, message: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            InputRequired(message),
            Length(max=5000, message="Keep it under 5,000 characters."),
        ],
    )


class AssignForm(FlaskForm):
    assignee = SelectField("Assign to", coerce=str, validate_choice=False)


class NoteForm(FlaskForm):
    note = _text_field("Note", "Write the note.")


class DenyForm(FlaskForm):
    reason = SelectField("Reason", validate_choice=False)
    text = TextAreaField(
        "Explanation for the person",
        validators=[Length(max=5000, message="Keep it under 5,000 characters.")],
    )


class ClarifyForm(FlaskForm):
    question = _text_field("Question for the person", "Write the question.")
    pause = BooleanField("Pause the clock until they answer (where the law allows)")


class DuplicateForm(FlaskForm):
    earlier = StringField(
        "Reference of the earlier request",
        validators=[InputRequired("Give the earlier request's reference."), Length(max=32)],
    )


class CancelForm(FlaskForm):
    reason = _text_field("Reason (sent to the person)", "Give the reason.")


class SkipForm(FlaskForm):
    reason = _text_field("Why skip this system?", "Give the reason for skipping.")


class ManualDoneForm(FlaskForm):
    found = IntegerField(
        "Records found or erased",
        validators=[InputRequired("Give the number of records."), NumberRange(min=0, max=10**9)],
    )
    note = TextAreaField("Note", validators=[Length(max=5000)])


class BulkForm(FlaskForm):
    """Shape only: which requests, which decision, and its reason."""

    ids = SelectMultipleField(
        "Requests",
        coerce=int,
        validate_choice=False,
        validators=[InputRequired("Select at least one request.")],
    )
    action = SelectField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve (deletions after their dry run)"),
            SelectChoice("deny", "Deny"),
            SelectChoice("extend", "Extend, telling each person the reason"),
        ],
        validators=[InputRequired("Choose a decision.")],
    )
    reason = SelectField("Denial reason", validate_choice=False)
    text = TextAreaField(
        "Reason or explanation (sent to each person)",
        validators=[Length(max=5000, message="Keep it under 5,000 characters.")],
    )
