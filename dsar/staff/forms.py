"""Staff forms: shape only."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, TextAreaField
from wtforms.validators import InputRequired, Length


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
