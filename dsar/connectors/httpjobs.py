"""Read a service's JSON answers, and follow a request it accepted (202) until it is done.

Kept apart from `http` so that the connector keeps to its actions: `dig` finds values at a
dotted path in an answer, `await_done` polls the status URL (on the service's own host only)
that an accepted erasure, flag or lift names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from dsar.connectors.transport import Answer, Transport
from dsar.exceptions import ConnectorError


def dig(node: Any, path: str) -> list[Any]:
    """The values at a dotted path, looking through lists: dig(a, "tickets.id")."""
    found = [node]
    for part in path.split(".") if path else []:
        step: list[Any] = []
        for item in found:
            for each in item if isinstance(item, list) else [item]:
                if isinstance(each, dict) and part in each:
                    step.append(each[part])
        found = step
    flat: list[Any] = []
    for item in found:
        flat.extend(item if isinstance(item, list) else [item])
    return [v for v in flat if v is not None]


def status_url(base_url: str, status: Mapping[str, Any], accepted: Answer) -> str:
    """Where to follow an accepted request: a URL in the answer, or a path with its job id."""
    if "url" in status:
        found = dig(accepted.body, status["url"]) or [accepted.headers.get("Location")]
        url = urljoin(base_url + "/", str(found[0] or ""))
    else:
        ids = dig(accepted.body, status.get("id", "id"))
        if not ids:
            raise ConnectorError("the 202 answer names no job to follow")
        url = base_url + status["path"].replace("{id}", str(ids[0]))
    if urlsplit(url).netloc != urlsplit(base_url).netloc:
        raise ConnectorError("the status URL points to another host; refusing to follow")
    return url


def await_done(
    transport: Transport,
    base_url: str,
    status: Mapping[str, Any],
    accepted: Answer,
    *,
    verb: str,
    limit: float,
) -> Answer:
    """Poll the status of an accepted (202) request until it is done or `limit` s pass."""
    url = status_url(base_url, status, accepted)
    interval = float(status.get("interval", 1.0))
    done, failed = status.get("done", ["done"]), status.get("failed", ["failed"])
    deadline = time.monotonic() + limit
    while True:
        answer = transport.send("GET", url)
        state = (dig(answer.body, status.get("state", "status")) or [""])[0]
        if state in done:
            return answer
        if state in failed:
            raise ConnectorError(f"the vendor reports the {verb} as {state!r}")
        if time.monotonic() + interval > deadline:
            raise ConnectorError(f"vendor {verb} not confirmed within {limit:g} s")
        time.sleep(interval)
