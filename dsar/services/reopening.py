"""Reopening a completed request: an officer, with a reason, runs the work again.

A person says the answer missed a system, or a deletion left records behind: the officer
reopens the request. Every system's task runs again (a dry run first where the kind needs
approval, as the first time), and a new answer replaces the old one when the work is done.
Nothing is forgotten: the reopening is an event in the request's history, with the reason
and what each system reported before; the earlier documents keep their rows and SHA-256.
"""

from __future__ import annotations

from sqlalchemy import select

from dsar import inputs, transitions
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Request,
    RequestKind,
    RequestStatus,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.rules import ACTIONS, APPROVAL_KINDS
from dsar.services import workflow
from dsar.services.events import record
from dsar.services.fanout import flagged_systems

MAX_REASON = 1000
TASK_WORDS = {
    "locate": "searched again",
    "erase": "erased again",
    "opt_out": "opted out again",
    "restrict": "restricted again",
    "object": "marked again for the objection",
    "limit_sensitive": "limited again",
    "lift": "lifted again",
}


def check(req: Request) -> None:
    """Raise DecisionRefused, in words, if this request cannot be reopened now."""
    if req.status is not RequestStatus.COMPLETED:
        raise DecisionRefused(
            f"{req.reference} is {req.status.value.replace('_', ' ')}: only a completed "
            "request can be reopened."
        )
    if req.kind is RequestKind.CORRECTION:
        raise DecisionRefused(
            "A correction is decided change by change and its old values are gone: record a "
            "new correction request for what is still wrong."
        )
    if req.data_purged_at is not None:
        raise DecisionRefused(
            "What the systems found was purged under the retention policy: record a new "
            "request instead."
        )


def _first_action(req: Request) -> tuple[bool, str]:
    dry_run = req.kind in APPROVAL_KINDS and not req.is_lift
    action = "locate" if dry_run else ("lift" if req.is_lift else ACTIONS[req.kind].value)
    return dry_run, action


def _systems(req: Request) -> list[DataSystem]:
    """The systems the work runs in again: every enabled one (a lift: where its flag was)."""
    query = select(DataSystem).where(DataSystem.enabled.is_(True)).order_by(DataSystem.id)
    if req.is_lift:
        query = query.where(DataSystem.id.in_(flagged_systems(req.lift_of)))
    return list(db.session.scalars(query))


def effects(req: Request) -> list[str]:
    """What reopening will do, in words, for the officer to confirm."""
    dry_run, action = _first_action(req)
    systems = _systems(req)
    lines = [f"{s.name}: {TASK_WORDS.get(action, action)}." for s in systems]
    if dry_run:
        lines.append(
            "Nothing is changed before you approve again: the request waits for your "
            "approval with what the dry run finds."
        )
    lines.append(
        "A new answer replaces the current one when the work is done, and the person is "
        "emailed as the first time; the current answer cannot be downloaded meanwhile."
    )
    lines.append(
        f"The due date stays {req.due_on.isoformat()}; the reason and what each system "
        "reported before are kept in the request's history."
    )
    return lines


def _previous(task: Task) -> dict[str, object]:
    return {
        "system": task.system.key,
        "action": task.action.value,
        "status": task.status.value,
        "found": task.found_count,
        "erased": task.erased_count,
        "retained": task.retained_count,
    }


def _reset(task: Task, action: str) -> None:
    task.action = TaskAction(action)
    task.status = TaskStatus.PENDING
    task.attempts = 0
    task.found_count = task.erased_count = task.retained_count = 0
    task.result = task.preview = None
    task.last_error = task.note = task.job_id = ""
    task.queued_at = task.started_at = task.finished_at = None
    task.reported_at = task.escalated_at = task.proof_checked_at = None
    task.token_hash = task.token_expires_at = None
    task.remaining_count = None


def reopen(req: Request, reason: str, *, actor: str) -> None:
    """Run the request's work again in every system, for the reason given; commits."""
    check(req)
    reason = inputs.clean(reason or "")
    if not reason:
        raise DecisionRefused("Say why the request is reopened: it goes into its history.")
    if len(reason) > MAX_REASON:
        raise DecisionRefused(f"Keep the reason under {MAX_REASON:,} characters.")
    dry_run, action = _first_action(req)
    previous = [_previous(t) for t in req.tasks]
    systems = _systems(req)
    chosen = {s.id for s in systems}
    for task in req.tasks:
        _reset(task, action)
        if task.system_id not in chosen:
            task.status = TaskStatus.SKIPPED
            task.note = "The system was disabled when the request was reopened."
    have = {t.system_id for t in req.tasks}
    for system in systems:
        if system.id not in have:
            req.tasks.append(
                Task(system=system, action=TaskAction(action), status=TaskStatus.PENDING)
            )
    req.completed_at = None
    before = transitions.move(
        req, RequestStatus.AWAITING_APPROVAL if dry_run else RequestStatus.IN_PROGRESS
    )
    record(
        req,
        "reopened",
        actor=actor,
        before=before,
        after=req.status,
        detail={"reason": reason, "previous": previous},
    )
    db.session.commit()
    workflow.advance(req)
