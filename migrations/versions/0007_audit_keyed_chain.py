"""audit chain keyed with HMAC

The audit chain's hashes become HMAC-SHA256 under the audit key (DSAR_AUDIT_KEY, or one
derived from SECRET_KEY), which is not in the database, so that someone who can only write
the database cannot recompute them; `audit_head.key_id` names the key.

The old SHA-256 chain is checked first, before anything changes. If it is intact, every
event is hashed again with the key, in seq order; then the events written before the chain
existed (migration 0005: no seq, and older than the first chained event) are chained after
them in id order. That is the one time dsar ever adopts an event, as the operator's
deliberate upgrade step. If the old chain is broken, or holds an event without a seq written
after the chain began, the upgrade stops and names the first such event: a tampered chain
is never laundered into a keyed one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00.000000

"""
import hashlib
import logging

from alembic import op
import sqlalchemy as sa
from flask import current_app

from dsar.services.audit import audit_key, canonical_event, event_hash, key_id


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

GENESIS = "0" * 64
BATCH = 1000

# The tables as they are at this revision, not as the models may later become.
events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("request_id", sa.Integer),
    sa.column("status_before", sa.String),
    sa.column("status_after", sa.String),
    sa.column("detail", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("hash", sa.String),
)
head_keyed = sa.table(
    "audit_head",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("hash", sa.String),
    sa.column("key_id", sa.String),
)


class AuditChainBroken(RuntimeError):
    """Stops the migration (flask db upgrade prints the message and exits 1)."""


def _fields(row, seq, prev_hash):
    return dict(
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


def sha256_digest(row, seq, prev_hash):
    """The hash of dsar before this revision: plain SHA-256 of the same canonical JSON."""
    return hashlib.sha256(canonical_event(**_fields(row, seq, prev_hash))).hexdigest()


def hmac_digest(key):
    return lambda row, seq, prev_hash: event_hash(key=key, **_fields(row, seq, prev_hash))


def _chained(conn):
    """Every chained event in seq order, fetched a page at a time."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events).where(events.c.seq > last).order_by(events.c.seq).limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _stop(row, why, upgrading=True):
    seq = "none" if row is None or row.seq is None else row.seq
    where = "none" if row is None else row.id
    step = "upgrade to" if upgrading else "downgrade from"
    raise AuditChainBroken(
        f"audit chain BROKEN at event seq {seq} (id {where}): {why}. The {step} revision "
        "0007 stopped and changed nothing; keep a copy of the database as it is and find "
        "out what happened before you try again."
    )


def check_chain(conn, digest, upgrading=True):
    """Walk the chain as it is with `digest`; stop at the first break. The last event."""
    expected, prev, last = 1, GENESIS, None
    for row in _chained(conn):
        if row.seq != expected:
            _stop(row, f"seq {expected} is missing before it: events were deleted", upgrading)
        if row.prev_hash != prev:
            _stop(row, "it does not follow the event before it: events were reordered, or "
                  "one before it was deleted or replaced", upgrading)
        if digest(row, row.seq, row.prev_hash) != row.hash:
            _stop(row, "its content does not match its hash: the event was edited", upgrading)
        prev, last, expected = row.hash, row, expected + 1
    top = conn.execute(sa.select(head).where(head.c.id == 1)).first()
    if top is None and last is not None:
        _stop(last, "the chain head is missing: it was deleted", upgrading)
    if top is not None and (top.seq != expected - 1 or (top.hash or GENESIS) != prev):
        _stop(last, f"the chain head is at seq {top.seq} with another hash than the last "
              "event: events after it were deleted, or one was altered", upgrading)
    return last


def _before_the_chain(conn):
    """The unchained events older than the first chained one: written before migration
    0005. dsar before 0007 chained every event it wrote at its commit, so an unchained event
    younger than that was written outside dsar: the old chain's check called it broken too."""
    first = conn.execute(sa.select(sa.func.min(events.c.id)).where(events.c.seq.is_not(None)))
    first_chained = first.scalar()
    stray = None
    if first_chained is not None:
        stray = conn.execute(
            sa.select(events)
            .where(events.c.seq.is_(None), events.c.id > first_chained)
            .order_by(events.c.id)
            .limit(1)
        ).first()
    if stray is not None:
        _stop(stray, "this event has no place in the chain and was written after the chain "
              "began (the old dsar chained every event at its commit): it was written "
              "outside dsar, and this upgrade adopts only events from before the chain")
    old = sa.select(events).where(events.c.seq.is_(None))
    if first_chained is not None:
        old = old.where(events.c.id < first_chained)
    return old


def rehash(conn, digest):
    """Hash every chained event again with `digest`, in seq order; (last seq, last hash)."""
    seq, prev, changes = 0, GENESIS, []
    for row in _chained(conn):
        seq = row.seq
        new = digest(row, seq, prev)
        changes.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": new})
        prev = new
        if len(changes) == BATCH:
            _update(conn, changes)
            changes = []
    _update(conn, changes)
    return seq, prev


def adopt(conn, old, digest, seq, prev):
    """Chain the events of `old` after (seq, prev), in id order; (last seq, last hash, count)."""
    count, last_id = 0, 0
    while True:
        rows = conn.execute(
            old.where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, prev, count
        changes = []
        for row in rows:
            seq += 1
            new = digest(row, seq, prev)
            changes.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": new})
            prev = new
        _update(conn, changes)
        count += len(rows)
        last_id = rows[-1].id


def _update(conn, changes):
    if changes:
        conn.execute(
            events.update()
            .where(events.c.id == sa.bindparam("row_id"))
            .values(
                seq=sa.bindparam("new_seq"),
                prev_hash=sa.bindparam("new_prev"),
                hash=sa.bindparam("new_hash"),
            ),
            changes,
        )


def _set_head(conn, seq, digest_hex, kid):
    values = {"seq": seq, "hash": digest_hex, "key_id": kid}
    done = conn.execute(head_keyed.update().where(head_keyed.c.id == 1).values(**values))
    if done.rowcount == 0:
        conn.execute(head_keyed.insert().values(id=1, **values))


def upgrade():
    conn = op.get_bind()
    key = audit_key(current_app.config)
    check_chain(conn, sha256_digest)  # before any change: a refusal leaves the database as is
    old = _before_the_chain(conn)
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('key_id', sa.String(length=16), nullable=False, server_default='')
        )
    seq, prev = rehash(conn, hmac_digest(key))
    rekeyed = seq
    seq, prev, adopted = adopt(conn, old, hmac_digest(key), seq, prev)
    _set_head(conn, seq, prev, key_id(key))
    log.info(
        "audit chain keyed: %d event(s) hashed again, %d from before the chain adopted",
        rekeyed,
        adopted,
    )


def downgrade():
    conn = op.get_bind()
    key = audit_key(current_app.config)
    top = conn.execute(sa.select(head_keyed).where(head_keyed.c.id == 1)).first()
    if top is not None and top.key_id not in ("", key_id(key)):
        _stop(None, f"the chain was written with another audit key (key id {top.key_id}, "
              f"this process has {key_id(key)})", upgrading=False)
    check_chain(conn, hmac_digest(key), upgrading=False)
    stray = conn.execute(
        sa.select(events).where(events.c.seq.is_(None)).order_by(events.c.id).limit(1)
    ).first()
    if stray is not None:  # the old code would adopt it at the next commit: launder it
        _stop(stray, "this event has no place in the chain: it was written outside dsar",
              upgrading=False)
    seq, prev = rehash(conn, sha256_digest)
    conn.execute(head.update().where(head.c.id == 1).values(seq=seq, hash=prev))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('key_id')
