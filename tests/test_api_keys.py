"""API keys with scopes: what a key may read, create and download; rotation, revocation, rate
limits; the admin's page and the command line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import ApiKey, Document, Event, Request, RequestStatus
from dsar.services import api_keys, intake
from tests.conftest import api_headers, csrf_token

BODY = {"kind": "access", "regime": "gdpr", "name": "Jane Doe", "email": "jane.doe@example.com"}


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


def create(client: FlaskClient, secret: str, **changes: Any) -> Any:
    return client.post("/api/v1/requests", json={**BODY, **changes}, headers=api_headers(secret))


def with_answer(reference: str) -> None:
    """Give the request an answer file, as the documents worker would."""
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    folder = current_app.config["DSAR_DOCUMENTS_DIR"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{reference}.pdf").write_bytes(b"%PDF-1.7 test answer")
    req.documents.append(Document(kind="response", filename=f"{reference}.pdf", sha256="0", size=9))
    req.status = RequestStatus.COMPLETED
    db.session.commit()


def test_a_new_key_may_create_and_read_its_own_requests_only(
    app: Flask, client: FlaskClient
) -> None:
    key, secret = api_keys.create("crm")
    assert key.scopes == ["requests:create", "requests:read"]
    _, other_secret = api_keys.create("shop")
    mine = create(client, secret).json["reference"]
    theirs = create(client, other_secret).json["reference"]
    portal = intake.submit(intake.Submission(**BODY), channel="portal").request.reference

    assert client.get(f"/api/v1/requests/{mine}", headers=api_headers(secret)).status_code == 200
    for reference in (theirs, portal, "DSAR-2099-999999"):
        resp = client.get(f"/api/v1/requests/{reference}", headers=api_headers(secret))
        # Another key's request and a request that does not exist answer alike.
        assert resp.status_code == 404
        assert resp.json["message"] == f"No request with reference {reference!r}."


def test_a_key_cannot_download_what_its_scopes_do_not_cover(
    app: Flask, client: FlaskClient
) -> None:
    _, reader = api_keys.create("reader")
    _, downloader = api_keys.create(
        "dl", scopes=["requests:create", "requests:read", "answers:download"]
    )
    own = create(client, reader).json["reference"]
    foreign = create(client, downloader).json["reference"]
    with_answer(own)
    with_answer(foreign)

    # May read its own request, but not download: told why, and no link offered.
    assert (
        client.get(f"/api/v1/requests/{own}", headers=api_headers(reader)).json["response_pdf"]
        is None
    )
    resp = client.get(f"/api/v1/requests/{own}/response.pdf", headers=api_headers(reader))
    assert resp.status_code == 403
    assert "answers:download" in resp.json["message"]
    # Another key's answer: as if it did not exist, even with the download scope.
    resp = client.get(f"/api/v1/requests/{own}/response.pdf", headers=api_headers(downloader))
    assert resp.status_code == 404
    assert (
        db.session.scalar(
            select(func.count()).select_from(Event).where(Event.action == "document_downloaded")
        )
        == 0
    )

    with client.get(
        f"/api/v1/requests/{foreign}/response.pdf", headers=api_headers(downloader)
    ) as ok:
        assert ok.status_code == 200
        assert ok.data.startswith(b"%PDF")
        assert ok.headers["Content-Disposition"].startswith("attachment;")
        assert ok.headers["Cache-Control"] == "no-store"
    event = db.session.scalars(select(Event).where(Event.action == "document_downloaded")).one()
    assert event.actor.startswith("api-key:")


def test_a_read_all_key_reads_every_request(app: Flask, client: FlaskClient) -> None:
    _, writer = api_keys.create("writer")
    _, auditor = api_keys.create("bi", scopes=["requests:read_all"])
    reference = create(client, writer).json["reference"]
    portal = intake.submit(intake.Submission(**BODY), channel="portal").request.reference
    for ref in (reference, portal):
        assert (
            client.get(f"/api/v1/requests/{ref}", headers=api_headers(auditor)).status_code == 200
        )
    # Reading is all it may do.
    resp = create(client, auditor)
    assert resp.status_code == 403
    assert "requests:create" in resp.json["message"]
    assert stored() == 2


def test_vouching_for_an_identity_needs_its_own_scope(app: Flask, client: FlaskClient) -> None:
    _, secret = api_keys.create("crm")
    resp = create(client, secret, identity_verified=True)
    assert resp.status_code == 403
    assert "requests:vouch" in resp.json["message"]
    assert stored() == 0


def test_a_rotated_key_keeps_its_requests_and_the_old_secret_stops(
    app: Flask, client: FlaskClient
) -> None:
    key, old = api_keys.create("crm")
    reference = create(client, old).json["reference"]
    new = api_keys.rotate(key, actor="tests")
    assert new != old
    assert client.get(f"/api/v1/requests/{reference}", headers=api_headers(old)).status_code == 401
    assert client.get(f"/api/v1/requests/{reference}", headers=api_headers(new)).status_code == 200
    api_keys.revoke(key, actor="tests")
    assert client.get(f"/api/v1/requests/{reference}", headers=api_headers(new)).status_code == 401
    with pytest.raises(api_keys.ApiKeyError):
        api_keys.rotate(key, actor="tests")
    actions = db.session.scalars(select(Event.action).where(Event.request_id.is_(None))).all()
    assert {"api_key_created", "api_key_rotated", "api_key_revoked"} <= set(actions)


def test_last_use_is_written_once_a_minute_not_on_every_call(
    app: Flask, client: FlaskClient
) -> None:
    key, secret = api_keys.create("crm")
    reference = create(client, secret).json["reference"]
    first = db.session.get(ApiKey, key.id).last_used_at
    assert first is not None
    for _ in range(3):
        client.get(f"/api/v1/requests/{reference}", headers=api_headers(secret))
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).last_used_at == first


def test_each_key_has_its_own_rate_limit(app: Flask, client: FlaskClient) -> None:
    app.config["DSAR_API_RATE_LIMIT"] = "3 per minute"
    _, busy = api_keys.create("busy")
    _, calm = api_keys.create("calm")
    url = "/api/v1/requests/DSAR-2099-000001"
    codes = [client.get(url, headers=api_headers(busy)).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    limited = client.get(url, headers=api_headers(busy))
    assert limited.is_json
    assert "Too many calls with this API key" in limited.json["message"]
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get(url, headers=api_headers(calm)).status_code == 404


def test_guessing_keys_from_one_address_is_slowed(app: Flask, client: FlaskClient) -> None:
    codes = [
        client.get("/api/v1/requests/X", headers=api_headers(f"dsar_guess_{n}")).status_code
        for n in range(31)
    ]
    assert codes[:30] == [401] * 30
    assert codes[30] == 429


@pytest.mark.parametrize("scopes", [[], ["requests:delete_everything"]])
def test_unknown_or_no_scopes_are_refused(app: Flask, scopes: list[str]) -> None:
    with pytest.raises(api_keys.ApiKeyError):
        api_keys.create("x", scopes=scopes)
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0


# -- the admin's page --------------------------------------------------------------------


def secret_on(page: str) -> str:
    found = re.search(r'<code class="secret">(dsar_[^<]+)</code>', page)
    assert found, "no secret on the page"
    return found.group(1)


def test_an_admin_makes_rotates_rescopes_and_revokes_keys_in_the_workspace(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("admin")
    page = "/staff/api-keys"
    resp = client.post(
        page,
        data={
            "csrf_token": csrf_token(client, page),
            "name": "crm-sync",
            "scopes": ["requests:create", "requests:read"],
        },
    )
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    secret = secret_on(resp.get_data(as_text=True))
    key = db.session.scalars(select(ApiKey)).one()
    assert key.name == "crm-sync"
    assert secret not in client.get(page).get_data(as_text=True)  # shown once
    assert create(client, secret).status_code == 201

    resp = client.post(f"{page}/{key.id}/rotate", data={"csrf_token": csrf_token(client, page)})
    new = secret_on(resp.get_data(as_text=True))
    assert "The old secret has stopped working" in resp.get_data(as_text=True)
    assert create(client, secret).status_code == 401
    assert create(client, new).status_code == 201

    resp = client.post(
        f"{page}/{key.id}/scopes",
        data={"csrf_token": csrf_token(client, page), f"key{key.id}-scopes": ["requests:read"]},
    )
    assert resp.status_code == 302
    assert create(client, new).status_code == 403

    client.post(f"{page}/{key.id}/revoke", data={"csrf_token": csrf_token(client, page)})
    assert client.get("/api/v1/requests/X", headers=api_headers(new)).status_code == 401
    listing = client.get(page).get_data(as_text=True)
    assert "revoked" in listing
    by_admin = db.session.scalars(select(Event.action).where(Event.actor.like("user:%"))).all()
    assert by_admin == [
        "api_key_created",
        "api_key_rotated",
        "api_key_scopes_changed",
        "api_key_revoked",
    ]


def test_a_key_form_without_name_or_scopes_makes_nothing(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("admin")
    page = "/staff/api-keys"
    for data in (
        {"name": "  ", "scopes": ["requests:read"]},
        {"name": "x"},
        {"name": "x", "scopes": ["root"]},
    ):
        resp = client.post(page, data={"csrf_token": csrf_token(client, page), **data})
        assert resp.status_code == 422
        assert "No key was made" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert client.post(f"{page}/{10**25}/revoke", data={}).status_code == 404


# -- the command line --------------------------------------------------------------------


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["dsar", *args])


def test_keys_are_made_listed_rotated_rescoped_and_revoked_from_the_command_line(
    app: Flask, client: FlaskClient
) -> None:
    made = cli(app, "create-api-key", "--name", "bi", "--scope", "requests:read_all")
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    key = db.session.scalars(select(ApiKey)).one()
    assert key.scopes == ["requests:read_all"]
    listing = cli(app, "list-api-keys").output
    assert f"#{key.id}\tbi\tdsar_{key.prefix}_…\trequests:read_all" in listing

    rotated = cli(app, "rotate-api-key", str(key.id))
    assert rotated.exit_code == 0
    new = rotated.output.strip().splitlines()[-1]
    assert client.get("/api/v1/requests/X", headers=api_headers(secret)).status_code == 401
    assert client.get("/api/v1/requests/X", headers=api_headers(new)).status_code == 404

    changed = cli(app, "set-api-key-scopes", str(key.id), "--scope", "requests:create")
    assert "may now: requests:create" in changed.output
    assert cli(app, "revoke-api-key", str(key.id)).exit_code == 0
    assert client.get("/api/v1/requests/X", headers=api_headers(new)).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ("rotate-api-key", "999"),
        ("revoke-api-key", "0"),
        ("rotate-api-key", "1" * 25),
        ("create-api-key", "--scope", "everything"),
        ("set-api-key-scopes", "1"),
    ],
)
def test_the_command_line_refuses_bad_keys_and_scopes_with_a_message(
    app: Flask, args: tuple[str, ...]
) -> None:
    api_keys.create("one")
    result = cli(app, *args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.output
    assert "Traceback" not in result.output
