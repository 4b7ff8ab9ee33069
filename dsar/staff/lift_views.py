"""An officer lifts a restriction or an objection that was carried out: the person is told
first, then every system where the flag was set removes it (dsar.services.lifts)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.services import lifts
from dsar.staff.forms import LiftForm
from dsar.staff.request_views import render_page, request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required


@bp.post("/requests/<reference>/lift")
@roles_required(*ACTORS)
def lift(reference: str) -> Any:
    req = request_or_404(reference)
    form = LiftForm()
    typed = {"reason": request.form.get("reason", ""), "text": request.form.get("text", "")}
    try:
        if not form.validate_on_submit():
            raise DecisionRefused(next(iter(form.errors.values()))[0])
        lifted = lifts.lift(req, form.reason.data, form.text.data, actor=actor())
    except DecisionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_page(request_or_404(reference), lift_typed=typed), 422
    flash(
        f"The person is told, and {lifted.reference} is lifting it in "
        f"{len(lifted.tasks)} system(s); its page shows each one.",
        "info",
    )
    return redirect(url_for("staff.request_page", reference=lifted.reference))
