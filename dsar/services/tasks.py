"""Run one request's task in one data system, on a worker: locate, erase, correct, set a
flag (opt out, restrict, object, limit the use of sensitive data) or lift one.

A task is claimed before it runs (queued -> running, one conditional UPDATE), so a job sent
twice runs once; a system with a concurrency cap makes extra jobs come back a second later
without spending an attempt. Success and failure are recorded on the task row and in the
request's history; what follows (dependent tasks, fan-in) is the workflow's business.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from dsar.connectors import Identity, Outcome
from dsar.exceptions import ConnectorError
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.rules import ACTIONS, FLAG_PURPOSES
from dsar.services import correcting, fanout
from dsar.services.connections import connector
from dsar.services.events import record

log = logging.getLogger(__name__)

CLAIMABLE = (TaskStatus.QUEUED, TaskStatus.RETRYING, TaskStatus.PENDING)


class TaskFailed(Exception):
    """Raised from a job so that RQ retries it; the message holds no personal data.

    `final`: no retry is left, the task is failed for good.
    """

    def __init__(self, message: str, *, request_id: int, final: bool) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.final = final


@dataclass(frozen=True)
class Ran:
    """What a run did: `finished` when this call recorded the task's success."""

    request_id: int | None
    finished: bool


def identity_for(task: Task) -> Identity:
    """The person, plus identifiers that the systems this one waits for found for them."""
    req = task.request
    extra: dict[str, set[str]] = {}
    needs = fanout.needs(task)
    for other in fanout.waits_for(task, list(req.tasks)):
        for found in (other.result or {}, other.preview or {}):
            for name, values in (found.get("identifiers") or {}).items():
                if name in needs:
                    extra.setdefault(name, set()).update(str(v) for v in values)
    identity = Identity(
        email=req.email,
        phone=req.phone,
        name=req.name,
        extra={name: tuple(sorted(values)) for name, values in extra.items()},
        region=current_app.config["DSAR_PHONE_REGION"],
    )
    return correcting.before(req, identity) if req.correction else identity


def _act(task: Task) -> Outcome:
    reach = connector(task.system)
    identity = identity_for(task)
    calls: dict[TaskAction, Callable[[Identity], Outcome]] = {
        TaskAction.LOCATE: reach.locate,
        TaskAction.ERASE: reach.erase,
    }
    if task.action is TaskAction.CORRECT:
        # Proof of correction: search again with the new values; each place the system
        # changed must show them.
        outcome, missing = correcting.correct(reach, task, identity)
        task.proof_checked_at, task.remaining_count = utcnow(), missing
        if missing:
            raise ConnectorError(
                f"{missing} changed place(s) do not show the new value when searched again; "
                "check the system's correct settings"
            )
        return outcome
    if task.action is TaskAction.LIFT:  # the flag the lifted request set, removed
        return reach.lift(identity, FLAG_PURPOSES[ACTIONS[task.request.kind]])
    purpose = FLAG_PURPOSES.get(task.action)
    if purpose is not None:  # opt out, restrict, object, limit: set what the registry names
        return reach.flag(identity, purpose)
    outcome = calls[task.action](identity)
    if task.action is TaskAction.ERASE:
        # Proof of erasure: search again; only data kept under an exception may remain.
        after = reach.locate(identity)
        task.proof_checked_at = utcnow()
        task.remaining_count = max(after.found - after.retained, 0)
        if task.remaining_count:
            raise ConnectorError(
                f"{task.remaining_count} record(s) still found after erasing; "
                "check the system's dataset description"
            )
    return outcome


def _claim(task_id: int) -> str:
    """Take the task for this worker: 'ok', 'busy' (the system's cap is reached) or 'done'."""
    task = db.session.get(Task, task_id)
    if task is None or task.status in FINAL_TASK_STATUSES:
        return "done"
    cap = task.system.max_concurrency
    if cap:
        # Lock the system's row (PostgreSQL) so that two claims never both see a free slot.
        db.session.execute(
            select(DataSystem.id).where(DataSystem.id == task.system_id).with_for_update()
        )
        running = db.session.scalar(
            select(func.count(Task.id)).where(
                Task.system_id == task.system_id, Task.status == TaskStatus.RUNNING
            )
        )
        if running >= cap:
            db.session.rollback()
            return "busy"
    claimed = db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status.in_(CLAIMABLE))
        .values(status=TaskStatus.RUNNING, attempts=Task.attempts + 1, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return "ok" if claimed.rowcount == 1 else "done"


def run(task_id: int, *, last_attempt: bool = False) -> Ran:
    """Run one request-and-system task; record success, a retry, or the final failure.

    Raises `TaskFailed` after recording a failure, so that RQ retries the job.
    """
    claim = _claim(task_id)
    if claim == "busy":
        # The system is at its cap: come back shortly, without spending an attempt.
        job_id = f"task-{task_id}-wait-{secrets.token_hex(3)}"
        db.session.execute(
            update(Task).where(Task.id == task_id).values(job_id=job_id, queued_at=utcnow())
        )
        db.session.commit()
        fanout.send_task_job(task_id, job_id, delay=1)
        return Ran(None, finished=False)
    if claim == "done":
        # Already done or taken: a repeat changes nothing, but names the request so that a
        # retry after a lost hand-over (the database dropped between the task's success
        # and the fan-in) still moves it on; fan_in is idempotent.
        request_id = db.session.scalar(select(Task.request_id).where(Task.id == task_id))
        return Ran(request_id, finished=False)
    task = db.session.get(Task, task_id)
    db.session.refresh(task)
    last_attempt = last_attempt or task.attempts > current_app.config["DSAR_TASK_RETRIES"]
    try:
        outcome = _act(task)
    except Exception as exc:  # any failure is recorded on the task, then retried
        proof = (task.proof_checked_at, task.remaining_count)
        db.session.rollback()
        task.proof_checked_at, task.remaining_count = proof
        message = str(exc) if isinstance(exc, ConnectorError) else type(exc).__name__
        _record_failure(task, message, last_attempt=last_attempt)
        raise TaskFailed(
            f"task {task_id}: {message}", request_id=task.request_id, final=last_attempt
        ) from None
    _record_success(task, outcome)
    return Ran(task.request_id, finished=True)


def _record_success(task: Task, outcome: Outcome) -> None:
    task.status = TaskStatus.SUCCEEDED
    task.found_count = outcome.found
    task.erased_count = outcome.erased
    task.retained_count = outcome.retained
    task.result = outcome.as_json()
    task.last_error = ""
    task.finished_at = utcnow()
    detail = {
        "system": task.system.key,
        "action": task.action.value,
        "found": outcome.found,
        "erased": outcome.erased,
        "retained": outcome.retained,
        "attempt": task.attempts,
    }
    if task.proof_checked_at is not None:
        detail["remaining_after_erase"] = task.remaining_count
    record(task.request, "task_succeeded", actor="worker", detail=detail)
    db.session.commit()


def _record_failure(task: Task, message: str, *, last_attempt: bool) -> None:
    task.status = TaskStatus.FAILED if last_attempt else TaskStatus.RETRYING
    task.last_error = message[:2000]
    if last_attempt:
        task.finished_at = utcnow()
    record(
        task.request,
        "task_failed" if last_attempt else "task_retrying",
        actor="worker",
        detail={"system": task.system.key, "attempt": task.attempts, "error": task.last_error},
    )
    db.session.commit()
    log.warning("task %s attempt %s failed: %s", task.id, task.attempts, task.last_error)
