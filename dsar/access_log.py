"""A gunicorn logger whose access lines never carry link tokens.

Tracking and verification links hold secrets in their path (`/r/<token>/verify/<code>`);
anyone reading the logs could otherwise open a person's request. Use with
`gunicorn --logger-class dsar.access_log.RedactingLogger`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger

from dsar import logs
from dsar.config import log_format

_TOKEN_PATH = re.compile(r"/r/[^/?\s]+(/verify/[^/?\s]+)?")


# A system owner's one-time task link is a credential too, and so are a person's one-time
# link to their privacy choices and a new staff member's invitation to choose a password.
_TASK_PATH = re.compile(r"/task/[^/?\s]+")
_CHOICES_PATH = re.compile(r"/choices/open/[^/?\s]+")
_WELCOME_PATH = re.compile(r"/staff/welcome/[^/?\s]+")
_QUERY = re.compile(r"\?[^\s\"]*")


def redact(path: str) -> str:
    path = _TOKEN_PATH.sub(lambda m: "/r/…" + ("/verify/…" if m.group(1) else ""), path)
    path = _CHOICES_PATH.sub("/choices/open/…", path)
    path = _WELCOME_PATH.sub("/staff/welcome/…", path)
    return _TASK_PATH.sub("/task/…", path)


class RedactingLogger(Logger):
    """Also: with `DSAR_LOG_FORMAT=json` the error log's and access log's lines are JSON
    objects, and a load balancer's passing health checks are not logged (one line every few
    seconds per balancer would bury the rest; a failing check is logged as any request)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if log_format(os.environ) == "json":
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                logs.install(handler)
                handler.setFormatter(logs.OneJsonObject())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if getattr(req, "path", "") == "/healthz" and getattr(resp, "status_code", 0) == 200:
            return
        super().access(resp, req, environ, request_time)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                # Query strings may hold what someone searched for (a name, an email).
                atoms[key] = redact(_QUERY.sub("", atoms[key]))
        atoms.pop("q", None)
        return atoms
