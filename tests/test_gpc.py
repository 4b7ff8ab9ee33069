"""Global Privacy Control: a browser's `Sec-GPC: 1` gets a one-step opt-out, no verification."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from dsar.extensions import db
from dsar.models import Event, Request, RequestKind, RequestStatus, TaskStatus
from tests.conftest import csrf_token

GPC = {"Sec-GPC": "1"}
OFFER = "Your browser sent a Global Privacy Control signal. Opt out of sale and sharing now"


def post_gpc(
    client: FlaskClient, headers: dict[str, str] | None = GPC, **fields: str
) -> TestResponse:
    data = {"gpc-csrf_token": csrf_token(client, "/request"), **fields}
    return client.post("/gpc", data=data, headers=headers or {})


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


@pytest.mark.parametrize("path", ["/", "/request"])
def test_the_one_step_opt_out_shows_only_with_a_gpc_signal(client: FlaskClient, path: str) -> None:
    page = client.get(path, headers=GPC).get_data(as_text=True)
    assert OFFER in page
    assert 'name="gpc-email"' in page and 'name="gpc-phone"' in page
    assert 'name="gpc-name"' not in page  # only what locates the person
    assert "Opt out of sale and sharing</button>" in page
    for headers in ({}, {"Sec-GPC": "0"}, {"Sec-GPC": "yes"}):
        page = client.get(path, headers=headers).get_data(as_text=True)
        assert OFFER not in page
        assert "gpc-email" not in page


def test_a_gpc_opt_out_starts_at_once_without_verification(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    resp = post_gpc(client, **{"gpc-email": "Jane.Doe@Example.com", "gpc-phone": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert resp.headers["Location"].startswith("/r/")
    assert req.kind is RequestKind.OPT_OUT
    assert req.regime == "ccpa"
    assert req.gpc is True
    assert req.email == "jane.doe@example.com" and req.name == ""
    assert req.status is RequestStatus.IN_PROGRESS
    assert req.verified_by == "not required"
    # Started: tasks queued at once (a task needing another's ids waits as pending).
    assert TaskStatus.QUEUED in {t.status for t in req.tasks}
    assert {t.status for t in req.tasks} <= {TaskStatus.QUEUED, TaskStatus.PENDING}
    assert len(req.tasks) == len(demo_systems)
    (signal,) = db.session.scalars(select(Event).where(Event.action == "gpc_signal")).all()
    assert signal.detail["header"] == "Sec-GPC" and signal.detail["value"] == "1"
    assert "jane" not in str(signal.detail).lower()
    subjects = [m["Subject"] for m in outbox()]
    assert not [s for s in subjects if s.startswith("Please confirm")]
    assert any(s.startswith("We have received your request") for s in subjects)

    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "We have your request DSAR-" in page
    assert "Global Privacy Control signal" in page
    assert "One more step" not in page

    # It runs exactly like a normal opt-out, in every system.
    run_workers(lambda: db.session.get(Request, req.id).status is RequestStatus.COMPLETED)
    req = db.session.get(Request, req.id)
    assert {t.status for t in req.tasks} == {TaskStatus.SUCCEEDED}
    assert "Completed" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_a_normal_opt_out_does_not_claim_a_signal(client: FlaskClient) -> None:
    data = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": "opt_out",
        "regime": "ccpa",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
    }
    location = client.post("/request", data=data, headers=GPC).headers["Location"]
    req = db.session.scalars(select(Request)).one()
    assert req.gpc is False
    assert "Global Privacy Control signal" not in client.get(location).get_data(as_text=True)


def test_without_the_signal_the_gpc_form_stores_nothing(client: FlaskClient) -> None:
    for headers in ({}, {"Sec-GPC": "0"}):
        resp = post_gpc(client, headers=headers, **{"gpc-email": "jane.doe@example.com"})
        assert resp.status_code == 400
        assert "did not send a Global Privacy Control signal" in resp.get_data(as_text=True)
    assert stored() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Enter the email address you use with us."),
        ({"gpc-email": "not-an-email"}, "Enter an email address like name@example.com."),
        ({"gpc-email": "a@example.com", "gpc-phone": "call me"}, "Use digits, spaces and +"),
    ],
)
def test_bad_gpc_input_gets_a_message_and_stores_nothing(
    client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    resp = post_gpc(client, **fields)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    assert OFFER in page
    assert stored() == 0


def test_the_gpc_form_needs_its_csrf_token(client: FlaskClient) -> None:
    resp = client.post("/gpc", data={"gpc-email": "jane.doe@example.com"}, headers=GPC)
    assert resp.status_code == 400
    assert stored() == 0
