"""A gunicorn logger whose access lines never carry link tokens.

Tracking and verification links hold secrets in their path (`/r/<token>/verify/<code>`);
anyone reading the logs could otherwise open a person's request. Use with
`gunicorn --logger-class dsar.access_log.RedactingLogger`.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

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
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                # Query strings may hold what someone searched for (a name, an email).
                atoms[key] = redact(_QUERY.sub("", atoms[key]))
        atoms.pop("q", None)
        return atoms
