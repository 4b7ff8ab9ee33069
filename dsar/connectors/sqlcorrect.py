"""Correct the person's rows: write the new values into the columns the registry maps.

Config, per table (not on a retained table: those are legal records):

    correct = { first_name = "given_name", last_name = "family_name", phone = "phone" }

Each mapped column of the person's rows (as `sqlquery.find` found them) is set to the new
value (a bound parameter) in one UPDATE per table, inside the caller's transaction; a value
the database refuses (a CHECK or UNIQUE constraint, a type) rolls the whole correction back
and is reported by table and column. Receipts and errors name tables, columns, fields and
counts, never values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, column, table, update
from sqlalchemy.exc import SQLAlchemyError

from dsar.connectors.base import Outcome
from dsar.connectors.sqlengine import describe
from dsar.connectors.sqlquery import chunks
from dsar.exceptions import ConnectorError


def held_fields(tables: Sequence[Mapping[str, Any]]) -> set[str]:
    """The fields some table of the system keeps."""
    return {f for spec in tables for f in (spec.get("correct") or {}).values()}


def correct_rows(
    conn: Connection,
    tables: Sequence[Mapping[str, Any]],
    keys: Mapping[str, list[Any]],
    changes: Mapping[str, str],
    outcome: Outcome,
) -> None:
    """Set the changed fields on the person's rows of every table that maps them."""
    for spec in tables:
        ids = keys.get(spec["name"], [])
        mapped = {c: f for c, f in (spec.get("correct") or {}).items() if f in changes}
        if not ids or not mapped:
            continue
        key = spec.get("key", "id")
        target = table(spec["name"], *(column(c) for c in {key, *mapped}))
        values = {c: changes[f] for c, f in mapped.items()}
        try:
            for chunk in chunks(ids):
                conn.execute(update(target).where(target.c[key].in_(chunk)).values(values))
        except SQLAlchemyError as exc:
            # The caller's transaction rolls back: no table keeps a part of the correction.
            where = ", ".join(f"{c} ({f})" for c, f in mapped.items())
            raise ConnectorError(
                f"table {spec['name']}: the database refused the new value for column(s) "
                f"{where}; nothing was changed. {describe(exc)}"
            ) from None
        for col, field_name in mapped.items():
            outcome.change(spec["name"], field_name, col, len(ids))
