"""Compile a finished request's answer: render its documents, store them, and either tell the
person or leave the answer for an officer's review (dsar.services.review).

Runs on the documents queue, once every task is final (see dsar.services.fanin). The files
are written first, then the request moves compiling -> completed in one conditional UPDATE:
a repeated job for a compiled request changes nothing, and a run that lost the race removes
the files it wrote.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import select

from dsar import transitions
from dsar.documents.compose import render_answer
from dsar.documents.render import RenderedFile, write_atomically
from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus
from dsar.services import correcting, notifications, review
from dsar.services.events import record


def compile_response(request_id: int) -> None:
    """Render the answer's files once; a repeated job for a compiled request does nothing."""
    req = db.session.get(Request, request_id)
    if req is None or req.status is not RequestStatus.COMPILING:
        return
    files = _render(req)
    folder: Path = current_app.config["DSAR_DOCUMENTS_DIR"]
    names = [f"{req.reference}-{f.kind.replace('_', '-')}-{f.sha256[:12]}{f.suffix}" for f in files]
    for name, rendered in zip(names, files, strict=True):
        write_atomically(folder / name, rendered.data)
    after = (
        RequestStatus.COMPLETED if review.releases_at_once(req) else RequestStatus.READY_FOR_REVIEW
    )
    if not transitions.move_if(request_id, RequestStatus.COMPILING, after):
        db.session.rollback()
        _keep_only_stored(folder, names)  # another run finished first
        return
    db.session.refresh(req)
    if req.correction:
        correcting.forget_old_values(req)  # the certificate is made: old values go
    superseded = [d for d in req.documents if d.kind in {f.kind for f in files}]
    if after is RequestStatus.COMPLETED:
        review.complete(req)
    _store(req, files, names, after, superseded)
    # A render after a redaction replaces the earlier files: the withheld data must not stay
    # downloadable. Their rows and SHA-256 stay in the history.
    for doc in superseded:
        if doc.filename not in names:
            (folder / doc.filename).unlink(missing_ok=True)
    if after is RequestStatus.COMPLETED:
        review.tell_ready(req)
    else:
        notifications.waiting(req, "review", "Answer ready for your review")


def _render(req: Request) -> list[RenderedFile]:
    """The answer's files; a render that fails or runs out of time needs an officer."""
    try:
        return render_answer(req)
    except Exception as exc:
        request_id = req.id
        db.session.rollback()
        if transitions.move_if(request_id, RequestStatus.COMPILING, RequestStatus.ACTION_REQUIRED):
            req = db.session.get(Request, request_id)
            record(
                req,
                "compile_failed",
                actor="worker",
                before=RequestStatus.COMPILING,
                after=RequestStatus.ACTION_REQUIRED,
                detail={"error": type(exc).__name__},
            )
            db.session.commit()
        raise


def _keep_only_stored(folder: Path, names: list[str]) -> None:
    """Delete the files of this run that no document row names."""
    stored = select(Document.filename).where(Document.filename.in_(names))
    kept = set(db.session.scalars(stored))
    for name in set(names) - kept:
        (folder / name).unlink(missing_ok=True)


def _store(
    req: Request,
    files: list[RenderedFile],
    names: list[str],
    after: RequestStatus,
    superseded: list[Document],
) -> None:
    for name, rendered in zip(names, files, strict=True):
        db.session.add(
            Document(
                request=req,
                kind=rendered.kind,
                filename=name,
                sha256=rendered.sha256,
                size=len(rendered.data),
                render_seconds=rendered.seconds,
            )
        )
    record(
        req,
        "response_compiled",
        actor="worker",
        before=RequestStatus.COMPILING,
        after=after,
        detail={
            "documents": [
                {"kind": f.kind, "sha256": f.sha256, "bytes": len(f.data)} for f in files
            ],
            "sha256": files[0].sha256,
            "bytes": len(files[0].data),
            "render_seconds": round(files[0].seconds, 3),
            "replaces": [d.id for d in superseded],
        },
    )
    db.session.commit()
