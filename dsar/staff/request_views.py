"""One request's page and the officer's actions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, send_from_directory, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dsar import actors, rules
from dsar.exceptions import ClockRefused, DecisionRefused
from dsar.extensions import db
from dsar.models import Request, RequestStatus, Task, User
from dsar.rules import agents as agent_rules
from dsar.rules import corrections as correction_rules
from dsar.services import (
    appeals,
    clock,
    corrections,
    decision_effects,
    decisions,
    downloads,
    lifts,
    messages,
    reminders,
    staff_intake,
)
from dsar.staff.forms import (
    AppealDecisionForm,
    AssignForm,
    CancelForm,
    ClarifyForm,
    ConfirmForm,
    DenyForm,
    DuplicateForm,
    LiftForm,
    LogoutForm,
    ManualDoneForm,
    NoteForm,
    ReasonForm,
    ReopenForm,
    ReplyForm,
    SkipForm,
)
from dsar.staff.views import ACTORS, actor, bp, roles_required


def assignable_staff() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.role.in_(ACTORS)).order_by(User.email)
        )
    )


def decision_forms(req: Request) -> dict[str, Any]:
    deny = DenyForm()
    deny.reason.choices = [
        (d.key, f"{d.label} ({d.citation})") for d in rules.regime(req.regime).denials
    ]
    return {
        "assign": AssignForm(),
        "note": NoteForm(),
        "reply": ReplyForm(),
        "deny": deny,
        "clarify": ClarifyForm(),
        "duplicate": DuplicateForm(),
        "cancel": CancelForm(),
        "skip": SkipForm(),
        "done": ManualDoneForm(),
        "reopen": ReopenForm(),
    }


def request_or_404(reference: str) -> Request:
    req = db.session.scalar(
        select(Request)
        .where(Request.reference == reference)
        .options(selectinload(Request.tasks).selectinload(Task.system))
    )
    if req is None:
        abort(404, f"No request with reference {reference}.")
    return req


DOCUMENT_KINDS = {
    "response": "The letter (PDF)",
    "data_json": "The data (JSON)",
    "data_csv": "The data (CSV)",
    "package": "The data package (ZIP: JSON and CSV per system)",
}


@bp.get("/requests/<reference>")
@login_required
def request_page(reference: str) -> str:
    return render_page(request_or_404(reference))


def render_page(req: Request, **extra: Any) -> str:
    """The request's page; `extra` carries what a refused decision keeps (typed values)."""
    rule_set = rules.regime(req.regime)
    return render_template(
        "staff/request.html",
        req=req,
        regime=rule_set,
        extension=rule_set.extension_for(req.kind, appeal=req.is_appeal),
        labels=rules.KIND_LABELS,
        logout_form=LogoutForm(),
        reason_form=ReasonForm(),
        confirm_form=ConfirmForm(),
        overdue=reminders.overdue(req, reminders.today_here()),
        can_act=current_user.role in ACTORS,
        staff=assignable_staff(),
        dry_run_done=decisions.dry_run_complete(req),
        forms=decision_forms(req),
        who=actors.names([*(e.actor for e in req.events), req.verified_by or ""]),
        gone={d.id for d in req.documents if downloads.is_purged(d)},
        document_kinds=DOCUMENT_KINDS,
        recorded=next((e for e in req.events if e.action == "recorded_by_staff"), None),
        channels=staff_intake.CHANNELS,
        agent_rule=agent_rules.rule(req.regime) if req.agent else None,
        thread=[(m, messages.files_of(req, m)) for m in req.messages],
        moves=decision_effects.moves(req),
        **(
            review_views.review_context(req) if req.status is RequestStatus.READY_FOR_REVIEW else {}
        ),
        **(
            appeal_context(req)
            | lift_context(req)
            | (correction_context(req) if req.correction else {})
            | extra
        ),
    )


def appeal_context(req: Request) -> dict[str, Any]:
    """An appeal's page shows the decision it contests and who may decide it."""
    if not req.is_appeal:
        return {}
    denier = appeals.denied_by(req.appeal_of)
    return {
        "appeal_denial": rules.regime(req.regime).denial(req.appeal_of.denial_reason),
        "appeal_denier": actors.names([denier]).get(denier, denier),
        "appeal_may_decide": appeals.may_decide(req, actor()),
        "appeal_form": AppealDecisionForm(),
        "appeal_typed": {},
    }


def lift_context(req: Request) -> dict[str, Any]:
    """A carried-out restriction or objection offers its lift; a lift shows why."""
    rule = lifts.rule_for(req)
    if rule is None:
        return {}
    return {
        "lift_rule": rule,
        "lift_plan": lifts.plan(req),
        "lift_form": LiftForm(),
        "lift_typed": {},
        "lift_reason": rule.reason(req.lift_reason) if req.is_lift else None,
    }


def correction_context(req: Request) -> dict[str, Any]:
    """A correction's page shows each asked change beside what every system holds."""
    reviewing = req.status is RequestStatus.AWAITING_APPROVAL
    return {
        "correction_rows": corrections.review(req) if reviewing else [],
        "correction_reasons": correction_rules.refusals(req.regime),
        "correction_labels": correction_rules.LABELS,
        "typed": {},
    }


def act_on(reference: str, act: Callable[[Request], None], done: str) -> Any:
    """Run one decision on the request, then show its page with what happened."""
    req = request_or_404(reference)
    try:
        act(req)
    except (ClockRefused, DecisionRefused) as exc:
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
    return act_on(
        reference,
        lambda r: clock.pause(r, reason=reason, actor=by),
        "The clock is paused; the person has been told why.",
    )


@bp.post("/requests/<reference>/resume")
@roles_required(*ACTORS)
def resume(reference: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    by = actor()
    return act_on(
        reference,
        lambda r: clock.resume(r, actor=by),
        "The clock is running again; the person has been told the new date.",
    )


@bp.post("/requests/<reference>/extend")
@roles_required(*ACTORS)
def extend(reference: str) -> Any:
    reason = _reason_or_back(reference)
    if reason is None:
        return redirect(url_for("staff.request_page", reference=reference))
    by = actor()
    return act_on(
        reference,
        lambda r: clock.extend(r, reason=reason, actor=by),
        "Extended; the person has been told why and the new date.",
    )


@bp.get("/requests/<reference>/documents/<int:document_id>")
@login_required
def document(reference: str, document_id: int) -> Any:
    """Any staff role may download a request's documents; every download is recorded."""
    req = request_or_404(reference)
    doc = next((d for d in req.documents if d.id == document_id), None)
    if doc is None:
        abort(404, f"{reference} has no document {document_id}.")
    if downloads.is_purged(doc):
        abort(410, "This document was purged under the retention policy; its SHA-256 is kept.")
    downloads.record_download(doc, channel="staff", user_id=current_user.id)
    return send_from_directory(
        current_app.config["DSAR_DOCUMENTS_DIR"],
        doc.filename,
        mimetype=downloads.media_type(doc),
        as_attachment=True,
        download_name=doc.filename,
        max_age=0,
    )


@bp.post("/requests/<reference>/tasks/<int:task_id>/resend")
@roles_required(*ACTORS)
def resend_task_link(reference: str, task_id: int) -> Any:
    """Email a manual system's owner a fresh one-time link; the old link stops working."""
    from dsar.services import manual

    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    by = actor()
    return act_on(
        reference,
        lambda r: manual.resend(r, task_id, actor=by),
        "A new link was emailed to the system's owner.",
    )


@bp.post("/requests/<reference>/resend-code")
@roles_required(*ACTORS)
def resend_download_code(reference: str) -> Any:
    """Email the person a new download code for their answer (renewing an ended period)."""
    from dsar.services import delivery

    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    by = actor()
    return act_on(
        reference,
        lambda r: delivery.resend_for_staff(r, actor=by),
        "A new download code was emailed to the person; it works for a limited time.",
    )


# The decisions on this page, and the answer's review, register on `bp` when imported.
from dsar.staff import decision_views, review_views  # noqa: E402, F401
