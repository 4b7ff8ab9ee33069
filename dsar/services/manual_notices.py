"""Who is told what about a task waiting on a system owner, each message once: the officers
when nobody acts (an escalation), the person when part of their search is done by hand.

Every message is claimed by a unique (request, key) row in `reminders` before it is sent.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from dsar import i18n, mail
from dsar.documents.words import system_name
from dsar.extensions import db
from dsar.models import Reminder, Task, TaskStatus
from dsar.services import notifications
from dsar.services.events import record
from dsar.services.recipients import officers

log = logging.getLogger(__name__)


def claim(task: Task, key: str) -> Reminder | None:
    """Claim one message for this task; None when another worker or run already did."""
    try:
        with db.session.begin_nested():
            reminder = Reminder(request_id=task.request_id, key=key)
            db.session.add(reminder)
    except IntegrityError:
        return None
    return reminder


def escalate(task: Task, number: int, *, why: str, now: datetime, due: date | None) -> bool:
    """Tell the request's assignee (or every officer) once that the owner has not acted."""
    reminder = claim(task, f"task-{task.id}-{number}-escalate")
    if reminder is None:
        return False
    opened = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == TaskStatus.ACTION_REQUIRED)
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    if opened.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()  # reported meanwhile: nothing to escalate
        return False
    task.escalated_at = now
    req = task.request
    recipients = officers(req)
    reminder.recipients = len(recipients)
    record(
        req,
        "manual_task_escalated",
        actor="system",
        detail={
            "task": task.id,
            "system": task.system.key,
            "why": why,
            "recipients": len(recipients),
        },
    )
    db.session.commit()
    notifications.tell(
        req,
        f"owner-{task.id}-{number}",
        f"Owner has not acted: {task.system.name} for {req.reference}"
        if why == "overdue"
        else f"No owner to ask: {task.system.name} for {req.reference}",
        "manual_escalated",
        task=task,
        system=task.system,
        why=why,
        due=due,
    )
    return True


def tell_person(task: Task, due: date) -> bool:
    """Tell the person, once per request, that part of the search is done by hand and by
    when the colleague reports (the first owner's link of the request sends it)."""
    req = task.request
    if claim(task, f"owner-wait-{req.id}") is None:  # a key holds at most 32 characters
        return False
    record(req, "person_told_waiting", actor="system", detail={"task": task.id})
    db.session.commit()
    with force_locale(i18n.chosen(req.language) or i18n.DEFAULT):
        name = system_name(task.system)
    try:
        mail.send(
            to=req.email,
            subject=_l(
                "Your request %(reference)s: part of our search is done by hand",
                reference=req.reference,
            ),
            template="waiting_for_owner",
            request=req,
            system_name=name,
            due=due,
            request_id=req.id,
        )
    except (OSError, mail.MailError):  # the owner has their link; the page says it too
        log.exception("request %s: the person could not be told of the manual search", req.id)
    return True
