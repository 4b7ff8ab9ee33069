"""Named errors for illegal moves; views turn each into a message for the person or officer."""


class DsarError(Exception):
    """Base of every error a service raises on purpose."""


class IntakeRefused(DsarError):
    """The request cannot be accepted as given; the message says why, in plain words."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class IllegalTransition(DsarError):
    def __init__(self, before: str, after: str) -> None:
        super().__init__(f"a request cannot move from {before} to {after}")
        self.before = before
        self.after = after


class LinkInvalid(DsarError):
    """A tracking or verification link is unknown, used up, or expired."""


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

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
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

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DownloadNotAllowed(DeliveryRefused):
    """No valid download grant: the person must enter an emailed code first."""
