"""The periodic chase of systems with no API: remind owners, escalate what is overdue.

Safe from any number of workers at once: every message is claimed by a unique
(request, key) row in `reminders` before it is sent.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from dsar import i18n, mail, transitions
from dsar.extensions import db
from dsar.models import DataSystem, SystemKind, Task, TaskStatus, utcnow
from dsar.services import manual_words
from dsar.services.events import record
from dsar.services.manual import issue_link, link_info, local_date
from dsar.services.manual_notices import claim, escalate

log = logging.getLogger(__name__)


def _remind(task: Task, number: int, day: int, sent_at: datetime, due: date) -> bool:
    reminder = claim(task, f"task-{task.id}-{number}-remind-{day}")
    if reminder is None:
        return False
    req, system = task.request, task.system
    reminder.recipients = 1
    record(
        req,
        "manual_task_reminded",
        actor="system",
        detail={"task": task.id, "system": system.key, "day": day},
    )
    language = manual_words.owner_language(system)
    with force_locale(language):
        task_words = manual_words.task_phrase(task)
        subject = gettext(
            "Reminder: %(task)s by %(day)s (%(reference)s)",
            task=task_words,
            day=i18n.day(due),
            reference=req.reference,
        )
    mail.send(
        to=system.contact,
        subject=subject,
        template="manual_reminder",
        language=language,
        task=task,
        request=req,
        system=system,
        task_words=task_words,
        sent_on=local_date(sent_at),
        due=due,
        request_id=req.id,
    )
    db.session.commit()
    return True


def _chase_one(task: Task, now: datetime, offsets: list[int], counts: dict[str, int]) -> None:
    link = link_info(task)
    if link is None or link.get("unassigned") or link.get("action") != task.action.value:
        return
    if task.request.status not in transitions.OPEN_STATUSES:
        return
    if link.get("mail_failed") and task.token_hash is None:
        if issue_link(task, force=True, now=now):
            counts["resent"] += 1
        return
    if task.token_hash is None:
        return
    sent_at = datetime.fromisoformat(link["sent_at"])
    due_at = datetime.fromisoformat(link["due_at"])
    number = int(link["n"])
    if now >= due_at:
        due = local_date(due_at)
        if task.escalated_at is None and escalate(task, number, why="overdue", now=now, due=due):
            counts["escalated"] += 1
        return
    # Only the latest reminder reached is sent: a chase that ran late sends one, not three.
    reached = [d for d in offsets if sent_at + timedelta(days=d) <= now]
    if reached and _remind(task, number, max(reached), sent_at, local_date(due_at)):
        counts["reminded"] += 1


def chase(now: datetime | None = None) -> dict[str, int]:
    """Remind owners on the configured days, escalate past the deadline; each once.

    Safe from any number of workers at once: every message is claimed by a unique
    (request, key) row in `reminders` before it is sent.
    """
    now = now or utcnow()
    offsets = sorted(current_app.config["DSAR_MANUAL_REMINDER_DAYS"])
    counts = {"reminded": 0, "escalated": 0, "resent": 0}
    task_ids = db.session.scalars(
        select(Task.id)
        .join(DataSystem, Task.system_id == DataSystem.id)
        .where(Task.status == TaskStatus.ACTION_REQUIRED, DataSystem.kind == SystemKind.MANUAL)
        .order_by(Task.id)
    ).all()
    for task_id in task_ids:
        task = db.session.get(Task, task_id)
        if task is not None:
            _chase_one(task, now, offsets, counts)
    log.info(
        "manual tasks: %d reminded, %d escalated, %d links sent again",
        counts["reminded"],
        counts["escalated"],
        counts["resent"],
    )
    return counts
