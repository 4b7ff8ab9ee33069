"""Named errors for illegal moves; views turn each into a message for the person or officer.

A message the person may read is a template marked with `N_` and its values by name:
`IntakeRefused(N_("Keep this under %(limit)s characters."), limit=5000, field="details")`.
`str(exc)` and `exc.message` are the English text (the API, logs and staff screens show it);
`exc.translated()` is the same message in the current language (the portal shows it). The
values stay as given until shown: a date reads "29 November 2026" in English and in the
page's language when translated (dsar.i18n.day), a number "5,000" or "5.000", a `Term` (a
rule text) is translated, a `Citation` loses its English gloss on a page in another language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


def _english() -> bool:
    from dsar.i18n import english

    return english()


@dataclass(frozen=True)
class Term:
    """A rule text (a law's name, a right's label, marked with N_ in dsar.rules) inside a
    message: translated with it. `lower`: lower-cased in English only; other languages keep
    the label as written (as dsar.rules.agents.summary does)."""

    text: str
    lower: bool = False

    def shown(self, translate: bool) -> str:
        if translate:
            from flask_babel import gettext

            text = gettext(self.text)
            return text.lower() if self.lower and _english() else text
        return self.text.lower() if self.lower else self.text

    def __str__(self) -> str:
        return self.shown(False)


@dataclass(frozen=True)
class Citation:
    """A legal reference inside a message: `whole` in English; `bare` (without our English
    gloss: dsar.rules.citations.reference) on a page in another language."""

    whole: str
    bare: str

    def shown(self, translate: bool) -> str:
        return self.bare if translate and not _english() else self.whole

    def __str__(self) -> str:
        return self.whole


def _value(value: Any, translate: bool) -> Any:
    """A message's value as the reader sees it (English, or the current language)."""
    if isinstance(value, Term | Citation):
        return value.shown(translate)
    if isinstance(value, date):  # a datetime too
        if translate:
            from dsar.i18n import day

            return day(value)
        return value.strftime("%-d %B %Y")
    if isinstance(value, int) and not isinstance(value, bool):
        if translate:
            from flask_babel import format_number

            return format_number(value)
        return f"{value:,}"
    return value


class Worded:
    """A message as a template and its named values (see the module's docstring)."""

    template: Any
    params: dict[str, Any]
    message: Any

    def _word(self, template: Any, params: dict[str, Any]) -> Any:
        self.template = template
        self.params = params
        if params:
            self.message = template % {k: _value(v, False) for k, v in params.items()}
        else:
            self.message = template
        return self.message

    def translated(self) -> str:
        """The message in the current language (flask_babel.gettext of the template, then the
        values); English where the catalogue has no translation, or outside a request."""
        from flask_babel import gettext

        if not isinstance(self.template, str):  # a lazy string translates itself
            return str(self.template)
        text = gettext(self.template)
        if not self.params:
            return text
        values = {k: _value(v, True) for k, v in self.params.items()}
        try:
            return text % values
        except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
            return self.template % values


class DsarError(Worded, Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, *args: Any, **params: Any) -> None:
        if len(args) == 1:
            super().__init__(self._word(args[0], params))
        else:
            self._word(" ".join(map(str, args)), {})
            super().__init__(*args)


class IntakeRefused(DsarError):
    """The request cannot be accepted as given; the message says why, in plain words."""

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field

    @classmethod
    def like(cls, exc: Any, *, field: str | None = None) -> IntakeRefused:
        """`exc`'s message (its `template` and `params`: still translatable) as a refusal of
        `field`: for an InputRefused, a transfer address refused, an upload refused."""
        return cls(exc.template, field=field, **exc.params)


class IllegalTransition(DsarError):
    def __init__(self, before: str, after: str) -> None:
        super().__init__(f"a request cannot move from {before} to {after}")
        self.before = before
        self.after = after


class LinkInvalid(DsarError):
    """A tracking or verification link is unknown, used up, or expired."""


class LinkExpired(LinkInvalid):
    """A link that was valid and has expired: the page can offer a fresh one."""


class ConnectorError(DsarError):
    """A data system could not be reached or answered wrongly; the message holds no personal
    data and is shown to officers as the task's last error."""


class ConfigFileError(DsarError):
    """A data systems configuration file is malformed; the message names the place."""


class ClockRefused(DsarError):
    """A pause, resume or extension the regime or the request's state does not allow."""


class DecisionRefused(DsarError):
    """An officer's action the request's state or the regime's rules do not allow."""


class SystemInvalid(ConfigFileError):
    """A data system's settings are refused; `field` names the setting at fault (key, name,
    kind, owner, contact, description or config) so that a form can show the message there."""

    def __init__(self, message: str, *, field: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field


class SigningMisconfigured(DsarError):
    """The evidence signing key or certificate cannot be used; the message names the setting."""


class DeliveryRefused(DsarError):
    """The person may not download their answer now; the message says why, in plain words."""


class AnswerNotReady(DeliveryRefused):
    """The request has no answer to deliver (yet)."""


class DeliveryExpired(DeliveryRefused):
    """The download period (`DSAR_DELIVERY_DAYS` after completion) is over."""


class DocumentPurged(DeliveryRefused):
    """The file was deleted under the retention policy; its row and SHA-256 remain."""


class TooManyCodes(DeliveryRefused):
    """Too many download codes were asked for this request within the hour."""


class CodeRejected(DeliveryRefused):
    """A download code is wrong, used, expired, or out of attempts."""


class ManualTaskRefused(DecisionRefused):
    """An owner's report, or a link for a manual system, that the task's state does not allow;
    `field` names the form field at fault (outcome, count or note), if any."""

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field


class DownloadNotAllowed(DeliveryRefused):
    """No valid download grant: the person must enter an emailed code first."""
