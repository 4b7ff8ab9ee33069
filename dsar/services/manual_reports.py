"""An owner's report through their one-time link: what they found, erased or opted out.

A system with no API passes its content on too: for a search, the owner types the records
as rows and sends files (a scan, a photo, a spreadsheet), which reach the person's answer;
for an erasure, they report what they erased and what they kept, with the reason the
person's law gives. The note may name the person or their records: it stays on the task,
never in an event.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from dsar import inputs
from dsar.exceptions import LinkInvalid, ManualTaskRefused
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import DataSystem, RequestStatus, Task, TaskAction, TaskStatus, utcnow
from dsar.rules import withholding
from dsar.services import fanin, uploads, workflow
from dsar.services.events import record
from dsar.services.manual import MAX_COUNT, MAX_NOTE, OUTCOMES, link_info

TYPED = "Records typed by the owner"  # the place the typed rows go in the answer
MAX_ROWS = 500
MAX_COLUMNS = 30
MAX_CELL = 2000


@dataclass(frozen=True)
class Report:
    """What the owner sent, shape checked by the form; the service checks the rest."""

    outcome: str
    count: int | None
    note: str = ""
    rows: str = ""  # CSV text: a header line of field names, then one line per record
    files: list[uploads.Incoming] = field(default_factory=list)
    kept: int | None = None  # an erasure: records kept
    kept_reason: str = ""  # a key of dsar.rules.withholding.kept_reasons


def _refuse(message: str, where: str, **values: Any) -> ManualTaskRefused:
    """A refusal the owner reads in their page's language (an N_ template and its values)."""
    return ManualTaskRefused(message, field=where, **values)


_HOW_MANY = {
    "found": N_("Give the number of records you found."),
    "erased": N_("Give the number of records you erased."),
}


def _count(task: Task, outcome: str, count: int | None) -> int:
    allowed = OUTCOMES[task.action]
    if outcome not in allowed:
        raise _refuse(N_("Choose one of the answers this task offers."), "outcome")
    if count is None:
        if outcome in _HOW_MANY:
            raise _refuse(_HOW_MANY[outcome], "count")
        count = 0
    if not 0 <= count <= MAX_COUNT:
        raise _refuse(N_("Give a number from 0 to %(most)s."), "count", most=MAX_COUNT)
    if outcome == "nothing" and count:
        raise _refuse(N_("You chose that nothing was found: leave the number empty or 0."), "count")
    return count


def parse_rows(text: str) -> list[dict[str, str]]:
    """Typed records: the first line names the fields, each other line is one record."""
    text = (text or "").strip()
    if not text:
        return []
    lines = list(csv.reader(io.StringIO(text)))
    header = [name.strip() for name in lines[0]]
    if not all(header) or len(set(header)) != len(header) or len(header) > MAX_COLUMNS:
        message = N_(
            "Put the field names on the first line, each once, separated by commas "
            "(at most %(most)s), like: Document, Date, Where kept."
        )
        raise _refuse(message, "rows", most=MAX_COLUMNS)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        if len(line) > len(header):
            message = N_("Line %(line)s has more values than there are field names.")
            raise _refuse(message, "rows", line=str(number))
        if any(len(cell) > MAX_CELL for cell in line):
            message = N_("Line %(line)s: keep each value under %(most)s characters.")
            raise _refuse(message, "rows", line=str(number), most=MAX_CELL)
        rows.append(
            {name: (line[i].strip() if i < len(line) else "") for i, name in enumerate(header)}
        )
    if not rows:
        raise _refuse(N_("Under the field names, give one line per record."), "rows")
    if len(rows) > MAX_ROWS:
        message = N_("Type at most %(most)s records; send more as a file.")
        raise _refuse(message, "rows", most=MAX_ROWS)
    return rows


def _kept(task: Task, sent: Report) -> tuple[int, withholding.Reason | None]:
    kept = sent.kept or 0
    if task.action is not TaskAction.ERASE or not kept:
        return 0, None
    if not 0 <= kept <= MAX_COUNT:
        raise _refuse(N_("Give a number from 0 to %(most)s."), "kept", most=MAX_COUNT)
    if sent.outcome == "nothing":
        message = N_("You chose that nothing was found: nothing can have been kept.")
        raise _refuse(message, "kept")
    reason = withholding.find(withholding.kept_reasons(task.request.regime), sent.kept_reason)
    if reason is None:
        raise _refuse(N_("Choose why the records you kept must be kept."), "kept_reason")
    return kept, reason


def _receipt(system: DataSystem, outcome: str, count: int, kept: int) -> str:
    if outcome == "nothing":
        return f"{system.name}: no records held, checked by the owner"
    if outcome == "opted_out":
        return f"{system.name}: opted out by the owner ({count} record(s))"
    if outcome in ("corrected", "restricted", "objected", "limited", "lifted"):
        return f"{system.name}: {outcome} by the owner ({count} record(s))"
    words = f"{system.name}: {count} record(s) {outcome} by the owner"
    return words + (f", {kept} kept" if kept else "")


def _claim_link(task: Task) -> None:
    """Use the link up in one UPDATE: two reports through it (a double click) record one."""
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
    task.token_hash = None


def report(task: Task, sent: Report) -> None:
    """Record what the owner found, erased or opted out, with what they sent; the link is
    used up. Everything is checked before anything is stored."""
    count = _count(task, sent.outcome, sent.count)
    note = inputs.clean(sent.note, multiline=True)
    if len(note) > MAX_NOTE:
        raise _refuse(N_("Keep the note under %(most)s characters."), "note", most=MAX_NOTE)
    locating = task.action is TaskAction.LOCATE and sent.outcome == "found"
    rows = parse_rows(sent.rows) if locating else []
    files = uploads.check(sent.files) if locating else []
    kept, reason = _kept(task, sent)
    _claim_link(task)
    found = 0 if sent.outcome == "nothing" else count + kept
    task.status = TaskStatus.SUCCEEDED
    task.found_count = found
    task.erased_count = count if sent.outcome == "erased" else 0
    task.retained_count = kept
    task.note = note
    stored = uploads.store(task, files)
    result: dict[str, Any] = {
        "receipts": [_receipt(task.system, sent.outcome, count, kept)],
        "records": {TYPED: rows} if rows else {},
        "kept": [],
    }
    if reason is not None:
        result["kept"] = [
            {
                "place": task.system.name,
                "count": kept,
                "reason": reason.label,
                "citation": reason.citation,
            }
        ]
    link = link_info(task)
    task.result = {**result, **({"link": link} if link else {})}
    task.reported_at = task.finished_at = utcnow()
    task.last_error = ""
    detail = {
        "task": task.id,
        "system": task.system.key,
        "outcome": sent.outcome,
        "count": count,
        "kept": kept,
        "rows": len(rows),
        "files": [{"sha256": u.sha256, "type": u.media_type, "bytes": u.size} for u in stored],
    }
    record(task.request, "manual_task_reported", actor="owner", detail=detail)
    db.session.commit()
    req = task.request
    if req.status is RequestStatus.ACTION_REQUIRED:
        workflow.resume(req)
    else:
        fanin.fan_in(req.id)
