"""Staff sign-in: argon2 passwords, rate limits that cannot lock a colleague out, sessions
that really end, and the create-user command."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Role, User
from dsar.services.accounts import create_user
from tests.conftest import csrf_token

PASSWORD = "a-long-staff-password"


def sign_in(client: FlaskClient, email: str, password: str, address: str = "127.0.0.1") -> int:
    token = csrf_token(client, "/staff/login")
    resp = client.post(
        "/staff/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return resp.status_code


def test_passwords_are_stored_as_argon2_hashes(app: Flask) -> None:
    user = create_user("o@staff.test", Role.OFFICER, PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_failed_sign_ins_are_limited_per_account_and_address_only(
    app: Flask, client: FlaskClient
) -> None:
    create_user("target@staff.test", Role.OFFICER, PASSWORD)
    create_user("colleague@staff.test", Role.OFFICER, PASSWORD)
    for _ in range(5):
        assert sign_in(client, "target@staff.test", "wrong", "10.0.0.66") == 422
    resp_code = sign_in(client, "target@staff.test", "wrong", "10.0.0.66")
    assert resp_code == 429
    page = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "email": "target@staff.test",
            "password": PASSWORD,
        },
        environ_base={"REMOTE_ADDR": "10.0.0.66"},
    )
    assert page.status_code == 429
    assert "Too many failed sign-ins for this account from here" in page.get_data(as_text=True)
    # The attacker's failures lock out neither a colleague at that address...
    assert sign_in(client, "colleague@staff.test", PASSWORD, "10.0.0.66") == 302
    client.get("/")  # keep the client usable
    # ...nor the account's owner at their own desk.
    other = client.application.test_client()
    assert sign_in(other, "target@staff.test", PASSWORD, "10.0.0.7") == 302


def test_a_copied_session_cookie_is_refused_after_sign_out(app: Flask, client: FlaskClient) -> None:
    create_user("o@staff.test", Role.OFFICER, PASSWORD)
    assert sign_in(client, "o@staff.test", PASSWORD) == 302
    assert client.get("/staff/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    stolen = cookie.value
    token = csrf_token(client, "/staff/")
    client.post("/staff/logout", data={"csrf_token": token})
    assert client.get("/staff/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    resp = replay.get("/staff/")
    assert resp.status_code == 302
    assert "/staff/login" in resp.headers["Location"]


def test_signing_in_again_rotates_the_session(app: Flask, client: FlaskClient) -> None:
    create_user("o@staff.test", Role.OFFICER, PASSWORD)
    assert sign_in(client, "o@staff.test", PASSWORD) == 302
    first = client.get_cookie("session").value
    second_client = app.test_client()
    assert sign_in(second_client, "o@staff.test", PASSWORD) == 302
    # The earlier session belongs to the old sign-in and no longer works.
    old = app.test_client()
    old.set_cookie("session", first)
    assert old.get("/staff/").status_code == 302


def test_create_user_prints_a_generated_password_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["dsar", "create-user", "--email", "New@Staff.test", "--role", "auditor"], input="\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created auditor account new@staff.test." in result.output
    password = result.output.split("Password (shown once): ")[1].split()[0]
    user = db.session.scalar(select(User).where(User.email == "new@staff.test"))
    assert user is not None and user.role is Role.AUDITOR
    client = app.test_client()
    assert sign_in(client, "new@staff.test", password) == 302
    again = runner.invoke(
        args=[
            "dsar",
            "create-user",
            "--email",
            "new@staff.test",
            "--role",
            "admin",
            "--password",
            "another-long-password",
        ]
    )
    assert again.exit_code == 1
    assert "already exists" in again.output
    short = runner.invoke(
        args=[
            "dsar",
            "create-user",
            "--email",
            "x@staff.test",
            "--role",
            "admin",
            "--password",
            "short",
        ]
    )
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output


def test_create_user_asks_for_the_password_twice_without_showing_it(app: Flask) -> None:
    runner = app.test_cli_runner()
    typed = "first-try-password\nsecond-different\nchosen-password-1\nchosen-password-1\n"
    result = runner.invoke(
        args=["dsar", "create-user", "--email", "typed@staff.test", "--role", "officer"],
        input=typed,
    )
    assert result.exit_code == 0, result.output
    assert "The two passwords differ" in result.output
    assert "chosen-password-1" not in result.output  # hidden as typed, never echoed
    assert "shown once" not in result.output
    assert sign_in(app.test_client(), "typed@staff.test", "chosen-password-1") == 302


def test_systems_are_listed_disabled_and_enabled_from_the_command_line(
    app: Flask, demo_systems: list[str]
) -> None:
    from dsar.services import systems

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["dsar", "list-systems"]).output
    assert "crm\tsql\tenabled\t" in listed
    assert "archive\tmanual\tdisabled\t" in listed
    assert "crm is now disabled." in runner.invoke(args=["dsar", "disable-system", "crm"]).output
    assert systems.get("crm").enabled is False
    assert "was already disabled" in runner.invoke(args=["dsar", "disable-system", "crm"]).output
    assert "crm is now enabled." in runner.invoke(args=["dsar", "enable-system", "crm"]).output
    missing = runner.invoke(args=["dsar", "enable-system", "nope"])
    assert missing.exit_code == 2
    assert "no data system 'nope'" in missing.output
