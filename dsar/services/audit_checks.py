"""Check the audit chain: walk it in seq order and recompute every link with this key.

Read-only. `verify` names the first event that breaks the chain and what that means (edited,
deleted, reordered, written outside dsar, truncated at the head), or says that the chain was
written with another audit key. `check` adds what the database alone cannot show: compared
with a checkpoint kept outside it (dsar.services.checkpoints), that its newest events were
deleted and the head moved back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Result, func, select

from dsar.extensions import db
from dsar.services import checkpoints
from dsar.services.audit import (
    FIELDS,
    GENESIS,
    HEAD_ID,
    current_key,
    events_t,
    head_t,
    key_id,
    other_key_reason,
    row_hash,
)

EDITED = "its content does not match its hash: the event was edited"
REORDERED = (
    "it does not follow the event before it (prev_hash mismatch): events were reordered, "
    "or one before it was deleted or replaced"
)
UNCHAINED = (
    "this event has no place in the chain: it was written outside dsar, which chains only "
    "the events it writes, in the transaction that writes them"
)


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
    wrong_key: bool = False  # checked with another key than the chain's: no verdict at all

    @property
    def message(self) -> str:
        if self.ok:
            return f"OK: {self.checked} events, chain intact, head {self.head_hash}"
        if self.wrong_key:
            return f"CANNOT VERIFY: {self.reason}"
        seq = "none" if self.broken_seq is None else str(self.broken_seq)
        where = "none" if self.broken_id is None else str(self.broken_id)
        return f"BROKEN at event seq {seq} (id {where}): {self.reason}"


def verify(*, batch: int = 2000) -> VerifyResult:
    """Walk the chain in seq order and recompute every link with this process's key; read-only.

    The head is read first and only events up to it are walked, so events committed while
    the check runs cannot look like a break.
    """
    key = current_key()
    conn = db.session.connection()
    head = conn.execute(
        select(head_t.c.seq, head_t.c.hash, head_t.c.key_id).where(head_t.c.id == HEAD_ID)
    ).first()
    head_seq, head_hash = (head.seq, head.hash or GENESIS) if head else (0, GENESIS)
    walk = select(*FIELDS).where(events_t.c.seq.is_not(None)).order_by(events_t.c.seq)
    if head is not None:  # without a head, walk everything and then report it missing
        walk = walk.where(events_t.c.seq <= head_seq)
    with conn.execution_options(yield_per=batch).execute(walk) as stream:
        checked, last, fault = _walk(stream, key)
    if fault is not None:
        row, why = fault
        mine = key_id(key)
        if why == EDITED and row.seq == 1 and head is not None and head.key_id not in ("", mine):
            reason = other_key_reason(head.key_id, mine)
            return VerifyResult(False, 0, head_seq, head_hash, reason=reason, wrong_key=True)
        return VerifyResult(False, checked, head_seq, head_hash, row.seq, row.id, why)
    return _check_head(last, checked, head, conn, key_id(key))


def _walk(stream: Result[Any], key: bytes) -> tuple[int, Any, tuple[Any, str] | None]:
    """(events intact, the last of them, the first faulty row and why, if any)."""
    expected, prev, last = 1, GENESIS, None
    for row in stream:
        if row.seq != expected:
            gap = f"seq {expected}" if row.seq == expected + 1 else f"seqs {expected}-{row.seq - 1}"
            return expected - 1, last, (row, f"{gap} missing before it: events were deleted")
        if row.prev_hash != prev:
            return expected - 1, last, (row, REORDERED)
        if row_hash(row, key=key, seq=row.seq, prev_hash=row.prev_hash) != row.hash:
            return expected - 1, last, (row, EDITED)
        prev, last, expected = row.hash, row, expected + 1
    return expected - 1, last, None


def _check_head(last: Any, checked: int, head: Any, conn: Connection, mine: str) -> VerifyResult:
    head_seq, head_hash = (head.seq, head.hash or GENESIS) if head else (0, GENESIS)
    last_seq, last_id = (last.seq, last.id) if last else (0, None)
    last_hash = last.hash if last else GENESIS

    def broken(
        why: str, seq: int | None = last_seq, event_id: int | None = last_id
    ) -> VerifyResult:
        return VerifyResult(False, checked, head_seq, head_hash, seq, event_id, why)

    outside = conn.execute(select(func.min(events_t.c.id)).where(events_t.c.seq.is_(None)))
    unchained = outside.scalar()
    if head is None and last is None:
        return (
            broken(UNCHAINED, None, unchained) if unchained else VerifyResult(True, 0, 0, GENESIS)
        )
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
    if head_seq and head.key_id not in ("", mine):
        return broken(
            f"the chain head names audit key {head.key_id}, but the events were written with "
            f"this process's key {mine}: the head's key id was changed"
        )
    if unchained:
        return broken(UNCHAINED, None, unchained)
    return VerifyResult(True, checked, head_seq, head_hash)


# --- one row at a time (the events page) -------------------------------------------------------

VERIFIED = "Verified"
ROW_EDITED = "Edited: its content does not match its hash"
ROW_OUT_OF_ORDER = "Out of order: it does not follow the event before it in the chain"
ROW_UNCHAINED = "Not in the chain: written outside dsar"
ROW_WRONG_KEY = "Cannot check: the chain was written with another audit key"


def verify_rows(rows: Sequence[Any]) -> dict[int, str]:
    """Each row's check, by event id: VERIFIED, or what is wrong with it; rows are FIELDS
    of the events table, in any order, with gaps (a filtered page).

    A row is verified when its hash, recomputed with this process's key, matches, and its
    prev_hash is the hash of the event at the seq before it (64 zeros for seq 1), fetched
    for all the rows in one query. Unlike `verify`, this says nothing of the events not
    shown, of the head, or of deleted events at the chain's end.
    """
    if not rows:
        return {}
    key = current_key()
    chain_key = db.session.scalar(select(head_t.c.key_id).where(head_t.c.id == HEAD_ID))
    if chain_key not in (None, "", key_id(key)):
        return {row.id: ROW_WRONG_KEY for row in rows}
    wanted = sorted({row.seq - 1 for row in rows if row.seq is not None and row.seq > 1})
    found = db.session.execute(
        select(events_t.c.seq, events_t.c.hash).where(events_t.c.seq.in_(wanted))
    )
    before: dict[int, str] = {seq: digest for seq, digest in found}
    return {row.id: _check_row(row, key, before) for row in rows}


def _check_row(row: Any, key: bytes, before: dict[int, str]) -> str:
    if row.seq is None:
        return ROW_UNCHAINED
    problems = []
    if row_hash(row, key=key, seq=row.seq, prev_hash=row.prev_hash) != row.hash:
        problems.append(ROW_EDITED)
    expected = GENESIS if row.seq == 1 else before.get(row.seq - 1)
    if expected is None:
        problems.append(f"Out of order: the event before it (seq {row.seq - 1}) is missing")
    elif row.prev_hash != expected:
        problems.append(ROW_OUT_OF_ORDER)
    return "; ".join(problems) or VERIFIED


# --- the chain and a checkpoint ----------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The chain's check, and what the checkpoint compared with it (if any) says."""

    chain: VerifyResult
    current: checkpoints.Checkpoint  # the head that was checked, signed: to keep outside
    checkpoint: checkpoints.Comparison | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and (self.checkpoint is None or self.checkpoint.ok)

    @property
    def lines(self) -> list[str]:
        return [self.chain.message] + ([self.checkpoint.message] if self.checkpoint else [])


def check(
    *,
    checkpoint: checkpoints.Checkpoint | None = None,
    source: str = "",
    folder: Path | None = None,
) -> Verdict:
    """Verify the chain, then compare it with `checkpoint` (read from `source`), or else
    with the newest checkpoint kept in `folder`, if there is one."""
    key = current_key()
    chain = verify()
    now = datetime.now(UTC)
    current = checkpoints.sign(seq=chain.head_seq, digest=chain.head_hash, at=now, key=key)

    def refused(why: str) -> Verdict:
        return Verdict(chain, current, checkpoints.Comparison(False, f"REFUSED: {why}"))

    try:
        if checkpoint is None and folder is not None:
            found = checkpoints.newest(folder)
            if found is None:
                return Verdict(chain, current)
            source = str(found)
            checkpoint = checkpoints.read(found)
        if checkpoint is None:
            return Verdict(chain, current)
        checkpoints.check_signature(checkpoint, key=key)
    except OSError as exc:  # the folder cannot be listed: never skip the check silently
        return refused(f"the audit folder {folder} cannot be read ({exc.strerror})")
    except (checkpoints.CheckpointInvalid, checkpoints.CheckpointRefused) as exc:
        return refused(f"checkpoint {source}: {exc}")
    return Verdict(chain, current, checkpoints.compare(checkpoint, source=source))
