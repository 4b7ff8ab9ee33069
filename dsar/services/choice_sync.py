"""Carry a change of choice to every system that holds it: one RQ job per receipt.

A job applies the person's *latest* choice (not the one its entry recorded), so that two
changes made in quick succession leave every system as the person last chose whatever order
the workers run them in; a receipt whose entry a newer one replaced before it ran is marked
`superseded`. A failure is retried as tasks are (DSAR_TASK_RETRIES, DSAR_RETRY_INTERVALS);
the last one marks the receipt `failed`, with the connector's words, for the privacy team.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from dsar import queue
from dsar.connectors import Identity
from dsar.exceptions import ConnectorError
from dsar.extensions import db
from dsar.models import ChoiceReceipt, ConsentEntry
from dsar.services.connections import connector
from dsar.services.consent import current

log = logging.getLogger(__name__)

WAITING, DONE, FAILED, SUPERSEDED = "waiting", "done", "failed", "superseded"
FINAL = (DONE, FAILED, SUPERSEDED)


class ReceiptFailed(Exception):
    """Raised after a failure is recorded, so that RQ retries the job."""


def send(entry: ConsentEntry) -> None:
    """Queue a job for each of the entry's waiting receipts (after the entry is committed)."""
    for receipt in entry.receipts:
        if receipt.status == WAITING:
            _send(receipt)


def _send(receipt: ChoiceReceipt) -> None:
    config = current_app.config
    job_id = f"choice-{receipt.id}-{secrets.token_hex(3)}"
    receipt.job_id = job_id
    db.session.commit()
    queue.enqueue(
        "workers.jobs.sync_choice",
        receipt.id,
        queue_name=queue.TASKS,
        job_id=job_id,
        retries=config["DSAR_TASK_RETRIES"],
        intervals=config["DSAR_RETRY_INTERVALS"],
        timeout=config["DSAR_TASK_TIMEOUT"],
    )


def run(receipt_id: int, *, last_attempt: bool = False) -> None:
    """A worker's job: change the choice in the receipt's system, record what it said."""
    receipt = db.session.get(ChoiceReceipt, receipt_id)
    if receipt is None or receipt.status in FINAL:
        return
    entry = receipt.entry
    latest = current(entry.email).get(entry.choice, entry)
    if latest.id != entry.id and any(r.system_id == receipt.system_id for r in latest.receipts):
        receipt.status = SUPERSEDED
        db.session.commit()
        return
    claimed = db.session.execute(
        update(ChoiceReceipt)
        .where(ChoiceReceipt.id == receipt_id, ChoiceReceipt.status == WAITING)
        .values(attempts=ChoiceReceipt.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return
    db.session.refresh(receipt)
    last_attempt = last_attempt or receipt.attempts > current_app.config["DSAR_TASK_RETRIES"]
    identity = Identity(email=entry.email, region=current_app.config["DSAR_PHONE_REGION"])
    try:
        outcome = connector(receipt.system).choose(identity, entry.choice, latest.opted_in)
    except Exception as exc:  # recorded on the receipt, then retried
        db.session.rollback()
        message = str(exc) if isinstance(exc, ConnectorError) else type(exc).__name__
        receipt.error = message[:2000]
        if last_attempt:
            receipt.status = FAILED
        db.session.commit()
        log.warning(
            "choice receipt %s attempt %s failed: %s", receipt.id, receipt.attempts, message
        )
        raise ReceiptFailed(f"choice receipt {receipt_id}: {message}") from None
    receipt.status = DONE
    receipt.found = outcome.found
    receipt.receipt = "; ".join(outcome.receipts)[:4000]
    receipt.error = ""
    db.session.commit()


def waiting(entries: list[ConsentEntry]) -> bool:
    return any(r.status == WAITING for e in entries for r in e.receipts)


def resend_lost(before: datetime) -> int:
    """Send again the receipts still waiting, unchanged since `before`, whose job Redis no
    longer holds (a crash between the commit and the send, or Redis flushed)."""
    rows = db.session.scalars(
        select(ChoiceReceipt).where(
            ChoiceReceipt.status == WAITING, ChoiceReceipt.updated_at < before
        )
    ).all()
    lost = [r for r in rows if not queue.job_alive(r.job_id)]
    for receipt in lost:
        _send(receipt)
    return len(lost)
