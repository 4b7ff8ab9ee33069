"""Prometheus metrics, computed at scrape time from Redis and the database.

gunicorn runs several web processes and the rq workers are processes of their own, so no
process holds the whole count: each scrape asks the shared state instead, with bounded
queries (one GROUP BY on an index per table of requests and tasks; each system's latest
finished tasks by `ix_tasks_status`). Labels are queue names, statuses, system keys and
document kinds: never personal data.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from dsar import queue
from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, DataSystem, Document, Request, Task

LATEST = 1000  # finished tasks per system whose durations give the quantiles


class DsarCollector:
    """The registry's one collector; `collect` runs inside the app context of the scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from queue_depths()
        yield request_counts()
        yield from task_metrics()
        yield from document_metrics()


def exposition() -> bytes:
    """The text a Prometheus scrape reads (format 0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DsarCollector())  # type: ignore[arg-type]
    return generate_latest(registry)


def queue_depths() -> Iterator[Metric]:
    waiting = GaugeMetricFamily("dsar_queue_jobs", "Jobs waiting in the queue.", labels=["queue"])
    started = GaugeMetricFamily(
        "dsar_queue_jobs_started", "Jobs a worker is running.", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "dsar_queue_jobs_failed", "Jobs in the failed registry (kept 7 days).", labels=["queue"]
    )
    for name in queue.QUEUE_NAMES:
        target = queue.get_queue(name)
        waiting.add_metric([name], target.count)
        registries = (StartedJobRegistry, FailedJobRegistry)
        running, dead = (r(queue=target).get_job_count(cleanup=False) for r in registries)
        started.add_metric([name], running)
        failed.add_metric([name], dead)
    return iter((waiting, started, failed))


def request_counts() -> Metric:
    family = GaugeMetricFamily("dsar_requests", "Requests by status.", labels=["status"])
    rows = db.session.execute(select(Request.status, func.count()).group_by(Request.status))
    for status, count in sorted(rows, key=lambda row: str(row[0])):
        family.add_metric([str(status)], count)
    return family


def task_metrics() -> Iterator[Metric]:
    # A gauge, not a counter: a task moves from status to status, so a count goes down too.
    counts = GaugeMetricFamily(
        "dsar_tasks_total", "Tasks by data system and status.", labels=["system", "status"]
    )
    keys = dict(db.session.execute(select(DataSystem.id, DataSystem.key)).all())
    rows = db.session.execute(
        select(Task.status, Task.system_id, func.count()).group_by(Task.status, Task.system_id)
    )
    for status, system_id, count in sorted(rows, key=lambda row: (row[1], str(row[0]))):
        counts.add_metric([keys.get(system_id, str(system_id)), str(status)], count)
    durations = GaugeMetricFamily(
        "dsar_task_duration_seconds",
        f"Queued to finished, over each system's latest {LATEST} finished tasks.",
        labels=["system", "quantile"],
    )
    for system_id, key in sorted(keys.items(), key=lambda item: item[1]):
        seconds = latest_durations(system_id)
        if len(seconds) < 2:
            continue
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        durations.add_metric([key, "0.5"], statistics.median(seconds))
        durations.add_metric([key, "0.95"], cuts[94])
    return iter((counts, durations))


def latest_durations(system_id: int) -> list[float]:
    """Seconds from queued to finished of the system's latest finished tasks: one index
    range per final status (status, system_id, finished_at), newest first, merged."""
    rows: list[tuple[datetime, datetime]] = []
    for status in sorted(FINAL_TASK_STATUSES):
        query = (
            select(Task.finished_at, Task.queued_at)
            .where(Task.status == status, Task.system_id == system_id)
            .where(Task.finished_at.is_not(None), Task.queued_at.is_not(None))
            .order_by(Task.finished_at.desc())
            .limit(LATEST)
        )
        rows.extend((done, queued) for done, queued in db.session.execute(query))
    rows.sort(key=lambda row: row[0], reverse=True)
    return [max((done - queued).total_seconds(), 0.0) for done, queued in rows[:LATEST]]


def document_metrics() -> Iterator[Metric]:
    rendered = CounterMetricFamily(
        "dsar_documents_rendered", "Documents rendered, by kind.", labels=["kind"]
    )
    # A summary without quantiles: _count and _sum, the average render time over any window.
    seconds = SummaryMetricFamily(
        "dsar_document_render_seconds", "Seconds spent rendering documents.", labels=["kind"]
    )
    rows = db.session.execute(
        select(Document.kind, func.count(), func.coalesce(func.sum(Document.render_seconds), 0))
        .group_by(Document.kind)
        .order_by(Document.kind)
    )
    for kind, count, total in rows:
        rendered.add_metric([kind], count)
        seconds.add_metric([kind], count_value=count, sum_value=float(total))
    return iter((rendered, seconds))
