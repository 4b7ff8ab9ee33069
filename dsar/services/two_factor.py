"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238) after the password.

A secret is made when someone starts setting it up (shown as a QR code and as text) and is
on once they type a code it gives. Each code works once: the last accepted time step is
kept, and a code of that step or an earlier one is refused. Ten recovery codes, hashed with
argon2id like passwords, each sign in once in place of a code (a lost phone). Staff of the
roles in DSAR_TOTP_REQUIRED must have it, except the demo accounts (published passwords,
for trying dsar out; `make run` signs in with them).
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import RecoveryCode, User, utcnow
from dsar.services import accounts
from dsar.services.events import record

WINDOW = 1  # one step (30 s) either side: a phone's clock a little off, a code typed late
RECOVERY_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 10
_APP_CODE = re.compile(r"[0-9]{6}")  # ASCII digits only: not \d

WRONG = (
    "That code is not right. Enter the 6 digits your app shows now (they change every 30 "
    "seconds), or one of your recovery codes."
)
REPLAYED = "That code was already used. Wait for the next code from your app, then enter it."
USED = "That recovery code was already used: each works once. Enter another one."


class CodeRefused(DsarError):
    """A code (or the state of two-factor sign-in) refused; the message says why."""

    field = "code"


def required(user: User) -> bool:
    """Whether the user's role must sign in with two-factor (DSAR_TOTP_REQUIRED)."""
    return not user.demo and user.role.value in current_app.config["DSAR_TOTP_REQUIRED"]


def missing(user: User) -> bool:
    """Required, and not on yet: they set it up before anything else."""
    return required(user) and not user.two_factor


def setup_secret(user: User) -> str:
    """The secret being set up: made once, kept until confirmed (a reload shows the same)."""
    if user.two_factor:
        raise CodeRefused("Two-factor sign-in is already on.")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    return user.totp_secret


def setup_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    issuer = f"{current_app.config['DSAR_COMPANY_NAME']} privacy desk"
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(user: User) -> str:
    """The setup address as an inline SVG QR code (no script, no external image)."""
    code = segno.make(setup_uri(user), error="m")
    return str(code.svg_inline(scale=5, border=2, svgclass="qr", title="QR code to scan"))


def grouped(secret: str) -> str:
    """The secret in groups of four, to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def turn_on(user: User, code: str, *, actor: str) -> list[str]:
    """Confirm the setup with a code from the app; returns the recovery codes (shown once)."""
    if user.two_factor:
        raise CodeRefused("Two-factor sign-in is already on.")
    if not user.totp_secret:
        raise CodeRefused("Open the set-up page again to get a QR code, then enter its code.")
    step = _matching_step(user.totp_secret, _digits(code))
    if step is None:
        raise CodeRefused(
            "That code is not right. Enter the 6 digits your app shows now for this account "
            "(they change every 30 seconds); check that your phone's clock is set automatically."
        )
    user.totp_on_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    record(None, "two_factor_on", actor=actor, detail={"user_id": user.id})
    db.session.commit()
    return codes


def check(user: User, code: str) -> bool:
    """Spend a code at sign-in (or to change two-factor): True for an app code, False for a
    recovery code; `CodeRefused` for a wrong or already used one."""
    if not user.two_factor:
        raise CodeRefused("Two-factor sign-in is not on for this account.")
    digits = _digits(code)
    if _APP_CODE.fullmatch(digits):
        _spend_step(user, digits)
        return True
    _spend_recovery_code(user, code)
    return False


def turn_off(user: User, code: str, *, actor: str) -> None:
    """Turn it off with a current code (from the app or a recovery code)."""
    check(user, code)
    _clear(user)
    record(None, "two_factor_off", actor=actor, detail={"user_id": user.id})
    db.session.commit()


def reset(user: User, *, actor: str) -> None:
    """An admin turns it off for someone who lost their phone and recovery codes; they set
    it up again at their next sign-in if their role requires it."""
    _clear(user)
    user.session_token = secrets.token_hex(16)  # signed out: the next sign-in sets it up
    record(None, "two_factor_reset", actor=actor, detail={"user_id": user.id})
    db.session.commit()


def renew_recovery_codes(user: User, code: str, *, actor: str) -> list[str]:
    """New recovery codes (the old ones stop working), with a current code; shown once."""
    check(user, code)
    codes = _new_recovery_codes(user)
    record(None, "recovery_codes_renewed", actor=actor, detail={"user_id": user.id})
    db.session.commit()
    return codes


def recovery_codes_left(user: User) -> int:
    unused = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return int(db.session.scalar(unused) or 0)


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def _matching_step(secret: str, code: str) -> int | None:
    """The newest time step within WINDOW whose code is `code`, or None."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    steps = range(now + WINDOW, now - WINDOW - 1, -1)
    if not code.isascii():
        return None
    return next((s for s in steps if hmac.compare_digest(totp.generate_otp(s), code or "-")), None)


def _spend_step(user: User, code: str) -> None:
    step = _matching_step(user.totp_secret, code)
    if step is None:
        raise CodeRefused(WRONG)
    last = user.totp_last_step
    if last is not None and step <= last:
        raise CodeRefused(REPLAYED)
    # Only if no other request spent this step (or a later one) meanwhile.
    spent = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if spent.rowcount != 1:
        raise CodeRefused(REPLAYED)


def _spend_recovery_code(user: User, code: str) -> None:
    typed = _digits(code).lower()
    if len(typed) != _RECOVERY_LENGTH or set(typed) - set(_ALPHABET):
        raise CodeRefused(WRONG)
    held = db.session.scalars(
        select(RecoveryCode)
        .where(RecoveryCode.user_id == user.id)
        .order_by(RecoveryCode.used_at.is_not(None), RecoveryCode.id)  # unused ones first
    ).all()
    match = next((c for c in held if accounts.code_matches(c.code_hash, typed)), None)
    if match is None:
        raise CodeRefused(WRONG)
    if match.used_at is not None:
        raise CodeRefused(USED)
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        db.session.rollback()
        raise CodeRefused(USED)
    left = sum(1 for c in held if c.used_at is None) - 1
    record(
        None,
        "recovery_code_used",
        actor=f"user:{user.id}",
        detail={"user_id": user.id, "left": left},
    )
    db.session.commit()


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes (the caller commits); the codes, as shown."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_COUNT)
    ]
    now = utcnow()
    for code in codes:
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=accounts.hash_code(code), created_at=now)
        )
    half = _RECOVERY_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def _clear(user: User) -> None:
    user.totp_secret = ""
    user.totp_on_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
