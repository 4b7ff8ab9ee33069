"""One request's page and the officer's actions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dsar import rules
from dsar.exceptions import ClockRefused
from dsar.extensions import db
from dsar.models import Request, Task
from dsar.services import clock, reminders
from dsar.staff.forms import ConfirmForm, LogoutForm, ReasonForm
from dsar.staff.views import ACTORS, actor, bp, roles_required


def _request_or_404(reference: str) -> Request:
    req = db.session.scalar(
        select(Request)
        .where(Request.reference == reference)
        .options(selectinload(Request.tasks).selectinload(Task.system))
    )
    if req is None:
        abort(404, f"No request with reference {reference}.")
    return req


@bp.get("/requests/<reference>")
@login_required
def request_page(reference: str) -> str:
    req = _request_or_404(reference)
    rule_set = rules.regime(req.regime)
    return render_template(
        "staff/request.html",
        req=req,
        regime=rule_set,
        extension=rule_set.extension_for(req.kind),
        labels=rules.KIND_LABELS,
        logout_form=LogoutForm(),
        reason_form=ReasonForm(),
        confirm_form=ConfirmForm(),
        overdue=reminders.overdue(req, reminders.today_here()),
        can_act=current_user.role in ACTORS,
    )


def _clock_action(reference: str, act: Callable[[Request], None], done: str) -> Any:
    req = _request_or_404(reference)
    try:
        act(req)
    except ClockRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(done, "info")
    return redirect(url_for("staff.request_page", reference=reference))


def _reason_or_back(reference: str) -> str | None:
    form = ReasonForm()
    if form.validate_on_submit():
        return form.reason.data
    for errors in form.errors.values():
        for error in errors:
            flash(error, "error")
    return None


@bp.post("/requests/<reference>/pause")
@roles_required(*ACTORS)
def pause(reference: str) -> Any:
    reason = _reason_or_back(reference)
    if reason is None:
        return redirect(url_for("staff.request_page", reference=reference))
    by = actor()
    return _clock_action(
        reference, lambda r: clock.pause(r, reason=reason, actor=by), "The clock is paused."
    )


@bp.post("/requests/<reference>/resume")
@roles_required(*ACTORS)
def resume(reference: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    by = actor()
    return _clock_action(
        reference, lambda r: clock.resume(r, actor=by), "The clock is running again."
    )


@bp.post("/requests/<reference>/extend")
@roles_required(*ACTORS)
def extend(reference: str) -> Any:
    reason = _reason_or_back(reference)
    if reason is None:
        return redirect(url_for("staff.request_page", reference=reference))
    by = actor()
    return _clock_action(
        reference,
        lambda r: clock.extend(r, reason=reason, actor=by),
        "Extended; the person has been told why and the new date.",
    )
