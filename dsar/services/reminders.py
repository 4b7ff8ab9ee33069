"""Keep deadlines in sight: owed acknowledgements, reminders before the due date, overdue
alarms. Safe to run from any number of workers at once and after restarts: each reminder's
(request, key) row is unique, so it is sent once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dsar import transitions
from dsar.extensions import db
from dsar.models import Reminder, Request, RequestStatus
from dsar.services import clock, notifications
from dsar.services.events import record
from dsar.services.intake import acknowledge
from dsar.services.recipients import officers

log = logging.getLogger(__name__)


@dataclass
class Report:
    acknowledged: list[int] = field(default_factory=list)
    reminded: list[tuple[int, str]] = field(default_factory=list)
    recomputed: list[int] = field(default_factory=list)


def today_here() -> date:
    return datetime.now(ZoneInfo(current_app.config["DSAR_TIMEZONE"])).date()


def reminder_key(days_left: int, offsets: list[int], today: date) -> str | None:
    """Which reminder is due: the tightest offset reached, or a daily one once overdue."""
    if days_left < 0:
        return f"overdue-{today.isoformat()}"
    reached = [o for o in sorted(offsets) if o >= days_left]
    return f"before-{reached[0]}" if reached else None


def _send_once(req: Request, key: str, days_left: int) -> bool:
    try:
        with db.session.begin_nested():
            reminder = Reminder(request_id=req.id, key=key)
            db.session.add(reminder)
    except IntegrityError:
        return False  # another worker, or an earlier run, sent it
    recipients = officers(req)
    subject = (
        f"OVERDUE: {req.reference} was due {req.due_on:%-d %B %Y}"
        if days_left < 0
        else f"Due in {days_left} day{'s' if days_left != 1 else ''}: {req.reference}"
    )
    reminder.recipients = len(recipients)
    record(
        req,
        "reminder_sent",
        actor="system",
        detail={"key": key, "days_left": days_left, "recipients": len(recipients)},
    )
    db.session.commit()
    notifications.tell(req, f"deadline-{key}", subject, "reminder", days_left=days_left)
    return True


def _acknowledge_owed(req: Request, report: Report) -> None:
    """Send an acknowledgement that failed at intake; claimed first, like a reminder."""
    try:
        with db.session.begin_nested():
            db.session.add(Reminder(request_id=req.id, key="acknowledgement"))
    except IntegrityError:
        return  # another worker, or an earlier run, sent it
    subject = _l("We have received your request %(reference)s", reference=req.reference)
    if acknowledge(req, subject=subject, template="acknowledgement"):
        report.acknowledged.append(req.id)
    else:
        db.session.rollback()  # drop the claim so that a later run tries again


def run(*, today: date | None = None) -> Report:
    today = today or today_here()
    offsets = current_app.config["DSAR_REMINDER_DAYS"]
    report = Report()
    open_requests = db.session.scalars(
        select(Request)
        .where(Request.status.in_(transitions.OPEN_STATUSES))
        .order_by(Request.due_on, Request.id)
    ).all()
    for req in open_requests:
        if req.acknowledged_at is None and req.status is not RequestStatus.RECEIVED:
            _acknowledge_owed(req, report)
        if req.paused_since is not None:
            clock.recompute(req, today=today)  # a paused clock moves the date every day
            db.session.commit()
            report.recomputed.append(req.id)
            continue  # no reminders while the clock stands still
        key = reminder_key((req.due_on - today).days, offsets, today)
        if key and _send_once(req, key, (req.due_on - today).days):
            report.reminded.append((req.id, key))
    log.info(
        "reminders: %d sent, %d acknowledgements, %d paused dates moved",
        len(report.reminded),
        len(report.acknowledged),
        len(report.recomputed),
    )
    return report


def overdue(req: Request, today: date) -> bool:
    return req.status in transitions.OPEN_STATUSES and req.due_on < today
