"""A staff member's session: the sign-in's steps, the idle timeout, two-factor set-up first.

After the right password, someone with two-factor sign-in is not signed in yet: the session
holds only their id, for PENDING_SECONDS, until the code step. Each staff page notes when it
was asked for (at most once a minute: the cookie is not rewritten at every page); a session
idle for DSAR_IDLE_MINUTES is ended. Someone whose role requires two-factor and who has not
set it up sees only the set-up page (and may sign out).
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from dsar.extensions import db
from dsar.models import User
from dsar.services import accounts, two_factor

PENDING = "staff_pending"
SEEN = "staff_seen"
PENDING_SECONDS = 300
# The blueprints of signed-in staff (the portal's person sessions are not staff logins).
STAFF_BLUEPRINTS = frozenset({"staff", "auditor"})
# What someone who must set up two-factor may still open.
SET_UP_ENDPOINTS = frozenset(
    {
        "staff.two_factor_setup",
        "staff.two_factor_confirm",
        "staff.logout",
        "staff.login",
        "staff.login_code",
        "staff.welcome",
    }
)


def after_password(user: User) -> Any:
    """The password was right: the code step, or signed in."""
    session.clear()  # a fresh session: nothing from before sign-in carries over
    if user.two_factor:
        session[PENDING] = {"user": user.id, "until": int(time.time()) + PENDING_SECONDS}
        return redirect(url_for("staff.login_code"))
    return complete(user)


def pending_user() -> User | None:
    """Whom the code step is for, while the password step is fresh."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        session.pop(PENDING, None)
        return None
    user = db.session.get(User, pending["user"])
    return user if user is not None and user.active and user.two_factor else None


def complete(user: User, *, welcome: str = "") -> Any:
    """Sign in: a fresh session identity; to the set-up page first if two-factor is missing."""
    accounts.start_session(user)
    session.clear()
    login_user(user)
    session[SEEN] = int(time.time())
    if welcome:
        flash(welcome, "info")
    if two_factor.missing(user):
        return redirect(url_for("staff.two_factor_setup"))
    return redirect(url_for("staff.home"))


def guard() -> Any:
    """Before each staff page: end an idle session; send to two-factor set-up if missing."""
    if request.blueprint not in STAFF_BLUEPRINTS or not current_user.is_authenticated:
        return None
    now = int(time.time())
    seen = session.get(SEEN)
    minutes = current_app.config["DSAR_IDLE_MINUTES"]
    if isinstance(seen, int) and now - seen > minutes * 60:
        accounts.end_session(current_user)  # a copy of this cookie dies too
        logout_user()
        session.clear()
        flash(f"You were signed out after {minutes} minutes without activity.", "info")
        return redirect(url_for("staff.login"))
    if not isinstance(seen, int) or now - seen >= 60:
        session[SEEN] = now
    if request.endpoint not in SET_UP_ENDPOINTS and two_factor.missing(current_user):
        return redirect(url_for("staff.two_factor_setup"))
    return None
