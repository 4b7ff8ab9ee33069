"""Send mail: SMTP in production (`DSAR_SMTP_URL`), `.eml` files in an outbox folder otherwise."""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import LazyString, force_locale

from dsar import i18n

log = logging.getLogger(__name__)


# The emails the person (or their agent) reads; the others go to staff and system owners.
PERSON_FACING = frozenset(
    {
        "acknowledgement",
        "choices_link",
        "received",
        "verify",
        "verify_agent",
        "agent_receipt",
        "agent_disowned",
        "appeal_received",
        "appeal_refused",
        "appeal_granted",
        "cancelled",
        "clarification",
        "denied",
        "duplicate",
        "extended",
        "ready",
        "download_code",
        "lift_notice",
        "paused",
        "resumed",
        "waiting_for_owner",
        "verify_again",
        "message",
    }
)
_LINK_WORDS = {"link": "verification link", "task_link": "system owner's task link"}


class MailError(Exception):
    """The message could not be handed to the mail server."""


def _message(to: str, subject: str, body: str) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = f"{cfg['DSAR_COMPANY_NAME']} privacy team <{cfg['DSAR_MAIL_FROM']}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=cfg["DSAR_MAIL_FROM"].rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def _write_outbox(msg: EmailMessage) -> Path:
    folder: Path = current_app.config["DSAR_OUTBOX_DIR"]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    tmp = path.with_suffix(".tmp")
    # Names, links and codes: readable by the service's user alone, whatever the umask.
    with os.fdopen(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as fh:
        fh.write(bytes(msg))
    tmp.rename(path)
    return path


def _smtp(msg: EmailMessage, url: str) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    cls = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with cls(parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=20) as s:
        if parts.scheme == "smtp+starttls":
            s.starttls()
        if parts.username:
            s.login(unquote(parts.username), unquote(parts.password or ""))
        s.send_message(msg)


def send(
    *,
    to: str,
    subject: str | LazyString,
    template: str,
    request_id: int | None,
    language: str | None = None,
    **context: Any,
) -> None:
    """Render `templates/email/<template>.txt` and send it; logs carry ids, not addresses.

    An email to the person (or their agent) speaks `language`, else the language of the
    `request` in the context (the one the person used), whoever triggers it; a lazy subject
    (lazy_gettext) is translated too. Emails to staff and system owners stay in English.
    """
    if language is None and template in PERSON_FACING:
        language = getattr(context.get("request"), "language", None)
    language = i18n.chosen(language) or i18n.DEFAULT
    with force_locale(language):
        body = render_template(f"email/{template}.txt", **context)
        subject = str(subject)
    msg = _message(to, subject, body)
    url = current_app.config["DSAR_SMTP_URL"]
    if url:
        try:
            _smtp(msg, url)
        except smtplib.SMTPException as exc:
            raise MailError(f"SMTP refused the message: {type(exc).__name__}") from None
        log.info("mail %s sent by SMTP for request %s", template, request_id)
        return
    path = _write_outbox(msg)
    log.info("mail %s written to %s for request %s", template, path, request_id)
    if current_app.config["DSAR_ENV"] == "development":
        # On a developer's machine the outbox is a local folder: showing the link saves
        # opening the file. Anywhere else a link is a credential and stays out of logs.
        for name in ("link", "task_link"):
            if name in context:
                log.info("%s for request %s: %s", _LINK_WORDS[name], request_id, context[name])
