"""Record every download of a document: who (staff user, API key or the person) and when."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from dsar.extensions import db
from dsar.models import Document, DocumentDownload
from dsar.services.events import record

# How each kind of answer file is served: media type and the suffix of the name it gets.
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".csv": "text/csv",
    ".zip": "application/zip",
}


def path_of(doc: Document) -> Path:
    return Path(current_app.config["DSAR_DOCUMENTS_DIR"]) / doc.filename


def is_purged(doc: Document) -> bool:
    """A document whose file is gone was purged under the retention policy (the row stays)."""
    return not path_of(doc).is_file()


def media_type(doc: Document) -> str:
    return MEDIA_TYPES.get(Path(doc.filename).suffix, "application/octet-stream")


def record_download(
    doc: Document, *, channel: str, user_id: int | None = None, api_key_id: int | None = None
) -> None:
    db.session.add(
        DocumentDownload(document=doc, channel=channel, user_id=user_id, api_key_id=api_key_id)
    )
    who = f"user:{user_id}" if user_id else f"api-key:{api_key_id}" if api_key_id else "person"
    record(
        doc.request,
        "document_downloaded",
        actor=who,
        detail={"document_id": doc.id, "kind": doc.kind, "sha256": doc.sha256, "channel": channel},
    )
    db.session.commit()
