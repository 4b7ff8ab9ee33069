"""The team page: admins invite staff by email (a one-time link to choose a password), change
roles, deactivate and reactivate; the last admin stays; every change is audited."""

from __future__ import annotations

import email.message
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.access_log import redact
from dsar.extensions import db
from dsar.models import Event, Invitation, Role, User
from dsar.services import accounts, team
from tests.conftest import STAFF_PASSWORD, body_of, csrf_token, link_in, sign_in

Outbox = Callable[[], list[email.message.Message]]
NEW_PASSWORD = "correct horse battery staple"
LINK = r"http://dsar\.test/staff/welcome/[A-Za-z0-9_-]+"


def invite(client: FlaskClient, **fields: str) -> tuple[int, str]:
    data = {"csrf_token": csrf_token(client, "/staff/team"), **fields}
    resp = client.post("/staff/team/invite", data=data)
    return resp.status_code, resp.get_data(as_text=True)


def invited(client: FlaskClient, outbox: Outbox, role: str = "officer") -> tuple[User, str]:
    """Invite Nora New (as the signed-in admin); her account and the emailed link's path."""
    status, page = invite(client, name="Nora New", email="Nora@Example.com", role=role)
    assert status == 302, page
    user = db.session.scalar(select(User).where(User.email == "nora@example.com"))
    assert user is not None
    message = outbox()[-1]
    assert message["To"] == "nora@example.com"
    return user, link_in(message, LINK).removeprefix("http://dsar.test")


def choose_password(client: FlaskClient, path: str, **fields: str) -> tuple[int, str]:
    data = {
        "csrf_token": csrf_token(client, path),
        "name": "Nora New",
        "password": NEW_PASSWORD,
        "repeat": NEW_PASSWORD,
        **fields,
    }
    resp = client.post(path, data=data)
    return resp.status_code, resp.headers.get("Location", "") or resp.get_data(as_text=True)


def events(action: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.action == action)))


def admin_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == "admin@staff.test"))


def post(client: FlaskClient, url: str, **data: str) -> tuple[int, str]:
    resp = client.post(url, data={"csrf_token": csrf_token(client, "/staff/team"), **data})
    return resp.status_code, resp.get_data(as_text=True)


def test_an_invited_officer_chooses_a_password_through_the_emailed_link_and_signs_in(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    user, path = invited(client, outbox)
    text = body_of(outbox()[-1])
    assert "Hello Nora New" in text and "a privacy officer" in text
    assert "works once" in text and "two-factor" not in text  # officers: not required here
    assert user.invited and user.role is Role.OFFICER and user.active
    page = client.get("/staff/team").get_data(as_text=True)
    assert "Nora New" in page and "nora@example.com" in page and "link valid until" in page
    # Until she uses the link, no password opens the account.
    other = app.test_client()
    assert accounts.authenticate("nora@example.com", "") is None
    assert accounts.authenticate("nora@example.com", "not a real password") is None

    welcome = other.get(path)
    assert welcome.status_code == 200
    assert "nora@example.com" in welcome.get_data(as_text=True)
    status, where = choose_password(other, path, name="Nora Newton")
    assert status == 302 and where.endswith("/staff/")
    assert other.get("/staff/queue").status_code == 200  # signed in at once
    db.session.refresh(user)
    assert not user.invited and user.name == "Nora Newton"
    assert user.password_hash.startswith("$argon2") and NEW_PASSWORD not in user.password_hash
    # Signing out and in again with the password she chose.
    other.post("/staff/logout", data={"csrf_token": csrf_token(other, "/staff/queue")})
    sign_in(other, ("nora@example.com", NEW_PASSWORD))
    assert other.get("/staff/account").status_code == 200

    (made,) = events("staff_invited")
    assert made.actor == f"user:{admin_id()}"
    assert made.detail == {"user_id": user.id, "role": "officer"}
    (accepted,) = events("staff_invitation_accepted")
    assert accepted.detail == {"user_id": user.id, "role": "officer"}
    token = path.rsplit("/", 1)[1]
    for event in (made, accepted):
        assert token not in str(event.detail) and NEW_PASSWORD not in str(event.detail)
    assert db.session.scalar(select(Invitation.token_hash)) != token  # only its hash is kept


def test_an_invitation_link_works_once(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    _, path = invited(client, outbox)
    newcomer = app.test_client()
    assert choose_password(newcomer, path)[0] == 302
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "already used to choose a password" in again.get_data(as_text=True)
    resp = app.test_client().post(path, data={"name": "X", "password": "y" * 20, "repeat": "y"})
    assert resp.status_code in {400, 410}  # no form token, or the link is spent: never a 200


def test_an_expired_link_says_so_and_the_admin_sends_a_new_one(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    user, path = invited(client, outbox)
    link = db.session.scalar(select(Invitation).where(Invitation.user_id == user.id))
    link.created_at -= timedelta(hours=73)
    db.session.commit()
    resp = app.test_client().get(path)
    assert resp.status_code == 410
    assert "This invitation link expired on" in resp.get_data(as_text=True)
    assert "invitation expired" in client.get("/staff/team").get_data(as_text=True)

    status, _ = post(client, f"/staff/team/{user.id}/invitation")
    assert status == 302
    new_path = link_in(outbox()[-1], LINK).removeprefix("http://dsar.test")
    assert new_path != path
    old = app.test_client().get(path)
    assert old.status_code == 404 and "only the newest link works" in old.get_data(as_text=True)
    assert choose_password(app.test_client(), new_path)[0] == 302
    (resent,) = events("staff_invitation_resent")
    assert resent.detail == {"user_id": user.id}
    # Once she has a password, there is nothing to send again: said in a sentence.
    status, page = post(client, f"/staff/team/{user.id}/invitation")
    assert status == 422 and "has already chosen a password" in page


@pytest.mark.parametrize(
    "token", ["garbage", "x" * 300, "Zm9vYmFy-not-a-token", "%E2%80%AE", "%00"]
)
def test_a_link_that_is_no_invitation_is_a_404_in_words(app: Flask, token: str) -> None:
    resp = app.test_client().get(f"/staff/welcome/{token}")
    assert resp.status_code in {400, 404}
    if resp.status_code == 404:
        assert "This invitation link is not valid" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "repeat": "short"}, "Use between 12 and 200 characters."),
        ({"repeat": "something else entirely"}, "The two passwords differ"),
        ({"name": "   "}, "Give the name their colleagues know them by."),
        ({"password": "p" * 201, "repeat": "p" * 201}, "Use between 12 and 200 characters."),
    ],
)
def test_a_refused_password_keeps_the_link_and_the_name(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    outbox: Outbox,
    fields: dict[str, str],
    message: str,
) -> None:
    login("admin")
    user, path = invited(client, outbox)
    newcomer = app.test_client()
    status, page = choose_password(newcomer, path, **fields)
    assert status == 422 and message in page
    if "name" not in fields:
        assert 'value="Nora New"' in page
    db.session.refresh(user)
    assert user.invited and events("staff_invitation_accepted") == []
    assert choose_password(newcomer, path)[0] == 302  # the link still works


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Give their work email address"),
        ({"name": "Ann", "email": "not-an-email", "role": "officer"}, "like name@example.com"),
        ({"name": "Ann", "email": "ann@example.com", "role": "superuser"}, "Choose officer"),
        ({"name": "A" * 201, "email": "ann@example.com", "role": "officer"}, "under 200"),
        ({"name": "Ann", "email": "a" * 250 + "@x.test", "role": "officer"}, "too long"),
    ],
)
def test_a_refused_invitation_stores_and_sends_nothing_and_keeps_the_form(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    outbox: Outbox,
    fields: dict[str, str],
    message: str,
) -> None:
    login("admin")
    before = db.session.scalar(select(func.count(User.id)))
    status, page = invite(client, **fields)
    assert status == 422 and message in page
    assert "Nobody was invited" in page
    if fields.get("name") == "Ann":
        assert 'value="Ann"' in page
    assert db.session.scalar(select(func.count(User.id))) == before
    assert outbox() == [] and events("staff_invited") == []


def test_someone_already_on_the_team_is_not_invited_twice(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    invited(client, outbox)
    status, page = invite(client, name="Nora", email="NORA@example.com", role="auditor")
    assert status == 422 and "is already invited and has not chosen a password yet" in page
    accounts.create_user("olga@example.com", Role.OFFICER, STAFF_PASSWORD)
    status, page = invite(client, name="Olga", email="olga@example.com", role="officer")
    assert status == 422 and "olga@example.com already has a staff account (officer)." in page
    assert len(outbox()) == 1 and len(events("staff_invited")) == 1


def test_an_admin_changes_a_role_and_it_is_audited(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("officer")
    login("admin")
    officer = db.session.scalar(select(User).where(User.email == "officer@staff.test"))
    status, _ = post(
        client, f"/staff/team/{officer.id}/role", **{f"user{officer.id}-role": "auditor"}
    )
    assert status == 302
    assert "is now an auditor" in client.get("/staff/team").get_data(as_text=True)
    db.session.refresh(officer)
    assert officer.role is Role.AUDITOR
    (changed,) = events("staff_role_changed")
    assert changed.actor == f"user:{admin_id()}"
    assert changed.detail == {"user_id": officer.id, "before": "officer", "after": "auditor"}
    status, page = post(
        client, f"/staff/team/{officer.id}/role", **{f"user{officer.id}-role": "boss"}
    )
    assert status == 422 and "Choose officer, auditor or admin." in page
    assert status == 422 and len(events("staff_role_changed")) == 1


def test_the_last_admin_can_be_neither_demoted_nor_deactivated(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("admin")
    me = admin_id()
    status, page = post(client, f"/staff/team/{me}/role", **{f"user{me}-role": "officer"})
    assert status == 422
    assert "is the last active admin" in page
    # The form keeps what was chosen.
    row = page[page.index(f'id="user-{me}"') :]
    assert re.search(r'<option value="officer" selected>', row[: row.index("</form>")])
    status, page = post(client, f"/staff/team/{me}/deactivate")
    assert status == 422 and "You cannot deactivate your own account" in page
    user = db.session.get(User, me)
    assert user.role is Role.ADMIN and user.active
    # The service refuses it too, whoever asks.
    officer = accounts.create_user("o2@staff.test", Role.OFFICER, STAFF_PASSWORD)
    with pytest.raises(team.TeamRefused, match="last active admin"):
        team.deactivate(user, by=officer)
    # With a second admin (who has chosen a password), the first may step down.
    accounts.create_user("second@staff.test", Role.ADMIN, STAFF_PASSWORD)
    status, _ = post(client, f"/staff/team/{me}/role", **{f"user{me}-role": "officer"})
    assert status == 302
    assert events("staff_deactivated") == [] and len(events("staff_role_changed")) == 1


def test_an_invited_admin_does_not_count_as_an_admin_yet(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    invited(client, outbox, role="admin")
    me = admin_id()
    status, page = post(client, f"/staff/team/{me}/role", **{f"user{me}-role": "officer"})
    assert status == 422 and "is the last active admin" in page


def test_deactivating_someone_ends_their_session_at_once_and_reactivating_lets_them_back(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    officer = accounts.create_user("olga@staff.test", Role.OFFICER, STAFF_PASSWORD, name="Olga")
    theirs = app.test_client()
    sign_in(theirs, ("olga@staff.test", STAFF_PASSWORD))
    assert theirs.get("/staff/queue").status_code == 200
    login("admin")
    status, _ = post(client, f"/staff/team/{officer.id}/deactivate")
    assert status == 302
    page = client.get("/staff/team").get_data(as_text=True)
    assert "Olga is deactivated and signed out" in page and "deactivated</span>" in page
    resp = theirs.get("/staff/queue")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    again = app.test_client()
    page = again.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(again, "/staff/login"),
            "email": "olga@staff.test",
            "password": STAFF_PASSWORD,
        },
    )
    assert page.status_code == 422
    (stopped,) = events("staff_deactivated")
    assert stopped.detail == {"user_id": officer.id, "role": "officer"}
    assert stopped.actor == f"user:{admin_id()}"

    assert post(client, f"/staff/team/{officer.id}/reactivate")[0] == 302
    sign_in(again, ("olga@staff.test", STAFF_PASSWORD))
    assert again.get("/staff/queue").status_code == 200
    (back,) = events("staff_reactivated")
    assert back.detail == {"user_id": officer.id, "role": "officer"}


def test_a_deactivated_persons_invitation_stops_working(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    user, path = invited(client, outbox)
    assert post(client, f"/staff/team/{user.id}/deactivate")[0] == 302
    resp = app.test_client().get(path)
    assert resp.status_code == 410 and "was deactivated" in resp.get_data(as_text=True)


def test_demo_logins_go_on_until_an_invited_admin_has_chosen_a_password(
    app: Flask, client: FlaskClient, outbox: Outbox
) -> None:
    accounts.create_user("admin@example.com", Role.ADMIN, "demo-admin-password", demo=True)
    sign_in(client, ("admin@example.com", "demo-admin-password"))
    _, path = invited(client, outbox, role="admin")
    assert accounts.demo_logins_allowed()
    assert choose_password(app.test_client(), path)[0] == 302
    assert not accounts.demo_logins_allowed()


def test_an_admin_invites_an_auditor_who_signs_in_with_a_totp_code(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    """The issue's done-when, as the browser test will walk it."""
    app.config["DSAR_TOTP_REQUIRED"] = frozenset({"admin", "auditor"})
    accounts.create_user("boss@staff.test", Role.ADMIN, STAFF_PASSWORD, demo=True)
    sign_in(client, ("boss@staff.test", STAFF_PASSWORD))  # a demo admin: exempt
    _, path = invited(client, outbox, role="auditor")
    assert "two-factor" in body_of(outbox()[-1])
    auditor = app.test_client()
    status, where = choose_password(auditor, path)
    assert status == 302 and where.endswith("/staff/account/two-factor")
    assert auditor.get("/staff/queue").headers["Location"].endswith("/staff/account/two-factor")
    setup = auditor.get("/staff/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    confirm = auditor.post(
        "/staff/account/two-factor",
        data={"csrf_token": csrf_token(auditor, "/staff/account/two-factor"), "code": totp.now()},
    )
    assert confirm.status_code == 200 and "Two-factor sign-in is on" in confirm.get_data(
        as_text=True
    )
    auditor.post("/staff/logout", data={"csrf_token": csrf_token(auditor, "/staff/queue")})
    resp = sign_in(auditor, ("nora@example.com", NEW_PASSWORD))
    assert resp.headers["Location"].endswith("/staff/login/code")
    later = totp.at(int(time.time()) + 30)  # the next code: the one used to confirm is spent
    code = auditor.post(
        "/staff/login/code",
        data={"csrf_token": csrf_token(auditor, "/staff/login/code"), "code": later},
    )
    assert code.status_code == 302 and code.headers["Location"].endswith("/staff/")
    assert auditor.get("/staff/queue").status_code == 200


def test_invitation_links_are_redacted_from_the_access_log() -> None:
    assert redact("/staff/welcome/cdPHWU8Ptv3k_-x") == "/staff/welcome/…"
    assert redact("/staff/team") == "/staff/team"


@pytest.mark.parametrize("nasty", ["a\x00b", "\x1b[31m", "line\nbreak"])
def test_broken_characters_are_refused_in_words_at_every_team_form(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox, nasty: str
) -> None:
    login("admin")
    status, page = invite(client, name=nasty, email="ann@example.com", role="officer")
    assert status == 422 and "Nobody was invited" in page
    user, path = invited(client, outbox)
    status, page = choose_password(client, path, name=nasty)
    assert status == 422
    status, page = choose_password(client, path, password=nasty * 12, repeat=nasty * 12)
    assert status == 422
    status, page = post(client, f"/staff/team/{user.id}/role", **{f"user{user.id}-role": nasty})
    assert status == 422
    db.session.refresh(user)
    assert user.invited and user.role is Role.OFFICER
    assert db.session.scalar(select(func.count(User.id))) == 2


def test_an_unreachable_mail_server_is_said_and_the_invitation_can_be_sent_again(
    app: Flask, client: FlaskClient, login: Callable[[str], str], outbox: Outbox
) -> None:
    login("admin")
    app.config["DSAR_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    status, _ = invite(client, name="Nora New", email="nora@example.com", role="officer")
    assert status == 302
    page = client.get("/staff/team").get_data(as_text=True)
    assert "the invitation email could not be sent" in page
    user = db.session.scalar(select(User).where(User.email == "nora@example.com"))
    app.config["DSAR_SMTP_URL"] = ""
    assert post(client, f"/staff/team/{user.id}/invitation")[0] == 302
    assert outbox()[-1]["To"] == "nora@example.com"
