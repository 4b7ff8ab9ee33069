"""The hash-chained audit log: every event is linked to the one before it, and checkable.

Each committed event gets `seq` (1, 2, 3, ... without gaps), `prev_hash` (the hash of the
event at `seq - 1`; 64 zeros for the first) and `hash`, the HMAC-SHA256 under the audit key
of the canonical JSON of its fields (see `event_hash`). The key is a setting, never stored in
the database, so someone who can only write the database cannot recompute a hash after an
edit. The one-row `audit_head` table holds the last seq and hash, and the key's id.

An event is chained by the transaction that writes it and by no other. Listeners on dsar's
session note the ids of the events each flush inserts, per savepoint (a rolled-back savepoint
takes its events with it; a released one hands them to its parent), and the outermost
`before_commit` chains exactly those: it flushes, updates the head row *first* (the UPDATE
takes SQLite's write lock or PostgreSQL's row lock until the commit), then numbers the noted
events in id order. Taking the lock as the very last step of a transaction means a chain
writer never waits for another lock while holding the head, so writers cannot deadlock on it,
and two processes can never fork the chain.

A row without a seq that dsar did not write in that transaction (one inserted behind dsar's
back) is never chained: the check (dsar.services.audit_checks) reports it for as long as it
exists. The one adoption ever is migration 0007's, for the events written before the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import AuditHead, Event

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the prev_hash of the first event, and the head of an empty chain
HEAD_ID = 1
_KEY_LABEL = b"dsar audit chain key"  # derives the audit key from SECRET_KEY
_KEY_ID_LABEL = b"dsar audit key id"  # names a key without giving it away
_PENDING = "dsar_audit_pending"  # session.info: {savepoint or None: ids of events it wrote}
_CHUNK = 500  # ids per IN (...): far below SQLite's limit on bound parameters

events_t = Event.__table__
head_t = AuditHead.__table__
FIELDS = (
    events_t.c.id,
    events_t.c.seq,
    events_t.c.at,
    events_t.c.actor,
    events_t.c.action,
    events_t.c.request_id,
    events_t.c.status_before,
    events_t.c.status_after,
    events_t.c.detail,
    events_t.c.prev_hash,
    events_t.c.hash,
)


class AuditKeyMismatch(DsarError):
    """This process's audit key is not the one the chain was written with: writing on would
    split the chain between two keys, so the commit is refused."""


# --- hashing -------------------------------------------------------------------------------


def audit_key(config: Mapping[str, Any]) -> bytes:
    """The chain's HMAC key: DSAR_AUDIT_KEY, or else one derived from SECRET_KEY."""
    if config.get("DSAR_AUDIT_KEY"):
        return str(config["DSAR_AUDIT_KEY"]).encode()
    # Hex text, so that the derived key can be copied into DSAR_AUDIT_KEY before a rotation
    # of SECRET_KEY and the chain stays verifiable.
    derived = hmac.new(str(config["SECRET_KEY"]).encode(), _KEY_LABEL, hashlib.sha256)
    return derived.hexdigest().encode()


def current_key() -> bytes:
    return audit_key(current_app.config)


def key_id(key: bytes) -> str:
    """A short public name of a key: the same key always gives the same id."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def canonical_at(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds, whatever the database handed back."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_event(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    request_id: int | None,
    status_before: str,
    status_after: str,
    detail: dict[str, Any] | None,
    prev_hash: str,
) -> bytes:
    """One event as canonical JSON (sorted keys, no spaces, UTF-8): what its hash covers.

    `request_id` rather than the reference: request rows are never deleted, and retention
    strips identities, not ids, so the hashed fields survive every purge.
    """
    fields = {
        "seq": seq,
        "at": canonical_at(at),
        "actor": actor,
        "action": action,
        "request_id": request_id,
        "status_before": status_before or "",
        "status_after": status_after or "",
        "detail": detail or {},
        "prev_hash": prev_hash,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def event_hash(*, key: bytes, **fields: Any) -> str:
    """Hash one event: HMAC-SHA256 hex, under `key`, of `canonical_event(**fields)`."""
    return hmac.new(key, canonical_event(**fields), hashlib.sha256).hexdigest()


def row_hash(row: Any, *, key: bytes, seq: int, prev_hash: str) -> str:
    """`event_hash` of a row of the events table, at the given place in the chain."""
    return event_hash(
        key=key,
        seq=seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        request_id=row.request_id,
        status_before=row.status_before,
        status_after=row.status_after,
        detail=row.detail,
        prev_hash=prev_hash,
    )


# --- writing -------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Chain events on every commit of dsar's session (safe to call for many apps).

    What SQLAlchemy 2.1 fires, found by experiment: a savepoint's release fires
    `before_commit` and `after_commit` while the savepoint is still the current nested
    transaction; its rollback fires `after_rollback`, then `after_soft_rollback` with the
    savepoint as `previous_transaction`; `Session.close()` fires only `after_transaction_end`.
    """
    for name, listener in (
        ("after_flush", _note_new_events),
        ("before_commit", _chain_before_commit),
        ("after_commit", _hand_savepoint_to_parent),
        ("after_soft_rollback", _drop_savepoint),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _pending(session: Session) -> dict[SessionTransaction | None, list[int]]:
    return session.info.setdefault(_PENDING, {})


def _note_new_events(session: Session, flush_context: Any) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, Event)]
    if ids:
        _pending(session).setdefault(session.get_nested_transaction(), []).extend(ids)


def _hand_savepoint_to_parent(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None or savepoint not in session.info.get(_PENDING, {}):
        return
    parent = savepoint.parent
    owner = parent if parent is not None and parent.nested else None
    pending = _pending(session)
    pending.setdefault(owner, []).extend(pending.pop(savepoint))


def _drop_savepoint(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        session.info.get(_PENDING, {}).pop(previous_transaction, None)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed, rolled back, closed
        session.info.pop(_PENDING, None)


def _chain_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: its events are chained by the outermost commit
    if any(isinstance(obj, Event) for obj in session.new):
        session.flush()
    ids = session.info.get(_PENDING, {}).pop(None, None)
    if not ids:
        return
    chained = chain_events(session.connection(), ids, key=current_key())
    log.debug("audit chain: %d event(s) chained", chained)


def _lock_head(conn: Connection, kid: str) -> Any:
    """Take the chain's lock (the head row's UPDATE) and return the head as committed."""
    lock = (
        update(head_t)
        .where(head_t.c.id == HEAD_ID)
        .values(seq=head_t.c.seq)
        .returning(head_t.c.seq, head_t.c.hash, head_t.c.key_id)
    )
    row = conn.execute(lock).first()
    if row is None:
        _create_head(conn, kid)
        row = conn.execute(lock).one()
    return row


def _create_head(conn: Connection, kid: str) -> None:
    """Insert the head row once, whoever gets there first; start it at the last chained
    event, if any (the row only goes missing before the first event, or if someone deletes it)."""
    last = conn.execute(
        select(events_t.c.seq, events_t.c.hash)
        .where(events_t.c.seq.is_not(None))
        .order_by(events_t.c.seq.desc())
        .limit(1)
    ).first()
    values = {
        "id": HEAD_ID,
        "seq": last.seq if last else 0,
        "hash": last.hash if last else GENESIS,
        "key_id": kid,
    }
    if last is not None:
        log.warning("audit chain head was missing; recreated at seq %s", last.seq)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - dsar runs on SQLite and PostgreSQL
        conn.execute(insert(head_t).values(**values))
        return
    conn.execute(dialect_insert(head_t).values(**values).on_conflict_do_nothing())


def chain_events(conn: Connection, ids: Iterable[int], *, key: bytes) -> int:
    """Give the events `ids` (this transaction's own, not chained yet) their places in the
    chain, in id order; how many. Call it inside that transaction: the head stays locked
    until it ends. Rows with a seq already, or gone, are left alone."""
    kid = key_id(key)
    head = _lock_head(conn, kid)
    if head.seq and head.key_id not in ("", kid):
        log.error("audit key mismatch: chain key id %s, this process %s", head.key_id, kid)
        raise AuditKeyMismatch(other_key_reason(head.key_id, kid) + "; nothing was saved")
    wanted = sorted(set(ids))
    rows = [
        row
        for start in range(0, len(wanted), _CHUNK)
        for row in conn.execute(
            select(*FIELDS).where(
                events_t.c.id.in_(wanted[start : start + _CHUNK]), events_t.c.seq.is_(None)
            )
        )
    ]
    seq, prev = head.seq, head.hash or GENESIS
    changes = []
    for row in sorted(rows, key=lambda r: r.id):
        seq += 1
        digest = row_hash(row, key=key, seq=seq, prev_hash=prev)
        changes.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        prev = digest
    if changes:
        conn.execute(
            update(events_t)
            .where(events_t.c.id == bindparam("row_id"))
            .values(
                seq=bindparam("new_seq"),
                prev_hash=bindparam("new_prev"),
                hash=bindparam("new_hash"),
            ),
            changes,
        )
    conn.execute(
        update(head_t).where(head_t.c.id == HEAD_ID).values(seq=seq, hash=prev, key_id=kid)
    )
    return len(changes)


def other_key_reason(chain_key_id: str, this_key_id: str) -> str:
    return (
        f"the chain was written with another audit key (key id {chain_key_id}, this process "
        f"has {this_key_id}): set DSAR_AUDIT_KEY (or SECRET_KEY, from which it is derived "
        "when unset) to the one the chain was written with"
    )
