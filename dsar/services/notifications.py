"""Tell the staff what needs them: a request waiting for approval or review, a failed
system, an owner past due, a deadline near or passed.

Who: the request's assignee, else every active officer, else the admins
(`recipients.people`). Each is told once per (request, key): the notification's row is
claimed by a unique key, as reminders are, whatever the number of workers or restarts. How:
by each person's setting (`User.notify`): `now`, an email each; `digest`, one email a day
listing what came (`send_digests`, from the periodic jobs); `list`, only the list in the
workspace (/staff/notifications), where everything shows whatever the setting.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from dsar import mail
from dsar.extensions import db
from dsar.models import Notification, Request, User, utcnow
from dsar.services.recipients import people

log = logging.getLogger(__name__)

MODES = {
    "now": "An email for each, at once",
    "digest": "One email a day listing them",
    "list": "No email: only this list",
}
SHOWN = 100  # the list's length in the workspace


def tell(req: Request, key: str, subject: str, template: str, **context: Any) -> int:
    """Record the notification for each recipient once and email those who hear at once;
    how many people it reached for the first time. The caller's changes are committed."""
    told = 0
    for user in people(req):
        note = Notification(user_id=user.id, request_id=req.id, key=key[:48], subject=subject)
        try:
            with db.session.begin_nested():
                db.session.add(note)
        except IntegrityError:
            continue  # told already (another worker, an earlier run)
        told += 1
        if user.notify == "now":
            mail.send(
                to=user.email,
                subject=subject,
                template=template,
                request=req,
                request_id=req.id,
                **context,
            )
            note.emailed_at = utcnow()
    db.session.commit()
    if told:
        log.info("notification %s for request %s to %d people", key, req.id, told)
    return told


def waiting(req: Request, key: str, what: str) -> int:
    """A request that waits for an officer: its approval, its review, a failed system."""
    return tell(
        req,
        key,
        f"{what}: {req.reference}",
        "staff_notice",
        what=what,
    )


def send_digests() -> int:
    """Email each digest reader, once, what came since their last digest; how many emails."""
    sent = 0
    readers = db.session.scalars(
        select(User).where(User.notify == "digest", User.active.is_(True))
    ).all()
    for user in readers:
        pending = db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.emailed_at.is_(None))
            .order_by(Notification.id)
        ).all()
        if not pending:
            continue
        # Claim them first: a second run at the same moment finds nothing to send.
        claimed = db.session.execute(
            update(Notification)
            .where(Notification.id.in_([n.id for n in pending]), Notification.emailed_at.is_(None))
            .values(emailed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if claimed.rowcount != len(pending):
            continue
        mail.send(
            to=user.email,
            subject=f"dsar: {len(pending)} thing{'s' if len(pending) != 1 else ''} need you",
            template="staff_digest",
            request_id=None,
            notes=pending,
            user=user,
        )
        sent += 1
    return sent


def next_digest() -> datetime:
    """When the next digest goes out (DSAR_DIGEST_CRON, read in UTC)."""
    from croniter import croniter
    from flask import current_app

    return croniter(current_app.config["DSAR_DIGEST_CRON"], utcnow()).get_next(datetime)


def for_user(user: User) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(SHOWN)
        )
    )


def unread(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(user: User) -> int:
    done = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return done.rowcount


def set_mode(user: User, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(mode)
    user.notify = mode
    db.session.commit()
