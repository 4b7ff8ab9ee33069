"""Systems with no API: email the owner a one-time link, take their report, chase them.

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
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dsar import mail, transitions
from dsar.exceptions import LinkInvalid, ManualTaskRefused
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Event,
    Reminder,
    Request,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.services import decisions, processing
from dsar.services.events import record
from dsar.services.reminders import _recipients as staff_recipients
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
}
ACTION_WORDS = {
    TaskAction.LOCATE: "find",
    TaskAction.ERASE: "erase",
    TaskAction.OPT_OUT: "opt out",
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
            "unassigned": not contact,
        }
    }
    detail = {"task": task.id, "system": task.system.key, "action": task.action.value}
    if not contact:
        record(task.request, "manual_task_unassigned", actor=actor, detail={**detail, "n": number})
        db.session.commit()
        _escalate(task, number, why="unassigned", now=now)
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
    req, system = task.request, task.system
    words = ACTION_WORDS[task.action]
    mail.send(
        to=system.contact,
        subject=f"Action needed by {due:%-d %B %Y}: {words} a person in {system.name} "
        f"({req.reference})",
        template="manual_task",
        task=task,
        request=req,
        system=system,
        action_words=words,
        due=due,
        instructions=instructions(system),
        task_link=f"{current_app.config['DSAR_BASE_URL']}/task/{token}",
        request_id=req.id,
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


def _check_report(task: Task, outcome: str, count: int | None, note: str) -> tuple[int, str]:
    allowed = OUTCOMES[task.action]
    if outcome not in allowed:
        choices = " or ".join(f"'{o.replace('_', ' ')}'" for o in allowed)
        raise ManualTaskRefused(
            f"This task asks you to {ACTION_WORDS[task.action]}: report {choices}.",
            field="outcome",
        )
    if count is None:
        if outcome in ("found", "erased"):
            raise ManualTaskRefused(
                f"Give the number of records you {outcome.replace('_', ' ')}.", field="count"
            )
        count = 0
    if not 0 <= count <= MAX_COUNT:
        raise ManualTaskRefused(f"Give a number from 0 to {MAX_COUNT:,}.", field="count")
    if outcome == "nothing" and count:
        raise ManualTaskRefused(
            "You chose that nothing was found: leave the number empty or 0.", field="count"
        )
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ManualTaskRefused(f"Keep the note under {MAX_NOTE:,} characters.", field="note")
    return count, note


def _receipt(system: DataSystem, outcome: str, count: int) -> str:
    if outcome == "nothing":
        return f"{system.name}: no records held, checked by the owner"
    if outcome == "opted_out":
        return f"{system.name}: opted out by the owner ({count} record(s))"
    return f"{system.name}: {count} record(s) {outcome} by the owner"


def report(task: Task, *, outcome: str, count: int | None, note: str) -> None:
    """Record what the owner found, erased or opted out; the link is used up.

    Checked first, then the link is claimed in one UPDATE so that two reports through the
    same link (a double click, two tabs) record one outcome; the loser gets LinkInvalid.
    """
    count, note = _check_report(task, outcome, count, note)
    if task.status is not TaskStatus.ACTION_REQUIRED or task.token_hash is None:
        raise LinkInvalid("This link has been used or has expired.")
    claimed = db.session.execute(
        update(Task)
        .where(
            Task.id == task.id,
            Task.token_hash == task.token_hash,
            Task.status == TaskStatus.ACTION_REQUIRED,
        )
        .values(token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise LinkInvalid("This link has been used or has expired.")
    now = utcnow()
    task.token_hash = None
    task.status = TaskStatus.SUCCEEDED
    task.found_count = count if outcome != "nothing" else 0
    task.erased_count = count if outcome == "erased" else 0
    task.note = note
    link = link_info(task)
    task.result = {
        "receipts": [_receipt(task.system, outcome, count)],
        "records": {},
        **({"link": link} if link else {}),
    }
    task.reported_at = task.finished_at = now
    task.last_error = ""
    # The note may name the person or their records: it stays on the task, not in the event.
    record(
        task.request,
        "manual_task_reported",
        actor="owner",
        detail={"task": task.id, "system": task.system.key, "outcome": outcome, "count": count},
    )
    db.session.commit()
    req = task.request
    if req.status is RequestStatus.ACTION_REQUIRED:
        decisions._resume_after_task_change(req)
    else:
        processing.fan_in(req.id)


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


# -- the periodic chase ------------------------------------------------------------------


def _claim(task: Task, key: str) -> Reminder | None:
    """Claim one message for this task; None when another worker or run already did."""
    try:
        with db.session.begin_nested():
            reminder = Reminder(request_id=task.request_id, key=key)
            db.session.add(reminder)
    except IntegrityError:
        return None
    return reminder


def _escalate(task: Task, number: int, *, why: str, now: datetime) -> bool:
    """Tell the request's assignee (or every officer) once that the owner has not acted."""
    reminder = _claim(task, f"task-{task.id}-{number}-escalate")
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
    recipients = staff_recipients(req)
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
    for to in recipients:
        mail.send(
            to=to,
            subject=f"Owner has not acted: {task.system.name} for {req.reference}"
            if why == "overdue"
            else f"No owner to ask: {task.system.name} for {req.reference}",
            template="manual_escalated",
            task=task,
            request=req,
            system=task.system,
            why=why,
            due=due_date(task),
            request_id=req.id,
        )
    db.session.commit()
    return True


def _remind(task: Task, number: int, day: int, sent_at: datetime, due: date) -> bool:
    reminder = _claim(task, f"task-{task.id}-{number}-remind-{day}")
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
    mail.send(
        to=system.contact,
        subject=f"Reminder: {ACTION_WORDS[task.action]} a person in {system.name} by "
        f"{due:%-d %B %Y} ({req.reference})",
        template="manual_reminder",
        task=task,
        request=req,
        system=system,
        action_words=ACTION_WORDS[task.action],
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
        if task.escalated_at is None and _escalate(task, number, why="overdue", now=now):
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
