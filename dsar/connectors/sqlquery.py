"""Find the person's rows in a dataset's tables, linked tables through the keys found above.

Kept apart from `sql` because locating, erasing and opting out all start here: each needs the
rows and their keys before it may change anything. A SELECT is built once per table and set
of columns and its values are bound at each call; keys go in chunks of CHUNK, so that a
person with many linked rows never passes a database's limit on bound parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    column,
    literal_column,
    or_,
    select,
    table,
)

from dsar.connectors.base import Identity, Outcome
from dsar.exceptions import ConnectorError

CHUNK = 500  # keys per IN (...): below every database's limit on bound parameters


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """`values` in slices of at most CHUNK, one IN (...) each."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


@functools.lru_cache(maxsize=512)
def _select(name: str, columns: tuple[str, ...]) -> Select:
    """SELECT * WHERE any column IN its values; built once per shape, values bound later."""
    conds = [column(c).in_(bindparam(f"v{i}", expanding=True)) for i, c in enumerate(columns)]
    return select(literal_column("*")).select_from(table(name)).where(or_(*conds))


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
    return [(stmt, {"v0": list(chunk)}) for chunk in chunks(keys)]


def find(
    conn: Connection, tables: Sequence[dict[str, Any]], identity: Identity
) -> tuple[Outcome, dict[str, list[Any]]]:
    """The person's records per table (retained ones counted as kept), and their keys."""
    outcome, found_keys = Outcome(), {}
    for spec in tables:
        name, key = spec["name"], spec.get("key", "id")
        records: list[dict[str, Any]] = []
        for stmt, params in _queries(spec, identity, found_keys):
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
