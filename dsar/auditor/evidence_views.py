"""Evidence PDFs for auditors (routes register on dsar.auditor.views.bp).

Officers do not get the evidence file: it is the auditors' check on the officers' work, and
admins may produce it for them. Every download is an event with the file's SHA-256.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort

from dsar.auditor.views import bp
from dsar.exceptions import SigningMisconfigured
from dsar.models import Role
from dsar.services.evidence import issue_evidence
from dsar.staff.request_views import request_or_404
from dsar.staff.views import actor, roles_required


@bp.get("/requests/<reference>/evidence.pdf")
@roles_required(Role.AUDITOR, Role.ADMIN)
def evidence_pdf(reference: str) -> Any:
    req = request_or_404(reference)
    try:
        evidence = issue_evidence(req, actor=actor())
    except SigningMisconfigured as exc:
        abort(500, f"The evidence file cannot be signed: {exc}. An administrator must fix it.")
    response = Response(evidence.rendered.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{evidence.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
