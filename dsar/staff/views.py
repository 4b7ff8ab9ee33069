"""Staff views: login, the queue by due date, one request's page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dsar import rules
from dsar.extensions import db, limiter, login_manager
from dsar.models import Request, RequestStatus, Task, User
from dsar.services import accounts
from dsar.staff.forms import LoginForm, LogoutForm

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


@bp.get("/")
@login_required
def queue() -> str:
    status = request.args.get("status", "")
    query = (
        select(Request).options(selectinload(Request.tasks)).order_by(Request.due_on, Request.id)
    )
    if status:
        try:
            query = query.where(Request.status == RequestStatus(status))
        except ValueError:
            abort(400, f"Unknown status {status!r}.")
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
    )


@bp.get("/requests/<reference>")
@login_required
def request_page(reference: str) -> str:
    req = db.session.scalar(
        select(Request)
        .where(Request.reference == reference)
        .options(selectinload(Request.tasks).selectinload(Task.system))
    )
    if req is None:
        abort(404, f"No request with reference {reference}.")
    return render_template(
        "staff/request.html",
        req=req,
        regime=rules.regime(req.regime),
        labels=rules.KIND_LABELS,
        logout_form=LogoutForm(),
    )
