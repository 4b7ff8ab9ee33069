"""Systems with no API: email the owner a one-time link, and tell officers when they cannot.

The owner's report is taken in dsar.services.manual_reports, the reminders and escalations
of the periodic chase are in dsar.services.manual_chase.

The link is the owner's only credential: the database keeps its SHA-256, the email holds it
once. The person's identity goes in that email and on the link's page (the owner must know
whom to look for), never in URLs, logs, events or job arguments.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from dsar import i18n, mail, transitions
from dsar.documents.words import system_name
from dsar.exceptions import LinkInvalid, ManualTaskRefused
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Event,
    Request,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.services import manual_notices, manual_words
from dsar.services.events import record
from dsar.tokens import digest, new_token

log = logging.getLogger(__name__)

# The link outlives the owner's deadline by this much, so that a late report still lands
# after the officer has been told; past it, an officer sends a fresh link.
GRACE_DAYS = 7
MAX_NOTE = 2000
MAX_COUNT = 10**6

# What an owner may report for each action; "nothing" always means no records were held.
OUTCOMES: dict[TaskAction, tuple[str, ...]] = {
    TaskAction.LOCATE: ("found", "nothing"),
    TaskAction.ERASE: ("erased", "nothing"),
    TaskAction.OPT_OUT: ("opted_out", "nothing"),
    TaskAction.CORRECT: ("corrected", "nothing"),
    TaskAction.RESTRICT: ("restricted", "nothing"),
    TaskAction.OBJECT: ("objected", "nothing"),
    TaskAction.LIMIT_SENSITIVE: ("limited", "nothing"),
    TaskAction.LIFT: ("lifted", "nothing"),
}
_LINK_EVENTS = ("manual_task_sent", "manual_task_unassigned")


def deadline_days(system: DataSystem) -> int:
    """Days the owner has: the system's own `deadline_days`, else DSAR_MANUAL_DAYS."""
    days = (system.config or {}).get("deadline_days")
    return int(days) if days else int(current_app.config["DSAR_MANUAL_DAYS"])


def instructions(system: DataSystem) -> str:
    return str((system.config or {}).get("instructions") or "")


def link_info(task: Task) -> dict[str, Any] | None:
    """What the current link was issued for: action, number, sent/due times, recipient."""
    link = (task.result or {}).get("link")
    return link if isinstance(link, dict) else None


def local_date(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(current_app.config["DSAR_TIMEZONE"])).date()


def due_date(task: Task) -> date | None:
    link = link_info(task)
    return local_date(datetime.fromisoformat(link["due_at"])) if link else None


def _live(task: Task, now: datetime) -> bool:
    expires = task.token_expires_at
    return task.token_hash is not None and expires is not None and expires > now


def _links_issued(task: Task) -> int:
    """How many links this task has had: numbers each link, so reminder keys never clash."""
    details = db.session.scalars(
        select(Event.detail).where(
            Event.request_id == task.request_id, Event.action.in_(_LINK_EVENTS)
        )
    ).all()
    return sum(1 for d in details if d.get("task") == task.id)


def issue_link(
    task: Task, *, force: bool = False, actor: str = "system", now: datetime | None = None
) -> bool:
    """Email the system's owner a one-time link to report on the task; True if this call did.

    Idempotent: a task whose live link was issued for its current action is left alone,
    unless `force` (an officer resending) replaces it; the old link then stops working.
    """
    if task.system.kind is not SystemKind.MANUAL:
        raise ManualTaskRefused("Only a manual system's owner gets a task link.")
    if task.status in FINAL_TASK_STATUSES or task.status is TaskStatus.RUNNING:
        if force:
            raise ManualTaskRefused(f"This system's task is {task.status}; no link is needed.")
        return False
    now = now or utcnow()
    if not force and _already_issued(task, now):
        return False
    contact = task.system.contact.strip()
    token = new_token() if contact else None
    if not _swap_token(task, digest(token) if token else None):
        return False  # another process issued a link for this task at the same moment
    days = deadline_days(task.system)
    number = _links_issued(task) + 1
    due_at = now + timedelta(days=days)
    task.status = TaskStatus.ACTION_REQUIRED
    task.token_expires_at = now + timedelta(days=days + GRACE_DAYS) if token else None
    task.escalated_at = None
    task.reported_at = None
    task.result = {
        "link": {
            "action": task.action.value,
            "n": number,
            "sent_at": now.isoformat(),
            "due_at": due_at.isoformat(),
            "to": contact,
            "language": manual_words.owner_language(task.system),
            "unassigned": not contact,
        }
    }
    detail = {"task": task.id, "system": task.system.key, "action": task.action.value}
    if not contact:
        record(task.request, "manual_task_unassigned", actor=actor, detail={**detail, "n": number})
        db.session.commit()
        manual_notices.escalate(task, number, why="unassigned", now=now, due=None)
        return True
    due = local_date(due_at)
    record(
        task.request,
        "manual_task_sent",
        actor=actor,
        detail={**detail, "n": number, "due": due.isoformat()},
    )
    db.session.commit()
    try:
        _send_link(task, token or "", due)
    except (OSError, mail.MailError):
        _mail_failed(task)
        return False
    manual_notices.tell_person(task, due)
    return True


def _mail_failed(task: Task) -> None:
    """Keep no link the owner never got; the next chase (or engine call) sends a fresh one.

    A mail outage must not stop the fan-out that called us, so this does not raise.
    """
    log.exception("task %s: the owner's link could not be emailed; the chase will retry", task.id)
    task.token_hash = None
    task.token_expires_at = None
    task.result = {"link": {**(link_info(task) or {}), "mail_failed": True}}
    record(
        task.request,
        "manual_task_mail_failed",
        actor="system",
        detail={"task": task.id, "system": task.system.key},
    )
    db.session.commit()


def _already_issued(task: Task, now: datetime) -> bool:
    """A live link (or an escalation for want of a contact) for the task's current action."""
    link = link_info(task)
    if link is None or link.get("action") != task.action.value:
        return False
    if task.status is not TaskStatus.ACTION_REQUIRED:
        return False
    return _live(task, now) or bool(link.get("unassigned"))


def _swap_token(task: Task, new_hash: str | None) -> bool:
    """Replace the task's token only if no one else did since we read it: one winner."""
    old = task.token_hash
    same_token = Task.token_hash.is_(None) if old is None else Task.token_hash == old
    result = db.session.execute(
        update(Task)
        .where(Task.id == task.id, same_token)
        .values(token_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return False
    task.token_hash = new_hash
    return True


def _send_link(task: Task, token: str, due: date) -> None:
    """The owner's email, in the language the registry gives them (English by default)."""
    req, system = task.request, task.system
    language = manual_words.owner_language(system)
    with force_locale(language):
        task_words = manual_words.task_phrase(task)
        subject = gettext(
            "Action needed by %(day)s: %(task)s (%(reference)s)",
            day=i18n.day(due),
            task=task_words,
            reference=req.reference,
        )
        context = {
            "task_words": task_words,
            "steps": manual_words.steps(task),
            "changes": manual_words.changes_to_make(task),
            "whom": manual_words.whom(task),
            "system_name": system_name(system),
        }
    mail.send(
        to=system.contact,
        subject=subject,
        template="manual_task",
        language=language,
        task=task,
        request=req,
        system=system,
        due=due,
        instructions=instructions(system),
        task_link=f"{current_app.config['DSAR_BASE_URL']}/task/{token}",
        request_id=req.id,
        **context,
    )


def find_task(token: str) -> Task:
    """The open task this link is for; LinkInvalid whether unknown, used or expired."""
    task = db.session.scalar(select(Task).where(Task.token_hash == digest(token)))
    if (
        task is None
        or task.status is not TaskStatus.ACTION_REQUIRED
        or not _live(task, utcnow())
        or task.request.status not in transitions.OPEN_STATUSES
    ):
        raise LinkInvalid("This link has been used or has expired.")
    return task


def resend(req: Request, task_id: int, *, actor: str) -> None:
    """An officer's "send the link again": a fresh token replaces the old one."""
    task = next((t for t in req.tasks if t.id == task_id), None)
    if task is None or task.system.kind is not SystemKind.MANUAL:
        raise ManualTaskRefused("Only a manual system's task has an owner's link.")
    if not task.system.contact.strip():
        raise ManualTaskRefused(
            f"{task.system.name} has no contact address; an admin must add one first."
        )
    issue_link(task, force=True, actor=actor)
