"""An officer's decisions on a request and on its data systems' tasks (POST only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from dsar import inputs
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import Request, RequestKind, RequestStatus, Task
from dsar.rules import corrections as correction_rules
from dsar.services import corrections, decision_effects, decisions, messages
from dsar.staff.forms import (
    AssignForm,
    CancelForm,
    ClarifyForm,
    ConfirmForm,
    DenyForm,
    DuplicateForm,
    LogoutForm,
    ManualDoneForm,
    NoteForm,
    ReplyForm,
    SkipForm,
)
from dsar.staff.request_views import act_on, render_page, request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required


def _page(reference: str) -> Any:
    return redirect(url_for("staff.request_page", reference=reference))


def _with_form(
    form: FlaskForm, reference: str, act: Callable[[FlaskForm, Request], None], done: str
) -> Any:
    """Check the form's shape, then run the decision; errors come back as messages."""
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return _page(reference)
    return act_on(reference, lambda req: act(form, req), done)


@bp.post("/requests/<reference>/assign")
@roles_required(*ACTORS)
def assign(reference: str) -> Any:
    def act(form: FlaskForm, req: Request) -> None:
        value = form.assignee.data or ""
        user_id = inputs.parse_id(value, what="staff member") if value else None
        decisions.assign(req, user_id, actor=actor())

    return _with_form(AssignForm(), reference, act, "Assignment saved.")


@bp.post("/requests/<reference>/note")
@roles_required(*ACTORS)
def note(reference: str) -> Any:
    return _with_form(
        NoteForm(),
        reference,
        lambda form, req: decisions.add_note(req, form.note.data, actor=actor()),
        "Note added.",
    )


@bp.post("/requests/<reference>/reply")
@roles_required(*ACTORS)
def reply(reference: str) -> Any:
    """Write to the person: the message joins the thread and is emailed in their language."""
    return _with_form(
        ReplyForm(),
        reference,
        lambda form, req: messages.from_staff(
            req, form.text.data, user_id=current_user.id, actor=actor()
        ),
        "Message sent to the person: on their request's page, and by email.",
    )


def confirmed() -> bool:
    """The officer read the summary of what the decision does and confirmed it."""
    return request.form.get("confirmed") == "yes"


def confirm_page(
    title: str,
    effects: list[str],
    button: str,
    action: str,
    back: str,
    *,
    reason_label: str = "Your reason, sent to the person:",
    **typed: str,
) -> tuple[str, int]:
    """What the decision will do, and a button that sends the same form again, confirmed."""
    return render_template(
        "staff/confirm.html",
        title=title,
        reason_label=reason_label,
        effects=effects,
        button=button,
        action=action,
        back=back,
        typed=typed,
        form=ConfirmForm(),
        logout_form=LogoutForm(),
    ), 200


@bp.post("/requests/<reference>/approve")
@roles_required(*ACTORS)
def approve(reference: str) -> Any:
    req = request_or_404(reference)
    objection = req.kind is RequestKind.OBJECTION
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        decisions.check_move(req, RequestStatus.IN_PROGRESS, "approved")
    except DecisionRefused as exc:
        flash(str(exc), "error")
        return _page(reference)
    if not confirmed():
        return confirm_page(
            f"{'Uphold the objection' if objection else 'Approve the erasure'}: {reference}",
            decision_effects.approve(req),
            "Yes, uphold it in every system" if objection else "Yes, erase in every system",
            url_for("staff.approve", reference=reference),
            url_for("staff.request_page", reference=reference),
        )
    return act_on(
        reference,
        lambda req: decisions.approve(req, actor=actor()),
        "Upheld: every system is marking the records."
        if objection
        else "Approved: the erasure is running in every system.",
    )


def _errors(form: FlaskForm) -> str:
    return " ".join(e for errors in form.errors.values() for e in errors)


def keep_typed(reference: str, form: FlaskForm, prefix: str, error: str) -> tuple[str, int]:
    """The request's page again with what was typed in the refused form, and why."""
    db.session.rollback()
    flash(error, "error")
    typed = {f"{prefix}_{k}": str(v or "") for k, v in form.data.items() if k != "csrf_token"}
    return render_page(request_or_404(reference), typed=typed), 422


@bp.post("/requests/<reference>/correction")
@roles_required(*ACTORS)
def decide_correction(reference: str) -> Any:
    """Accept, edit or refuse each change of a correction; a refusal keeps what was typed."""
    req = request_or_404(reference)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        done = corrections.decide(req, typed, actor=actor())
    except DecisionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_page(request_or_404(reference), typed=typed), 422
    # The name's parts (given, family) are the name written in two columns, not more changes.
    parts = {f.key for f in correction_rules.NAME_PARTS}
    made = len([key for key in done["accepted"] if key not in parts])
    flash(
        f"Decided: {made} change{'s' if made != 1 else ''} being made in every system that "
        f"holds {'them' if made != 1 else 'it'}; {len(done['refused'])} refused.",
        "info",
    )
    return _page(reference)


@bp.post("/requests/<reference>/deny")
@roles_required(*ACTORS)
def deny(reference: str) -> Any:
    form = DenyForm()
    if not form.validate_on_submit():
        return keep_typed(reference, form, "deny", _errors(form))
    req = request_or_404(reference)
    try:  # refused now, with what was typed, rather than after the officer confirmed
        decisions.check_deny(req, form.reason.data or "", form.text.data or "")
    except DecisionRefused as exc:
        return keep_typed(reference, form, "deny", str(exc))
    if not confirmed():
        return confirm_page(
            f"Deny {reference}",
            decision_effects.deny(req, form.reason.data or ""),
            "Yes, deny and tell the person",
            url_for("staff.deny", reference=reference),
            url_for("staff.request_page", reference=reference),
            reason=form.reason.data or "",
            text=form.text.data or "",
        )
    try:
        decisions.deny(req, form.reason.data, form.text.data, actor=actor())
    except DecisionRefused as exc:
        return keep_typed(reference, form, "deny", str(exc))
    flash("Denied; the person has been told why and how to complain or appeal.", "info")
    return _page(reference)


@bp.post("/requests/<reference>/clarify")
@roles_required(*ACTORS)
def clarify(reference: str) -> Any:
    return _with_form(
        ClarifyForm(),
        reference,
        lambda form, req: decisions.ask_clarification(
            req, form.question.data, actor=actor(), pause=form.pause.data
        ),
        "Question sent to the person.",
    )


@bp.post("/requests/<reference>/duplicate")
@roles_required(*ACTORS)
def duplicate(reference: str) -> Any:
    return _with_form(
        DuplicateForm(),
        reference,
        lambda form, req: decisions.mark_duplicate(req, form.earlier.data, actor=actor()),
        "Closed as a duplicate; the person has been told.",
    )


@bp.post("/requests/<reference>/spam")
@roles_required(*ACTORS)
def spam(reference: str) -> Any:
    return _with_form(
        ConfirmForm(),
        reference,
        lambda form, req: decisions.mark_spam(req, actor=actor()),
        "Closed as spam; nobody was emailed.",
    )


@bp.post("/requests/<reference>/cancel")
@roles_required(*ACTORS)
def cancel(reference: str) -> Any:
    form = CancelForm()
    if not form.validate_on_submit():
        return keep_typed(reference, form, "cancel", _errors(form))
    req = request_or_404(reference)
    try:
        decisions.check_move(req, RequestStatus.CANCELLED, "cancelled")
    except DecisionRefused as exc:
        return keep_typed(reference, form, "cancel", str(exc))
    if not confirmed():
        return confirm_page(
            f"Cancel {reference}",
            decision_effects.cancel(req),
            "Yes, cancel and tell the person",
            url_for("staff.cancel", reference=reference),
            url_for("staff.request_page", reference=reference),
            reason=form.reason.data or "",
        )
    try:
        decisions.cancel(req, form.reason.data, actor=actor())
    except DecisionRefused as exc:
        return keep_typed(reference, form, "cancel", str(exc))
    flash("Cancelled; the person has been told why.", "info")
    return _page(reference)


def _task(req: Request, task_id: int) -> Task:
    task = next((t for t in req.tasks if t.id == task_id), None)
    if task is None:
        abort(404, f"{req.reference} has no task {task_id}.")
    return task


@bp.post("/requests/<reference>/tasks/<int:task_id>/retry")
@roles_required(*ACTORS)
def retry_task(reference: str, task_id: int) -> Any:
    return _with_form(
        ConfirmForm(),
        reference,
        lambda form, req: decisions.retry_task(_task(req, task_id), actor=actor()),
        "Retrying that system.",
    )


@bp.post("/requests/<reference>/retry-failed")
@roles_required(*ACTORS)
def retry_failed(reference: str) -> Any:
    return _with_form(
        ConfirmForm(),
        reference,
        lambda form, req: decisions.retry_failed(req, actor=actor()),
        "Running the failed systems again; the others keep their results.",
    )


@bp.post("/requests/<reference>/tasks/<int:task_id>/skip")
@roles_required(*ACTORS)
def skip_task(reference: str, task_id: int) -> Any:
    return _with_form(
        SkipForm(),
        reference,
        lambda form, req: decisions.skip_task(_task(req, task_id), form.reason.data, actor=actor()),
        "System skipped.",
    )


@bp.post("/requests/<reference>/tasks/<int:task_id>/done")
@roles_required(*ACTORS)
def task_done(reference: str, task_id: int) -> Any:
    return _with_form(
        ManualDoneForm(),
        reference,
        lambda form, req: decisions.complete_manual_task(
            _task(req, task_id), form.found.data, form.note.data or "", actor=actor()
        ),
        "Marked done.",
    )


__all__ = ["request_or_404"]
