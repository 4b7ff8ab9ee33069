"""The audit chain's check, for auditors (routes register on dsar.auditor.views.bp)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template

from dsar.auditor.views import bp
from dsar.models import Role
from dsar.services import audit_checks, checkpoints
from dsar.staff.forms import LogoutForm
from dsar.staff.views import roles_required

READERS = (Role.AUDITOR, Role.ADMIN, Role.OFFICER)


@bp.get("/chain")
@roles_required(*READERS)
def chain() -> Any:
    """Recompute the whole chain on each view, and compare it with the newest checkpoint
    kept outside the database: the verdict is never a cached one."""
    verdict = audit_checks.check(folder=current_app.config["DSAR_AUDIT_DIR"])
    body = render_template("auditor/chain.html", verdict=verdict, logout_form=LogoutForm())
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/chain/checkpoint.json")
@roles_required(*READERS)
def chain_checkpoint() -> Any:
    """A freshly signed checkpoint of the head, to keep outside dsar and check against later."""
    checkpoint = checkpoints.take()
    return Response(
        checkpoint.to_json(),
        mimetype="application/json",
        headers={
            "Content-Disposition": (
                f'attachment; filename="dsar-audit-checkpoint-seq-{checkpoint.seq}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )
