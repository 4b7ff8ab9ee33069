"""Staff blueprint: sign-in and sign-out, shared guards; the pages live in the modules
imported at the bottom (queue, request page, data systems)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from dsar.extensions import limiter, login_manager
from dsar.models import Role, User
from dsar.services import accounts
from dsar.staff import sessions
from dsar.staff.forms import LoginForm, LogoutForm

bp = Blueprint("staff", __name__, url_prefix="/staff")
# Every staff page: an idle session ends; two-factor is set up first where it is required.
bp.before_app_request(sessions.guard)

# Roles that may change things; auditors read only.
ACTORS = (Role.OFFICER, Role.ADMIN)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    return accounts.load_user(session_id)


@bp.context_processor
def staff_forms() -> dict[str, Any]:
    """The sign-out form in every staff page's header."""
    return {"logout_form": LogoutForm()}


@bp.after_request
def no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def _account_at_address() -> str:
    """Failed sign-ins count per account *and* address: guessing from one place is slowed,
    and nobody elsewhere can lock a colleague out by failing on purpose."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"login:{email}|{get_remote_address()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])  # per address, whatever the account
@limiter.limit(
    "5 per 15 minutes",
    key_func=_account_at_address,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,  # failures only
    error_message="Too many failed sign-ins for this account from here; wait 15 minutes.",
)
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.AccountError as exc:
            form.password.errors.append(str(exc))
            return render_template("staff/login.html", form=form), 403
        if user is not None:
            return sessions.after_password(user)  # signed in, or on to the code step
        form.password.errors.append("That email and password do not match a staff account.")
    return render_template("staff/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> Any:
    if LogoutForm().validate_on_submit():
        accounts.end_session(current_user)
        logout_user()
        session.clear()
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


def actor() -> str:
    """How the signed-in staff member appears in a request's history."""
    return f"user:{current_user.id}"


# Routes in other modules register on `bp` when imported.
from dsar.staff import (  # noqa: E402, F401
    account_views,
    agent_views,
    api_key_views,
    appeal_views,
    bulk_views,
    dashboard_views,
    lift_views,
    notification_views,
    preview_views,
    queue_views,
    record_views,
    reopen_views,
    request_views,
    system_views,
    team_views,
    webhook_views,
)
