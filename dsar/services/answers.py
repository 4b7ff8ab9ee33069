"""Compile a finished request's answer: render its documents, store them, tell the person.

Runs on the documents queue, once every task is final (see dsar.services.fanin). The files
are written first, then the request moves compiling -> completed in one conditional UPDATE:
a repeated job for a compiled request changes nothing, and a run that lost the race removes
the files it wrote.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from dsar import mail, transitions
from dsar.documents.compose import render_answer
from dsar.documents.render import write_atomically
from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus, utcnow
from dsar.services.events import record


def compile_response(request_id: int) -> None:
    """Render the answer's files once; a repeated job for a compiled request does nothing."""
    req = db.session.get(Request, request_id)
    if req is None or req.status is not RequestStatus.COMPILING:
        return
    try:
        files = render_answer(req)
    except Exception as exc:  # a render that fails or runs out of time: an officer must look
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
    folder: Path = current_app.config["DSAR_DOCUMENTS_DIR"]
    names = [f"{req.reference}-{f.kind.replace('_', '-')}-{f.sha256[:12]}{f.suffix}" for f in files]
    for name, rendered in zip(names, files, strict=True):
        write_atomically(folder / name, rendered.data)
    if not transitions.move_if(request_id, RequestStatus.COMPILING, RequestStatus.COMPLETED):
        db.session.rollback()
        # Another run finished first; keep only the files its document rows name.
        stored = select(Document.filename).where(Document.filename.in_(names))
        kept = set(db.session.scalars(stored))
        for name in set(names) - kept:
            (folder / name).unlink(missing_ok=True)
        return
    db.session.refresh(req)
    req.completed_at = utcnow()
    req.delivery_expires_at = req.completed_at + timedelta(
        days=current_app.config["DSAR_DELIVERY_DAYS"]
    )
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
        after=RequestStatus.COMPLETED,
        detail={
            "documents": [
                {"kind": f.kind, "sha256": f.sha256, "bytes": len(f.data)} for f in files
            ],
            "sha256": files[0].sha256,
            "bytes": len(files[0].data),
            "render_seconds": round(files[0].seconds, 3),
        },
    )
    db.session.commit()
    mail.send(
        to=req.email,
        subject=f"Your answer to request {req.reference} is ready",
        template="ready",
        request=req,
        request_id=req.id,
    )
