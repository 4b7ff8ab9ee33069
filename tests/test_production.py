"""A deployment behind a TLS proxy, and no demo in production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import func, select

from dsar import create_app
from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import DataSystem, Role, User
from dsar.services import accounts
from tests.conftest import csrf_token

PROXY = "10.0.0.1"
ATTACKER = "203.0.113.9"
ADMIN = "root@company.test"
PASSWORD = "a-real-admin-password"


@pytest.fixture
def proxied(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app as deployed behind one TLS-terminating proxy, in production."""
    monkeypatch.setenv("DSAR_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("DSAR_ENV", "production")
    app = create_app()

    @app.teardown_request
    def _forget_request_globals(exc: BaseException | None) -> None:
        g.__dict__.clear()  # as conftest's `app`: each request as if in its own context

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        accounts.create_user(ADMIN, Role.ADMIN, PASSWORD)
        yield app
        db.session.remove()
        db.engine.dispose()


def sign_in(client: FlaskClient, password: str, *, via: str) -> int:
    """POST the sign-in form as the proxy would forward it: `via` is X-Forwarded-For."""
    # The browser sends the page it came from (Referrer-Policy same-origin): over HTTPS the
    # CSRF check wants it to be ours.
    headers = {
        "X-Forwarded-For": via,
        "X-Forwarded-Proto": "https",
        "Referer": "https://localhost/staff/login",
    }
    page = client.get("/staff/login", headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    data = {"csrf_token": token.split('"')[0], "email": ADMIN, "password": password}
    resp = client.post(
        "/staff/login", data=data, headers=headers, environ_base={"REMOTE_ADDR": PROXY}
    )
    return resp.status_code


def test_a_forged_address_locked_out_does_not_lock_out_the_real_one(proxied: Flask) -> None:
    victim = "198.51.100.7"
    attacker = proxied.test_client(use_cookies=True)
    # The attacker claims to be the victim; the proxy appends the attacker's real address.
    codes = [sign_in(attacker, "wrong-password!", via=f"{victim}, {ATTACKER}") for _ in range(6)]
    assert codes[:5] == [422] * 5
    assert codes[5] == 429  # locked out: the attacker's own address, for this account
    assert sign_in(proxied.test_client(), PASSWORD, via=victim) == 302


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    accounts.create_user(ADMIN, Role.ADMIN, PASSWORD)
    # Every guess names another address; all come from the same socket, so all count.
    codes = [
        client.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(client, "/staff/login"),
                "email": ADMIN,
                "password": "wrong-password!",
            },
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        ).status_code
        for n in range(6)
    ]
    assert codes == [422] * 5 + [429]


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(proxied: Flask) -> None:
    client = proxied.test_client()
    headers = {"X-Forwarded-For": ATTACKER, "X-Forwarded-Proto": "https"}
    resp = client.get("/staff/login", headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    assert resp.status_code == 200
    assert "max-age=" in resp.headers["Strict-Transport-Security"]
    session = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session


# -- no demo in production ---------------------------------------------------------------


def test_the_demo_refuses_to_run_in_production(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSAR_ENV", "production")
    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        result = app.test_cli_runner().invoke(args=["dsar", "demo", "--people", "10"])
        assert result.exit_code == 1
        assert "not for production" in result.output
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(DataSystem)) == 0
        db.session.remove()
        db.engine.dispose()


def test_the_launcher_refuses_production_before_starting_anything(
    env: dict[str, str], tmp_path: Path
) -> None:
    run_env = {**os.environ, "DSAR_ENV": "production", "DSAR_INSTANCE_PATH": str(tmp_path / "i")}
    done = subprocess.run(
        [sys.executable, "-m", "dsar.launcher"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "refuses DSAR_ENV=production" in done.stderr
    assert not (tmp_path / "i" / "redis.sock").exists()


def demo_admin(client: FlaskClient) -> int:
    data = {
        "csrf_token": csrf_token(client, "/staff/login"),
        "email": "admin@example.com",
        "password": "demo-admin-password",
    }
    return client.post("/staff/login", data=data).status_code


def test_demo_accounts_stop_signing_in_once_a_real_admin_exists(
    app: Flask, client: FlaskClient
) -> None:
    accounts.create_user("admin@example.com", Role.ADMIN, "demo-admin-password", demo=True)
    assert demo_admin(client) == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    accounts.create_user(ADMIN, Role.ADMIN, PASSWORD)
    resp_code = demo_admin(client)
    assert resp_code == 403
    page = client.get("/staff/login").get_data(as_text=True)
    assert "Sign in" in page
    app.config["DSAR_ALLOW_DEMO_LOGINS"] = True  # a shared demo server says so
    assert demo_admin(client) == 302


def test_the_refusal_says_why(app: Flask, client: FlaskClient) -> None:
    accounts.create_user("admin@example.com", Role.ADMIN, "demo-admin-password", demo=True)
    accounts.create_user(ADMIN, Role.ADMIN, PASSWORD)
    data = {
        "csrf_token": csrf_token(client, "/staff/login"),
        "email": "admin@example.com",
        "password": "demo-admin-password",
    }
    resp = client.post("/staff/login", data=data)
    assert resp.status_code == 403
    assert "demo accounts stopped working" in resp.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == ADMIN)).demo is False
