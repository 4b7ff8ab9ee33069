"""Reaching one's choices without an account: a one-time link, emailed to the address.

Anyone may ask for a link for any address (the answer is the same whether we hold anything
about it or not); only the address's owner receives it. The link works once, within
LINK_VALID; opening it gives that browser SESSION_VALID with the address's choices (the
session keeps the link's id, never the address). At most PER_HOUR links a given address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from dsar import mail
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import ChoiceLink, utcnow
from dsar.services.consent import ChoiceRefused, normal_email
from dsar.tokens import digest, new_token

LINK_VALID = timedelta(hours=24)
SESSION_VALID = timedelta(hours=1)
PER_HOUR = 3


def url(token: str) -> str:
    return f"{current_app.config['DSAR_BASE_URL']}/choices/open/{token}"


def ask(raw_email: str, *, language: str) -> str:
    """Email a one-time link to the address; returns the normalised address."""
    email = normal_email(raw_email)
    now = utcnow()
    recent = db.session.scalar(
        select(func.count(ChoiceLink.id)).where(
            ChoiceLink.email == email, ChoiceLink.created_at > now - timedelta(hours=1)
        )
    )
    if recent >= PER_HOUR:
        raise ChoiceRefused(
            N_(
                "We have sent three links to this address in the last hour. Use the newest "
                "one, or ask again in an hour."
            ),
            "email",
        )
    token = new_token()
    link = ChoiceLink(token_hash=digest(token), email=email, created_at=now)
    db.session.add(link)
    db.session.commit()
    mail.send(
        to=email,
        subject=_l("Your link to your privacy choices"),
        template="choices_link",
        request_id=None,
        language=language,
        link=url(token),
        hours=int(LINK_VALID.total_seconds() // 3600),
    )
    return email


def open_link(token: str) -> ChoiceLink | None:
    """Spend the link: it works once, within LINK_VALID; None when it does not."""
    if not token or len(token) > 200:
        return None
    link = db.session.scalar(select(ChoiceLink).where(ChoiceLink.token_hash == digest(token)))
    now = utcnow()
    if link is None or link.used_at is not None or now - link.created_at > LINK_VALID:
        return None
    spent = db.session.execute(
        update(ChoiceLink)
        .where(ChoiceLink.id == link.id, ChoiceLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return link if spent.rowcount == 1 else None


def email_for(link_id: object) -> str | None:
    """The address an opened link still gives access to, or None once SESSION_VALID passed."""
    if not isinstance(link_id, int):
        return None
    link = db.session.get(ChoiceLink, link_id)
    if link is None or link.used_at is None or utcnow() - link.used_at > SESSION_VALID:
        return None
    return link.email


def purge(now: datetime, *, dry_run: bool = False) -> int:
    """Delete the links that can no longer be opened nor used (retention); their count."""
    old = select(ChoiceLink.id).where(ChoiceLink.created_at < now - LINK_VALID - SESSION_VALID)
    ids = list(db.session.scalars(old))
    if ids and not dry_run:
        db.session.execute(delete(ChoiceLink).where(ChoiceLink.id.in_(ids)))
        db.session.commit()
    return len(ids)
