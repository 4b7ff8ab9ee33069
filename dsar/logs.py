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
from typing import ParamSpec, TypeVar

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
        if exc is not None and any(
            isinstance(link, DBAPIError) or _quotes_database(link) for link in _chain(exc)
        ):
            record.exc_text = scrubbed_traceback(exc)
        return True


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


def install(handler: logging.Handler) -> None:
    if not any(isinstance(f, NoDatabaseValues) for f in handler.filters):
        handler.addFilter(NoDatabaseValues())
