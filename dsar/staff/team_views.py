"""The team, for admins: invite, change roles, deactivate; and the invitation link itself."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from dsar.extensions import limiter
from dsar.mail import MailError
from dsar.models import Role, User
from dsar.services import invitations, team
from dsar.staff import sessions
from dsar.staff.forms import ConfirmForm
from dsar.staff.team_forms import ROLE_LABELS, InviteForm, RoleForm, WelcomeForm
from dsar.staff.views import bp, roles_required


def _role_form(user: User, **kwargs: Any) -> RoleForm:
    """One form per person on the page, each with its own field ids."""
    return RoleForm(prefix=f"user{user.id}", **kwargs)


def _page(
    invite_form: InviteForm | None = None,
    *,
    refused: str = "",
    role_form: tuple[int, RoleForm] | None = None,
) -> tuple[str, int]:
    members = team.roster()
    role_forms = {
        m.user.id: _role_form(m.user, formdata=None, role=m.user.role.value) for m in members
    }
    if role_form is not None:
        role_forms[role_form[0]] = role_form[1]
    invite_form = invite_form or InviteForm(formdata=None, role=Role.OFFICER.value)
    page = render_template(
        "staff/team.html",
        members=members,
        invite_form=invite_form,
        role_forms=role_forms,
        confirm_form=ConfirmForm(),
        role_labels={role.value: words.partition(":")[0] for role, words in ROLE_LABELS.items()},
        refused=refused,
        required=" and ".join(sorted(f"{r}s" for r in current_app.config["DSAR_TOTP_REQUIRED"])),
    )
    failed = refused or invite_form.errors or (role_form and role_form[1].errors)
    return page, 422 if failed else 200


def _member_or_404(user_id: int) -> User:
    user = team.get(user_id)
    if user is None:
        abort(404, f"There is no staff account #{user_id}.")
    return user


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400, "This form has expired; reload the page and try again.")


@bp.get("/team")
@roles_required(Role.ADMIN)
def team_page() -> tuple[str, int]:
    return _page()


@bp.post("/team/invite")
@roles_required(Role.ADMIN)
def invite() -> Any:
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form)
    try:
        user = team.invite(
            email=form.email.data, name=form.name.data, role=Role(form.role.data), by=current_user
        )
    except team.TeamRefused as exc:
        getattr(form, exc.field or "email").errors = [str(exc)]
        return _page(form)
    except (MailError, OSError):  # the mail server refused it, or cannot be reached
        flash(
            "The account is made but the invitation email could not be sent; "
            "use Resend invitation in the list.",
            "error",
        )
        return redirect(url_for("staff.team_page"))
    flash(
        f"Invitation sent to {user.email}. The link works once, for "
        f"{int(invitations.VALID.total_seconds() // 3600)} hours.",
        "info",
    )
    return redirect(url_for("staff.team_page"))


@bp.post("/team/<int:user_id>/invitation")
@roles_required(Role.ADMIN)
def resend_invitation(user_id: int) -> Any:
    user = _member_or_404(user_id)
    _confirmed()
    try:
        team.resend(user, by=current_user)
    except team.TeamRefused as exc:
        return _page(refused=str(exc))
    except (MailError, OSError):  # the mail server refused it, or cannot be reached
        flash("The invitation email could not be sent; try again in a moment.", "error")
        return redirect(url_for("staff.team_page"))
    flash(f"A new invitation went to {user.email}; the earlier link no longer works.", "info")
    return redirect(url_for("staff.team_page"))


@bp.post("/team/<int:user_id>/role")
@roles_required(Role.ADMIN)
def change_role(user_id: int) -> Any:
    user = _member_or_404(user_id)
    form = _role_form(user)
    if not form.validate_on_submit():
        return _page(role_form=(user.id, form))
    try:
        changed = team.change_role(user, Role(form.role.data), by=current_user)
    except team.TeamRefused as exc:
        form.role.errors = ["Not changed: see why above."]
        return _page(refused=str(exc), role_form=(user.id, form))
    role = ROLE_LABELS[user.role].partition(":")[0].lower()
    role = f"{'an' if role[0] in 'aeiou' else 'a'} {role}"
    if changed:
        flash(f"{team.who(user)} is now {role}.", "info")
    else:
        flash(f"Nothing changed: {team.who(user)} already is {role}.", "info")
    return redirect(url_for("staff.team_page"))


@bp.post("/team/<int:user_id>/deactivate")
@roles_required(Role.ADMIN)
def deactivate(user_id: int) -> Any:
    user = _member_or_404(user_id)
    _confirmed()
    try:
        changed = team.deactivate(user, by=current_user)
    except team.TeamRefused as exc:
        return _page(refused=str(exc))
    if changed:
        flash(
            f"{team.who(user)} is deactivated and signed out; they can no longer sign in.", "info"
        )
    return redirect(url_for("staff.team_page"))


@bp.post("/team/<int:user_id>/reactivate")
@roles_required(Role.ADMIN)
def reactivate(user_id: int) -> Any:
    user = _member_or_404(user_id)
    _confirmed()
    if team.reactivate(user, by=current_user):
        flash(f"{team.who(user)} can sign in again.", "info")
    else:
        flash(f"{team.who(user)} is already active.", "info")
    return redirect(url_for("staff.team_page"))


@bp.post("/team/<int:user_id>/two-factor/reset")
@roles_required(Role.ADMIN)
def reset_two_factor(user_id: int) -> Any:
    user = _member_or_404(user_id)
    _confirmed()
    try:
        team.reset_two_factor(user, by=current_user)
    except team.TeamRefused as exc:
        return _page(refused=str(exc))
    flash(
        f"Two-factor sign-in is off for {team.who(user)}, who is signed out; they set it up "
        "again after their password if their role requires it.",
        "info",
    )
    return redirect(url_for("staff.team_page"))


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def welcome(token: str) -> Any:
    """The invitation link: choose a name and password, then (where required) two-factor."""
    try:
        invitation = invitations.find(token)
    except invitations.InvitationUnusable as exc:
        return render_template("staff/welcome.html", gone=str(exc)), exc.status
    user = invitation.user
    form = WelcomeForm(name=user.name)
    if form.validate_on_submit():
        try:
            user = invitations.accept(
                token, name=form.name.data, password=form.password.data, repeated=form.repeat.data
            )
        except invitations.InvitationUnusable as exc:
            return render_template("staff/welcome.html", gone=str(exc)), exc.status
        except invitations.PasswordRefused as exc:
            getattr(form, exc.field).errors = [str(exc)]
        else:
            return sessions.complete(user, welcome=f"Welcome, {team.who(user)}: you are signed in.")
    page = render_template(
        "staff/welcome.html",
        form=form,
        user=user,
        role=ROLE_LABELS[user.role],
        expires=invitations.expires(invitation),
    )
    return page, 422 if form.errors else 200
