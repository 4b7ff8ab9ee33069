"""Files no database row names: the leftovers of a job that died after writing.

A compile job writes the answer's files, then commits their rows; a job that fails between
the two (the database went away, the worker was killed) leaves files that hold personal data
and that nothing lists, so the retention purge, which deletes the files rows name, never
would. The daily retention run deletes every file in DSAR_DOCUMENTS_DIR and DSAR_UPLOADS_DIR
that no `documents` or `uploads` row names once it is older than the longest a job may take
between writing and committing (twice DSAR_PDF_TIMEOUT, at least an hour), so that a render
in progress is never touched.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Correspondence, Document, Upload
from dsar.services.events import record

log = logging.getLogger(__name__)

MIN_AGE_SECONDS = 3600


def min_age() -> float:
    return max(MIN_AGE_SECONDS, 2 * current_app.config["DSAR_PDF_TIMEOUT"])


def _orphans(folder: Path, named: set[str], before: float) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.name not in named and path.stat().st_mtime < before
    )


def purge(now: datetime, *, dry_run: bool = False) -> int:
    """Delete the files no row names that are old enough; how many (or would be)."""
    before = now.timestamp() - min_age()
    config = current_app.config
    found = _orphans(
        Path(config["DSAR_DOCUMENTS_DIR"]),
        set(db.session.scalars(select(Document.filename))),
        before,
    ) + _orphans(
        Path(config["DSAR_UPLOADS_DIR"]),
        set(db.session.scalars(select(Upload.filename)))
        | set(db.session.scalars(select(Correspondence.filename))),
        before,
    )
    if dry_run or not found:
        return len(found)
    for path in found:
        path.unlink(missing_ok=True)
    # Names are random or a reference and a hash: no personal data in the history.
    record(None, "orphan_files_deleted", actor="system", detail={"files": len(found)})
    db.session.commit()
    log.warning("deleted %d file(s) that no document or upload row names", len(found))
    return len(found)
