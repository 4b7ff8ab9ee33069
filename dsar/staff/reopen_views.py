"""Reopen a completed request with a reason: confirmed after a summary of what it does."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from dsar.exceptions import DecisionRefused
from dsar.services import reopening
from dsar.staff.decision_views import confirm_page, confirmed, keep_typed
from dsar.staff.forms import ReopenForm
from dsar.staff.request_views import request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required


@bp.post("/requests/<reference>/reopen")
@roles_required(*ACTORS)
def reopen(reference: str) -> Any:
    form = ReopenForm()
    if not form.validate_on_submit():
        return keep_typed(
            reference,
            form,
            "reopen",
            " ".join(e for errors in form.errors.values() for e in errors),
        )
    req = request_or_404(reference)
    try:  # refused now, with what was typed, rather than after the officer confirmed
        reopening.check(req)
    except DecisionRefused as exc:
        return keep_typed(reference, form, "reopen", str(exc))
    if not confirmed():
        return confirm_page(
            f"Reopen {reference}",
            reopening.effects(req),
            "Yes, reopen and run the work again",
            url_for("staff.reopen", reference=reference),
            url_for("staff.request_page", reference=reference),
            reason_label="Your reason, kept in the request's history (the person is not sent it):",
            reason=form.reason.data or "",
        )
    try:
        reopening.reopen(req, form.reason.data or "", actor=actor())
    except DecisionRefused as exc:
        return keep_typed(reference, form, "reopen", str(exc))
    flash("Reopened: the work runs again in every system; a new answer follows.", "info")
    return redirect(url_for("staff.request_page", reference=reference))
