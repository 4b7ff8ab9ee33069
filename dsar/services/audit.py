"""The hash-chained audit log: every event is linked to the one before it, and checkable.

Each committed event gets `seq` (1, 2, 3, ... without gaps), `prev_hash` (the hash of the
event at `seq - 1`; 64 zeros for the first) and `hash`, the SHA-256 of the canonical JSON of
its fields (see `event_hash`). The one-row `audit_head` table holds the last seq and hash.

Events are chained at commit time, not when they are added: `init_app` registers a
`before_commit` listener on dsar's session that flushes, then updates the head row *first*
(the UPDATE takes SQLite's write lock or PostgreSQL's row lock until the commit), then
numbers every committed-to-be event that has no seq yet, in id order. Taking the lock as the
very last step of a transaction means a chain writer never waits for another lock while
holding the head, so writers cannot deadlock on it, and two processes can never fork the chain.
Events written before the chain existed (migration 0005) have no seq either: the first commit
that writes an event chains them, in id order, ahead of the new ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session

from dsar.extensions import db
from dsar.models import AuditHead, Event

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the prev_hash of the first event, and the head of an empty chain
HEAD_ID = 1
_PENDING = "dsar_audit_pending"  # session.info flag: this transaction wrote events

events_t = Event.__table__
head_t = AuditHead.__table__
_FIELDS = (
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


def canonical_at(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds, whatever the database handed back."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
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
) -> str:
    """Hash one event: SHA-256 hex of its canonical JSON (sorted keys, no spaces, UTF-8).

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
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row_hash(row: Any, *, seq: int, prev_hash: str) -> str:
    return event_hash(
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
    """Chain events on every commit of dsar's session (safe to call for many apps)."""
    for name, listener in (
        ("after_flush", _note_new_events),
        ("before_commit", _chain_before_commit),
        ("after_commit", _forget),
        ("after_rollback", _forget),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _note_new_events(session: Session, flush_context: Any) -> None:
    if any(isinstance(obj, Event) for obj in session.new):
        session.info[_PENDING] = True


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _chain_before_commit(session: Session) -> None:
    # A savepoint's release fires before_commit too; chain only when the real commit comes.
    if session.in_nested_transaction():
        return
    if not session.info.get(_PENDING) and not any(isinstance(o, Event) for o in session.new):
        return
    session.flush()
    chained = chain_pending(session.connection())
    session.info.pop(_PENDING, None)
    if chained:
        log.debug("audit chain: %d event(s) chained", chained)


def _lock_head(conn: Connection) -> tuple[int, str]:
    """Take the chain's lock (the head row's UPDATE) and return the head as committed."""
    lock = (
        update(head_t)
        .where(head_t.c.id == HEAD_ID)
        .values(seq=head_t.c.seq)
        .returning(head_t.c.seq, head_t.c.hash)
    )
    row = conn.execute(lock).first()
    if row is None:
        _create_head(conn)
        row = conn.execute(lock).one()
    return row.seq, row.hash or GENESIS


def _create_head(conn: Connection) -> None:
    """Insert the head row once, whoever gets there first; start it at the last chained
    event, if any (the row only goes missing before the first event, or if someone deletes it)."""
    last = conn.execute(
        select(events_t.c.seq, events_t.c.hash)
        .where(events_t.c.seq.is_not(None))
        .order_by(events_t.c.seq.desc())
        .limit(1)
    ).first()
    values = {"id": HEAD_ID, "seq": last.seq if last else 0, "hash": last.hash if last else GENESIS}
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


def chain_pending(conn: Connection) -> int:
    """Give every event without a seq its place in the chain, in id order; how many.

    Call inside the transaction that commits them: the head stays locked until it ends.
    """
    seq, prev = _lock_head(conn)
    rows = conn.execute(
        select(*_FIELDS).where(events_t.c.seq.is_(None)).order_by(events_t.c.id)
    ).all()
    if not rows:
        return 0
    changes = []
    for row in rows:
        seq += 1
        digest = _row_hash(row, seq=seq, prev_hash=prev)
        changes.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        prev = digest
    conn.execute(
        update(events_t)
        .where(events_t.c.id == bindparam("row_id"))
        .values(
            seq=bindparam("new_seq"), prev_hash=bindparam("new_prev"), hash=bindparam("new_hash")
        ),
        changes,
    )
    conn.execute(update(head_t).where(head_t.c.id == HEAD_ID).values(seq=seq, hash=prev))
    return len(changes)


# --- checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on the chain: intact, or where it first breaks and what that means."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return f"OK: {self.checked} events, chain intact, head {self.head_hash}"
        seq = "none" if self.broken_seq is None else str(self.broken_seq)
        where = "none" if self.broken_id is None else str(self.broken_id)
        return f"BROKEN at event seq {seq} (id {where}): {self.reason}"


def verify(*, batch: int = 2000) -> VerifyResult:
    """Walk the chain in seq order and recompute every link; read-only.

    The head is read first and only events up to it are walked, so events committed while
    the check runs cannot look like a break.
    """
    conn = db.session.connection()
    head = conn.execute(select(head_t.c.seq, head_t.c.hash).where(head_t.c.id == HEAD_ID)).first()
    head_seq, head_hash = (head.seq, head.hash or GENESIS) if head else (0, GENESIS)
    walk = select(*_FIELDS).where(events_t.c.seq.is_not(None)).order_by(events_t.c.seq)
    if head is not None:  # without a head, walk everything and then report it missing
        walk = walk.where(events_t.c.seq <= head_seq)
    stream = conn.execution_options(yield_per=batch).execute(walk)
    expected, prev, last = 1, GENESIS, None

    def broken(row: Any, why: str, seq: int | None = None) -> VerifyResult:
        stream.close()
        return VerifyResult(
            False, expected - 1, head_seq, head_hash, row.seq if seq is None else seq, row.id, why
        )

    for row in stream:
        if row.seq != expected:
            missing = (
                f"seq {expected}" if row.seq == expected + 1 else f"seqs {expected}-{row.seq - 1}"
            )
            return broken(row, f"{missing} missing before it: events were deleted")
        if row.prev_hash != prev:
            return broken(
                row,
                "it does not follow the event before it (prev_hash mismatch): events were "
                "reordered, or one before it was deleted or replaced",
            )
        if _row_hash(row, seq=row.seq, prev_hash=row.prev_hash) != row.hash:
            return broken(row, "its content does not match its hash: the event was edited")
        prev, last, expected = row.hash, row, expected + 1
    checked = expected - 1
    return _check_head(last, checked, head, head_seq, head_hash, conn)


def _check_head(
    last: Any, checked: int, head: Any, head_seq: int, head_hash: str, conn: Connection
) -> VerifyResult:
    last_seq, last_id = (last.seq, last.id) if last else (0, None)
    last_hash = last.hash if last else GENESIS

    def broken(why: str) -> VerifyResult:
        return VerifyResult(False, checked, head_seq, head_hash, last_seq, last_id, why)

    if head is None and last is None:
        outside = _unchained(conn)
        if outside:
            return VerifyResult(
                False, 0, 0, GENESIS, None, outside, "events exist but none is chained yet"
            )
        return VerifyResult(True, 0, 0, GENESIS)
    if head is None:
        return broken("the chain head is missing: it was deleted")
    if head_seq > last_seq:
        count = head_seq - last_seq
        return broken(
            f"the chain head is at seq {head_seq}: the last {count} event(s) after this "
            "one were deleted (truncated)"
        )
    if head_hash != last_hash:
        return broken("the chain head's hash does not match the last event: one was altered")
    outside = _unchained(conn)
    if outside:
        return VerifyResult(
            False,
            checked,
            head_seq,
            head_hash,
            None,
            outside,
            "this event has no place in the chain (written outside dsar's session?)",
        )
    return VerifyResult(True, checked, head_seq, head_hash)


def _unchained(conn: Connection) -> int | None:
    """The id of the oldest committed event without a seq, if any."""
    return conn.execute(select(func.min(events_t.c.id)).where(events_t.c.seq.is_(None))).scalar()
