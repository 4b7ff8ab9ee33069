"""An owner's report through their one-time link: what they found, erased or opted out.

The note may name the person or their records: it stays on the task, never in an event.
"""

from __future__ import annotations

from sqlalchemy import update

from dsar.exceptions import LinkInvalid, ManualTaskRefused
from dsar.extensions import db
from dsar.models import DataSystem, RequestStatus, Task, TaskStatus, utcnow
from dsar.services import fanin, workflow
from dsar.services.events import record
from dsar.services.manual import ACTION_WORDS, MAX_COUNT, MAX_NOTE, OUTCOMES, link_info


def _check_report(task: Task, outcome: str, count: int | None, note: str) -> tuple[int, str]:
    allowed = OUTCOMES[task.action]
    if outcome not in allowed:
        choices = " or ".join(f"'{o.replace('_', ' ')}'" for o in allowed)
        raise ManualTaskRefused(
            f"This task asks you to {ACTION_WORDS[task.action]}: report {choices}.",
            field="outcome",
        )
    if count is None:
        if outcome in ("found", "erased"):
            raise ManualTaskRefused(
                f"Give the number of records you {outcome.replace('_', ' ')}.", field="count"
            )
        count = 0
    if not 0 <= count <= MAX_COUNT:
        raise ManualTaskRefused(f"Give a number from 0 to {MAX_COUNT:,}.", field="count")
    if outcome == "nothing" and count:
        raise ManualTaskRefused(
            "You chose that nothing was found: leave the number empty or 0.", field="count"
        )
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ManualTaskRefused(f"Keep the note under {MAX_NOTE:,} characters.", field="note")
    return count, note


def _receipt(system: DataSystem, outcome: str, count: int) -> str:
    if outcome == "nothing":
        return f"{system.name}: no records held, checked by the owner"
    if outcome == "opted_out":
        return f"{system.name}: opted out by the owner ({count} record(s))"
    return f"{system.name}: {count} record(s) {outcome} by the owner"


def report(task: Task, *, outcome: str, count: int | None, note: str) -> None:
    """Record what the owner found, erased or opted out; the link is used up.

    Checked first, then the link is claimed in one UPDATE so that two reports through the
    same link (a double click, two tabs) record one outcome; the loser gets LinkInvalid.
    """
    count, note = _check_report(task, outcome, count, note)
    if task.status is not TaskStatus.ACTION_REQUIRED or task.token_hash is None:
        raise LinkInvalid("This link has been used or has expired.")
    claimed = db.session.execute(
        update(Task)
        .where(
            Task.id == task.id,
            Task.token_hash == task.token_hash,
            Task.status == TaskStatus.ACTION_REQUIRED,
        )
        .values(token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise LinkInvalid("This link has been used or has expired.")
    now = utcnow()
    task.token_hash = None
    task.status = TaskStatus.SUCCEEDED
    task.found_count = count if outcome != "nothing" else 0
    task.erased_count = count if outcome == "erased" else 0
    task.note = note
    link = link_info(task)
    task.result = {
        "receipts": [_receipt(task.system, outcome, count)],
        "records": {},
        **({"link": link} if link else {}),
    }
    task.reported_at = task.finished_at = now
    task.last_error = ""
    # The note may name the person or their records: it stays on the task, not in the event.
    record(
        task.request,
        "manual_task_reported",
        actor="owner",
        detail={"task": task.id, "system": task.system.key, "outcome": outcome, "count": count},
    )
    db.session.commit()
    req = task.request
    if req.status is RequestStatus.ACTION_REQUIRED:
        workflow.resume(req)
    else:
        fanin.fan_in(req.id)
