"""Keep personal data out of logs when the database fails.

`hide_parameters` keeps SQLAlchemy from printing a statement's values, but the database's
own message can quote them: PostgreSQL writes `invalid input syntax for type integer: "Jane
Doe"`, or `Key (email)=(jane@example.com) already exists`. Such messages are replaced, in
every log line and in every failed job's record, by the error's class, its SQLSTATE and the
statement, which holds no values (dsar binds every value as a parameter).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import DBAPIError

P = ParamSpec("P")
R = TypeVar("R")


class DatabaseFailure(RuntimeError):
    """A database error, described without the values its message may have quoted."""


def describe(exc: DBAPIError) -> str:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    statement = " ".join(str(exc.statement or "").split())[:500]
    code = f" (SQLSTATE {state})" if state else ""
    return f"{type(orig).__name__}{code}; the database's message is withheld; in: {statement}"


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def scrubbed_traceback(exc: BaseException) -> str:
    """The traceback of `exc` with every database error's message replaced by `describe`."""
    lines: list[str] = []
    for link in reversed(_chain(exc)):
        frames = "".join(traceback.format_tb(link.__traceback__))
        text = describe(link) if isinstance(link, DBAPIError) else str(link)
        if _quotes_database(link):
            text = "the database's message is withheld"
        lines.append(f"Traceback (most recent call last):\n{frames}{type(link).__name__}: {text}")
    return "\n\nDuring handling of the above exception, another exception occurred:\n\n".join(lines)


def _quotes_database(exc: BaseException) -> bool:
    """A driver's own error (psycopg, sqlite3) carries the database's message too."""
    module = type(exc).__module__
    return not isinstance(exc, DBAPIError) and module.split(".")[0] in {"psycopg", "sqlite3"}


class NoDatabaseValues(logging.Filter):
    """A handler filter: a record whose exception involves the database gets its traceback
    written by `scrubbed_traceback` instead of the full messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and involves_database(exc):
            record.exc_text = scrubbed_traceback(exc)
        return True


def involves_database(exc: BaseException) -> bool:
    return any(isinstance(link, DBAPIError) or _quotes_database(link) for link in _chain(exc))


def no_database_values(func: Callable[P, R]) -> Callable[P, R]:
    """For jobs: a database error leaves as a `DatabaseFailure` that quotes nothing, so that
    neither the worker's log nor the failed job's record in Redis holds a value."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DBAPIError as exc:
            raise DatabaseFailure(describe(exc)) from None

    return run


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneJsonObject(JsonFormatter):
    """A log line as one JSON object (`DSAR_LOG_FORMAT=json`): time (UTC, ISO 8601), level,
    logger, message, and any `extra` fields. python-json-logger formats the traceback from
    the exception itself, not from `exc_text`, so the database's messages are withheld here
    as `NoDatabaseValues` withholds them from text lines."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def formatException(self, ei: Any) -> str:
        exc = ei[1] if ei else None
        if exc is not None and involves_database(exc):
            return scrubbed_traceback(exc)
        return str(super().formatException(ei))


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for `DSAR_LOG_FORMAT` (`text` or `json`)."""
    return OneJsonObject() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def install(handler: logging.Handler) -> None:
    if not any(isinstance(f, NoDatabaseValues) for f in handler.filters):
        handler.addFilter(NoDatabaseValues())


HANDLER = "dsar"  # the name of the handler `configure` puts on dsar's logger


def configure(log_format: str) -> None:
    """Log dsar's own messages (ids and states only) to stderr as `log_format` says; with
    `json`, RQ's workers, scheduler and cron, and other libraries' warnings, too.

    Called by every `create_app`: the handler is made once per process, its format set each
    time (tests build apps of both formats in one process)."""
    logger = logging.getLogger("dsar")
    handler = next((h for h in logger.handlers if h.get_name() == HANDLER), None)
    if handler is None and not logger.handlers:
        handler = logging.StreamHandler()
        handler.set_name(HANDLER)
        install(handler)  # a database error's message may quote a value: withheld
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if handler is not None:
        handler.setFormatter(formatter(log_format))
    if log_format == "json":
        _json_beyond_dsar()
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _json_beyond_dsar() -> None:
    # RQ adds its own text handlers to `rq.worker`, `rq.job` and `rq.scheduler` only when no
    # ancestor has one: a handler on `rq` stops that (a worker builds the app before it
    # starts working). `rq cron` makes its logger's handlers before it imports workers.cron,
    # which builds the app: those are reformatted in place.
    rq = logging.getLogger("rq")
    if not rq.handlers:
        handler = logging.StreamHandler()
        install(handler)
        rq.addHandler(handler)
        rq.setLevel(logging.INFO)
        rq.propagate = False
    names = [n for n in logging.root.manager.loggerDict if n == "rq" or n.startswith("rq.")]
    for name in names:
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            install(handler)
            handler.setFormatter(OneJsonObject())
        if logger.handlers and name != "rq":
            logger.propagate = False  # its own handlers write it: not `rq`'s as well
    root = logging.getLogger()
    if not root.handlers:  # else Python's last resort prints other libraries' warnings as text
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        install(handler)
        handler.setFormatter(OneJsonObject())
        root.addHandler(handler)
