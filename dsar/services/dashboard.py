"""The staff home's work: what waits, and for whom, counted as the queue counts.

Each count stops at `cap` + 1 (a LIMITed subquery; the page shows "1,000+"), so that the
home costs the same with a thousand requests or a million. The request counts walk the
queue's indexes on `requests` ((status, due_on, ...) and (assignee_id, status, ...)); the
counts of tasks waiting on an owner or failed read `tasks` by status. The statistics, which
read months of history, are in `dsar.services.dashboard_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, union_all

from dsar import transitions
from dsar.extensions import db
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Request,
    RequestStatus,
    Task,
    TaskStatus,
)

S = RequestStatus
SOON_DAYS = 7  # "due this week": today and the next seven days
URGENT = 5  # how many of the user's own requests the home lists
_OPEN = sorted(transitions.OPEN_STATUSES)


@dataclass(frozen=True)
class SystemCount:
    """A data system and the open requests that wait on it (an owner's report, or a retry)."""

    name: str
    requests: int


@dataclass(frozen=True)
class Work:
    """Counts of open requests; any count above the cap means "more than the cap"."""

    mine: int
    due_soon: int  # due within SOON_DAYS, overdue ones included (as the queue's filter)
    overdue: int
    awaiting_approval: int
    dry_run_done: int  # of those awaiting approval: every system has answered the dry run
    awaiting_review: int
    appeals: int
    waiting_on_owners: int
    failed: int
    owners: list[SystemCount] = field(default_factory=list)
    failing: list[SystemCount] = field(default_factory=list)
    urgent: list[Request] = field(default_factory=list)


def _open_with_task(status: TaskStatus) -> Select[tuple[int]]:
    """The open requests with a task in `status`: the few task index entries of that status
    (ix_tasks_status), then each request by its key."""
    ids = select(Task.request_id).where(Task.status == status)
    return select(Request.id).where(Request.id.in_(ids), Request.status.in_(_OPEN))


def _capped(query: Select[tuple[int]], cap: int, name: str) -> ColumnElement[int]:
    limited = query.limit(cap + 1).subquery()
    return select(func.count()).select_from(limited).scalar_subquery().label(name)


def _requests(*where: ColumnElement[bool]) -> Select[tuple[int]]:
    return select(Request.id).where(*where)


def _counts(user_id: int, today: date, cap: int) -> dict[str, int]:
    unfinished = exists().where(
        Task.request_id == Request.id, Task.status.not_in(FINAL_TASK_STATUSES)
    )
    has_tasks = exists().where(Task.request_id == Request.id)
    awaiting = Request.status == S.AWAITING_APPROVAL
    queries = {
        "mine": _requests(Request.assignee_id == user_id, Request.status.in_(_OPEN)),
        "due_soon": _requests(
            Request.status.in_(_OPEN), Request.due_on <= today + timedelta(days=SOON_DAYS)
        ),
        "overdue": _requests(Request.status.in_(_OPEN), Request.due_on < today),
        "awaiting_approval": _requests(awaiting),
        "dry_run_done": _requests(and_(awaiting, has_tasks, ~unfinished)),
        "awaiting_review": _requests(Request.status == S.READY_FOR_REVIEW),
        "appeals": _requests(Request.status == S.AWAITING_DECISION),
        "waiting_on_owners": _open_with_task(TaskStatus.ACTION_REQUIRED),
        "failed": _open_with_task(TaskStatus.FAILED),
    }
    columns = [_capped(query, cap, name) for name, query in queries.items()]
    row = db.session.execute(select(*columns)).one()
    return dict(zip(queries, row, strict=True))


def _by_system(cap: int) -> dict[TaskStatus, list[SystemCount]]:
    """Per system, the open requests with a task waiting on its owner, or failed there; each
    counted to the cap like the tiles, in one query over the systems (a request has one task
    per system, so its tasks count requests)."""
    statuses = (TaskStatus.ACTION_REQUIRED, TaskStatus.FAILED)

    def count(status: TaskStatus) -> ColumnElement[int]:
        tasks = (
            select(Task.id)
            .join(Request, Request.id == Task.request_id)
            .where(
                Task.status == status,
                Task.system_id == DataSystem.id,
                Request.status.in_(_OPEN),
            )
            .limit(cap + 1)
            .correlate_except(Task, Request)
            .subquery()
        )
        return select(func.count()).select_from(tasks).scalar_subquery()

    rows = db.session.execute(
        select(DataSystem.name, *(count(s) for s in statuses)).order_by(DataSystem.name)
    ).all()
    out: dict[TaskStatus, list[SystemCount]] = {s: [] for s in statuses}
    for name, *counts in rows:
        for status, n in zip(statuses, counts, strict=True):
            if n:
                out[status].append(SystemCount(name, n))
    for found in out.values():
        found.sort(key=lambda c: -c.requests)  # the most first; by name among equals
    return out


def _urgent(user_id: int) -> list[Request]:
    """The user's open requests that fall due first. Each open status is walked on its own
    down the (assignee_id, status, due_on, id) index, a few entries each; as one IN list, a
    planner may walk every request by due date to find someone's first five, or none."""
    firsts = union_all(
        *(
            select(
                select(Request.id, Request.due_on)
                .where(Request.assignee_id == user_id, Request.status == status)
                .order_by(Request.due_on, Request.id)
                .limit(URGENT)
                .subquery()
            )
            for status in _OPEN
        )
    ).subquery()
    chosen = select(firsts.c.id).order_by(firsts.c.due_on, firsts.c.id).limit(URGENT)
    return list(
        db.session.scalars(
            select(Request).where(Request.id.in_(chosen)).order_by(Request.due_on, Request.id)
        )
    )


def work(*, user_id: int, today: date, cap: int) -> Work:
    """What waits on the team and on `user_id`, as of `today` (the company's calendar day)."""
    counts = _counts(user_id, today, cap)
    systems = _by_system(cap)
    return Work(
        **counts,
        owners=systems[TaskStatus.ACTION_REQUIRED],
        failing=systems[TaskStatus.FAILED],
        urgent=_urgent(user_id),
    )
