"""Open a data system's database once per process, and tell its errors without their values.

Kept apart from `sql` because an Engine outlives any one connector: the connector is built
per job, the Engine (and, for a SQLite file, its few pooled connections) is cached here by
URL and process. Errors are described from the driver's exception alone, never from the SQL
or its parameters, which hold the identity being looked for.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from dsar.exceptions import ConnectorError

_engines: dict[tuple[str, float], tuple[int, Engine]] = {}
_engines_lock = threading.Lock()


def describe(exc: SQLAlchemyError) -> str:
    """The database's own message, without the SQL or its parameters (they hold identities).

    A data or integrity error (SQLSTATE class 22 or 23) may quote the value it refused, such as
    the person's email: its message is withheld, its code kept.
    """
    orig = getattr(exc, "orig", None)
    state = str(getattr(orig, "sqlstate", None) or "")
    if state[:2] in {"22", "23"}:
        return f"database error: {type(orig).__name__} (SQLSTATE {state}); message withheld"
    return f"database error: {type(orig or exc).__name__}: {str(orig or exc).splitlines()[0]}"


class _SqliteConnection(sqlite3.Connection):
    """A plain SQLite connection of a data system, not of dsar's own database.

    dsar's own engine switches SQLite files to WAL and foreign-key enforcement on connect
    (a listener that checks for connections of the sqlite3 module); a data system's file
    keeps the settings its owner chose, and skipping those pragmas saves a write per call.
    """


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _guard_replaced_file(engine: Engine, path: str) -> None:
    """Drop a pooled connection whose file was replaced (moved over) since it was opened."""

    @event.listens_for(engine, "connect")
    def remember(dbapi_connection: Any, record: Any) -> None:
        record.info["file"] = _file_identity(path)

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("file") != _file_identity(path):
            raise DisconnectionError("the database file was replaced")


def _create(url: str, timeout: float) -> Engine:
    """An Engine for a data system: NullPool for servers; a small pool for a SQLite file.

    Opening a connection through SQLAlchemy costs several times an indexed query, so a
    SQLite file keeps up to two connections open in this process (never across a fork, see
    engine_for; and a connection to a file since replaced is dropped on checkout). Database
    servers get a connection per call and none kept open: connections to other teams'
    servers should not idle in every worker.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        args = {"timeout": timeout, "factory": _SqliteConnection}
        path = parsed.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            return create_engine(url, poolclass=NullPool, connect_args=args, hide_parameters=True)
        engine = create_engine(
            url, pool_size=2, max_overflow=4, connect_args=args, hide_parameters=True
        )
        _guard_replaced_file(engine, path)
        return engine
    args = {"connect_timeout": max(1, int(timeout))}
    if parsed.get_backend_name() not in ("postgresql", "mysql"):
        args = {}
    return create_engine(url, poolclass=NullPool, connect_args=args, hide_parameters=True)


def engine_for(url: str, timeout: float) -> Engine:
    """One Engine per URL and process, made once: creating one costs more than a query.

    The pid check drops an Engine (and its pooled connections) inherited from a parent
    process, such as an RQ worker that forked the work horse running this job.
    """
    key = (url, timeout)
    with _engines_lock:
        cached = _engines.get(key)
        if cached is not None and cached[0] == os.getpid():
            return cached[1]
        try:
            engine = _create(url, timeout)
        except (SQLAlchemyError, ArgumentError, ValueError, ImportError) as exc:
            raise ConnectorError(f"cannot open database URL: {type(exc).__name__}") from None
        _engines[key] = (os.getpid(), engine)
        return engine
