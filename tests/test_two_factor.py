"""Two-factor sign-in (TOTP): setting it up, the code step after the password, codes that
work once, recovery codes, the setting that requires it, and the idle timeout."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.config import ConfigError, from_env
from dsar.extensions import db
from dsar.models import Event, RecoveryCode, Role, User
from dsar.services import accounts
from dsar.staff.sessions import PENDING, SEEN
from tests.conftest import STAFF_PASSWORD, csrf_token, sign_in

OFFICER = ("officer@staff.test", STAFF_PASSWORD)
SETUP = "/staff/account/two-factor"


def events(action: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.action == action)))


def post(client: FlaskClient, url: str, page: str, **data: str) -> tuple[int, str, str]:
    resp = client.post(url, data={"csrf_token": csrf_token(client, page), **data})
    return resp.status_code, resp.headers.get("Location", ""), resp.get_data(as_text=True)


def enrol(client: FlaskClient) -> tuple[pyotp.TOTP, list[str]]:
    """Set up two-factor as the signed-in user, through the pages; the app and the codes."""
    page = client.get(SETUP).get_data(as_text=True)
    assert '<svg width="' in page and 'class="qr"' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    status, _, page = post(client, SETUP, SETUP, code=totp.now())
    assert status == 200, page
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    assert len(codes) == 10
    return totp, codes


def sign_out(client: FlaskClient) -> None:
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/account")})


def enter_code(client: FlaskClient, code: str) -> tuple[int, str, str]:
    return post(client, "/staff/login/code", "/staff/login/code", code=code)


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: the current one may be spent already."""
    return totp.at(int(time.time()) + 30)


@pytest.fixture
def officer(app: Flask) -> User:
    return accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1], name="Olivia Officer")


def test_an_officer_sets_up_two_factor_and_then_signs_in_with_a_code(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    account = client.get("/staff/account").get_data(as_text=True)
    assert "Set up two-factor sign-in" in account
    totp, codes = enrol(client)
    db.session.refresh(officer)
    assert officer.two_factor and officer.totp_secret == totp.secret
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and all(h.startswith("$argon2") for h in stored)
    assert not any(c.replace("-", "") in h for c in codes for h in stored)
    (on,) = events("two_factor_on")
    assert on.actor == f"user:{officer.id}" and on.detail == {"user_id": officer.id}
    assert "10 recovery codes left" in client.get("/staff/account").get_data(as_text=True)

    sign_out(client)
    resp = sign_in(client, OFFICER)
    assert resp.headers["Location"].endswith("/staff/login/code")
    # The password alone is no sign-in.
    assert client.get("/staff/queue").status_code == 302
    page = client.get("/staff/login/code").get_data(as_text=True)
    assert "Enter your sign-in code" in page and "(officer@staff.test)" in page
    status, where, _ = enter_code(client, next_code(totp))
    assert status == 302 and where.endswith("/staff/")
    assert client.get("/staff/queue").status_code == 200


def test_a_wrong_or_replayed_code_is_refused_in_words(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    totp, _ = enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    wrong = f"{(int(next_code(totp)) + 1) % 1_000_000:06d}"
    status, _, page = enter_code(client, wrong)
    assert status == 422 and "That code is not right" in page
    assert 'value="' + wrong + '"' in page  # what was typed stays
    code = next_code(totp)
    assert enter_code(client, code)[0] == 302
    # Someone who saw that code (over a shoulder, a phishing page) cannot use it again.
    sign_out(client)
    sign_in(client, OFFICER)
    status, _, page = enter_code(client, code)
    assert status == 422 and "That code was already used" in page
    assert client.get("/staff/queue").status_code == 302


@pytest.mark.parametrize(
    "typed", ["", "   ", "1" * 40, "12345", "abc", "\uff11\uff12\uff13\uff14\uff15\uff16"]
)
def test_a_malformed_code_is_a_422_with_a_message(
    app: Flask, client: FlaskClient, officer: User, typed: str
) -> None:
    sign_in(client, OFFICER)
    enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    status, _, page = enter_code(client, typed)
    assert status == 422
    assert re.search(r'class="error"[^>]*>[^<]+<', page)
    assert client.get("/staff/queue").status_code == 302


def test_setting_up_with_a_wrong_code_turns_nothing_on(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    first = client.get(SETUP).get_data(as_text=True)
    status, _, page = post(client, SETUP, SETUP, code="000000")
    assert status == 422 and "That code is not right" in page
    # The same secret is shown again: what was scanned still works.
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', first).group(1)
    assert secret in page
    db.session.refresh(officer)
    assert not officer.two_factor and events("two_factor_on") == []
    assert db.session.scalars(select(RecoveryCode)).all() == []


def test_a_recovery_code_signs_in_once(app: Flask, client: FlaskClient, officer: User) -> None:
    sign_in(client, OFFICER)
    _, codes = enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    status, where, _ = enter_code(client, codes[3].upper())
    assert status == 302 and where.endswith("/staff/account")
    assert "recovery code; 9 left" in client.get("/staff/account").get_data(as_text=True)
    (used,) = events("recovery_code_used")
    assert used.detail == {"user_id": officer.id, "left": 9}
    sign_out(client)
    sign_in(client, OFFICER)
    status, _, page = enter_code(client, codes[3])
    assert status == 422 and "That recovery code was already used" in page
    assert enter_code(client, codes[4].replace("-", ""))[0] == 302


def test_the_code_step_waits_five_minutes_and_only_after_the_password(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    resp = client.get("/staff/login/code")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/login")
    sign_in(client, OFFICER)
    totp, _ = enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    token = csrf_token(client, "/staff/login/code")
    with client.session_transaction() as session:
        session[PENDING] = {**session[PENDING], "until": int(time.time()) - 1}
    resp = client.post("/staff/login/code", data={"csrf_token": token, "code": next_code(totp)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/login")
    assert "Sign in with your email and password first" in client.get("/staff/login").get_data(
        as_text=True
    )
    assert client.get("/staff/queue").status_code == 302


def test_wrong_codes_are_limited_per_account_and_address(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    totp, _ = enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    for _ in range(5):
        assert enter_code(client, "000000")[0] == 422
    status, _, page = enter_code(client, next_code(totp))
    assert status == 429
    assert "Too many wrong codes for this account from here" in page


def test_a_role_that_requires_two_factor_sets_it_up_before_any_other_page(
    app: Flask, client: FlaskClient
) -> None:
    app.config["DSAR_TOTP_REQUIRED"] = frozenset({"admin", "auditor"})
    accounts.create_user("audrey@staff.test", Role.AUDITOR, STAFF_PASSWORD)
    resp = sign_in(client, ("audrey@staff.test", STAFF_PASSWORD))
    assert resp.headers["Location"].endswith(SETUP)
    for page in ("/staff/queue", "/staff/", "/audit/chain", "/staff/account"):
        resp = client.get(page)
        assert resp.status_code == 302 and resp.headers["Location"].endswith(SETUP), page
    page = client.get(SETUP).get_data(as_text=True)
    assert "Your role (auditor) signs in with a code" in page and "Not now" not in page
    enrol(client)
    assert client.get("/audit/chain").status_code == 200
    # An officer (not listed) is not asked.
    sign_out(client)
    officer = app.test_client()
    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    assert sign_in(officer, OFFICER).headers["Location"].endswith("/staff/")


def test_the_demo_accounts_are_exempt_so_make_run_keeps_its_published_logins(
    app: Flask, client: FlaskClient
) -> None:
    app.config["DSAR_TOTP_REQUIRED"] = frozenset({"admin", "auditor", "officer"})
    accounts.create_user("admin@example.com", Role.ADMIN, "demo-admin-password", demo=True)
    resp = sign_in(client, ("admin@example.com", "demo-admin-password"))
    assert resp.headers["Location"].endswith("/staff/")
    assert client.get("/staff/team").status_code == 200


def test_turning_it_off_needs_a_current_code(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    totp, _ = enrol(client)
    off = "/staff/account/two-factor/off"
    status, _, page = post(client, off, "/staff/account", **{"off-code": "123"})
    assert status == 422 and "That code is not right" in page
    status, _, page = post(client, off, "/staff/account", **{"off-code": ""})
    assert status == 422 and "Enter the code." in page
    db.session.refresh(officer)
    assert officer.two_factor
    assert post(client, off, "/staff/account", **{"off-code": next_code(totp)})[0] == 302
    db.session.refresh(officer)
    assert not officer.two_factor and officer.totp_secret == ""
    assert db.session.scalars(select(RecoveryCode)).all() == []
    assert len(events("two_factor_off")) == 1
    sign_out(client)
    assert sign_in(client, OFFICER).headers["Location"].endswith("/staff/")


def test_new_recovery_codes_replace_the_old_ones(
    app: Flask, client: FlaskClient, officer: User
) -> None:
    sign_in(client, OFFICER)
    totp, old = enrol(client)
    url = "/staff/account/recovery-codes"
    status, _, page = post(client, url, "/staff/account", **{"renew-code": ""})
    assert status == 422
    status, _, page = post(client, url, "/staff/account", **{"renew-code": next_code(totp)})
    assert status == 200 and "New recovery codes" in page
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert len(events("recovery_codes_renewed")) == 1
    sign_out(client)
    sign_in(client, OFFICER)
    assert enter_code(client, old[0])[0] == 422
    assert enter_code(client, new[0])[0] == 302


def test_an_admin_resets_the_two_factor_of_someone_who_lost_their_phone(
    app: Flask, client: FlaskClient, officer: User, login: Callable[[str], str]
) -> None:
    theirs = app.test_client()
    sign_in(theirs, OFFICER)
    enrol(theirs)
    login("admin")
    page = client.get("/staff/team").get_data(as_text=True)
    assert "Reset two-factor" in page
    resp = client.post(
        f"/staff/team/{officer.id}/two-factor/reset",
        data={"csrf_token": csrf_token(client, "/staff/team")},
    )
    assert resp.status_code == 302
    db.session.refresh(officer)
    assert not officer.two_factor
    assert theirs.get("/staff/queue").status_code == 302  # signed out
    (reset,) = events("two_factor_reset")
    assert reset.detail == {"user_id": officer.id}
    admin = db.session.scalar(select(User).where(User.email == "admin@staff.test"))
    assert reset.actor == f"user:{admin.id}"


def test_a_session_idle_for_30_minutes_is_signed_out(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("officer")
    token = db.session.scalar(select(User.session_token).where(User.email == OFFICER[0]))
    with client.session_transaction() as session:
        session[SEEN] = int(time.time()) - 29 * 60
    assert client.get("/staff/queue").status_code == 200  # 29 minutes: still signed in
    with client.session_transaction() as session:
        assert session[SEEN] >= int(time.time()) - 5  # the page counted as activity
        session[SEEN] = int(time.time()) - 31 * 60
    resp = client.get("/staff/queue")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/login")
    page = client.get("/staff/login").get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity." in page
    assert client.get("/staff/queue").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(User.session_token).where(User.email == OFFICER[0])) != token


def test_the_portal_is_no_staff_activity(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("officer")
    with client.session_transaction() as session:
        session[SEEN] = int(time.time()) - 31 * 60
    assert client.get("/").status_code == 200  # the public pages neither sign out...
    with client.session_transaction() as session:
        assert session[SEEN] < int(time.time()) - 30 * 60  # ...nor count as activity
    assert client.get("/staff/queue").status_code == 302


def test_the_settings_are_checked_at_start(tmp_path: Path) -> None:
    env = {"SECRET_KEY": "k"}
    assert from_env(env, instance=tmp_path)["DSAR_TOTP_REQUIRED"] == {"admin", "auditor"}
    assert (
        from_env({**env, "DSAR_TOTP_REQUIRED": ""}, instance=tmp_path)["DSAR_TOTP_REQUIRED"]
        == frozenset()
    )
    both = from_env({**env, "DSAR_TOTP_REQUIRED": " Officer, admin "}, instance=tmp_path)
    assert both["DSAR_TOTP_REQUIRED"] == {"officer", "admin"}
    with pytest.raises(ConfigError, match=r"DSAR_TOTP_REQUIRED must list staff roles.*'boss'"):
        from_env({**env, "DSAR_TOTP_REQUIRED": "admin,boss"}, instance=tmp_path)
    assert from_env(env, instance=tmp_path)["DSAR_IDLE_MINUTES"] == 30
    with pytest.raises(ConfigError, match="DSAR_IDLE_MINUTES must be at least 1"):
        from_env({**env, "DSAR_IDLE_MINUTES": "0"}, instance=tmp_path)
    with pytest.raises(ConfigError, match="DSAR_IDLE_MINUTES must be a whole number"):
        from_env({**env, "DSAR_IDLE_MINUTES": "half an hour"}, instance=tmp_path)


@pytest.mark.parametrize("nasty", ["12\x0034", "١٢٣٤٥٦", "²²²²²²", "\u202e123456", "\u200b123456"])
def test_broken_characters_in_a_code_are_a_422(
    app: Flask, client: FlaskClient, officer: User, nasty: str
) -> None:
    sign_in(client, OFFICER)
    status, _, _ = post(client, SETUP, SETUP, code=nasty)
    assert status == 422
    totp, _ = enrol(client)
    sign_out(client)
    sign_in(client, OFFICER)
    assert enter_code(client, nasty)[0] == 422
    assert enter_code(client, next_code(totp))[0] == 302
