"""The path of a request, in one place: the steps that follow one another call down from here.

    intake (received, verified) ──> start: fan out ──> dispatch: a job per system with an
    API, a one-time link per system without ──> tasks run on workers ──> dispatch what waited
    for their identifiers ──> fan in ──> compile the answer (documents queue) ──> completed

Officers' decisions (approve, retry, skip, done by hand) and owners' reports change tasks,
then call `advance` or `resume` here; the services below never call back up (see the import
contract in pyproject.toml).
"""

from __future__ import annotations

from dsar import transitions
from dsar.extensions import db
from dsar.models import Request, RequestStatus, SystemKind, TaskStatus
from dsar.services import fanin, fanout, manual, tasks
from dsar.services.events import record


def start(req: Request) -> None:
    """Fan a verified (or verification-free) request out to every enabled system."""
    prepare(req)
    advance(req)  # a request with no enabled systems is complete at once


def prepare(req: Request) -> None:
    """Give the request its tasks and commit them with whatever the caller changed (the
    request itself, its verification): one transaction, so no crash leaves a verified
    request without tasks. The reconciler sends tasks that a crash left pending."""
    fanout.create_tasks(req)


def dispatch(req: Request) -> None:
    """Send every task whose inputs are ready: a job, or the owner's link for a system with
    no API. Safe to call again: each task is claimed before it is sent."""
    for task in fanout.ready(req):
        if task.system.kind is SystemKind.MANUAL:
            manual.issue_link(task)
        else:
            fanout.send(task)
    db.session.expire_all()


def advance(req: Request) -> None:
    """Send what may start, then move the request on if every task is final."""
    dispatch(req)
    fanin.fan_in(req.id)


def resume(req: Request) -> None:
    """After a task changed by hand (retried, skipped, done, reported): a request that needed
    action runs on when no system is failed any more."""
    if req.status is RequestStatus.ACTION_REQUIRED and not any(
        t.status is TaskStatus.FAILED for t in req.tasks
    ):
        before = transitions.move(req, RequestStatus.IN_PROGRESS)
        record(req, "resumed", actor="system", before=before, after=req.status)
    db.session.commit()
    advance(req)


def run_task(task_id: int, *, last_attempt: bool = False) -> None:
    """A worker's job: run the task, then start what waited for it and fan in.

    A failure is re-raised (RQ retries the job); the last one fans in, so that the request
    moves to action_required for an officer.
    """
    try:
        ran = tasks.run(task_id, last_attempt=last_attempt)
    except tasks.TaskFailed as failed:
        if failed.final:
            fanin.fan_in(failed.request_id)
        raise
    if ran.request_id is None:
        return
    if ran.finished:
        req = db.session.get(Request, ran.request_id)
        if req is not None and any(t.status is TaskStatus.PENDING for t in req.tasks):
            dispatch(req)  # tasks waiting for this one's identifiers may start now
    fanin.fan_in(ran.request_id)
