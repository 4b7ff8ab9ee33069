"""Webhooks for integrators: an admin adds an HTTPS endpoint to an API key with the events it
wants; each event reaches a real receiver once, signed (HMAC with a fresh timestamp), with no
name or email unless the key may download answers; a failing receiver is tried again with
backoff; every try is on the delivery's row; "Send again" sends the same delivery id."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import ApiKey, Event, Request, RequestStatus, WebhookDelivery, WebhookEndpoint
from dsar.services import api_keys, intake, reconcile, webhook_delivery, webhook_events, webhooks
from tests.conftest import api_headers, csrf_token
from tests.test_transfer import Receiver, ca, receiver  # noqa: F401 - fixtures

Start = Callable[[list[int]], Receiver]

ALL_EVENTS = list(webhook_events.EVENTS)
MINIMAL = (api_keys.CREATE, api_keys.READ_OWN)


@pytest.fixture
def hooks(receiver: Start) -> Start:  # noqa: F811 - the transfer tests' HTTPS receiver
    """Start HTTPS receivers that the workers trust (the transfer tests' test-only CA)."""
    return receiver


@pytest.fixture
def quick_retries(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries a second apart, in this process and in the workers it starts."""
    monkeypatch.setenv("DSAR_WEBHOOK_RETRY_INTERVALS", "1,1,1")
    app.config["DSAR_WEBHOOK_RETRY_INTERVALS"] = [1, 1, 1]


def add_endpoint(
    client: FlaskClient, key: ApiKey, url: str, events: list[str] = ALL_EVENTS
) -> tuple[int, str, str]:
    """Add an endpoint on the admin's page; the response status, page and secret shown."""
    page = f"/staff/api-keys/{key.id}/webhooks"
    resp = client.post(
        page, data={"csrf_token": csrf_token(client, page), "url": url, "events": events}
    )
    html = resp.get_data(as_text=True)
    found = re.search(r'<code class="secret">(whsec_[^<]+)</code>', html)
    return resp.status_code, html, found.group(1) if found else ""


def file_request(client: FlaskClient, secret: str, **body: Any) -> Request:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(secret),
        json={
            "kind": "opt_out",
            "regime": "ccpa",
            "name": "Jane Doe",
            "email": "jane.doe@example.com",
            **body,
        },
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    db.session.remove()
    return db.session.scalars(
        select(Request).where(Request.reference == resp.json["reference"])
    ).one()


def deliveries() -> list[WebhookDelivery]:
    db.session.remove()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def all_final() -> bool:
    rows = deliveries()
    return bool(rows) and all(d.status != "pending" for d in rows)


def check_signature(secret: str, sent: dict[str, Any]) -> dict[str, Any]:
    """What a receiver does: the HMAC matches and the timestamp is under 5 minutes old."""
    header = sent["headers"]["Dsar-Signature"]
    parts = dict(p.split("=", 1) for p in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + sent["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    assert abs(time.time() - timestamp) < 300
    return json.loads(sent["body"])


@pytest.mark.slow
def test_each_event_reaches_the_receiver_once_signed_and_without_identity(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    hooks: Start,
    run_workers: Callable[..., Any],
) -> None:
    server = hooks([200])
    key, key_secret = api_keys.create("crm", scopes=MINIMAL)
    key_id = key.id
    login("admin")
    status, _, secret = add_endpoint(
        client, key, f"https://localhost:{server.server_address[1]}/hook"
    )
    assert status == 200 and secret
    req = file_request(client, key_secret)
    run_workers(
        lambda: db.session.get(Request, req.id).status is RequestStatus.COMPLETED and all_final()
    )
    moves = [
        (e.status_before, e.status_after)
        for e in db.session.scalars(
            select(Event).where(Event.request_id == req.id).order_by(Event.id)
        )
        if e.status_before and e.status_after and e.status_before != e.status_after
    ]
    bodies = [check_signature(secret, sent) for sent in server.received]
    events = [b["event"] for b in bodies]
    assert events.count("request.received") == 1
    assert events.count("request.answer_ready") == 1
    changes = [
        (b["data"]["previous_status"], b["data"]["status"])
        for b in bodies
        if b["event"] == "request.status_changed"
    ]
    assert sorted(changes) == sorted(moves) and moves[-1][1] == "completed"
    assert len({s["headers"]["Dsar-Delivery"] for s in server.received}) == len(server.received)
    for sent, body in zip(server.received, bodies, strict=True):
        assert sent["headers"]["Dsar-Event"] == body["event"]
        assert sent["headers"]["Dsar-Delivery"] == str(body["id"])
        assert body["data"]["reference"] == req.reference
        assert "name" not in body["data"] and "email" not in body["data"]
        assert b"jane" not in sent["body"].lower()
    assert all(
        d.status == "delivered" and d.attempts == 1 and d.last_code == 200 for d in deliveries()
    )
    page = client.get(f"/staff/api-keys/{key_id}/webhooks").get_data(as_text=True)
    assert req.reference in page and "answer ready" in page and "HTTP 200" in page


@pytest.mark.slow
def test_a_failing_receiver_gets_retries_and_send_again_sends_the_same_delivery(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    demo_systems: list[str],
    hooks: Start,
    run_workers: Callable[..., Any],
    quick_retries: None,
) -> None:
    server = hooks([500, 500, 200])
    key, key_secret = api_keys.create("crm", scopes=MINIMAL)
    key_id = key.id
    login("admin")
    _, _, secret = add_endpoint(
        client, key, f"https://localhost:{server.server_address[1]}/hook", ["request.received"]
    )
    file_request(client, key_secret)
    run_workers(all_final)
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_code) == ("delivered", 3, 200)
    assert [t["code"] for t in delivery.tries] == [500, 500, 200]
    assert delivery.tries[0]["error"] == "answered HTTP 500"
    assert len(server.received) == 3
    assert len({s["headers"]["Dsar-Delivery"] for s in server.received}) == 1
    page = f"/staff/api-keys/{key_id}/webhooks"
    assert "500, 500, 200" in client.get(page).get_data(as_text=True)

    resend = f"{page}/{delivery.endpoint_id}/deliveries/{delivery.id}"
    resp = client.post(resend, data={"csrf_token": csrf_token(client, page)})
    assert resp.status_code == 302
    assert "being sent again" in client.get(page).get_data(as_text=True)
    run_workers(all_final)
    assert len(server.received) == 4
    again = check_signature(secret, server.received[-1])
    assert server.received[-1]["headers"]["Dsar-Delivery"] == str(delivery.id) == str(again["id"])
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    actions = db.session.scalars(select(Event.action).where(Event.action.like("webhook_%"))).all()
    assert actions == ["webhook_endpoint_added", "webhook_delivery_resent"]


def test_a_receiver_that_never_answers_2xx_fails_after_the_last_try(
    app: Flask, hooks: Start
) -> None:
    server = hooks([503])
    key, _ = api_keys.create("crm", scopes=MINIMAL)
    endpoint, _ = webhooks.add(
        key, f"https://localhost:{server.server_address[1]}/h", ALL_EVENTS, actor="tests"
    )
    req = intake.submit(
        intake.Submission(
            kind="opt_out", regime="ccpa", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="api",
        api_key=key,
    ).request
    delivery = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.request_id == req.id)
    ).first()
    with pytest.raises(webhook_delivery.DeliveryRetry):
        webhook_delivery.deliver(delivery.id, job_id=delivery.job_id, last_attempt=False)
    assert webhook_delivery.deliver(delivery.id, job_id="another-job", last_attempt=True) is None
    assert (
        webhook_delivery.deliver(delivery.id, job_id=delivery.job_id, last_attempt=True) == "failed"
    )
    assert (delivery.attempts, delivery.last_code, delivery.status) == (2, 503, "failed")
    assert len(server.received) == 2
    assert webhook_delivery.deliver(delivery.id, job_id=delivery.job_id) is None  # final
    webhooks.set_active(endpoint, False, actor="tests")
    with pytest.raises(webhooks.WebhookError, match="disabled"):
        webhooks.send_again(endpoint, delivery.id, actor="tests")


def test_only_the_keys_own_requests_reach_its_endpoint_unless_it_reads_all(app: Flask) -> None:
    app.config["DSAR_TRANSFER_ALLOW_HOSTS"] = frozenset({"localhost"})
    own, _ = api_keys.create("own", scopes=MINIMAL)
    everything, _ = api_keys.create("all", scopes=(api_keys.READ_ALL, api_keys.DOWNLOAD))
    other, _ = api_keys.create("other", scopes=MINIMAL)
    mine, _ = webhooks.add(own, "https://localhost:9/own", ALL_EVENTS, actor="tests")
    wide, _ = webhooks.add(
        everything, "https://localhost:9/all", ["request.received"], actor="tests"
    )
    submission = intake.Submission(
        kind="opt_out", regime="ccpa", name="Jane Doe", email="jane.doe@example.com"
    )
    req = intake.submit(submission, channel="api", api_key=other).request
    rows = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.request_id == req.id)
    ).all()
    assert [(d.endpoint_id, d.event) for d in rows] == [(wide.id, "request.received")]
    data = webhook_delivery.payload(rows[0])["data"]
    assert (data["name"], data["email"]) == ("Jane Doe", "jane.doe@example.com")  # may download
    assert data["reference"] == req.reference and data["status"] == "received"
    assert data["previous_status"] is None and data["due_at"] == req.due_on.isoformat()
    mine_rows = intake.submit(submission, channel="api", api_key=own).request
    events = db.session.scalars(
        select(WebhookDelivery.event).where(
            WebhookDelivery.request_id == mine_rows.id, WebhookDelivery.endpoint_id == mine.id
        )
    ).all()
    assert "request.received" in events


@pytest.mark.parametrize(
    ("action", "before", "after", "names"),
    [
        ("submitted", "", "received", ["request.received"]),
        ("verified", "awaiting_verification", "in_progress", ["request.status_changed"]),
        (
            "released",
            "ready_for_review",
            "completed",
            ["request.status_changed", "request.answer_ready"],
        ),
        (
            "response_compiled",
            "compiling",
            "completed",
            ["request.status_changed", "request.answer_ready"],
        ),
        ("response_compiled", "compiling", "ready_for_review", ["request.status_changed"]),
        ("reminder_sent", "", "", ["request.deadline_at_risk"]),
        ("note_added", "", "", []),
    ],
)
def test_which_audit_events_are_webhook_events(
    action: str, before: str, after: str, names: list[str]
) -> None:
    assert webhook_events.names(action, before, after) == names


def test_the_read_all_scope_is_the_api_keys_one() -> None:
    assert webhook_events.READ_ALL == api_keys.READ_ALL


def test_the_reconciler_sends_a_delivery_whose_job_was_lost(
    app: Flask, env: dict[str, str]
) -> None:
    app.config["DSAR_TRANSFER_ALLOW_HOSTS"] = frozenset({"localhost"})
    key, _ = api_keys.create("crm", scopes=MINIMAL)
    webhooks.add(key, "https://localhost:9/h", ["request.received"], actor="tests")
    submission = intake.Submission(
        kind="opt_out", regime="ccpa", name="Jane Doe", email="jane.doe@example.com"
    )
    intake.submit(submission, channel="api", api_key=key)
    (delivery,) = deliveries()
    Redis.from_url(env["REDIS_URL"]).flushdb()  # the job is lost
    delivery.created_at -= timedelta(hours=1)
    job_was = delivery.job_id
    db.session.commit()
    assert reconcile.run()["webhooks"] == 1
    (delivery,) = deliveries()
    assert delivery.job_id != job_was and delivery.status == "pending"
    assert reconcile.run()["webhooks"] == 0  # its new job is alive


@pytest.mark.parametrize(
    ("url", "events", "words"),
    [
        ("http://crm.example.com/hook", ALL_EVENTS, "https://"),
        ("https://10.0.0.7/hook", ALL_EVENTS, "not on the public internet"),
        ("https://169.254.169.254/latest", ALL_EVENTS, "not on the public internet"),
        ("https://93.184.216.34/hook", [], "Choose at least one event"),
        ("https://93.184.216.34/hook", ["request.deleted"], "Choose from the listed events"),
        ("https://93.184.216.34/" + "x" * 2000, ALL_EVENTS, "under 2,000 characters"),
        ("", ALL_EVENTS, "Give the endpoint"),
    ],
)
def test_a_bad_endpoint_is_refused_on_its_field_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    url: str,
    events: list[str],
    words: str,
) -> None:
    key, _ = api_keys.create("crm", scopes=MINIMAL)
    login("admin")
    status, html, secret = add_endpoint(client, key, url, events)
    assert status == 422 and not secret
    assert words in html
    assert 'class="error"' in html
    if url and len(url) < 100:
        assert f'value="{url}"' in html  # what was typed is kept
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0
    assert (
        db.session.scalar(select(func.count(Event.id)).where(Event.action.like("webhook_%"))) == 0
    )


def test_the_api_keys_page_links_each_keys_webhooks_and_deleting_removes_the_log(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    app.config["DSAR_TRANSFER_ALLOW_HOSTS"] = frozenset({"localhost"})
    key, _ = api_keys.create("crm", scopes=MINIMAL)
    endpoint, _ = webhooks.add(key, "https://localhost:9/h", ALL_EVENTS, actor="tests")
    login("admin")
    assert "Webhooks (1)" in client.get("/staff/api-keys").get_data(as_text=True)
    page = f"/staff/api-keys/{key.id}/webhooks"
    resp = client.post(
        f"{page}/{endpoint.id}/active", data={"csrf_token": csrf_token(client, page)}
    )
    assert resp.status_code == 302
    assert "disabled" in client.get(page).get_data(as_text=True)
    resp = client.post(
        f"{page}/{endpoint.id}/delete", data={"csrf_token": csrf_token(client, page)}
    )
    assert resp.status_code == 302
    db.session.remove()
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0
    actions = db.session.scalars(select(Event.action).where(Event.action.like("webhook_%"))).all()
    assert actions == [
        "webhook_endpoint_added",
        "webhook_endpoint_disabled",
        "webhook_endpoint_deleted",
    ]
    other, _ = api_keys.create("other", scopes=MINIMAL)
    assert (
        client.post(
            f"/staff/api-keys/{other.id}/webhooks/{endpoint.id}/delete",
            data={"csrf_token": csrf_token(client, page)},
        ).status_code
        == 404
    )


def test_the_retry_intervals_setting_is_checked(tmp_path: Any) -> None:
    from dsar.config import ConfigError, from_env

    base = {"SECRET_KEY": "k"}
    assert from_env(base, instance=tmp_path)["DSAR_WEBHOOK_RETRY_INTERVALS"] == [
        10,
        60,
        300,
        1800,
        7200,
    ]
    with pytest.raises(ConfigError, match="DSAR_WEBHOOK_RETRY_INTERVALS must be comma-separated"):
        from_env({**base, "DSAR_WEBHOOK_RETRY_INTERVALS": "10,later"}, instance=tmp_path)
