"""Fan in: when every task of a request is final, move the request on, exactly once.

Any number of workers may finish a request's last tasks at the same moment; the move is one
conditional UPDATE (in_progress -> compiling, or -> action_required when a system failed),
so exactly one caller wins it and sends the compile job.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from dsar import queue, transitions
from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, Request, RequestStatus, Task, TaskStatus
from dsar.services import notifications
from dsar.services.events import record


def fan_in(request_id: int) -> bool:
    """When every task is final, move the request on; exactly one caller wins the move.
    Returns whether this call moved it."""
    statuses = db.session.scalars(select(Task.status).where(Task.request_id == request_id)).all()
    if any(s not in FINAL_TASK_STATUSES for s in statuses):
        return False
    failed = TaskStatus.FAILED in statuses
    after = RequestStatus.ACTION_REQUIRED if failed else RequestStatus.COMPILING
    if not transitions.move_if(request_id, RequestStatus.IN_PROGRESS, after):
        db.session.rollback()
        _dry_run_done(request_id)
        return False
    req = db.session.get(Request, request_id)
    db.session.refresh(req)
    moved = record(req, "fan_in", actor="worker", before=RequestStatus.IN_PROGRESS, after=after)
    db.session.commit()
    if after is RequestStatus.COMPILING:
        send_compile_job(request_id)
    else:
        notifications.waiting(req, f"failed-{moved.id}", "A data system failed")
    return True


def _dry_run_done(request_id: int) -> None:
    """A dry run whose every task is final waits for an officer's approval: tell them once."""
    req = db.session.get(Request, request_id)
    if req is not None and req.status is RequestStatus.AWAITING_APPROVAL:
        notifications.waiting(req, "approval", "Waiting for your approval")


def send_compile_job(request_id: int) -> None:
    """PDFs render on their own queue, in forking workers, within DSAR_PDF_TIMEOUT."""
    queue.enqueue(
        "workers.jobs.compile_response",
        request_id,
        queue_name=queue.DOCUMENTS,
        job_id=f"compile-{request_id}",
        timeout=current_app.config["DSAR_PDF_TIMEOUT"],
    )
