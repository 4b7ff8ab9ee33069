"""Bulk decisions on a selection from the queue: approve, deny, extend with notice, release.

Each request is decided on its own, by the same services as its page; the officer is told
which succeeded and, for the others, why not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from dsar import inputs
from dsar.exceptions import ClockRefused, DecisionRefused
from dsar.extensions import db
from dsar.models import Request
from dsar.services import clock, decisions, review
from dsar.staff.forms import BulkForm
from dsar.staff.views import ACTORS, actor, bp, roles_required

MAX_SELECTION = 500


def _back() -> Any:
    target = request.form.get("next", "")
    # Only back to the queue: never an address from outside.
    if not target.startswith("/staff/") or "//" in target or "\\" in target:
        target = url_for("staff.queue")
    return redirect(target)


def _decide(form: BulkForm) -> Callable[[Request], None]:
    by = actor()
    if form.action.data == "approve":
        return lambda req: decisions.approve(req, actor=by)
    if form.action.data == "deny":
        return lambda req: decisions.deny(req, form.reason.data, form.text.data, actor=by)
    if form.action.data == "release":
        return lambda req: review.release(req, actor=by)
    return lambda req: clock.extend(req, reason=form.text.data, actor=by)


def _problems(form: BulkForm) -> list[str]:
    if not form.validate_on_submit():
        return [error for errors in form.errors.values() for error in errors]
    if form.action.data == "deny" and not form.reason.data:
        return ["Choose the denial reason."]
    if form.action.data == "extend" and not (form.text.data or "").strip():
        return ["Give the reason for the extension."]
    return []


@bp.post("/bulk")
@roles_required(*ACTORS)
def bulk() -> Any:
    form = BulkForm()
    problems = _problems(form)
    for problem in problems:
        flash(problem, "error")
    if problems:
        return _back()
    ids = [inputs.parse_id(value, what="request id") for value in form.ids.data]
    if len(ids) > MAX_SELECTION:
        abort(400, f"Select at most {MAX_SELECTION} requests at a time.")
    selected = db.session.scalars(select(Request).where(Request.id.in_(ids))).all()
    decide, done, refused = _decide(form), [], []
    for req in sorted(selected, key=lambda r: r.id):
        try:
            decide(req)
        except (DecisionRefused, ClockRefused) as exc:
            db.session.rollback()
            refused.append(f"{req.reference}: {exc}")
        else:
            done.append(req.reference)
    verbs = {"approve": "Approved", "deny": "Denied", "extend": "Extended", "release": "Released"}
    verb = verbs[form.action.data]
    if done:
        flash(f"{verb} {len(done)}: {', '.join(done)}.", "info")
    for line in refused:
        flash(line, "error")
    return _back()
