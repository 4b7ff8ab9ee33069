"""My account (any staff member), two-factor set-up, and the sign-in's code step.

Recovery codes are shown once, in the answer to the POST that made them (never in a
redirect, a flash message or the session cookie), on a page no browser may store.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from dsar.extensions import limiter
from dsar.services import two_factor
from dsar.staff import sessions
from dsar.staff.team_forms import CodeForm
from dsar.staff.views import actor, bp


def _account_page(
    off_form: CodeForm | None = None, renew_form: CodeForm | None = None
) -> tuple[str, int]:
    off_form = off_form or CodeForm(prefix="off", formdata=None)
    renew_form = renew_form or CodeForm(prefix="renew", formdata=None)
    page = render_template(
        "staff/account.html",
        user=current_user,
        required=two_factor.required(current_user),
        left=two_factor.recovery_codes_left(current_user) if current_user.two_factor else 0,
        off_form=off_form,
        renew_form=renew_form,
    )
    return page, 422 if off_form.errors or renew_form.errors else 200


@bp.get("/account")
@login_required
def account() -> tuple[str, int]:
    return _account_page()


def _setup_page(
    form: CodeForm, *, codes: list[str] | None = None, renewed: bool = False
) -> tuple[str, int]:
    if codes is None:
        two_factor.setup_secret(current_user)
    page = render_template(
        "staff/two_factor_setup.html",
        form=form,
        codes=codes,
        renewed=renewed,
        secret=two_factor.grouped(current_user.totp_secret) if codes is None else "",
        qr=two_factor.qr_svg(current_user) if codes is None else "",
        forced=two_factor.required(current_user),
        role=current_user.role.value,
    )
    return page, 422 if form.errors else 200


@bp.get("/account/two-factor")
@login_required
def two_factor_setup() -> Any:
    if current_user.two_factor:
        flash("Two-factor sign-in is already on.", "info")
        return redirect(url_for("staff.account"))
    return _setup_page(CodeForm(formdata=None))


@bp.post("/account/two-factor")
@login_required
def two_factor_confirm() -> Any:
    if current_user.two_factor:
        flash("Two-factor sign-in is already on.", "info")
        return redirect(url_for("staff.account"))
    form = CodeForm()
    if not form.validate_on_submit():
        return _setup_page(form)
    try:
        codes = two_factor.turn_on(current_user, form.code.data, actor=actor())
    except two_factor.CodeRefused as exc:
        form.code.errors = [str(exc)]
        return _setup_page(form)
    return _setup_page(CodeForm(formdata=None), codes=codes)


@bp.post("/account/two-factor/off")
@login_required
def two_factor_off() -> Any:
    form = CodeForm(prefix="off")
    if not form.validate_on_submit():
        return _account_page(off_form=form)
    try:
        two_factor.turn_off(current_user, form.code.data, actor=actor())
    except two_factor.CodeRefused as exc:
        form.code.errors = [str(exc)]
        return _account_page(off_form=form)
    if two_factor.required(current_user):
        flash("Two-factor sign-in is off. Your role requires it: set it up again now.", "info")
        return redirect(url_for("staff.two_factor_setup"))
    flash("Two-factor sign-in is off: you sign in with your password alone.", "info")
    return redirect(url_for("staff.account"))


@bp.post("/account/recovery-codes")
@login_required
def recovery_codes() -> Any:
    form = CodeForm(prefix="renew")
    if not form.validate_on_submit():
        return _account_page(renew_form=form)
    try:
        codes = two_factor.renew_recovery_codes(current_user, form.code.data, actor=actor())
    except two_factor.CodeRefused as exc:
        form.code.errors = [str(exc)]
        return _account_page(renew_form=form)
    return _setup_page(CodeForm(formdata=None), codes=codes, renewed=True)


def _pending_at_address() -> str:
    """Wrong codes count per account and address, as wrong passwords do (views.login)."""
    pending = session.get(sessions.PENDING)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"code:{user}|{get_remote_address()}"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit(
    "5 per 15 minutes",
    key_func=_pending_at_address,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,  # wrong codes only
    error_message="Too many wrong codes for this account from here; wait 15 minutes.",
)
def login_code() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    user = sessions.pending_user()
    if user is None:
        flash("Sign in with your email and password first; then enter the code.", "info")
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            by_app = two_factor.check(user, form.code.data)
        except two_factor.CodeRefused as exc:
            form.code.errors = [str(exc)]
        else:
            welcome = ""
            if not by_app:
                left = two_factor.recovery_codes_left(user)
                welcome = (
                    f"You signed in with a recovery code; {left} left. If your phone is "
                    "lost, turn two-factor off and on again on this page with a new one."
                )
            target = sessions.complete(user, welcome=welcome)
            return redirect(url_for("staff.account")) if welcome else target
    page = render_template("staff/login_code.html", form=form, who=user.email)
    return page, 422 if form.errors else 200
