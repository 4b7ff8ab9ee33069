"""An officer's decisions on a request and on its data systems' tasks (POST only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from dsar import inputs
from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import Request, RequestKind, Task
from dsar.rules import corrections as correction_rules
from dsar.services import corrections, decisions, messages
from dsar.staff.forms import (
    AssignForm,
    CancelForm,
    ClarifyForm,
    ConfirmForm,
    DenyForm,
    DuplicateForm,
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


@bp.post("/requests/<reference>/approve")
@roles_required(*ACTORS)
def approve(reference: str) -> Any:
    objection = request_or_404(reference).kind is RequestKind.OBJECTION
    return _with_form(
        ConfirmForm(),
        reference,
        lambda form, req: decisions.approve(req, actor=actor()),
        "Upheld: every system is marking the records."
        if objection
        else "Approved: the erasure is running in every system.",
    )


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
    return _with_form(
        DenyForm(),
        reference,
        lambda form, req: decisions.deny(req, form.reason.data, form.text.data, actor=actor()),
        "Denied; the person has been told why and how to complain or appeal.",
    )


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
    return _with_form(
        CancelForm(),
        reference,
        lambda form, req: decisions.cancel(req, form.reason.data, actor=actor()),
        "Cancelled; the person has been told why.",
    )


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
