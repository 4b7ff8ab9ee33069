"""Record every download of a document: who (staff user, API key or the person) and when."""

from __future__ import annotations

from dsar.extensions import db
from dsar.models import Document, DocumentDownload
from dsar.services.events import record


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
        detail={"document_id": doc.id, "kind": doc.kind, "channel": channel},
    )
    db.session.commit()
