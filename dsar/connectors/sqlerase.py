"""Change the person's rows once found: erase them by a table's strategy, set a flag's
columns on them (opt out, restrict, object, limit) or list them for suppression, and lift a
restriction or an objection again (its `lift` values, or off the suppression list).

Kept apart from `sql` because these are the only statements that write to a data system;
each runs inside the caller's transaction and says what it did in a receipt of counts and
names, never values. A pseudonym is the value's keyed hash (HMAC-SHA256 with the pseudonym
key, its first PSEUDONYM_HEX hex characters): equal values stay equal, and without the key
nobody can recompute one from a guessed email.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, column, delete, func, insert, select, table, update

from dsar.connectors import sqlspec
from dsar.connectors.base import LIFTED, Identity
from dsar.connectors.sqlquery import chunks
from dsar.exceptions import ConnectorError

PSEUDONYM_HEX = 32


def erase_rows(
    conn: Connection,
    spec: dict[str, Any],
    ids: Sequence[Any],
    rows: list[dict],
    *,
    pseudonym_key: bytes,
) -> str:
    """Delete the person's rows of one table, or clear their columns; say which in a receipt.

    `ids` are the rows' keys (a delete needs no more); `rows` are the rows as found, whose
    values a pseudonymised column is hashed from.
    """
    name = spec["name"]
    erase = spec.get("erase", "delete")
    if erase == "delete":
        key = spec.get("key", "id")
        for chunk in chunks(ids):
            conn.execute(delete(table(name)).where(column(key).in_(chunk)))
        return f"{name}: {len(ids)} row(s) deleted"
    _clear_columns(conn, spec, rows, pseudonym_key)
    return f"{name}: {len(ids)} row(s) de-identified ({_how(erase)})"


def _how(erase: Mapping[str, str]) -> str:
    words = {"null": "emptied", "pseudonymise": "pseudonymised"}
    return ", ".join(f"{c} {words.get(s, 'masked')}" for c, s in erase.items())


def _pseudonym(pseudonym_key: bytes, value: Any) -> Any:
    if value is None:
        return None
    if not pseudonym_key:
        raise ConnectorError("pseudonymising needs a key: set DSAR_PSEUDONYM_KEY")
    digest = hmac.new(pseudonym_key, str(value).encode(), hashlib.sha256)
    return digest.hexdigest()[:PSEUDONYM_HEX]


def _clear_columns(
    conn: Connection, spec: dict[str, Any], rows: list[dict], pseudonym_key: bytes
) -> None:
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
        for chunk in chunks([r[key] for r in rows]):
            conn.execute(update(target).where(target.c[key].in_(chunk)).values(fixed))
        return
    values = {**fixed, **{c: bindparam(f"p_{c}") for c in hashed}}
    stmt = update(target).where(target.c[key] == bindparam("p_key")).values(values)
    params = [{"p_key": r[key], **{f"p_{c}": _pseudonym(pseudonym_key, r.get(c)) for c in hashed}}
              for r in rows]  # fmt: skip
    conn.execute(stmt, params)


def set_columns(
    conn: Connection, rule: Mapping[str, Any], key: str, ids: Sequence[Any], *, lift: str = ""
) -> str:
    """Set a flag rule's columns on the person's rows (keyed by `key`), or, to `lift` a
    purpose's flag, the rule's `lift` values; say where."""
    values = rule["lift"] if lift else rule["set"]
    target = table(rule["table"], *(column(c) for c in values))
    for chunk in chunks(ids):
        conn.execute(update(target).where(column(key).in_(chunk)).values(values))
    settings = ", ".join(f"{c} = {v!r}" for c, v in values.items())
    if lift:
        return f"{rule['table']}: {LIFTED[lift]} on {len(ids)} row(s) ({settings})"
    return f"{rule['table']}: {settings} on {len(ids)} row(s)"


def _listed(suppress: Mapping[str, Any], identity: Identity) -> dict[str, str]:
    """The suppression table's columns and the identity's values for them (those it has)."""
    return {c: identity.value(f) for c, f in suppress["columns"].items() if identity.value(f)}


def suppress(
    conn: Connection, suppress: Mapping[str, Any], identity: Identity, purpose: str = "opt_out"
) -> str:
    """Add the identity to a suppression table unless it is already there; say which."""
    name = suppress["table"]
    values = _listed(suppress, identity)
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
    if purpose != "opt_out":
        return f"{name}: added"
    return f"{name}: added, so that no further marketing is sent"


def unsuppress(conn: Connection, suppress: Mapping[str, Any], identity: Identity) -> str:
    """Take the identity off a suppression table (the rows `suppress` would have added)."""
    name = suppress["table"]
    values = _listed(suppress, identity)
    if not values:
        return f"{name}: no email, phone or name to remove"
    target = table(name, *(column(c) for c in values))
    removed = conn.execute(
        delete(target).where(*(target.c[c] == v for c, v in values.items()))
    ).rowcount
    return f"{name}: removed" if removed else f"{name}: not listed; nothing to remove"
