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
# Two-factor recovery codes: argon2id too, at OWASP's lighter setting (19 MiB, one pass).
# A code is random (about 49 bits), not a chosen password, and a sign-in with one checks
# up to ten hashes: at the password setting that took seconds.
_code_hasher = PasswordHasher(time_cost=1, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not a real password")


class AccountError(DsarError):
    pass


MIN_PASSWORD = 12
MAX_PASSWORD = 200


def hash_password(password: str) -> str:
    """The argon2 hash of a new password; `AccountError` if it is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"passwords must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"passwords must be at most {MAX_PASSWORD} characters long")
    return _hasher.hash(password)


def hash_code(code: str) -> str:
    """A two-factor recovery code's argon2id hash."""
    return _code_hasher.hash(code)


def code_matches(hashed: str, code: str) -> bool:
    try:
        return bool(_code_hasher.verify(hashed, code))
    except (VerificationError, InvalidHashError):
        return False


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
    password_hash = hash_password(password)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a staff account for {email} already exists")
    user = User(
        email=email,
        role=role,
        password_hash=password_hash,
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
    # An invited admin who has not chosen a password yet cannot sign in: not yet.
    real_admin = select(User.id).where(
        User.role == Role.ADMIN,
        User.active.is_(True),
        User.demo.is_(False),
        User.password_hash != "",
    )
    return db.session.scalar(real_admin.limit(1)) is None


def authenticate(email: str, password: str) -> User | None:
    """The account, if the password is right; None if not. `AccountError` for a demo
    account that may no longer sign in. The sign-in is not done yet (a two-factor code may
    follow): `start_session` ends it."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    # An invited account has no password yet: checked against the dummy, refused below.
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or user.invited:
        return None
    if user.demo and not demo_logins_allowed():
        raise AccountError(DEMO_REFUSED)
    return user


def start_session(user: User) -> None:
    """A fresh session identity at every sign-in: a copy of an older cookie is refused."""
    user.session_token = secrets.token_hex(16)
    db.session.commit()


def end_session(user: User) -> None:
    """Rotate the session token so that any copy of the old cookie is refused."""
    user.session_token = secrets.token_hex(16)
    db.session.commit()


def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user
