"""Fan a request out to every data system, run each task, fan in exactly once, compile.

The database is the source of truth: a task row per request-and-system records status, attempts
and the last error. Jobs carry only ids. Every state change is committed before the next job
is enqueued, so a worker always finds the row it was sent for.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update

from dsar import mail, queue, transitions
from dsar.connectors import Connector, Identity, Outcome, connector_for, dependencies
from dsar.documents.compose import render_answer
from dsar.documents.render import write_atomically
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
            req.tasks.append(Task(system=system, action=action, status=TaskStatus.PENDING))
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


def _deps(task: Task) -> tuple[frozenset[str], frozenset[str]]:
    return dependencies(task.system.kind, task.system.config)


def _waits_for(task: Task, tasks: list[Task]) -> list[Task]:
    """The other tasks whose identifiers this one needs (one step: providers that need none)."""
    needs = _deps(task)[0]
    if not needs:
        return []
    return [t for t in tasks if t is not task and _deps(t)[1] & needs and not _deps(t)[0]]


def _blocked(task: Task, tasks: list[Task]) -> bool:
    return any(t.status not in FINAL_TASK_STATUSES for t in _waits_for(task, tasks))


def enqueue_pending(req: Request) -> None:
    """Send every pending task whose inputs are ready to the workers.

    A task is claimed (pending -> queued, one conditional UPDATE) before its job is sent, so
    two callers never send the same task twice; a job lost between the two is found by the
    reconciler. A system with no API gets its owner's task link instead of a job.
    """
    tasks = list(req.tasks)
    for task in tasks:
        if task.status is not TaskStatus.PENDING or _blocked(task, tasks):
            continue
        if task.system.kind is SystemKind.MANUAL:
            from dsar.services import manual  # the owner's flow; imports processing itself

            manual.issue_link(task)
            continue
        job_id = f"task-{task.id}-{task.attempts}-{secrets.token_hex(3)}"
        claimed = db.session.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.PENDING)
            .values(status=TaskStatus.QUEUED, job_id=job_id, queued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if claimed.rowcount == 1:
            send_task_job(task.id, job_id)
    db.session.expire_all()


def send_task_job(task_id: int, job_id: str, *, delay: int = 0) -> None:
    config = current_app.config
    queue.enqueue(
        "workers.jobs.run_system_task",
        task_id,
        queue_name=queue.TASKS,
        job_id=job_id,
        retries=config["DSAR_TASK_RETRIES"],
        intervals=config["DSAR_RETRY_INTERVALS"],
        timeout=config["DSAR_TASK_TIMEOUT"],
        delay=delay,
    )


# Settings a system's config may name as `${...}`: folders and URLs, never secrets.
PLACEHOLDERS = ("DSAR_DEMO_DIR", "DSAR_HELPDESK_URL")


def _settings() -> dict[str, str]:
    return {name: str(current_app.config[name]) for name in PLACEHOLDERS}


def _pseudonym_key() -> bytes:
    key = current_app.config["DSAR_PSEUDONYM_KEY"]
    if key:
        return key.encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"pseudonyms", "sha256").digest()


def connector(system: DataSystem) -> Connector:
    return connector_for(
        system.kind,
        system.config,
        settings=_settings(),
        timeout=current_app.config["DSAR_CONNECTOR_TIMEOUT"],
        pseudonym_key=_pseudonym_key(),
    )


def identity_for(task: Task) -> Identity:
    """The person, plus identifiers that the systems this one waits for found for them."""
    req = task.request
    extra: dict[str, set[str]] = {}
    needs = _deps(task)[0]
    for other in _waits_for(task, list(req.tasks)):
        for found in (other.result or {}, other.preview or {}):
            for name, values in (found.get("identifiers") or {}).items():
                if name in needs:
                    extra.setdefault(name, set()).update(str(v) for v in values)
    return Identity(
        email=req.email,
        phone=req.phone,
        name=req.name,
        extra={name: tuple(sorted(values)) for name, values in extra.items()},
        region=current_app.config["DSAR_PHONE_REGION"],
    )


def _act(task: Task) -> Outcome:
    reach = connector(task.system)
    identity = identity_for(task)
    calls: dict[TaskAction, Callable[[Identity], Outcome]] = {
        TaskAction.LOCATE: reach.locate,
        TaskAction.ERASE: reach.erase,
        TaskAction.OPT_OUT: reach.opt_out,
    }
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


CLAIMABLE = (TaskStatus.QUEUED, TaskStatus.RETRYING, TaskStatus.PENDING)


def run_task(task_id: int, *, last_attempt: bool = False) -> None:
    """Run one request-and-system task; record success, a retry, or the final failure."""
    claim = _claim(task_id)
    if claim == "busy":
        # The system is at its cap: come back shortly, without spending an attempt.
        job_id = f"task-{task_id}-wait-{secrets.token_hex(3)}"
        db.session.execute(
            update(Task).where(Task.id == task_id).values(job_id=job_id, queued_at=utcnow())
        )
        db.session.commit()
        send_task_job(task_id, job_id, delay=1)
        return
    if claim == "done":
        return  # already done or taken: a repeated job changes nothing
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
        raise TaskFailed(f"task {task_id}: {message}") from None
    _record_success(task, outcome)
    req = db.session.get(Request, task.request_id)
    if any(t.status is TaskStatus.PENDING for t in req.tasks):
        enqueue_pending(req)  # tasks waiting for this one's identifiers may start now
    fan_in(task.request_id)


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
        send_compile_job(request_id)


def send_compile_job(request_id: int) -> None:
    """PDFs render on their own queue, in forking workers, within DSAR_PDF_TIMEOUT."""
    queue.enqueue(
        "workers.jobs.compile_response",
        request_id,
        queue_name=queue.DOCUMENTS,
        job_id=f"compile-{request_id}",
        timeout=current_app.config["DSAR_PDF_TIMEOUT"],
    )


def compile_response(request_id: int) -> None:
    """Render the answer's files once; a repeated job for a compiled request does nothing."""
    req = db.session.get(Request, request_id)
    if req is None or req.status is not RequestStatus.COMPILING:
        return
    try:
        files = render_answer(req)
    except Exception as exc:  # a render that fails or runs out of time: an officer must look
        db.session.rollback()
        if transitions.move_if(request_id, RequestStatus.COMPILING, RequestStatus.ACTION_REQUIRED):
            req = db.session.get(Request, request_id)
            record(
                req,
                "compile_failed",
                actor="worker",
                before=RequestStatus.COMPILING,
                after=RequestStatus.ACTION_REQUIRED,
                detail={"error": type(exc).__name__},
            )
            db.session.commit()
        raise
    folder: Path = current_app.config["DSAR_DOCUMENTS_DIR"]
    names = [f"{req.reference}-{f.kind.replace('_', '-')}-{f.sha256[:12]}{f.suffix}" for f in files]
    for name, rendered in zip(names, files, strict=True):
        write_atomically(folder / name, rendered.data)
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
    req.delivery_expires_at = req.completed_at + timedelta(
        days=current_app.config["DSAR_DELIVERY_DAYS"]
    )
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
