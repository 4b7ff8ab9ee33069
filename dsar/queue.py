"""The web side of RQ: one function enqueues every job, with ids only and JSON."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

TASKS = "tasks"
DOCUMENTS = "documents"
QUEUE_NAMES = (TASKS, DOCUMENTS)


def init_app(app: Flask) -> None:
    app.extensions["dsar_redis"] = None


def connection() -> Redis:
    redis = current_app.extensions.get("dsar_redis")
    if redis is None:
        redis = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=10)
        current_app.extensions["dsar_redis"] = redis
    return redis


def get_queue(name: str) -> Queue:
    return Queue(name, connection=connection(), serializer=JSONSerializer)


def enqueue(
    func: str,
    *ids: int,
    queue_name: str,
    job_id: str,
    timeout: int,
    retries: int = 0,
    intervals: list[int] | None = None,
    delay: int = 0,
) -> None:
    """Enqueue `func(*ids)`, after `delay` seconds; jobs take database ids only."""
    if not all(isinstance(i, int) for i in ids):
        raise TypeError("jobs take integer ids only")
    retry = Retry(max=retries, interval=intervals or 0) if retries else None
    options = {
        "job_id": job_id,
        "retry": retry,
        "job_timeout": timeout,
        "result_ttl": 3600,
        "failure_ttl": 7 * 24 * 3600,
    }
    target = get_queue(queue_name)
    if delay:
        target.enqueue_in(timedelta(seconds=delay), func, *ids, **options)
    else:
        target.enqueue(func, *ids, **options)
    log.info("enqueued %s%s as %s on %s", func, ids, job_id, queue_name)


def job_alive(job_id: str) -> bool:
    """Whether Redis still holds the job waiting, scheduled or running (not failed or gone)."""
    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in {
        JobStatus.QUEUED,
        JobStatus.SCHEDULED,
        JobStatus.DEFERRED,
        JobStatus.STARTED,
    }
