"""Evidence for auditors: render (and sign) a request's evidence file, and record who took it."""

from __future__ import annotations

from dataclasses import dataclass

from dsar.documents.evidence import load_signing, render_signed
from dsar.documents.render import Rendered
from dsar.extensions import db
from dsar.models import Request
from dsar.services.events import record


@dataclass(frozen=True)
class Evidence:
    rendered: Rendered
    signed: bool
    filename: str


def issue_evidence(req: Request, *, actor: str) -> Evidence:
    """Render (and sign) the evidence file and record who took it, with the file's SHA-256."""
    signing = load_signing()
    rendered = render_signed(req, signing=signing, generated_by=actor)
    record(
        req,
        "evidence_downloaded",
        actor=actor,
        detail={"sha256": rendered.sha256, "signed": signing is not None},
    )
    db.session.commit()
    return Evidence(rendered, signing is not None, f"{req.reference}-evidence.pdf")
