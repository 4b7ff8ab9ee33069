"""An officer's written decision on an appeal; the service enforces that it is not the
officer who denied the request."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.services import appeals
from dsar.staff.forms import AppealDecisionForm
from dsar.staff.request_views import render_page, request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required


@bp.post("/requests/<reference>/appeal-decision")
@roles_required(*ACTORS)
def decide_appeal(reference: str) -> Any:
    req = request_or_404(reference)
    form = AppealDecisionForm()
    typed = {"outcome": request.form.get("outcome", ""), "text": request.form.get("text", "")}
    try:
        if not form.validate_on_submit():
            raise DecisionRefused(next(iter(form.errors.values()))[0])
        appeals.decide(req, form.outcome.data, form.text.data, actor=actor())
    except DecisionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_page(request_or_404(reference), appeal_typed=typed), 422
    flash(
        "Appeal granted: the request is being carried out, and the person has your decision."
        if form.outcome.data == "granted"
        else "Appeal refused: the person has your decision and how to complain to the "
        "Attorney General.",
        "info",
    )
    return redirect(url_for("staff.request_page", reference=reference))
