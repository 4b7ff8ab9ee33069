"""Authorised agents (CCPA 11 CCR 7063, CO, CT, VA, LGPD Art. 18 §3): an agent files for a
person with signed permission; the person confirms directly by email (or says no); the
officer sees the permission; agents are listed with their requests and can be revoked."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Agent, Correspondence, Request, RequestStatus
from dsar.services import retention, uploads
from tests.conftest import api_headers, body_of, csrf_token, link_in

S = RequestStatus
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PERSON = {"name": "Jane Doe", "email": "jane.doe@example.com"}
AGENT = {"name": "Ada Agent", "email": "ada@agents.example", "organisation": "Rights Co"}


def permission(data: bytes = PDF, name: str = "permission.pdf") -> dict[str, str]:
    return {"filename": name, "content_base64": base64.b64encode(data).decode()}


def file_by_api(client: FlaskClient, api_key: str, kind: str, regime: str, **agent: object):
    body = {"kind": kind, "regime": regime, **PERSON, "agent": {**AGENT, **agent}}
    return client.post("/api/v1/requests", json=body, headers=api_headers(api_key))


def stored() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Request)),
        db.session.scalar(select(func.count()).select_from(Agent)),
    )


def test_an_agent_files_and_the_person_confirms_by_email(
    app: Flask, client: FlaskClient, api_key: str, outbox: Callable[[], list]
) -> None:
    resp = file_by_api(client, api_key, "access", "ccpa", permission=permission())
    assert resp.status_code == 201, resp.json
    reference = resp.json["reference"]
    assert resp.json["agent"] == {
        "name": "Ada Agent",
        "email": "ada@agents.example",
        "organisation": "Rights Co",
        "revoked": False,
        "person_confirmed": False,
    }
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    assert req.status is S.AWAITING_VERIFICATION and req.email == PERSON["email"]
    [kept] = req.correspondence
    assert (kept.purpose, kept.media_type, kept.size) == ("permission", "application/pdf", len(PDF))
    assert uploads.path_of(kept).read_bytes() == PDF

    to_person = [m for m in outbox() if m["To"] == PERSON["email"]]
    to_agent = [m for m in outbox() if m["To"] == AGENT["email"]]
    assert [m["Subject"] for m in to_person] == [
        f"Did you ask Ada Agent to make a request for you? ({reference})"
    ]
    assert "Rights Co" in body_of(to_person[0])
    assert "Our answer goes to them directly" in body_of(to_agent[0])
    assert "/verify/" not in body_of(to_agent[0])  # only the person can confirm

    link = link_in(to_person[0], r"http://[^\s]+/verify/[A-Za-z0-9_-]+")
    path = re.sub(r"^https?://[^/]+", "", link)
    page = client.get(path).get_data(as_text=True)
    assert "Did you ask Ada Agent to act for you?" in page
    resp = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    db.session.expire_all()
    req = db.session.get(Request, req.id)
    assert req.verified_by == "email" and req.status is not S.AWAITING_VERIFICATION
    assert "agent_confirmed" in [e.action for e in req.events]
    view = client.get(f"/api/v1/requests/{reference}", headers=api_headers(api_key)).json
    assert view["agent"]["person_confirmed"] is True


def test_the_person_who_did_not_ask_closes_the_request(
    app: Flask, client: FlaskClient, api_key: str, outbox: Callable[[], list]
) -> None:
    reference = file_by_api(client, api_key, "deletion", "gdpr", permission=permission()).json[
        "reference"
    ]
    [to_person] = [m for m in outbox() if m["To"] == PERSON["email"]]
    path = re.sub(r"^https?://[^/]+", "", link_in(to_person, r"http://[^\s]+/verify/\S+"))
    token = csrf_token(client, path)
    resp = client.post(f"{path}/disown", data={"csrf_token": token})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "is closed" in page
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    assert req.status is S.CANCELLED and req.tasks == []
    assert outbox()[-1]["To"] == AGENT["email"]
    assert "did not give you" in body_of(outbox()[-1])
    # The link is used up: neither answer works again.
    assert client.post(f"{path}/disown", data={"csrf_token": token}).status_code == 404
    # Confirming now only shows the closed request.
    assert client.post(path, data={"csrf_token": token}).status_code == 302  # already closed
    assert db.session.get(Request, req.id).status is S.CANCELLED


@pytest.mark.parametrize(
    ("regime", "kind", "agent", "where", "message"),
    [
        ("us_co", "access", {"permission": permission()}, "name", "an agent cannot make"),
        ("us_ct", "deletion", {"permission": permission()}, "name", "an agent cannot make"),
        ("ccpa", "access", {}, "permission", "signed permission"),
        ("ccpa", "access", {"permission": permission(b"a,b\n1,2\n", "p.csv")}, "permission", "PDF"),
        ("ccpa", "access", {"permission": permission(b"")}, "permission", "Length"),
        (
            "ccpa",
            "access",
            {"email": PERSON["email"], "permission": permission()},
            "email",
            "differ",
        ),
        ("ccpa", "access", {"email": "not-an-email"}, "email", "email"),
        ("ccpa", "access", {"name": " ", "permission": permission()}, "name", "name"),
    ],
)
def test_bad_agents_are_refused_on_their_field_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    regime: str,
    kind: str,
    agent: dict,
    where: str,
    message: str,
) -> None:
    resp = file_by_api(client, api_key, kind, regime, **agent)
    assert resp.status_code == 422, resp.json
    errors = resp.json["errors"]["json"]["agent"]
    assert where in errors, errors
    assert message.lower() in str(errors[where]).lower()
    assert stored() == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(Correspondence)) == 0


def test_bad_base64_is_refused(app: Flask, client: FlaskClient, api_key: str) -> None:
    resp = file_by_api(
        client, api_key, "access", "ccpa", permission={"filename": "p.pdf", "content_base64": "%%%"}
    )
    assert resp.status_code == 422
    assert "base64" in str(resp.json["errors"]["json"]["agent"])
    assert stored() == (0, 0)


def test_an_opt_out_by_an_agent_needs_no_permission_nor_confirmation(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    resp = file_by_api(client, api_key, "opt_out", "us_co")
    assert resp.status_code == 201, resp.json
    req = db.session.scalar(select(Request).where(Request.reference == resp.json["reference"]))
    assert req.status is not S.AWAITING_VERIFICATION and req.verified_by == "not required"
    assert req.agent.email == AGENT["email"]


def test_the_agents_list_and_revoking_an_agent(
    app: Flask, client: FlaskClient, api_key: str, login: Callable[[str], str]
) -> None:
    first = file_by_api(client, api_key, "access", "ccpa", permission=permission()).json
    second = file_by_api(client, api_key, "deletion", "lgpd", permission=permission()).json
    login("officer")
    page = client.get("/staff/agents").get_data(as_text=True)
    assert "Ada Agent" in page and "2 (2 open)" in page
    assert first["reference"] in page and second["reference"] in page
    request_page = client.get(f"/staff/requests/{first['reference']}").get_data(as_text=True)
    assert "Made by an authorised agent" in request_page and "permission.pdf" in request_page
    assert 'id="agent-permission"' in request_page

    agent = db.session.scalar(select(Agent))
    url = f"/staff/agents/{agent.id}/revoke"
    resp = client.post(url, data={"csrf_token": csrf_token(client, "/staff/agents"), "reason": " "})
    assert resp.status_code == 422 and "Give the reason." in resp.get_data(as_text=True)
    resp = client.post(
        url,
        data={"csrf_token": csrf_token(client, "/staff/agents"), "reason": "Forged permission"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    for ref in (first["reference"], second["reference"]):
        req = db.session.scalar(select(Request).where(Request.reference == ref))
        assert req.status is S.CANCELLED
    assert db.session.get(Agent, agent.id).revoked_at is not None
    # The agent can file no more.
    again = file_by_api(client, api_key, "access", "ccpa", permission=permission())
    assert again.status_code == 422
    assert "withdrawn" in again.json["errors"]["json"]["agent"]["email"][0]


def test_the_portal_form_takes_an_agent_with_the_permission_file(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    form = {
        "kind": "access",
        "regime": "ccpa",
        **PERSON,
        "on_behalf": "y",
        "agent_name": AGENT["name"],
        "agent_email": AGENT["email"],
    }
    token = csrf_token(client, "/request")
    # No permission: the error sits beside the file field; what was typed stays.
    resp = client.post("/request", data={"csrf_token": token, **form})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="agent_permission-error"' in page and "signed permission" in page
    assert 'value="ada@agents.example"' in page
    assert stored() == (0, 0)
    resp = client.post(
        "/request",
        data={
            "csrf_token": token,
            **form,
            "agent_permission": (io.BytesIO(PDF), "signed.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "we have emailed Jane Doe" in page
    req = db.session.scalar(select(Request))
    assert req.agent.name == "Ada Agent" and req.correspondence[0].original_name == "signed.pdf"


def test_the_permission_goes_with_the_located_data(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    reference = file_by_api(client, api_key, "access", "ccpa", permission=permission()).json[
        "reference"
    ]
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    [kept] = req.correspondence
    assert uploads.path_of(kept).is_file()
    retention.purge_data(req, now=datetime.now(UTC))
    assert not uploads.path_of(kept).is_file()
    assert kept.sha256  # the row stays, with its fingerprint


def test_two_first_requests_of_a_new_agent_at_once_share_one_agent_row(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second of two simultaneous first requests does not see the first's new row when
    it looks, and its insert hits the unique email: it takes the first's row, no error."""
    from dsar.services import agents

    first = Agent(email="agent@agency.test", name="First", revoked_reason="")
    db.session.add(first)
    db.session.commit()
    raced = [True]  # the first look races: the row is not there yet
    real = db.session.scalar

    def look(*args: object, **kwargs: object) -> object:
        return None if raced and raced.pop() else real(*args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", look)
    agent = agents._agent_for(agents.AgentIn(name="Second", email="agent@agency.test"))
    db.session.commit()
    assert agent.id == first.id
    assert db.session.query(Agent).count() == 1
