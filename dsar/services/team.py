"""The staff team, for admins: who is on it, invitations, roles, deactivation.

There is always an admin who can sign in: the last active admin who has a password can be
neither demoted nor deactivated. An admin does not deactivate their own account: it would
end their session at once with no way back from their side; another admin does it, and
the history shows two people. Every change is an audit event naming who made it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dsar import inputs
from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import Invitation, Role, User, utcnow
from dsar.services import invitations, two_factor
from dsar.services.events import record

MAX_NAME = 200
MAX_EMAIL = 254


class TeamRefused(DsarError):
    """A change to the team that cannot be made; `field` names the form field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Member:
    """A row of the team page."""

    user: User
    invitation: Invitation | None  # the unused one, while they have not chosen a password
    two_factor_required: bool

    @property
    def invitation_expires(self) -> datetime | None:
        return invitations.expires(self.invitation) if self.invitation else None

    @property
    def invitation_open(self) -> bool:
        """An unused link that still works (it may have been lost: it can be sent again)."""
        expires = self.invitation_expires
        return expires is not None and utcnow() <= expires


def who(user: User) -> str:
    return user.name or user.email


def roster() -> list[Member]:
    """Everyone, active first, by name."""
    users = db.session.scalars(
        select(User).order_by(User.active.desc(), func.lower(User.name), User.email)
    ).all()
    open_links = invitations.pending([u.id for u in users if u.invited])
    return [Member(u, open_links.get(u.id), two_factor.required(u)) for u in users]


def get(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def invite(*, email: str, name: str, role: Role, by: User) -> User:
    """Make the account (no password: it cannot sign in yet) and email its link; commits."""
    email = email.strip().lower()
    name = inputs.clean(name)
    if not name or len(name) > MAX_NAME:
        raise TeamRefused(f"Give their name, at most {MAX_NAME} characters.", field="name")
    if not email or len(email) > MAX_EMAIL or "@" not in email:
        raise TeamRefused("Give their email address, like name@example.com.", field="email")
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        raise TeamRefused(_taken(existing), field="email")
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash="",  # chosen through the link
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # invited by another admin at the same moment
        db.session.rollback()
        raise TeamRefused(f"{email} already has a staff account.", field="email") from None
    record(
        None,
        "staff_invited",
        actor=f"user:{by.id}",
        detail={"user_id": user.id, "role": role.value},
    )
    invitations.send(user, invited_by=by)  # commits the account, the event and the link
    return user


def _taken(existing: User) -> str:
    if not existing.active:
        return (
            f"{existing.email} has a deactivated staff account ({existing.role.value}); "
            "reactivate it from the list instead."
        )
    if existing.invited:
        return (
            f"{existing.email} is already invited and has not chosen a password yet; "
            "use Resend invitation in the list below."
        )
    return f"{existing.email} already has a staff account ({existing.role.value})."


def resend(user: User, *, by: User) -> Invitation:
    """A new link for someone who has not chosen a password (the old link stops working)."""
    if not user.invited:
        raise TeamRefused(
            f"{who(user)} has already chosen a password and signs in with it; "
            "an invitation is only for a new account."
        )
    if not user.active:
        raise TeamRefused(f"{who(user)} is deactivated: reactivate them first.")
    record(None, "staff_invitation_resent", actor=f"user:{by.id}", detail={"user_id": user.id})
    return invitations.send(user, invited_by=by)


def change_role(user: User, role: Role, *, by: User) -> bool:
    """Give `user` another role; False when it is already theirs. Commits."""
    if role is user.role:
        return False
    if user.role is Role.ADMIN:
        _keep_an_admin(user, "Changing their role")
    before = user.role
    user.role = role
    record(
        None,
        "staff_role_changed",
        actor=f"user:{by.id}",
        detail={"user_id": user.id, "before": before.value, "after": role.value},
    )
    db.session.commit()
    return True


def deactivate(user: User, *, by: User) -> bool:
    """Stop the account: its session ends at once; False if it already was. Commits."""
    if user.id == by.id:
        raise TeamRefused(
            "You cannot deactivate your own account: it would sign you out for good at once. "
            "Ask another admin to do it."
        )
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        _keep_an_admin(user, "Deactivating them")
    user.active = False
    user.session_token = secrets.token_hex(16)  # any session of theirs is refused from now
    record(
        None,
        "staff_deactivated",
        actor=f"user:{by.id}",
        detail={"user_id": user.id, "role": user.role.value},
    )
    db.session.commit()
    return True


def reactivate(user: User, *, by: User) -> bool:
    """Let the account sign in again; False if it was active. Commits."""
    if user.active:
        return False
    user.active = True
    record(
        None,
        "staff_reactivated",
        actor=f"user:{by.id}",
        detail={"user_id": user.id, "role": user.role.value},
    )
    db.session.commit()
    return True


def reset_two_factor(user: User, *, by: User) -> None:
    """Turn off someone else's two-factor sign-in (a lost phone and lost recovery codes)."""
    if user.id == by.id:
        raise TeamRefused("Change your own two-factor sign-in on your account page.")
    if not user.two_factor:
        raise TeamRefused(f"{who(user)} does not have two-factor sign-in on.")
    two_factor.reset(user, actor=f"user:{by.id}")


def _keep_an_admin(user: User, doing: str) -> None:
    if not user.active or user.invited:
        return  # they could not sign in anyway: no admin is lost
    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN,
            User.active.is_(True),
            User.password_hash != "",
            User.id != user.id,
        )
    )
    if not others:
        raise TeamRefused(
            f"{who(user)} is the last active admin. {doing} would leave nobody to manage "
            "the team: invite or promote another admin first.",
            field="role",
        )
