"""Reach any database SQLAlchemy can open, described by tables and how they link.

Config (JSON or TOML in the systems file):

    url = "sqlite:///${DSAR_DEMO_DIR}/shop.db"
    [[tables]]                      # searched in order
    name = "customers"
    key = "id"                      # primary key, used to follow links
    match = { email = "email" }     # column = identity field
    [[tables]]
    name = "orders"
    key = "id"
    via = { column = "customer_id", table = "customers" }   # rows linked to rows found above
    [[opt_out]]
    table = "customers"
    set = { marketing_opt_in = 0 }

Values are always bound parameters; names come from the config and are checked to be plain
identifiers, then quoted by SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    column,
    create_engine,
    delete,
    literal_column,
    select,
    table,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from dsar.connectors.base import (
    Identity,
    Outcome,
    check_identifier,
    check_match,
    expand,
    require,
)
from dsar.exceptions import ConnectorError


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _describe(exc: SQLAlchemyError) -> str:
    """The database's own message, without the SQL or its parameters (they hold identities)."""
    orig = getattr(exc, "orig", None)
    return f"database error: {type(orig or exc).__name__}: {str(orig or exc).splitlines()[0]}"


class SqlConnector:
    def __init__(
        self, config: Mapping[str, Any], *, settings: Mapping[str, str], timeout: float
    ) -> None:
        self.validate(config)
        self.url = expand(config["url"], settings)
        self.tables: list[dict[str, Any]] = config["tables"]
        self.opt_out_rules: list[dict[str, Any]] = config.get("opt_out", [])
        self.timeout = timeout

    @staticmethod
    def validate(config: Mapping[str, Any]) -> None:
        require(config, "url", str, "sql system")
        tables = require(config, "tables", list, "sql system")
        seen: set[str] = set()
        for spec in tables:
            where = f"table {spec.get('name')!r}" if isinstance(spec, dict) else "tables"
            if not isinstance(spec, dict):
                raise ConnectorError("sql system: each entry of 'tables' must be a table")
            check_identifier(spec.get("name"), where)
            check_identifier(spec.get("key", "id"), where)
            if ("match" in spec) == ("via" in spec):
                raise ConnectorError(f"{where}: give exactly one of 'match' or 'via'")
            if "match" in spec:
                check_match(spec["match"], where)
            else:
                via = spec["via"]
                if not isinstance(via, dict) or via.get("table") not in seen:
                    raise ConnectorError(f"{where}: 'via.table' must name a table listed above")
                check_identifier(via.get("column"), where)
            seen.add(spec["name"])
        for rule in config.get("opt_out", []):
            if not isinstance(rule, dict) or rule.get("table") not in seen:
                raise ConnectorError("opt_out: 'table' must name a table listed in 'tables'")
            if not isinstance(rule.get("set"), dict) or not rule["set"]:
                raise ConnectorError("opt_out: 'set' must map columns to values")
            for col in rule["set"]:
                check_identifier(col, "opt_out")

    def _engine(self) -> Engine:
        args: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            args = {"timeout": self.timeout}
        elif self.url.startswith("postgresql"):
            args = {"connect_timeout": int(self.timeout)}
        try:
            return create_engine(self.url, poolclass=NullPool, connect_args=args)
        except (SQLAlchemyError, ValueError) as exc:
            raise ConnectorError(f"cannot open database URL: {type(exc).__name__}") from None

    @staticmethod
    def _where(spec: dict[str, Any], identity: Identity, found: dict[str, list[Any]]) -> Any:
        """The condition selecting this table's rows for the person, or None for no rows."""
        if "match" in spec:
            conds = [
                column(col) == identity.value(field)
                for col, field in spec["match"].items()
                if identity.value(field)
            ]
            if not conds:
                return None
            cond = conds[0]
            for other in conds[1:]:
                cond = cond | other
            return cond
        keys = found.get(spec["via"]["table"], [])
        return column(spec["via"]["column"]).in_(keys) if keys else None

    def _find(self, conn: Any, identity: Identity) -> tuple[Outcome, dict[str, list[Any]]]:
        outcome, found_keys = Outcome(), {}
        for spec in self.tables:
            cond = self._where(spec, identity, found_keys)
            if cond is None:
                continue
            query = select(literal_column("*")).select_from(table(spec["name"])).where(cond)
            rows = conn.execute(query).mappings()
            records = [{k: _plain(v) for k, v in row.items()} for row in rows]
            key = spec.get("key", "id")
            found_keys[spec["name"]] = [r[key] for r in records if key in r]
            outcome.add_records(spec["name"], records)
        return outcome, found_keys

    def locate(self, identity: Identity) -> Outcome:
        try:
            with self._engine().connect() as conn:
                return self._find(conn, identity)[0]
        except SQLAlchemyError as exc:
            raise ConnectorError(_describe(exc)) from None

    def erase(self, identity: Identity) -> Outcome:
        """Delete the person's rows, linked rows first, in one transaction."""
        try:
            with self._engine().begin() as conn:
                located, keys = self._find(conn, identity)
                outcome = Outcome(found=located.found)
                for spec in reversed(self.tables):
                    key = spec.get("key", "id")
                    ids = keys.get(spec["name"], [])
                    if not ids:
                        continue
                    conn.execute(delete(table(spec["name"])).where(column(key).in_(ids)))
                    outcome.erased += len(ids)
                    outcome.receipts.append(f"{spec['name']}: {len(ids)} row(s) deleted")
                if not outcome.receipts:
                    outcome.receipts.append("no records held; nothing to erase")
                return outcome
        except SQLAlchemyError as exc:
            raise ConnectorError(_describe(exc)) from None

    def opt_out(self, identity: Identity) -> Outcome:
        outcome = Outcome()
        if not self.opt_out_rules:
            outcome.receipts.append("holds no sale, sharing or marketing use; nothing to change")
            return outcome
        try:
            with self._engine().begin() as conn:
                _, keys = self._find(conn, identity)
                for rule in self.opt_out_rules:
                    spec = next(t for t in self.tables if t["name"] == rule["table"])
                    ids = keys.get(rule["table"], [])
                    if ids:
                        conn.execute(
                            update(table(rule["table"], *(column(c) for c in rule["set"])))
                            .where(column(spec.get("key", "id")).in_(ids))
                            .values(rule["set"])
                        )
                    outcome.found += len(ids)
                    settings = ", ".join(f"{c} = {v!r}" for c, v in rule["set"].items())
                    outcome.receipts.append(f"{rule['table']}: {settings} on {len(ids)} row(s)")
                return outcome
        except SQLAlchemyError as exc:
            raise ConnectorError(_describe(exc)) from None

    def test(self) -> Outcome:
        return self.locate(Identity(email="connection-test@invalid"))
