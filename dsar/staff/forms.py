"""Staff forms: shape only."""

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from dsar.forms import Form
from dsar.services import api_keys


class LoginForm(Form):
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=200)]
    )


class LogoutForm(Form):
    pass


class ReasonForm(Form):
    """Pause or extend: the reason goes into the history and, in an email, to the person."""

    reason = TextAreaField(
        "Reason",
        validators=[
            InputRequired("Give the reason."),
            Length(max=1000, message="Keep the reason under 1,000 characters."),
        ],
    )


class ConfirmForm(Form):
    pass


def _text_field(label: str, message: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            InputRequired(message),
            Length(max=5000, message="Keep it under 5,000 characters."),
        ],
    )


class AssignForm(Form):
    assignee = SelectField("Assign to", coerce=str, validate_choice=False)


class NoteForm(Form):
    note = _text_field("Note", "Write the note.")


class ReplyForm(Form):
    """A message to the person: on their request's page, and emailed."""

    text = _text_field("Message to the person", "Write the message.")


class DenyForm(Form):
    reason = SelectField("Reason", validate_choice=False)
    text = TextAreaField(
        "Explanation for the person",
        validators=[Length(max=5000, message="Keep it under 5,000 characters.")],
    )


class AppealDecisionForm(Form):
    outcome = RadioField(
        "Decision",
        choices=[
            SelectChoice("granted", "Grant the appeal"),
            SelectChoice("refused", "Refuse the appeal"),
        ],
        validators=[InputRequired("Choose whether to grant or refuse the appeal.")],
    )
    text = _text_field("The written decision, for the person", "Write the decision.")


class LiftForm(Form):
    """Lift a restriction or an objection: why (the rules' list), in the officer's words."""

    reason = RadioField(
        "Why it is lifted",
        validators=[InputRequired("Choose why it is lifted.")],
        validate_choice=False,  # the service refuses, in words, a reason the law does not list
    )
    text = _text_field("Your explanation, for the person", "Explain to the person why.")
    confirm = BooleanField(
        "Email the person now, then lift it",
        validators=[InputRequired("Tick the box to confirm: the person is emailed at once.")],
    )


class ClarifyForm(Form):
    question = _text_field("Question for the person", "Write the question.")
    pause = BooleanField("Pause the clock until they answer (where the law allows)")


class DuplicateForm(Form):
    earlier = StringField(
        "Reference of the earlier request",
        validators=[InputRequired("Give the earlier request's reference."), Length(max=32)],
    )


class CancelForm(Form):
    reason = _text_field("Reason (sent to the person)", "Give the reason.")


class SkipForm(Form):
    reason = _text_field("Why skip this system?", "Give the reason for skipping.")


class ManualDoneForm(Form):
    found = IntegerField(
        "Records found or erased",
        validators=[InputRequired("Give the number of records."), NumberRange(min=0, max=10**9)],
    )
    note = TextAreaField("Note", validators=[Length(max=5000)])


class BulkForm(Form):
    """Shape only: which requests, which decision, and its reason."""

    ids = SelectMultipleField(
        "Requests",
        coerce=str,  # ids are parsed by the view (dsar.inputs.parse_id): a bad one is a 400
        validate_choice=False,
        validators=[InputRequired("Select at least one request.")],
    )
    action = SelectField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve (deletions after their dry run)"),
            SelectChoice("deny", "Deny"),
            SelectChoice("extend", "Extend, telling each person the reason"),
            SelectChoice("release", "Release reviewed answers to the people"),
        ],
        validators=[InputRequired("Choose a decision.")],
    )
    reason = SelectField("Denial reason", validate_choice=False)
    text = TextAreaField(
        "Reason or explanation (sent to each person)",
        validators=[Length(max=5000, message="Keep it under 5,000 characters.")],
    )


def _scopes_field(default: tuple[str, ...] = ()) -> SelectMultipleField:
    return SelectMultipleField(
        "What it may do",
        choices=[SelectChoice(scope, words) for scope, words in api_keys.SCOPES.items()],
        default=list(default),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired("Choose at least one thing the key may do.")],
        invalid_choice_message="Choose from the listed scopes.",
    )


class ScopesForm(Form):
    scopes = _scopes_field()


class ApiKeyForm(Form):
    """A new key: who it is for, and what it may do (least privilege is checked first)."""

    name = StringField(
        "Who or what the key is for",
        validators=[
            InputRequired("Name the integration, like crm-sync."),
            Length(max=100, message="Keep the name under 100 characters."),
        ],
    )
    scopes = _scopes_field(api_keys.DEFAULT_SCOPES)


class RedactForm(Form):
    """Withhold one record, or one field of it, from the answer; the service checks the
    place, record, field and reason against the request."""

    system = HiddenField(validators=[InputRequired(), Length(max=64)])
    place = HiddenField(validators=[InputRequired(), Length(max=200)])
    record = HiddenField(validators=[InputRequired(), Length(max=19)])
    field = SelectField("What to withhold", validate_choice=False, default="")
    reason = SelectField("Why", validate_choice=False)
    note = TextAreaField(
        "Note for the file (optional)",
        validators=[Length(max=1000, message="Keep the note under 1,000 characters.")],
    )


class ReopenForm(Form):
    """Reopen a completed request: the reason goes into its history."""

    reason = TextAreaField(
        "Why reopen it",
        validators=[
            InputRequired("Say why the request is reopened: it goes into its history."),
            Length(max=1000, message="Keep the reason under 1,000 characters."),
        ],
    )
