"""Fan a request out: one task per enabled data system, sent to the workers when it may start.

The database is the source of truth: a task row per request-and-system records status,
attempts and the last error. Jobs carry only ids. A task is claimed (pending -> queued, one
conditional UPDATE) and committed before its job is enqueued, so a worker always finds the
row it was sent for and two callers never send the same task twice.

Some systems search by identifiers that others find (the shop by the customer id the CRM
holds): such a task waits until the tasks that provide them are final.
"""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select, update

from dsar import queue, transitions
from dsar.connectors import dependencies
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Request,
    RequestStatus,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.rules import ACTIONS, APPROVAL_KINDS
from dsar.services.events import record


def create_tasks(req: Request) -> None:
    """Give the request one pending task per enabled system and move it on; commits.

    Kinds that need an officer's approval (deletion) first run a dry run: every system is
    searched, nothing is changed, and the request waits for approval with what was found.
    A lift has a task in each system where the lifted request set its flag.
    """
    dry_run = req.kind in APPROVAL_KINDS and not req.is_lift
    action = TaskAction.LOCATE if dry_run else ACTIONS[req.kind]
    query = select(DataSystem).where(DataSystem.enabled.is_(True)).order_by(DataSystem.id)
    if req.is_lift:
        # A lift undoes what the lifted request did: only where its flag was set.
        action = TaskAction.LIFT
        query = query.where(DataSystem.id.in_(flagged_systems(req.lift_of)))
    systems = db.session.scalars(query).all()
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


def flagged_systems(req: Request) -> list[int]:
    """The systems in which the request's flag was set (its task succeeded)."""
    return [
        t.system_id
        for t in req.tasks
        if t.action is ACTIONS[req.kind] and t.status is TaskStatus.SUCCEEDED
    ]


def _deps(task: Task) -> tuple[frozenset[str], frozenset[str]]:
    return dependencies(task.system.kind, task.system.config)


def waits_for(task: Task, tasks: list[Task]) -> list[Task]:
    """The other tasks whose identifiers this one needs (one step: providers that need none)."""
    needs = _deps(task)[0]
    if not needs:
        return []
    return [t for t in tasks if t is not task and _deps(t)[1] & needs and not _deps(t)[0]]


def needs(task: Task) -> frozenset[str]:
    """The identifiers (beyond email, phone and name) the task's system searches by."""
    return _deps(task)[0]


def ready(req: Request) -> list[Task]:
    """The pending tasks whose inputs are ready: nothing they wait for is still open."""
    tasks = list(req.tasks)
    return [
        task
        for task in tasks
        if task.status is TaskStatus.PENDING
        and not any(t.status not in FINAL_TASK_STATUSES for t in waits_for(task, tasks))
    ]


def send(task: Task) -> bool:
    """Claim the pending task and send its job; False if another caller claimed it first."""
    job_id = f"task-{task.id}-{task.attempts}-{secrets.token_hex(3)}"
    claimed = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == TaskStatus.PENDING)
        .values(status=TaskStatus.QUEUED, job_id=job_id, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return False
    send_task_job(task.id, job_id)
    return True


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
