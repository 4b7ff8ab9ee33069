"""The staff home's statistics: deadlines met per month, and how each data system fares.

Counting rules, shown beside the figures:
- a request is *answered* when it is completed or denied (cancelled and duplicate requests
  owe no answer); it belongs to the month, in `DSAR_TIMEZONE`, of its `completed_at`, and
  is *on time* when that calendar day is on or before its `due_on`, the date in force after
  any extension (as the evidence report's verdict: `dsar.documents.evidence`);
- a system's *failure rate* is the share of its tasks finished in the last 90 days that
  failed for good (retries exhausted); its *median time* is that of its latest successes
  in those days (at most SAMPLE), from the job being sent (for a system with no API, the
  owner's link) to done.

The queries read indexes (ix_requests_answered, ix_tasks_status), but a year of answers is
still many rows; the figures are kept in the process for a few minutes, and the page says
when they were computed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, case, func, select, union_all

from dsar.deadlines import add_months
from dsar.extensions import db
from dsar.models import DataSystem, Request, RequestStatus, Task, TaskStatus, utcnow

MONTHS = 12  # this month and the eleven before it
SYSTEM_DAYS = 90
SAMPLE = 1000  # a system's median is of its latest successes, at most this many
MAX_AGE = timedelta(minutes=5)
_CACHE = "dsar.dashboard_stats"
ANSWERED = (RequestStatus.COMPLETED, RequestStatus.DENIED)


@dataclass(frozen=True)
class Month:
    first_day: date
    answered: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.answered if self.answered else None


@dataclass(frozen=True)
class SystemFigures:
    name: str
    enabled: bool
    finished: int  # tasks finished (succeeded or failed) in the window
    failed: int
    median_seconds: float | None  # None: no task succeeded in the window

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class Statistics:
    computed_at: datetime
    months: list[Month]  # oldest first; the last is this month
    systems: list[SystemFigures]

    @property
    def this_month(self) -> Month:
        return self.months[-1]

    @property
    def year(self) -> Month:
        """The twelve months together."""
        return Month(
            self.months[0].first_day,
            sum(m.answered for m in self.months),
            sum(m.on_time for m in self.months),
        )


def statistics(*, now: datetime | None = None) -> Statistics:
    """The figures, computed at most MAX_AGE ago by this process."""
    now = now or utcnow()
    cached: Statistics | None = current_app.extensions.get(_CACHE)
    if cached is not None and timedelta(0) <= now - cached.computed_at < MAX_AGE:
        return cached
    fresh = compute(now=now)
    current_app.extensions[_CACHE] = fresh
    return fresh


def forget() -> None:
    """Drop the kept figures: the next page computes them afresh."""
    current_app.extensions.pop(_CACHE, None)


def compute(*, now: datetime) -> Statistics:
    zone = ZoneInfo(current_app.config["DSAR_TIMEZONE"])
    return Statistics(now, _months(now, zone), _systems(now))


# -- deadlines met, per month ---------------------------------------------------------------


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment `day` begins in `zone`."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _on_time(days: list[date], zone: ZoneInfo) -> ColumnElement[bool]:
    """Whether an answer given on one of `days` (or later) came by its due date.

    The day that counts is the local calendar day of the answer, which SQLite cannot work
    out from a UTC moment; so the UTC moments at which each local day begins find it, first
    the month, then the day within it (some forty comparisons at most), and the due date is
    compared with that day. Comparisons only: every database runs it alike.
    """
    by_month: dict[tuple[int, int], list[date]] = {}
    for day in days:
        by_month.setdefault((day.year, day.month), []).append(day)

    def within(month: list[date]) -> ColumnElement[bool]:
        whens = [
            (Request.completed_at < _midnight(later, zone), Request.due_on >= day)
            for day, later in itertools.pairwise(month)
        ]
        last = Request.due_on >= month[-1]
        return case(*whens, else_=last) if whens else last

    months = list(by_month.values())
    whens = [
        (Request.completed_at < _midnight(later[0], zone), within(month))
        for month, later in itertools.pairwise(months)
    ]
    return case(*whens, else_=within(months[-1])) if whens else within(months[-1])


def _months(now: datetime, zone: ZoneInfo) -> list[Month]:
    """One GROUP BY over the requests answered since the first of the month, eleven months
    ago: per month, how many, and how many on time."""
    today = now.astimezone(zone).date()
    firsts = [add_months(today.replace(day=1), -n) for n in range(MONTHS - 1, -1, -1)]
    days = [firsts[0] + timedelta(days=n) for n in range((today - firsts[0]).days + 1)]
    month = case(
        *((Request.completed_at < _midnight(day, zone), n) for n, day in enumerate(firsts[1:])),
        else_=MONTHS - 1,
    ).label("month")
    rows = db.session.execute(
        select(month, func.count(), func.sum(case((_on_time(days, zone), 1), else_=0)))
        .where(Request.status.in_(ANSWERED), Request.completed_at >= _midnight(firsts[0], zone))
        .group_by(month)
    ).all()
    found = {n: (answered, on_time or 0) for n, answered, on_time in rows}
    return [Month(day, *found.get(n, (0, 0))) for n, day in enumerate(firsts)]


# -- data systems -------------------------------------------------------------------------


def _finished(status: TaskStatus, since: datetime) -> ColumnElement[int]:
    """A system's tasks that ended in `status` since `since`: one range of ix_tasks_status."""
    return (
        select(func.count())
        .where(Task.system_id == DataSystem.id, Task.status == status, Task.finished_at >= since)
        .scalar_subquery()
    )


def _systems(now: datetime) -> list[SystemFigures]:
    """Every enabled system, and any other with tasks in the window: its tasks succeeded
    and failed there, counted in one query, and its median time."""
    since = now - timedelta(days=SYSTEM_DAYS)
    rows = db.session.execute(
        select(
            DataSystem.id,
            DataSystem.name,
            DataSystem.enabled,
            _finished(TaskStatus.SUCCEEDED, since),
            _finished(TaskStatus.FAILED, since),
        ).order_by(DataSystem.name)
    ).all()
    shown = [row for row in rows if row[2] or row[3] or row[4]]
    medians = _medians([row[0] for row in shown if row[3]], since)
    return [
        SystemFigures(name, enabled, succeeded + failed, failed, medians.get(system_id))
        for system_id, name, enabled, succeeded, failed in shown
    ]


def _medians(system_ids: list[int], since: datetime) -> dict[int, float]:
    """The median seconds, per system, of its latest SAMPLE successes in the window, from
    the job being queued (or claimed) to done; for a system with no API, from the owner's
    link (whose time the task's JSON keeps) to the owner's report. Each system's are read
    newest first down ix_tasks_status, so a busy year costs no more than a quiet week."""
    if not system_ids:
        return {}
    sent_at = Task.result[("link", "sent_at")].as_string().label("sent_at")
    latest = [
        select(
            select(Task.system_id, Task.queued_at, Task.started_at, sent_at, Task.finished_at)
            .where(
                Task.system_id == system_id,
                Task.status == TaskStatus.SUCCEEDED,
                Task.finished_at >= since,
            )
            .order_by(Task.finished_at.desc())
            .limit(SAMPLE)
            .subquery()
        )
        for system_id in system_ids
    ]
    seconds: dict[int, list[float]] = {}
    for system_id, queued, started, sent, finished in db.session.execute(union_all(*latest)):
        began = queued or started or _moment(sent)
        if began is not None and finished is not None:
            seconds.setdefault(system_id, []).append((finished - began).total_seconds())
    return {system_id: median(values) for system_id, values in seconds.items()}


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
