"""Signed checkpoints of the audit chain's head, kept outside the database.

The chain shows an edited, reordered or removed event, but someone who can write the
database may still delete the newest events and move the head back: what is left is a
shorter chain that checks out. A checkpoint is the head (seq and hash) at a time, signed
with the audit key, in a file outside the database: if the chain later ends below its seq,
or holds another hash at it, events were deleted or the history was rewritten.

A checkpoint file is one JSON object::

    {"format": "dsar-audit-checkpoint/1", "seq": 45, "hash": "<64 hex>",
     "at": "2026-03-01T12:00:00.000000+00:00", "key_id": "<16 hex>", "signature": "<64 hex>"}

`signature` is the HMAC-SHA256 (hex, audit key) of the canonical JSON (sorted keys, no
spaces) of the five other fields. DSAR_AUDIT_DIR holds `latest.json` and `seq-<seq>.json`
for the newest 100 seqs, written by the periodic job and by `flask dsar audit-checkpoint`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.services.audit import GENESIS, HEAD_ID, canonical_at, current_key, events_t, head_t
from dsar.services.audit import key_id as key_id_of

log = logging.getLogger(__name__)

FORMAT = "dsar-audit-checkpoint/1"
LATEST = "latest.json"
KEEP = 100  # history files kept, newest seqs first
MAX_BYTES = 4096  # a checkpoint takes about 300: anything far bigger is not one
_HISTORY = re.compile(r"seq-(\d+)\.json")
_TYPES = {"format": str, "seq": int, "hash": str, "at": str, "key_id": str, "signature": str}
_HEX = {"hash": 64, "key_id": 16, "signature": 64}


class CheckpointError(DsarError):
    """A checkpoint cannot be used or written; the message says which and why."""


class CheckpointInvalid(CheckpointError):
    """Not a checkpoint: unreadable, not JSON, or a field missing or of the wrong type."""


class CheckpointRefused(CheckpointError):
    """A well-formed checkpoint whose signature does not match: edited, forged, or signed
    with another audit key."""


class CheckpointConflict(CheckpointError):
    """The chain no longer holds the newest checkpoint: writing a new one would hide that."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # ISO 8601 UTC, exactly as signed
    key_id: str
    signature: str

    def fields(self) -> dict[str, Any]:
        """What the signature covers."""
        return {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
        }

    def to_json(self) -> str:
        return json.dumps({**self.fields(), "signature": self.signature}, indent=2) + "\n"

    @property
    def written(self) -> str:
        return f"{datetime.fromisoformat(self.at).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _signature(fields: dict[str, Any], key: bytes) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(*, seq: int, digest: str, at: datetime, key: bytes) -> Checkpoint:
    unsigned = Checkpoint(seq, digest, canonical_at(at), key_id_of(key), "")
    return Checkpoint(seq, digest, unsigned.at, unsigned.key_id, _signature(unsigned.fields(), key))


def take(*, now: datetime | None = None) -> Checkpoint:
    """A freshly signed checkpoint of the head as committed (an empty chain's is seq 0)."""
    head = db.session.execute(
        select(head_t.c.seq, head_t.c.hash).where(head_t.c.id == HEAD_ID)
    ).first()
    seq, digest = (head.seq, head.hash or GENESIS) if head else (0, GENESIS)
    return sign(seq=seq, digest=digest, at=now or datetime.now(UTC), key=current_key())


# --- reading -------------------------------------------------------------------------------


def read(path: Path) -> Checkpoint:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CheckpointInvalid(f"it cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise CheckpointInvalid(f"it is over {MAX_BYTES} bytes long")
    try:
        return parse(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CheckpointInvalid("it is not UTF-8 text") from None


def parse(text: str) -> Checkpoint:
    """Check a checkpoint's shape (not its signature: see `check_signature`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointInvalid(f"it is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise CheckpointInvalid("it is not a checkpoint (nested too deeply)") from None
    if not isinstance(data, dict):
        raise CheckpointInvalid("it is not a JSON object")
    missing = [name for name in _TYPES if name not in data]
    if missing:
        raise CheckpointInvalid(f"it lacks {', '.join(missing)}")
    unknown = sorted(str(name)[:40] for name in data if name not in _TYPES)
    if unknown:
        raise CheckpointInvalid(f"it has fields a checkpoint has not: {', '.join(unknown)}")
    for name, kind in _TYPES.items():
        if not isinstance(data[name], kind) or isinstance(data[name], bool):
            words = "a whole number" if kind is int else "a string"
            raise CheckpointInvalid(f"{name} must be {words}, not {type(data[name]).__name__}")
    _check_values(data)
    return Checkpoint(data["seq"], data["hash"], data["at"], data["key_id"], data["signature"])


def _check_values(data: dict[str, Any]) -> None:
    if data["format"] != FORMAT:
        raise CheckpointInvalid(f"format must be {FORMAT!r}, not {data['format'][:40]!r}")
    if not 0 <= data["seq"] < 2**63:
        raise CheckpointInvalid("seq must be 0 or more")
    for name, length in _HEX.items():
        if not re.fullmatch(f"[0-9a-f]{{{length}}}", data[name]):
            raise CheckpointInvalid(f"{name} must be {length} lowercase hexadecimal digits")
    try:
        at = datetime.fromisoformat(data["at"])
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise CheckpointInvalid("at must be an ISO 8601 time with its UTC offset")


def check_signature(checkpoint: Checkpoint, *, key: bytes) -> None:
    if hmac.compare_digest(_signature(checkpoint.fields(), key), checkpoint.signature):
        return
    mine = key_id_of(key)
    if checkpoint.key_id != mine:
        raise CheckpointRefused(
            "its signature does not match: it was signed with another audit key (key id "
            f"{checkpoint.key_id}, this process has {mine}), or edited"
        )
    raise CheckpointRefused("its signature does not match: the file was edited or forged")


@dataclass(frozen=True)
class Comparison:
    ok: bool
    message: str


def compare(checkpoint: Checkpoint, *, source: str) -> Comparison:
    """Does the chain still hold the checkpoint's event, and reach at least that far?"""
    conn = db.session.connection()
    end = conn.execute(select(head_t.c.seq).where(head_t.c.id == HEAD_ID)).scalar()
    if end is None:  # the head is gone (the chain's check says so): go by the events
        end = conn.execute(select(func.max(events_t.c.seq))).scalar() or 0
    seen = f"checkpoint {source} (written {checkpoint.written})"
    seq = checkpoint.seq
    if end < seq:
        why = f"the chain ends at seq {end} but {seen} saw seq {seq}: events were deleted"
        return Comparison(False, f"BROKEN: {why}")
    if seq == 0:
        return Comparison(True, f"OK: {seen} saw an empty chain")
    row = conn.execute(select(events_t.c.id, events_t.c.hash).where(events_t.c.seq == seq)).first()
    if row is None:
        why = f"{seen} saw it, but it is gone: events were deleted"
        return Comparison(False, f"BROKEN at event seq {seq} (id none): {why}")
    if row.hash != checkpoint.hash:
        why = (
            f"{seen} saw hash {checkpoint.hash}, the chain now holds {row.hash}: the history "
            "up to this event was rewritten"
        )
        return Comparison(False, f"BROKEN at event seq {seq} (id {row.id}): {why}")
    return Comparison(True, f"OK: {seen} saw seq {seq}; the chain still holds it")


# --- keeping checkpoints ---------------------------------------------------------------------


def write(*, folder: Path | None = None, now: datetime | None = None) -> tuple[Checkpoint, Path]:
    """Sign the head and keep it in `folder` (default DSAR_AUDIT_DIR); the checkpoint and
    its file. Refused while the chain no longer holds the newest checkpoint kept there: a new
    one would hide the deletion from every later check. Safe to run twice, or at once."""
    folder = folder or current_app.config["DSAR_AUDIT_DIR"]
    try:
        previous = newest(folder)
    except OSError as exc:
        raise CheckpointError(f"the audit folder {folder} cannot be read: {exc.strerror}") from None
    if previous is not None:
        _check_previous(previous)
    checkpoint = take(now=now)
    path = folder / f"seq-{checkpoint.seq:012d}.json"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomically(path, checkpoint.to_json())
        _write_atomically(folder / LATEST, checkpoint.to_json())
        for _, old in _history(folder)[KEEP:]:
            old.unlink(missing_ok=True)  # another writer may have pruned it first
    except OSError as exc:
        raise CheckpointError(
            f"no checkpoint could be written to {folder}: {exc.strerror}"
        ) from None
    log.info("audit checkpoint written: seq %s", checkpoint.seq)
    return checkpoint, path


def _check_previous(previous: Path) -> None:
    try:
        checkpoint = read(previous)
        check_signature(checkpoint, key=current_key())
    except (CheckpointInvalid, CheckpointRefused) as exc:
        log.error("audit checkpoint %s refused", previous.name)
        raise type(exc)(
            f"the newest checkpoint {previous} is refused: {exc}; no checkpoint was written "
            "(move it aside once you know why)"
        ) from None
    found = compare(checkpoint, source=str(previous))
    if not found.ok:
        log.error("audit chain no longer holds checkpoint seq %s", checkpoint.seq)
        raise CheckpointConflict(f"{found.message}; no checkpoint was written")


def newest(folder: Path) -> Path | None:
    """The checkpoint with the highest seq in `folder` (two writers may race on latest.json,
    but seqs only grow), else latest.json, else None."""
    history = _history(folder)
    if history:
        return history[0][1]
    latest = folder / LATEST
    return latest if latest.is_file() else None


def _history(folder: Path) -> list[tuple[int, Path]]:
    """The seq-<n>.json files, highest seq first."""
    if not folder.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if (match := _HISTORY.fullmatch(path.name)) and path.is_file()
    ]
    return sorted(found, reverse=True)


def _write_atomically(path: Path, text: str) -> None:
    """Write through a private temp file and os.replace: a reader sees the old file or the
    new one, never half of one. mkstemp creates the file 0600."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
