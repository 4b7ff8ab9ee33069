"""Keep the tool's own copies of personal data no longer than delivery and the law need.

Two steps, run daily by `workers.jobs.purge_expired_data` (and `flask dsar purge`):

- `DSAR_PURGE_DAYS` after a request closed, the located data goes: the records copied into
  tasks (`result["records"]` and `["identifiers"]`, the dry run's `preview`), and the answer
  files that carry them (an access request's PDF, JSON and CSV), and the files system owners
  sent with their reports (scans, photos, spreadsheets). Counts, receipts, kept-data
  entries and proof of erasure stay: they hold no personal data and prove what was done. A
  deletion certificate or opt-out confirmation is the company's proof of what was done, and
  names only the person, systems and counts: it is kept until the record itself is purged.
- `DSAR_RECORD_MONTHS` (at least 24, CCPA 11 CCR 7101) after closing, the identity is
  stripped from the request row, and every remaining file deleted. The accountability record
  stays: dates, kind, regime, status, outcome, denial reason and the event history.

Document rows are kept with their SHA-256 (the audit chain names them); a file that is gone
is a purged file (`downloads.is_purged`). Both steps are idempotent. The preference
centre's one-time links (which name an address) go once they can no longer be used; the
consent ledger stays, as the proof of each choice (GDPR Art. 7(1)).
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, text

from dsar import rules, transitions
from dsar.extensions import db
from dsar.models import Document, DownloadCode, Request, TaskAction, utcnow
from dsar.services import choice_links, downloads, orphans, uploads
from dsar.services.events import record

log = logging.getLogger(__name__)

# The located copies of personal data: an access or portability answer's files.
DATA_KINDS = frozenset({"response", "data_json", "data_csv", "package"})
# What a task keeps of a person: copies of their records, and the ids systems know them by.
PURGED_KEYS = ("records", "identifiers")
REMOVED_NAME = "[removed under retention policy]"
CLOSED = tuple(s for s in transitions.TRANSITIONS if s not in transitions.OPEN_STATUSES)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` earlier; the month's last day when it has no such day."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def run(now: datetime | None = None, *, dry_run: bool = False) -> dict[str, int]:
    """Purge located data, then identities, of the requests whose time is up; return counts."""
    now = now or utcnow()
    config = current_app.config
    counts = {"requests_data_purged": 0, "tasks_cleared": 0, "files_deleted": 0}
    counts["records_purged"] = 0
    counts["orphans_deleted"] = 0
    data_cutoff = now - timedelta(days=config["DSAR_PURGE_DAYS"])
    record_cutoff = months_before(now, config["DSAR_RECORD_MONTHS"])
    for req in _closed_before(data_cutoff, Request.data_purged_at):
        tasks, files = purge_data(req, now=now, dry_run=dry_run)
        counts["requests_data_purged"] += 1
        counts["tasks_cleared"] += tasks
        counts["files_deleted"] += files
    for req in _closed_before(record_cutoff, Request.record_purged_at):
        counts["files_deleted"] += purge_record(req, now=now, dry_run=dry_run)
        counts["records_purged"] += 1
    counts["orphans_deleted"] = orphans.purge(now, dry_run=dry_run)
    counts["choice_links_deleted"] = choice_links.purge(now, dry_run=dry_run)
    if counts["records_purged"] and not dry_run:
        _forget_search_words()
    log.info("retention run%s: %s", " (dry run)" if dry_run else "", counts)
    return counts


def _forget_search_words() -> None:
    """SQLite's search index (FTS5) marks a purged name deleted but keeps its words in older
    segments until they merge: merge them now, so the purged identity is gone from the file.
    PostgreSQL's trigram index is an ordinary index, vacuumed as the table is."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("INSERT INTO requests_search(requests_search) VALUES ('optimize')"))
        db.session.commit()


def _closed_before(cutoff: datetime, purged_at: object) -> list[Request]:
    query = (
        select(Request)
        .where(
            Request.status.in_(CLOSED),
            Request.completed_at.is_not(None),
            Request.completed_at <= cutoff,
            purged_at.is_(None),  # type: ignore[attr-defined]
        )
        .order_by(Request.id)
    )
    return list(db.session.scalars(query))


def _is_access(req: Request) -> bool:
    return rules.ACTIONS.get(req.kind) is TaskAction.LOCATE


def _delete_files(docs: list[Document], *, dry_run: bool) -> list[int]:
    deleted = []
    for doc in docs:
        if downloads.is_purged(doc):
            continue
        if not dry_run:
            downloads.path_of(doc).unlink(missing_ok=True)
        deleted.append(doc.id)
    return deleted


def purge_data(req: Request, *, now: datetime, dry_run: bool = False) -> tuple[int, int]:
    """Remove the located records and an access answer's files; return (tasks, files)."""
    cleared = 0
    for task in req.tasks:
        has_records = any(key in (task.result or {}) for key in PURGED_KEYS)
        if not (has_records or task.preview is not None):
            continue
        cleared += 1
        if not dry_run:
            if has_records:
                task.result = {k: v for k, v in task.result.items() if k not in PURGED_KEYS}
            task.preview = None
    docs = [d for d in req.documents if d.kind in DATA_KINDS] if _is_access(req) else []
    deleted = _delete_files(docs, dry_run=dry_run)
    sent = [u for task in req.tasks for u in task.uploads if uploads.path_of(u).is_file()]
    # An agent's signed permission names the person: it goes with the located data.
    sent += [
        c for c in req.correspondence if c.purpose == "permission" and uploads.path_of(c).is_file()
    ]
    if dry_run:
        return cleared, len(deleted) + len(sent)
    removed = uploads.remove_files(sent)  # copies of located data, and an agent's permission
    db.session.execute(delete(DownloadCode).where(DownloadCode.request_id == req.id))
    req.data_purged_at = now
    record(
        req,
        "data_purged",
        actor="system",
        detail={
            "tasks_cleared": cleared,
            "documents_deleted": deleted,
            "uploads_deleted": removed,
            "days": current_app.config["DSAR_PURGE_DAYS"],
        },
    )
    db.session.commit()
    return cleared, len(deleted) + removed


def purge_record(req: Request, *, now: datetime, dry_run: bool = False) -> int:
    """Strip the identity from a request kept past its record period; return files deleted.

    The email is emptied, not hashed: duplicate checks look back `DSAR_DUPLICATE_DAYS` (30),
    far less than the record period, so a keyed hash would serve nothing and would still be
    pseudonymous personal data.
    """
    files = 0
    docs = list(req.documents)
    if dry_run:  # the data step of this run already counted the answer's data files
        docs = [d for d in docs if not (_is_access(req) and d.kind in DATA_KINDS)]
    elif req.data_purged_at is None:
        files += purge_data(req, now=now)[1]
    deleted = _delete_files(docs, dry_run=dry_run)
    originals = list(req.correspondence)  # the letter or email an officer attached
    if dry_run:
        return files + len(deleted) + len(originals)
    files += uploads.remove_files(originals)
    req.name = REMOVED_NAME
    req.email = ""
    req.phone = ""
    req.country = ""
    req.details = ""
    req.received_note = ""
    for message in req.messages:  # what the person and the team wrote may name them
        message.body = ""
    req.correction = None  # the values asked for and decided are the person's data too
    req.transfer_url = ""  # the address they gave may name them; the events keep the host only
    req.idempotency_digest = ""  # a keyed hash of the API body, which held the identity
    req.record_purged_at = now
    record(
        req,
        "record_purged",
        actor="system",
        detail={"documents_deleted": deleted, "months": current_app.config["DSAR_RECORD_MONTHS"]},
    )
    db.session.commit()
    return files + len(deleted)
