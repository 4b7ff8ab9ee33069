"""Staff views: login, the queue by due date, one request's page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dsar import rules, transitions
from dsar.exceptions import ClockRefused
from dsar.extensions import db, limiter, login_manager
from dsar.models import Request, RequestStatus, Role, Task, User
from dsar.services import accounts, clock, reminders
from dsar.staff.forms import ConfirmForm, LoginForm, LogoutForm, ReasonForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    return accounts.load_user(session_id)


@bp.after_request
def no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(url_for("staff.queue"))
        form.password.errors.append("That email and password do not match a staff account.")
    return render_template("staff/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> Any:
    if LogoutForm().validate_on_submit():
        accounts.end_session(current_user)
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed in, and with one of `roles`; anyone else gets 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403, "Your role does not allow this action.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.get("/")
@login_required
def queue() -> str:
    status = request.args.get("status", "")
    today = reminders.today_here()
    query = (
        select(Request).options(selectinload(Request.tasks)).order_by(Request.due_on, Request.id)
    )
    if status:
        try:
            query = query.where(Request.status == RequestStatus(status))
        except ValueError:
            abort(400, f"Unknown status {status!r}.")
    if request.args.get("overdue"):
        query = query.where(Request.due_on < today, Request.status.in_(transitions.OPEN_STATUSES))
    requests = db.session.scalars(query.limit(200)).all()
    counts = dict(
        db.session.execute(select(Request.status, func.count()).group_by(Request.status)).all()
    )
    return render_template(
        "staff/queue.html",
        requests=requests,
        counts=counts,
        statuses=list(RequestStatus),
        current=status,
        labels=rules.KIND_LABELS,
        regimes=rules.REGIMES,
        logout_form=LogoutForm(),
        today=today,
        overdue=lambda r: reminders.overdue(r, today),
        overdue_only=bool(request.args.get("overdue")),
    )


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
        can_act=current_user.role in (Role.OFFICER, Role.ADMIN),
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
@roles_required(Role.OFFICER, Role.ADMIN)
def pause(reference: str) -> Any:
    reason = _reason_or_back(reference)
    if reason is None:
        return redirect(url_for("staff.request_page", reference=reference))
    actor = f"user:{current_user.id}"
    return _clock_action(
        reference, lambda r: clock.pause(r, reason=reason, actor=actor), "The clock is paused."
    )


@bp.post("/requests/<reference>/resume")
@roles_required(Role.OFFICER, Role.ADMIN)
def resume(reference: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    actor = f"user:{current_user.id}"
    return _clock_action(
        reference, lambda r: clock.resume(r, actor=actor), "The clock is running again."
    )


@bp.post("/requests/<reference>/extend")
@roles_required(Role.OFFICER, Role.ADMIN)
def extend(reference: str) -> Any:
    reason = _reason_or_back(reference)
    if reason is None:
        return redirect(url_for("staff.request_page", reference=reference))
    actor = f"user:{current_user.id}"
    return _clock_action(
        reference,
        lambda r: clock.extend(r, reason=reason, actor=actor),
        "Extended; the person has been told why and the new date.",
    )
