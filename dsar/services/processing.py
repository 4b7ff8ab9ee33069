"""Fan a request out to every data system, run each task, fan in exactly once, compile.

The database is the source of truth: a task row per request-and-system records status, attempts
and the last error. Jobs carry only ids. Every state change is committed before the next job
is enqueued, so a worker always finds the row it was sent for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from dsar import documents, mail, queue, transitions
from dsar.connectors import Identity, Outcome, connector_for
from dsar.exceptions import ConnectorError
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Document,
    Request,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.rules import ACTIONS, APPROVAL_KINDS
from dsar.services.events import record

log = logging.getLogger(__name__)


class TaskFailed(Exception):
    """Raised from a job so that RQ retries it; the message holds no personal data."""


def start(req: Request) -> None:
    """Create one task per enabled system and enqueue them all.

    Kinds that need an officer's approval (deletion) first run a dry run: every system is
    searched, nothing is changed, and the request waits for approval with what was found.
    """
    dry_run = req.kind in APPROVAL_KINDS
    action = TaskAction.LOCATE if dry_run else ACTIONS[req.kind]
    systems = db.session.scalars(
        select(DataSystem).where(DataSystem.enabled.is_(True)).order_by(DataSystem.id)
    ).all()
    existing = {t.system_id for t in req.tasks}
    for system in systems:
        if system.id not in existing:
            # A system with no API waits for a person to act and report (marked done by hand).
            manual = system.kind is SystemKind.MANUAL
            status = TaskStatus.ACTION_REQUIRED if manual else TaskStatus.PENDING
            req.tasks.append(Task(system=system, action=action, status=status))
    before = transitions.move(
        req, RequestStatus.AWAITING_APPROVAL if dry_run else RequestStatus.IN_PROGRESS
    )
    record(
        req,
        "dry_run" if dry_run else "fan_out",
        actor="system",
        before=before,
        after=req.status,
        detail={"action": action.value, "systems": [s.key for s in systems]},
    )
    db.session.commit()
    enqueue_pending(req)
    fan_in(req.id)  # a request with no enabled systems is complete at once


def enqueue_pending(req: Request) -> None:
    """Send every pending task of the request to the workers, then mark it queued."""
    config = current_app.config
    for task in [t for t in req.tasks if t.status is TaskStatus.PENDING]:
        queue.enqueue(
            "workers.jobs.run_system_task",
            task.id,
            queue_name=queue.TASKS,
            job_id=f"task-{task.id}-{task.attempts}",
            retries=config["DSAR_TASK_RETRIES"],
            intervals=config["DSAR_RETRY_INTERVALS"],
            timeout=config["DSAR_TASK_TIMEOUT"],
        )
        db.session.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.PENDING)
            .values(status=TaskStatus.QUEUED)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


# Settings a system's config may name as `${...}`: folders and URLs, never secrets.
PLACEHOLDERS = ("DSAR_DEMO_DIR", "DSAR_HELPDESK_URL")


def _settings() -> dict[str, str]:
    return {name: str(current_app.config[name]) for name in PLACEHOLDERS}


def _act(task: Task) -> Outcome:
    req, system = task.request, task.system
    connector = connector_for(
        system.kind,
        system.config,
        settings=_settings(),
        timeout=current_app.config["DSAR_CONNECTOR_TIMEOUT"],
    )
    identity = Identity(email=req.email, phone=req.phone, name=req.name)
    calls: dict[TaskAction, Callable[[Identity], Outcome]] = {
        TaskAction.LOCATE: connector.locate,
        TaskAction.ERASE: connector.erase,
        TaskAction.OPT_OUT: connector.opt_out,
    }
    return calls[task.action](identity)


def run_task(task_id: int, *, last_attempt: bool) -> None:
    """Run one request-and-system task; record success, a retry, or the final failure."""
    task = db.session.get(Task, task_id)
    if task is None or task.status in FINAL_TASK_STATUSES:
        return  # already done: a repeated job changes nothing
    task.status = TaskStatus.RUNNING
    task.attempts += 1
    task.started_at = utcnow()
    db.session.commit()
    try:
        outcome = _act(task)
    except Exception as exc:  # any failure is recorded on the task, then retried
        db.session.rollback()
        message = str(exc) if isinstance(exc, ConnectorError) else type(exc).__name__
        _record_failure(task, message, last_attempt=last_attempt)
        raise TaskFailed(f"task {task_id}: {message}") from None
    task.status = TaskStatus.SUCCEEDED
    task.found_count = outcome.found
    task.erased_count = outcome.erased
    task.retained_count = outcome.retained
    task.result = outcome.as_json()
    task.last_error = ""
    task.finished_at = utcnow()
    record(
        task.request,
        "task_succeeded",
        actor="worker",
        detail={
            "system": task.system.key,
            "action": task.action.value,
            "found": outcome.found,
            "erased": outcome.erased,
            "attempt": task.attempts,
        },
    )
    db.session.commit()
    fan_in(task.request_id)


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
    if last_attempt:
        fan_in(task.request_id)


def fan_in(request_id: int) -> None:
    """When every task is final, move the request on; exactly one caller wins the move."""
    statuses = db.session.scalars(select(Task.status).where(Task.request_id == request_id)).all()
    if any(s not in FINAL_TASK_STATUSES for s in statuses):
        return
    failed = TaskStatus.FAILED in statuses
    after = RequestStatus.ACTION_REQUIRED if failed else RequestStatus.COMPILING
    if not transitions.move_if(request_id, RequestStatus.IN_PROGRESS, after):
        db.session.rollback()
        return
    req = db.session.get(Request, request_id)
    db.session.refresh(req)
    record(req, "fan_in", actor="worker", before=RequestStatus.IN_PROGRESS, after=after)
    db.session.commit()
    if after is RequestStatus.COMPILING:
        queue.enqueue(
            "workers.jobs.compile_response",
            request_id,
            queue_name=queue.DOCUMENTS,
            job_id=f"compile-{request_id}",
            timeout=current_app.config["DSAR_TASK_TIMEOUT"],
        )


def compile_response(request_id: int) -> None:
    """Render the answer's files once; a repeated job for a compiled request does nothing."""
    req = db.session.get(Request, request_id)
    if req is None or req.status is not RequestStatus.COMPILING:
        return
    files = documents.render_answer(req)
    folder: Path = current_app.config["DSAR_DOCUMENTS_DIR"]
    names = [f"{req.reference}-{f.kind.replace('_', '-')}-{f.sha256[:12]}{f.suffix}" for f in files]
    for name, rendered in zip(names, files, strict=True):
        documents.write_atomically(folder / name, rendered.data)
    if not transitions.move_if(request_id, RequestStatus.COMPILING, RequestStatus.COMPLETED):
        db.session.rollback()
        # Another run finished first; keep only the files its document rows name.
        stored = select(Document.filename).where(Document.filename.in_(names))
        kept = set(db.session.scalars(stored))
        for name in set(names) - kept:
            (folder / name).unlink(missing_ok=True)
        return
    db.session.refresh(req)
    req.completed_at = utcnow()
    for name, rendered in zip(names, files, strict=True):
        db.session.add(
            Document(
                request=req,
                kind=rendered.kind,
                filename=name,
                sha256=rendered.sha256,
                size=len(rendered.data),
                render_seconds=rendered.seconds,
            )
        )
    record(
        req,
        "response_compiled",
        actor="worker",
        before=RequestStatus.COMPILING,
        after=RequestStatus.COMPLETED,
        detail={
            "documents": [
                {"kind": f.kind, "sha256": f.sha256, "bytes": len(f.data)} for f in files
            ],
            "sha256": files[0].sha256,
            "bytes": len(files[0].data),
            "render_seconds": round(files[0].seconds, 3),
        },
    )
    db.session.commit()
    mail.send(
        to=req.email,
        subject=f"Your answer to request {req.reference} is ready",
        template="ready",
        request=req,
        request_id=req.id,
    )
