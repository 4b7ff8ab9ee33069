"""Staff accounts: argon2 passwords, a session identity rotated at every sign-in."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from dsar import inputs
from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import Role, User
from dsar.services.events import record

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not a real password")


class AccountError(DsarError):
    pass


def create_user(
    email: str,
    role: Role,
    password: str,
    *,
    actor: str = "cli",
    demo: bool = False,
    name: str = "",
) -> User:
    email = email.strip().lower()
    if len(password) < 12:
        raise AccountError("passwords must be at least 12 characters long")
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a staff account for {email} already exists")
    user = User(
        email=email,
        role=role,
        password_hash=_hasher.hash(password),
        session_token=secrets.token_hex(16),
        demo=demo,
        name=inputs.clean(name)[:200],
    )
    db.session.add(user)
    db.session.flush()
    record(None, "user_created", actor=actor, detail={"user_id": user.id, "role": role.value})
    db.session.commit()
    return user


DEMO_REFUSED = (
    "The demo accounts stopped working when a real admin account was made: their passwords "
    "are published. Sign in with your own account."
)


def demo_logins_allowed() -> bool:
    """Demo accounts sign in until a real (non-demo) admin exists, unless a setting allows
    them for good (DSAR_ALLOW_DEMO_LOGINS, for a shared demo server)."""
    if current_app.config["DSAR_ALLOW_DEMO_LOGINS"]:
        return True
    real_admin = select(User.id).where(
        User.role == Role.ADMIN, User.active.is_(True), User.demo.is_(False)
    )
    return db.session.scalar(real_admin.limit(1)) is None


def authenticate(email: str, password: str) -> User | None:
    """The account, if the password is right; None if not. `AccountError` for a demo
    account that may no longer sign in."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if user.demo and not demo_logins_allowed():
        raise AccountError(DEMO_REFUSED)
    user.session_token = secrets.token_hex(16)  # a fresh session identity at every login
    db.session.commit()
    return user


def end_session(user: User) -> None:
    """Rotate the session token so that any copy of the old cookie is refused."""
    user.session_token = secrets.token_hex(16)
    db.session.commit()


def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user
