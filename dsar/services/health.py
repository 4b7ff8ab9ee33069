"""Whether this process reaches its database and Redis: what a load balancer asks `/healthz`.

Each check runs in a thread of its own and is given up after `TIMEOUT` seconds, so a server
that does not answer at all (a dropped packet, a full connection pool) makes the check fail
fast instead of holding the balancer's probe until it times out itself. What failed is
named, never how (an exception's text may hold a host name, a URL or a password).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Timeout

from flask import current_app
from redis import Redis
from sqlalchemy import Engine, text

from dsar.extensions import db

log = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds for each check; balancers probe every 5-10 s with a 5 s limit
OK, UNREACHABLE = "ok", "unreachable"
# Checks stuck on a dead server keep their thread until the driver gives up: a few threads
# bound that, and later probes fail at once on the timeout rather than pile up.
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dsar-health")


def _database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _redis(client: Redis) -> None:
    client.ping()


def _probe_client() -> Redis:
    """A client of its own, with short socket timeouts (the job queue's waits 10 s)."""
    client = current_app.extensions.get("dsar_health_redis")
    if client is None:
        client = Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        current_app.extensions["dsar_health_redis"] = client
    return client


def _outcome(name: str, running: Future[None], deadline: float) -> str:
    try:
        running.result(timeout=max(deadline - time.monotonic(), 0))
    except Timeout:
        log.warning("health check: %s did not answer within %s s", name, TIMEOUT)
        return UNREACHABLE
    except Exception as exc:  # any failure is "unreachable"; its text is not ours to show
        log.warning("health check: %s unreachable (%s)", name, type(exc).__name__)
        return UNREACHABLE
    return OK


def check() -> dict[str, str]:
    """`{"status": "ok" | "failing", "database": ..., "redis": ...}`, each "ok" or
    "unreachable"; both checks run at once, within `TIMEOUT` in all."""
    deadline = time.monotonic() + TIMEOUT
    running = {
        "database": _checks.submit(_database, db.engine),
        "redis": _checks.submit(_redis, _probe_client()),
    }
    parts = {name: _outcome(name, future, deadline) for name, future in running.items()}
    healthy = all(value == OK for value in parts.values())
    return {"status": OK if healthy else "failing", **parts}
