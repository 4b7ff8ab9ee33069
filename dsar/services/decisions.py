"""An officer's decisions on a request: assign, note, approve, deny, clarify, close, and
what to do with a stuck data system. Every decision is an event naming who took it."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dsar import mail, transitions
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    Request,
    RequestKind,
    RequestStatus,
    Role,
    Task,
    TaskAction,
    TaskStatus,
    User,
    utcnow,
)
from dsar.rules import regime
from dsar.services import appeals, clock, workflow
from dsar.services.events import record

MAX_TEXT = 5000
S = RequestStatus


def _text(value: str, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DecisionRefused(f"Write the {what}.")
    if len(value) > MAX_TEXT:
        raise DecisionRefused(f"Keep the {what} under {MAX_TEXT:,} characters.")
    return value


def _move(req: Request, after: RequestStatus, action: str, actor: str, **detail: object) -> None:
    check_move(req, after, action)
    before = transitions.move(req, after)
    record(req, action, actor=actor, before=before, after=after, detail=dict(detail))


def _close(
    req: Request, after: RequestStatus, action: str, actor: str, why: str, **detail: object
) -> None:
    """Close the request (denied, duplicate, cancelled) and skip what had not run yet."""
    _move(req, after, action, actor, **detail)
    req.completed_at = utcnow()
    _close_tasks(req, why)


def _close_tasks(req: Request, why: str) -> None:
    for task in req.tasks:
        if task.status not in FINAL_TASK_STATUSES and task.status is not TaskStatus.RUNNING:
            task.status = TaskStatus.SKIPPED
            task.note = why


def assign(req: Request, user_id: int | None, *, actor: str) -> None:
    user = None
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.role not in (Role.OFFICER, Role.ADMIN):
            raise DecisionRefused("Assign the request to an active officer or admin.")
    req.assignee = user
    record(req, "assigned", actor=actor, detail={"user_id": user.id if user else None})
    db.session.commit()


def add_note(req: Request, text: str, *, actor: str) -> None:
    record(req, "note", actor=actor, detail={"note": _text(text, "note")})
    db.session.commit()


def dry_run_complete(req: Request) -> bool:
    return bool(req.tasks) and all(t.status in FINAL_TASK_STATUSES for t in req.tasks)


# What approving a dry run does, per kind (a correction is decided change by change).
APPROVED_ACTIONS = {
    RequestKind.DELETION: TaskAction.ERASE,
    RequestKind.OBJECTION: TaskAction.OBJECT,
}


def approve(req: Request, *, actor: str) -> None:
    """Act for real on what the dry run found, in every system not skipped: erase, or
    uphold an objection."""
    if req.status is not S.AWAITING_APPROVAL:
        raise DecisionRefused(f"{req.reference} is not waiting for approval.")
    action = APPROVED_ACTIONS.get(req.kind)
    if action is None:
        raise DecisionRefused(
            f"{req.reference} is a correction: decide each change on the request's page."
        )
    if not dry_run_complete(req):
        raise DecisionRefused("Wait for the dry run to finish in every system.")
    if any(t.status is TaskStatus.FAILED for t in req.tasks):
        raise DecisionRefused("Retry or skip the systems whose dry run failed first.")
    for task in req.tasks:
        if task.status is TaskStatus.SKIPPED:
            continue
        task.preview = task.result
        task.result = None
        task.action = action
        task.status = TaskStatus.PENDING
        task.attempts = 0
        task.found_count = task.erased_count = task.retained_count = 0
        task.started_at = task.finished_at = None
    _move(req, S.IN_PROGRESS, "approved", actor)
    db.session.commit()
    workflow.advance(req)


def check_deny(req: Request, reason_key: str, text: str) -> None:
    """Raise DecisionRefused, in words, if this denial would be refused (before the officer
    is asked to confirm it)."""
    check_move(req, S.DENIED, "denied")
    _deny_checks(req, reason_key, text)


def check_move(req: Request, after: RequestStatus, action: str) -> None:
    """Raise DecisionRefused if the transition table does not allow the move now."""
    if after not in transitions.TRANSITIONS[req.status]:
        raise DecisionRefused(
            f"{req.reference} is {req.status.value.replace('_', ' ')}: it cannot be "
            f"{action.replace('_', ' ')} now."
        )


def _deny_checks(req: Request, reason_key: str, text: str) -> tuple[Any, str]:
    rules = regime(req.regime)
    if req.is_appeal and req.status is S.AWAITING_DECISION:
        raise DecisionRefused(
            f"{req.reference} is an appeal: grant or refuse it in writing on its page."
        )
    if req.is_appeal:  # granted: the written decision stands; what the law keeps is per system
        raise DecisionRefused(
            f"{req.reference} is a granted appeal: carry it out, recording per system what the "
            "law requires you to keep, or cancel it with a reason."
        )
    reason = rules.denial(reason_key)
    if reason is None:
        raise DecisionRefused(f"Choose one of the reasons {rules.name} allows.")
    return reason, _text(text, "explanation", required=reason.free_text_required)


def deny(req: Request, reason_key: str, text: str, *, actor: str) -> None:
    """Refuse, telling the person why, under which rule, and how to complain or appeal."""
    rules = regime(req.regime)
    reason, text = _deny_checks(req, reason_key, text)
    _close(
        req,
        S.DENIED,
        "denied",
        actor,
        "request denied",
        reason=reason_key,
        citation=reason.citation,
    )
    req.denial_reason, req.denial_text = reason_key, text
    appeal_link = appeals.issue_link(req)
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l("Your request %(reference)s: we cannot carry it out", reference=req.reference),
        template="denied",
        request=req,
        reason=reason,
        text=text,
        regime=rules,
        appeal_link=appeal_link,
        request_id=req.id,
    )


def ask_clarification(req: Request, question: str, *, actor: str, pause: bool) -> None:
    """Ask the person a question; pause the clock too where the law allows it."""
    question = _text(question, "question")
    if req.status not in transitions.OPEN_STATUSES:
        raise DecisionRefused(f"{req.reference} is closed.")
    record(req, "clarification_requested", actor=actor, detail={"question": question})
    db.session.commit()
    rules = regime(req.regime)
    pausing = pause and rules.pause and "clarification" in rules.pause.grounds
    if pausing and not req.paused_since:  # one email says both: the question, the pause
        clock.pause(req, reason=clock.WAITING_FOR_ANSWER, actor=actor, tell=False)
    mail.send(
        to=req.email,
        subject=_l("A question about your request %(reference)s", reference=req.reference),
        template="clarification",
        request=req,
        question=question,
        paused=req.paused_since is not None,
        request_id=req.id,
    )


def mark_duplicate(req: Request, of_reference: str, *, actor: str) -> None:
    earlier = db.session.scalar(select(Request).where(Request.reference == of_reference.strip()))
    if earlier is None or earlier.id == req.id:
        raise DecisionRefused("Give the reference of the earlier request this one repeats.")
    _close(req, S.DUPLICATE, "marked_duplicate", actor, "duplicate request", of=earlier.reference)
    req.duplicate_of = earlier
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l(
            "Your request %(reference)s repeats %(earlier)s",
            reference=req.reference,
            earlier=earlier.reference,
        ),
        template="duplicate",
        request=req,
        earlier=earlier,
        request_id=req.id,
    )


def mark_spam(req: Request, *, actor: str) -> None:
    """Close without writing to the address given: it may not belong to the sender."""
    _close(req, S.CANCELLED, "marked_spam", actor, "spam")
    db.session.commit()


def cancel(req: Request, reason: str, *, actor: str) -> None:
    reason = _text(reason, "reason")
    _close(req, S.CANCELLED, "cancelled", actor, "request cancelled", reason=reason)
    db.session.commit()
    mail.send(
        to=req.email,
        subject=_l("Your request %(reference)s is closed", reference=req.reference),
        template="cancelled",
        request=req,
        reason=reason,
        request_id=req.id,
    )


def retry_task(task: Task, *, actor: str) -> None:
    if task.status is not TaskStatus.FAILED:
        raise DecisionRefused(f"Only a failed system can be retried; this one is {task.status}.")
    task.status = TaskStatus.PENDING
    task.finished_at = None
    record(task.request, "task_retry", actor=actor, detail={"system": task.system.key})
    workflow.resume(task.request)


def retry_failed(req: Request, *, actor: str) -> int:
    """Resume a request that needs action: run again only its failed tasks (and its answer).

    Tasks that succeeded keep their results; a request whose answer failed to render is
    sent back to compiling. Returns how many tasks were sent again.
    """
    if req.status is not S.ACTION_REQUIRED:
        raise DecisionRefused(
            f"{req.reference} is {req.status}; only a request needing action resumes."
        )
    failed = [t for t in req.tasks if t.status is TaskStatus.FAILED]
    for task in failed:
        task.status = TaskStatus.PENDING
        task.finished_at = None
    record(
        req,
        "retry_failed",
        actor=actor,
        detail={"systems": [t.system.key for t in failed]},
    )
    workflow.resume(req)
    return len(failed)


def skip_task(task: Task, reason: str, *, actor: str) -> None:
    reason = _text(reason, "reason for skipping")
    if task.status in {TaskStatus.SUCCEEDED, TaskStatus.SKIPPED, TaskStatus.RUNNING}:
        raise DecisionRefused(f"This system's task is {task.status}; it cannot be skipped now.")
    task.status = TaskStatus.SKIPPED
    task.note = reason
    task.finished_at = utcnow()
    record(
        task.request,
        "task_skipped",
        actor=actor,
        detail={"system": task.system.key, "reason": reason},
    )
    workflow.resume(task.request)


def complete_manual_task(task: Task, found: int, note: str, *, actor: str) -> None:
    """Record what a person did by hand in a system dsar cannot reach."""
    if task.status is not TaskStatus.ACTION_REQUIRED:
        raise DecisionRefused("Only a task waiting for someone to act can be marked done.")
    if found < 0:
        raise DecisionRefused("The number of records cannot be negative.")
    task.status = TaskStatus.SUCCEEDED
    task.found_count = found
    if task.action is TaskAction.ERASE:
        task.erased_count = found
    task.note = _text(note, "note", required=False)
    task.finished_at = utcnow()
    record(
        task.request,
        "task_done_by_hand",
        actor=actor,
        detail={"system": task.system.key, "found": found},
    )
    workflow.resume(task.request)
