"""The audit chain's check, for auditors (routes register on dsar.auditor.views.bp)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from dsar.auditor.views import bp
from dsar.models import Role
from dsar.services import audit
from dsar.staff.forms import LogoutForm
from dsar.staff.views import roles_required

READERS = (Role.AUDITOR, Role.ADMIN, Role.OFFICER)


@bp.get("/chain")
@roles_required(*READERS)
def chain() -> Any:
    """Recompute the whole chain on each view: the verdict is never a cached one."""
    result = audit.verify()
    body = render_template("auditor/chain.html", result=result, logout_form=LogoutForm())
    return body, 200, {"Cache-Control": "no-store"}
