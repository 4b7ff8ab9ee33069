"""Idempotency-Key on POST /api/v1/requests: a client that retries after a timeout or a
5xx gets the request its first call made, never a second one."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Request
from dsar.services import api_keys
from tests.conftest import api_headers

JANE = {
    "kind": "access",
    "regime": "gdpr",
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "identity_verified": True,
}


def post(client: FlaskClient, key: str, body: dict, idem: str | None) -> object:
    headers = api_headers(key)
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return client.post("/api/v1/requests", json=body, headers=headers)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Request)) or 0


def test_a_retry_with_the_same_key_gets_the_first_request_back(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    first = post(client, api_key, JANE, "3f0c2a9e-retry-1")
    assert first.status_code == 201, first.json
    assert first.json["tracking_url"].startswith("http://dsar.test/r/")
    assert "Idempotent-Replayed" not in first.headers
    again = post(client, api_key, JANE, "3f0c2a9e-retry-1")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["reference"] == first.json["reference"]
    assert again.json["tracking_url"] is None  # the token is not kept; it went by email
    assert count() == 1
    # A new key is a new request; no key at all, as before, is always a new request.
    assert post(client, api_key, JANE, "3f0c2a9e-retry-2").status_code == 201
    assert post(client, api_key, JANE, None).status_code == 201
    assert post(client, api_key, JANE, None).status_code == 201
    assert count() == 4


def test_the_same_key_with_another_body_is_refused_and_stores_nothing(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    first = post(client, api_key, JANE, "order-7")
    assert first.status_code == 201
    other = post(client, api_key, {**JANE, "email": "someone.else@example.com"}, "order-7")
    assert other.status_code == 409
    assert f"was used for {first.json['reference']} with a different body" in other.json["message"]
    assert count() == 1


def test_keys_are_per_api_key(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    other_key = api_keys.create("other", scopes=api_keys.SCOPES)[1]
    assert post(client, api_key, JANE, "shared-name").status_code == 201
    assert post(client, other_key, JANE, "shared-name").status_code == 201
    assert count() == 2


@pytest.mark.parametrize("bad", ["", "x" * 201, "has space", "tab\tkey", "é-accent"])
def test_a_bad_key_is_a_400_with_words_and_stores_nothing(
    app: Flask, client: FlaskClient, api_key: str, bad: str
) -> None:
    resp = client.post(
        "/api/v1/requests",
        json=JANE,
        headers={**api_headers(api_key), "Idempotency-Key": bad.encode().decode("latin-1")},
    )
    assert resp.status_code == 400
    assert "Idempotency-Key must be 1 to 200 visible ASCII characters" in resp.json["message"]
    assert count() == 0


def test_the_openapi_document_describes_the_header_and_the_replay(
    app: Flask, client: FlaskClient
) -> None:
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/requests"]["post"]
    names = {p["name"] for p in operation.get("parameters", [])}
    assert "Idempotency-Key" in names
    assert "200" in operation["responses"] and "201" in operation["responses"]
