"""JSON API v1: keys, validation, references, the OpenAPI document."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Event, Request
from tests.conftest import api_headers

BODY = {"kind": "access", "regime": "gdpr", "name": "Jane Doe", "email": "jane.doe@example.com"}


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_requests_without_a_valid_key_get_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = client.post("/api/v1/requests", json=BODY, headers=headers)
    assert resp.status_code == 401
    assert resp.json["message"].startswith("Send a valid API key")
    assert client.get("/api/v1/requests/DSAR-2026-000001", headers=headers).status_code == 401
    assert stored() == 0


def test_create_returns_reference_status_and_due_date(
    client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    resp = client.post("/api/v1/requests", json=BODY, headers=api_headers(api_key))
    assert resp.status_code == 201
    body = resp.json
    assert body["reference"].startswith("DSAR-")
    assert body["status"] == "awaiting_verification"  # no vouching: dsar verifies by email
    req = db.session.scalars(select(Request)).one()
    assert body["due_at"] == req.due_on.isoformat()
    assert body["tracking_url"].startswith("http://dsar.test/r/")
    assert body["tasks"] == []
    got = client.get(f"/api/v1/requests/{body['reference']}", headers=api_headers(api_key)).json
    assert got["reference"] == body["reference"]
    assert "tracking_url" not in got


def test_vouched_identity_is_recorded_with_the_key(
    client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    resp = client.post(
        "/api/v1/requests", json={**BODY, "identity_verified": True}, headers=api_headers(api_key)
    )
    assert resp.status_code == 201
    assert resp.json["status"] == "in_progress"
    assert {t["system"] for t in resp.json["tasks"]} == set(demo_systems)
    # Sent to the workers at once, but the shop, which searches by the customer id the CRM
    # finds, waits for the CRM.
    status = {t["system"]: t["status"] for t in resp.json["tasks"]}
    assert status == {**dict.fromkeys(demo_systems, "queued"), "shop": "pending"}
    req = db.session.scalars(select(Request)).one()
    assert req.verified_by == f"api-key:{req.api_key_id}"
    event = db.session.scalars(select(Event).where(Event.action == "verified")).one()
    assert event.actor == f"api-key:{req.api_key_id}"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "email", "Missing data for required field."),
        ({**BODY, "email": "nope"}, "email", "Not a valid email address."),
        ({**BODY, "name": ""}, "name", "Give the person's name; it cannot be blank."),
        ({**BODY, "name": "   "}, "name", "Give the person's name; it cannot be blank."),
        ({**BODY, "name": "x" * 201}, "name", "Length must be between 1 and 200."),
        ({**BODY, "details": "x" * 5001}, "details", "Longer than maximum length 5000."),
        ({**BODY, "regime": "mars"}, "regime", "Must be one of"),
        ({**BODY, "kind": "teleport"}, "kind", "Must be one of"),
        ({**BODY, "kind": "deletion", "regime": "qc_law25"}, "kind", "gives no right to"),
        ({**BODY, "phone": "call me"}, "phone", "Use digits"),
        ({**BODY, "surprise": 1}, "surprise", "Unknown field."),
        ({**BODY, "identity_verified": "maybe"}, "identity_verified", "Not a valid boolean."),
    ],
)
def test_bad_bodies_get_422_with_field_errors_and_store_nothing(
    client: FlaskClient, api_key: str, body: dict, field: str, message: str
) -> None:
    resp = client.post("/api/v1/requests", json=body, headers=api_headers(api_key))
    assert resp.status_code == 422
    errors = resp.json["errors"]["json"][field]
    assert any(message in e for e in errors), errors
    assert stored() == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(
    client: FlaskClient, api_key: str, raw: str
) -> None:
    resp = client.post(
        "/api/v1/requests", data=raw, content_type="application/json", headers=api_headers(api_key)
    )
    assert resp.status_code in {400, 422}
    assert resp.is_json
    assert "Traceback" not in resp.get_data(as_text=True)
    assert stored() == 0


def test_an_oversized_body_is_refused(client: FlaskClient, api_key: str) -> None:
    resp = client.post(
        "/api/v1/requests",
        json={**BODY, "details": "x" * (2 * 1024 * 1024)},
        headers=api_headers(api_key),
    )
    assert resp.status_code == 413
    assert resp.is_json
    assert stored() == 0


def test_unknown_reference_is_404(client: FlaskClient, api_key: str) -> None:
    resp = client.get("/api/v1/requests/DSAR-2099-999999", headers=api_headers(api_key))
    assert resp.status_code == 404
    assert "No request with reference" in resp.json["message"]
    pdf = client.get("/api/v1/requests/DSAR-2099-999999/response.pdf", headers=api_headers(api_key))
    assert pdf.status_code == 404


def test_pdf_before_it_is_ready_is_404_with_the_status(client: FlaskClient, api_key: str) -> None:
    ref = client.post("/api/v1/requests", json=BODY, headers=api_headers(api_key)).json["reference"]
    resp = client.get(f"/api/v1/requests/{ref}/response.pdf", headers=api_headers(api_key))
    assert resp.status_code == 404
    assert "not ready (status awaiting_verification)" in resp.json["message"]


def test_openapi_document_describes_the_routes(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "post" in paths["/api/v1/requests"]
    assert "get" in paths["/api/v1/requests/{reference}"]
    assert "get" in paths["/api/v1/requests/{reference}/response.pdf"]
    schema = doc["components"]["schemas"]["RequestIn"]
    assert set(schema["required"]) == {"kind", "regime", "name", "email"}
