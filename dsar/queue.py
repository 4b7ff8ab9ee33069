"""The web side of RQ: one function enqueues every job, with ids only and JSON."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
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
) -> None:
    """Enqueue `func(*ids)`; jobs take database ids only, never personal data."""
    if not all(isinstance(i, int) for i in ids):
        raise TypeError("jobs take integer ids only")
    retry = Retry(max=retries, interval=intervals or 0) if retries else None
    get_queue(queue_name).enqueue(
        func,
        *ids,
        job_id=job_id,
        retry=retry,
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    log.info("enqueued %s%s as %s on %s", func, ids, job_id, queue_name)
