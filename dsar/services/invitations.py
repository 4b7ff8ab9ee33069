"""Invitations: a new staff member chooses their own password through a one-time link.

An admin invites someone (dsar.services.team.invite): the account exists at once, with no
password, so it cannot sign in. The emailed link holds a random token, of which only the
SHA-256 is kept; it works once, within VALID, and only while the account is active.
Sending it again replaces the earlier link.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from dsar import inputs, mail
from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import Invitation, Role, User, utcnow
from dsar.services import accounts
from dsar.services.events import record
from dsar.tokens import digest, new_token

VALID = timedelta(hours=72)
MAX_TOKEN = 200
ROLE_WORDS = {
    Role.ADMIN: "an admin (staff accounts, data systems, API keys, and every officer's work)",
    Role.OFFICER: "a privacy officer (works on requests)",
    Role.AUDITOR: "an auditor (reads everything, changes nothing)",
}


class InvitationUnusable(DsarError):
    """The link cannot set a password; `status` is 404 (no such link) or 410 (it was one)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class PasswordRefused(DsarError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def url(token: str) -> str:
    return f"{current_app.config['DSAR_BASE_URL']}/staff/welcome/{token}"


def expires(invitation: Invitation) -> datetime:
    return invitation.created_at + VALID


def send(user: User, *, invited_by: User | None) -> Invitation:
    """Make a new link for `user` (any earlier one stops working) and email it; commits."""
    db.session.execute(
        delete(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
    )
    token = new_token()
    invitation = Invitation(
        user_id=user.id,
        token_hash=digest(token),
        invited_by=invited_by.id if invited_by else None,
        created_at=utcnow(),
    )
    db.session.add(invitation)
    db.session.commit()
    required = user.role.value in current_app.config["DSAR_TOTP_REQUIRED"]
    mail.send(
        to=user.email,
        subject=f"You are invited to {current_app.config['DSAR_COMPANY_NAME']}'s privacy desk",
        template="staff_invitation",
        request_id=None,
        user=user,
        inviter=(invited_by.name or invited_by.email) if invited_by else "An admin",
        role_words=ROLE_WORDS[user.role],
        link=url(token),
        expires=expires(invitation),
        two_factor=required,
    )
    return invitation


def pending(user_ids: list[int]) -> dict[int, Invitation]:
    """The unused invitation of each of these accounts that has one."""
    if not user_ids:
        return {}
    found = db.session.scalars(
        select(Invitation).where(Invitation.user_id.in_(user_ids), Invitation.used_at.is_(None))
    )
    return {i.user_id: i for i in found}


def find(token: str) -> Invitation:
    """The invitation that `token` opens, still usable; `InvitationUnusable` says why not."""
    invitation = None
    if token and len(token) <= MAX_TOKEN and inputs.problem(token) is None:
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.token_hash == digest(token))
        )
    if invitation is None:
        raise InvitationUnusable(
            "This invitation link is not valid. Check that you copied the whole link from "
            "the email; if an admin sent the invitation again, only the newest link works.",
            status=404,
        )
    if invitation.used_at is not None:
        raise InvitationUnusable(
            "This invitation link was already used to choose a password, and works only "
            "once. Sign in with your email and that password.",
            status=410,
        )
    if not invitation.user.active:
        raise InvitationUnusable(
            "This staff account was deactivated, so the invitation no longer works. "
            "Ask an admin if you should have access.",
            status=410,
        )
    if utcnow() > expires(invitation):
        raise InvitationUnusable(
            f"This invitation link expired on {expires(invitation):%-d %B %Y at %H:%M} UTC "
            f"(links work for {int(VALID.total_seconds() // 3600)} hours). Ask the admin who "
            "invited you to send it again.",
            status=410,
        )
    return invitation


def accept(token: str, *, name: str, password: str, repeated: str) -> User:
    """Spend the link: the account gets its name and password and may sign in; commits."""
    invitation = find(token)
    if password != repeated:
        raise PasswordRefused("The two passwords differ; type the same one twice.", field="repeat")
    try:
        password_hash = accounts.hash_password(password)
    except accounts.AccountError as exc:
        raise PasswordRefused(f"{str(exc).capitalize()}.", field="password") from None
    spent = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # the same link, sent twice at once: the other one won
        db.session.rollback()
        find(token)  # says why, in words
        raise InvitationUnusable("This invitation link was already used.", status=410)
    user = invitation.user
    user.name = name
    user.password_hash = password_hash
    record(
        None,
        "staff_invitation_accepted",
        actor=f"user:{user.id}",
        detail={"user_id": user.id, "role": user.role.value},
    )
    accounts.start_session(user)  # commits
    return user
