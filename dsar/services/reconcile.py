"""Find work whose job was lost and send it again; the database says what must still happen.

Redis holds no state the database cannot rebuild: if Redis is flushed or restarted, or a
worker dies with SIGKILL in the middle of a job, the task rows still say `queued` or
`running`. This periodic job (and `flask dsar reconcile`) compares them with Redis:

- a queued or retrying task whose job Redis no longer holds is sent again;
- a running task older than its job's time limit plus DSAR_LOST_AFTER is taken back (its
  worker died: a live job would have been stopped by RQ at its time limit) and sent again;
- a pending task that could start (nothing it waits for) but was never sent is sent;
- a request still `in_progress` whose tasks are all final is moved on (the hand-over after
  its last task was lost, say to a database restart);
- a request stuck in `compiling` without a compile job gets one;
- a portability package queued for another company, with no outcome and no live job, is
  sent again (the receiver sees the same Content-Digest and X-DSAR-Reference);
- a change of a person's choice still waiting for a system, with no live job, is sent again;
- a webhook delivery still pending, with no live job, is sent again (same Dsar-Delivery id).

Every connector call is idempotent, so running a task again is safe.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from dsar import queue
from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, Request, RequestStatus, Task, TaskStatus, utcnow
from dsar.services import choice_sync, fanin, fanout, transfer, webhook_delivery, workflow
from dsar.services.events import record

log = logging.getLogger(__name__)

WAITING = (TaskStatus.QUEUED, TaskStatus.RETRYING)


def run(now: datetime | None = None) -> dict[str, int]:
    """Resend lost work; return how many tasks and compile jobs were sent again."""
    now = now or utcnow()
    grace = timedelta(seconds=current_app.config["DSAR_LOST_AFTER"])
    stale_start = now - timedelta(seconds=current_app.config["DSAR_TASK_TIMEOUT"]) - grace
    counts = {
        "requeued": 0,
        "recovered": 0,
        "started": 0,
        "fanned_in": 0,
        "compiles": 0,
        "transfers": 0,
        "choices": 0,
        "webhooks": 0,
    }
    for task in db.session.scalars(select(Task).where(Task.status.in_(WAITING))).all():
        queued_long_enough = task.queued_at is None or task.queued_at < now - grace
        if queued_long_enough and not queue.job_alive(task.job_id):
            counts["requeued"] += _resend(task, TaskStatus(task.status), "job_lost")
    running = select(Task).where(Task.status == TaskStatus.RUNNING, Task.started_at < stale_start)
    for task in db.session.scalars(running).all():
        counts["recovered"] += _resend(task, TaskStatus.RUNNING, "worker_lost")
    counts["started"] = _start_pending(now - grace)
    counts["fanned_in"] = _fan_in_finished()
    counts["compiles"] = _recompile(now - grace)
    counts["transfers"] = _resend_transfers(now - grace)
    counts["choices"] = choice_sync.resend_lost(now - grace)
    counts["webhooks"] = webhook_delivery.resend_lost(now - grace)
    if any(counts.values()):
        log.warning("reconciler resent lost work: %s", counts)
    return counts


def _resend(task: Task, was: TaskStatus, why: str) -> int:
    """Send the task again if it still has status `was`; one caller wins."""
    job_id = f"task-{task.id}-{task.attempts}-{secrets.token_hex(3)}"
    moved = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == was, Task.job_id == task.job_id)
        .values(status=TaskStatus.QUEUED, job_id=job_id, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return 0
    record(
        task.request,
        "task_resent",
        actor="reconciler",
        detail={"system": task.system.key, "why": why, "status_was": was.value},
    )
    db.session.commit()
    fanout.send_task_job(task.id, job_id)
    return 1


def _start_pending(before: datetime) -> int:
    """Pending tasks of running requests (or dry runs) that nobody sent: a crash between a
    commit and the send."""
    stuck = db.session.scalars(
        select(Request)
        .join(Task)
        .where(
            Request.status.in_((RequestStatus.IN_PROGRESS, RequestStatus.AWAITING_APPROVAL)),
            Task.status == TaskStatus.PENDING,
            Request.received_at < before,
        )
        .distinct()
    ).all()
    started = 0
    for req in stuck:
        pending = {t.id for t in req.tasks if t.status is TaskStatus.PENDING}
        workflow.dispatch(req)
        db.session.refresh(req)
        started += sum(1 for t in req.tasks if t.id in pending and t.status != TaskStatus.PENDING)
    return started


def _fan_in_finished() -> int:
    """Requests in progress whose every task is final: the fan-in after the last one was
    lost. fan_in is one conditional UPDATE, so a worker fanning in at the same moment and
    this job never both move a request."""
    unfinished = select(Task.id).where(
        Task.request_id == Request.id, Task.status.not_in(FINAL_TASK_STATUSES)
    )
    stuck = db.session.scalars(
        select(Request.id).where(
            Request.status == RequestStatus.IN_PROGRESS,
            Request.tasks.any(),
            ~unfinished.exists(),
        )
    ).all()
    return sum(1 for request_id in stuck if fanin.fan_in(request_id))


def _resend_transfers(before: datetime) -> int:
    sent = 0
    for request_id in transfer.unfinished(before):
        if not queue.job_alive(f"transfer-{request_id}"):
            transfer.send_job(request_id)
            sent += 1
    return sent


def _recompile(before: datetime) -> int:
    stuck = db.session.scalars(
        select(Request.id).where(
            Request.status == RequestStatus.COMPILING, Request.received_at < before
        )
    ).all()
    sent = 0
    for request_id in stuck:
        if not queue.job_alive(f"compile-{request_id}"):
            fanin.send_compile_job(request_id)
            sent += 1
    return sent
