"""Send one JSON request to a service, politely: rate-limited, retried on 429 and 5xx.

Only the standard library: urllib for HTTP, a lock and a clock for the rate limit. Error
messages name the host and path only (the identity travels in the body, never the URL).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from dsar.exceptions import ConnectorError

MAX_RETRY_WAIT = 30.0  # seconds; a longer Retry-After fails the call (the job retries later)
BACKOFF = 0.25  # seconds before the second try when the service gives no Retry-After
RETRIED = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any


class RateLimiter:
    """Space calls at least 1/rate seconds apart, across the threads of one process."""

    def __init__(self, rate_per_second: float) -> None:
        self.interval = 1.0 / rate_per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(system: str, rate_per_second: float) -> RateLimiter:
    """The one limiter of a system (by base URL) in this process."""
    with _limiters_lock:
        return _limiters.setdefault((system, rate_per_second), RateLimiter(rate_per_second))


def retry_after(value: str | None, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else `default`."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class Transport:
    """How to reach one system: timeout per request, tries, limiter, auth headers."""

    timeout: float
    attempts: int = 3
    limiter: RateLimiter | None = None
    headers: Mapping[str, str] | None = None

    def send(self, method: str, url: str, body: Any = None) -> Answer:
        """Send once or, on 429 and 5xx, a few times; raise ConnectorError on failure."""
        where = _where(url)
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(method, url, body, where)
            except urllib.error.HTTPError as exc:
                exc.close()  # its body is not read: free the connection now, not at GC
                if exc.code not in RETRIED or attempt == self.attempts:
                    raise ConnectorError(_refusal(where, exc.code, attempt)) from None
                wait = retry_after(exc.headers.get("Retry-After"), default=BACKOFF * 2**attempt)
                if wait > MAX_RETRY_WAIT:
                    raise ConnectorError(
                        f"{where} answered HTTP {exc.code} and asked to wait {wait:.0f} s,"
                        f" longer than {MAX_RETRY_WAIT:.0f} s"
                    ) from None
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, url: str, body: Any, where: str) -> Answer:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ConnectorError("http system: base_url must be http or https")
        headers = {"Accept": "application/json", **(self.headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        if self.limiter is not None:
            self.limiter.wait()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
                status, answer_headers = resp.status, dict(resp.headers.items())
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ConnectorError(self._late(where)) from None
            raise ConnectorError(f"cannot reach {where}: {exc.reason}") from None
        except (TimeoutError, ConnectionError) as exc:
            if isinstance(exc, TimeoutError):
                raise ConnectorError(self._late(where)) from None
            raise ConnectorError(f"cannot reach {where}: {type(exc).__name__}") from None
        try:
            return Answer(status, answer_headers, json.loads(raw) if raw.strip() else None)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConnectorError(f"{where} answered with something other than JSON") from None

    def _late(self, where: str) -> str:
        return f"{where} did not answer within {self.timeout:g} s"


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + parts.path


def _refusal(where: str, code: int, attempt: int) -> str:
    tries = f" ({attempt} attempts)" if attempt > 1 else ""
    hint = " (check the token)" if code in (401, 403) else ""
    return f"{where} answered HTTP {code}{tries}{hint}"
