"""Reach any database SQLAlchemy can open, described as a declarative dataset.

Config (TOML in the systems file; checked by `sqlspec.check`):

    url = "sqlite:///${DSAR_DEMO_DIR}/shop.db"      # any SQLAlchemy URL (mysql+... too,
                                                   # when its driver is installed)
    [[tables]]                                     # searched in order
    name = "customers"
    key = "id"                                     # primary key, used to follow links
    match = { email = "email", id = "customer_id" } # column = identity field or identifier
    exports = { loyalty_id = "loyalty_number" }    # identifiers other systems match on
    [[tables]]
    name = "orders"
    via = { table = "customers", column = "customer_id" }   # rows linked to rows above
    erase = { ship_to = "mask:[erased]", contact_email = "pseudonymise", customer_id = "null" }
    [[tables]]
    name = "invoices"
    match = { billing_email = "email" }
    retain = { reason = "kept 10 years for tax law", citation = "HGB s.257" }
    [[opt_out]]
    table = "customers"
    set = { marketing_opt_in = 0 }
    [[opt_out]]
    suppress = { table = "suppression", columns = { email = "email" } }

A row is the person's when any `match` column equals one of the identity's values (OR across
columns, `IN` for several values such as a phone's renderings). Columns are compared as they
are, never through lower() or similar, so that the table's indexes are used: they must hold
normalised values (emails trimmed and lower-cased, phones in E.164 or one of the renderings
`Identity.phone_variants()` lists). Values are always bound parameters; names come from the
config, are checked to be plain identifiers, and are quoted by SQLAlchemy.

Erasure runs in one transaction, linked tables first: `erase = "delete"` (the default)
deletes rows; a column map nulls, masks with fixed text, or replaces a value by its keyed hash
(HMAC-SHA256 with the pseudonym key, 32 hex characters). A table with `retain` is located and
reported as kept, with its reason and citation, and never changed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    bindparam,
    column,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    make_url,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from dsar.connectors import sqlspec
from dsar.connectors.base import Identity, Outcome, expand, needed
from dsar.exceptions import ConnectorError

CHUNK = 500  # keys per IN (...): below every database's limit on bound parameters
PSEUDONYM_HEX = 32
TEST_IDENTITY = Identity(email="connection-test@invalid")

_engines: dict[tuple[str, float], tuple[int, Engine]] = {}
_engines_lock = threading.Lock()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _describe(exc: SQLAlchemyError) -> str:
    """The database's own message, without the SQL or its parameters (they hold identities).

    A data or integrity error (SQLSTATE class 22 or 23) may quote the value it refused, such as
    the person's email: its message is withheld, its code kept.
    """
    orig = getattr(exc, "orig", None)
    state = str(getattr(orig, "sqlstate", None) or "")
    if state[:2] in {"22", "23"}:
        return f"database error: {type(orig).__name__} (SQLSTATE {state}); message withheld"
    return f"database error: {type(orig or exc).__name__}: {str(orig or exc).splitlines()[0]}"


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class _SqliteConnection(sqlite3.Connection):
    """A plain SQLite connection of a data system, not of dsar's own database.

    dsar's own engine switches SQLite files to WAL and foreign-key enforcement on connect
    (a listener that checks for connections of the sqlite3 module); a data system's file
    keeps the settings its owner chose, and skipping those pragmas saves a write per call.
    """


@functools.lru_cache(maxsize=512)
def _select(name: str, columns: tuple[str, ...]) -> Select:
    """SELECT * WHERE any column IN its values; built once per shape, values bound later."""
    conds = [column(c).in_(bindparam(f"v{i}", expanding=True)) for i, c in enumerate(columns)]
    return select(literal_column("*")).select_from(table(name)).where(or_(*conds))


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


class SqlConnector:
    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        settings: Mapping[str, str],
        timeout: float,
        pseudonym_key: bytes = b"",
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.validate(config)
        self.url = expand(config["url"], settings)
        self.tables: list[dict[str, Any]] = config["tables"]
        self.opt_out_rules: list[dict[str, Any]] = config.get("opt_out", [])
        self.timeout = timeout
        self.pseudonym_key = pseudonym_key

    validate = staticmethod(sqlspec.check)

    @staticmethod
    def needs(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers from other systems that this system's tables match on."""
        found: frozenset[str] = frozenset()
        for spec in config.get("tables", []):
            found |= needed(spec.get("match", {}))
        return found

    @staticmethod
    def provides(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers this system exports for others."""
        return frozenset(k for spec in config.get("tables", []) for k in spec.get("exports", {}))

    def _engine(self) -> Engine:
        return engine_for(self.url, self.timeout)

    # -- finding -------------------------------------------------------------------------

    @staticmethod
    def _queries(
        spec: dict[str, Any], identity: Identity, found: dict[str, list[Any]]
    ) -> list[tuple[Select, dict[str, list[Any]]]]:
        """The statements (with their values) selecting this table's rows for the person."""
        if "match" in spec:
            wanted = {c: identity.values(f) for c, f in spec["match"].items() if identity.values(f)}
            if not wanted:
                return []
            params = {f"v{i}": list(values) for i, values in enumerate(wanted.values())}
            return [(_select(spec["name"], tuple(wanted)), params)]
        keys = found.get(spec["via"]["table"], [])
        stmt = _select(spec["name"], (spec["via"]["column"],))
        return [(stmt, {"v0": list(chunk)}) for chunk in _chunks(keys)]

    def _find(self, conn: Connection, identity: Identity) -> tuple[Outcome, dict[str, list[Any]]]:
        outcome, found_keys = Outcome(), {}
        for spec in self.tables:
            name, key = spec["name"], spec.get("key", "id")
            records: list[dict[str, Any]] = []
            for stmt, params in self._queries(spec, identity, found_keys):
                result = conn.execute(stmt, params)
                names = list(result.keys())
                records += [dict(zip(names, map(_plain, row), strict=True)) for row in result]
            if records and key not in records[0]:
                raise ConnectorError(f"table {name} has no key column {key!r}")
            found_keys[name] = list(dict.fromkeys(r[key] for r in records))
            outcome.add_records(name, records)
            for ident, col in spec.get("exports", {}).items():
                outcome.add_identifiers(ident, (r.get(col) for r in records))
            if "retain" in spec:
                retain = spec["retain"]
                outcome.keep(name, len(records), retain["reason"], retain["citation"])
        return outcome, found_keys

    def _run(self, work: Any, *, write: bool) -> Outcome:
        try:
            engine = self._engine()
            with engine.begin() if write else engine.connect() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise ConnectorError(_describe(exc)) from None

    def locate(self, identity: Identity) -> Outcome:
        """Find the person's rows; count those an erasure would keep as retained."""
        return self._run(lambda conn: self._find(conn, identity)[0], write=False)

    # -- erasing -------------------------------------------------------------------------

    def erase(self, identity: Identity) -> Outcome:
        """Erase the person's rows, linked rows first, in one transaction; keep retained ones."""
        return self._run(lambda conn: self._erase(conn, identity), write=True)

    def _erase(self, conn: Connection, identity: Identity) -> Outcome:
        located, keys = self._find(conn, identity)
        outcome = Outcome(found=located.found, identifiers=located.identifiers)
        for spec in reversed(self.tables):
            name = spec["name"]
            ids = keys.get(name, [])
            if not ids:
                continue
            if "retain" in spec:
                retain = spec["retain"]
                outcome.keep(name, len(ids), retain["reason"], retain["citation"])
                outcome.receipts.append(
                    f"{name}: {len(ids)} row(s) kept: {retain['reason']} ({retain['citation']})"
                )
                continue
            erase = spec.get("erase", "delete")
            if erase == "delete":
                key = spec.get("key", "id")
                for chunk in _chunks(ids):
                    conn.execute(delete(table(name)).where(column(key).in_(chunk)))
                outcome.receipts.append(f"{name}: {len(ids)} row(s) deleted")
            else:
                self._clear_columns(conn, spec, located.records[name])
                outcome.receipts.append(f"{name}: {len(ids)} row(s) de-identified ({_how(erase)})")
            outcome.erased += len(ids)
        if not outcome.found:
            outcome.receipts.append("no records held; nothing to erase")
        return outcome

    def _pseudonym(self, value: Any) -> Any:
        if value is None:
            return None
        if not self.pseudonym_key:
            raise ConnectorError("pseudonymising needs a key: set DSAR_PSEUDONYM_KEY")
        digest = hmac.new(self.pseudonym_key, str(value).encode(), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX]

    def _clear_columns(self, conn: Connection, spec: dict[str, Any], rows: list[dict]) -> None:
        """Null, mask or pseudonymise the configured columns of the person's rows."""
        key, erase = spec.get("key", "id"), spec["erase"]
        hashed = [c for c, s in erase.items() if s == "pseudonymise"]
        fixed = {
            c: None if s == "null" else s[len(sqlspec.MASK) :]
            for c, s in erase.items()
            if s != "pseudonymise"
        }
        target = table(spec["name"], *(column(c) for c in {key, *erase}))
        if not hashed:
            for chunk in _chunks([r[key] for r in rows]):
                conn.execute(update(target).where(target.c[key].in_(chunk)).values(fixed))
            return
        values = {**fixed, **{c: bindparam(f"p_{c}") for c in hashed}}
        stmt = update(target).where(target.c[key] == bindparam("p_key")).values(values)
        params = [{"p_key": r[key], **{f"p_{c}": self._pseudonym(r.get(c)) for c in hashed}}
                  for r in rows]  # fmt: skip
        conn.execute(stmt, params)

    # -- opting out ----------------------------------------------------------------------

    def opt_out(self, identity: Identity) -> Outcome:
        """Apply every opt-out rule: set columns on the person's rows, add to suppression."""
        if not self.opt_out_rules:
            return Outcome(receipts=["holds no sale, sharing or marketing use; nothing to change"])
        return self._run(lambda conn: self._opt_out(conn, identity), write=True)

    def _opt_out(self, conn: Connection, identity: Identity) -> Outcome:
        outcome = Outcome()
        keys: dict[str, list[Any]] | None = None
        for rule in self.opt_out_rules:
            if "suppress" in rule:
                outcome.receipts.append(_suppress(conn, rule["suppress"], identity))
                continue
            if keys is None:
                keys = self._find(conn, identity)[1]
            spec = next(t for t in self.tables if t["name"] == rule["table"])
            ids = keys.get(rule["table"], [])
            target = table(rule["table"], *(column(c) for c in rule["set"]))
            for chunk in _chunks(ids):
                key = column(spec.get("key", "id"))
                conn.execute(update(target).where(key.in_(chunk)).values(rule["set"]))
            outcome.found += len(ids)
            settings = ", ".join(f"{c} = {v!r}" for c, v in rule["set"].items())
            outcome.receipts.append(f"{rule['table']}: {settings} on {len(ids)} row(s)")
        return outcome

    def test(self) -> Outcome:
        return self.locate(TEST_IDENTITY)


def _how(erase: Mapping[str, str]) -> str:
    words = {"null": "emptied", "pseudonymise": "pseudonymised"}
    return ", ".join(f"{c} {words.get(s, 'masked')}" for c, s in erase.items())


def _suppress(conn: Connection, suppress: Mapping[str, Any], identity: Identity) -> str:
    """Add the identity to a suppression table unless it is already there; say which."""
    name = suppress["table"]
    values = {c: identity.value(f) for c, f in suppress["columns"].items() if identity.value(f)}
    if not values:
        return f"{name}: no email, phone or name to add"
    target = table(name, *(column(c) for c in values))
    present = conn.execute(
        select(func.count())
        .select_from(target)
        .where(*(target.c[c] == v for c, v in values.items()))
    ).scalar_one()
    if present:
        return f"{name}: already listed; nothing to add"
    conn.execute(insert(target).values(values))
    return f"{name}: added, so that no further marketing is sent"
