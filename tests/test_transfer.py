"""Portability sent straight to another company (GDPR Art. 20(2)): the address is checked at
every door (https, no credentials, public addresses only), checked again when the package is
sent, and the package reaches a real HTTPS receiver with its digest; a receiver's refusal is
final, its 5xx is tried again; the person and the API see what happened."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from flask import Flask, render_template
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from dsar import transfer_guard
from dsar.exceptions import IntakeRefused
from dsar.extensions import db
from dsar.models import Document, Event, Request, RequestKind, RequestStatus, utcnow
from dsar.services import retention, transfer
from tests.conftest import api_headers, csrf_token

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
PUBLIC = "93.184.216.34"  # a global address the fake resolver gives public names


def fake_resolver(monkeypatch: pytest.MonkeyPatch, names: dict[str, str]) -> None:
    """Resolve the given names to the given addresses; anything else as the system does."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- the address check ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://receiver.example/import", "https://"),
        ("ftp://receiver.example/import", "https://"),
        ("https://jane:secret@receiver.example/import", "user name or password"),
        ("https://jane@receiver.example/import", "user name or password"),
        ("https://127.0.0.1/import", "not on the public internet"),
        ("https://127.1/import", "not on the public internet"),
        ("https://2130706433/import", "not on the public internet"),
        ("https://[::1]/import", "not on the public internet"),
        ("https://[::ffff:127.0.0.1]/import", "not on the public internet"),
        ("https://10.1.2.3/import", "not on the public internet"),
        ("https://192.168.0.10:8443/import", "not on the public internet"),
        ("https://169.254.169.254/latest/meta-data", "not on the public internet"),
        ("https://100.64.0.1/import", "not on the public internet"),
        ("https://224.0.0.1/import", "not on the public internet"),
        ("https://0.0.0.0/import", "not on the public internet"),
        ("https://[fe80::1]/import", "not on the public internet"),
        ("https://[2002:7f00:1::]/import", "not on the public internet"),  # 6to4 of 127.0.0.1
        ("https://[64:ff9b::a00:1]/import", "not on the public internet"),  # NAT64 of 10.0.0.1
        ("https://localhost/import", "not on the public internet"),  # resolves to loopback
        ("https://intranet.example/import", "not on the public internet"),  # see fake_resolver
        ("https://receiver.example/" + "a" * 2000, "2,000 characters"),
        ("https://receiver.example/im port", "no spaces"),
        ("https://receiver.example:0/import", "port"),
        ("https://receiver.example:70000/import", "port"),
        ("https:///import", "full address"),
        ("https://under_score.example/", "host name"),
    ],
)
def test_the_address_check_refuses_in_words(
    monkeypatch: pytest.MonkeyPatch, url: str, words: str
) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC, "intranet.example": "10.0.0.7"})
    with pytest.raises(IntakeRefused) as refused:
        transfer.check(url, RequestKind.PORTABILITY, exempt=frozenset())
    assert refused.value.field == "transfer_url"
    assert words in refused.value.message
    assert "secret" not in refused.value.message  # an address's password is never repeated


def test_a_public_address_passes_with_its_port_path_and_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC, "v6.example": "2606:4700::1111"})
    url = "https://Receiver.Example:8443/import/v2?batch=7"
    assert transfer.check(f"  {url} ", RequestKind.PORTABILITY, exempt=frozenset()) == url
    target = transfer_guard.parse(url)
    assert (target.host, target.port, target.path) == (
        "receiver.example",
        8443,
        "/import/v2?batch=7",
    )
    assert target.netloc == "receiver.example:8443"
    assert transfer_guard.parse("https://receiver.example/").netloc == "receiver.example"
    assert transfer_guard.resolve(target) == [transfer_guard.ipaddress.ip_address(PUBLIC)]
    assert transfer.check("https://v6.example/in", RequestKind.PORTABILITY, exempt=frozenset())
    assert transfer.check("https://8.8.8.8/in", RequestKind.PORTABILITY, exempt=frozenset())
    assert transfer.check("", RequestKind.ACCESS, exempt=frozenset()) == ""
    # A test's own receiver may be exempted by name (DSAR_TRANSFER_ALLOW_HOSTS), nothing else.
    local = transfer_guard.parse("https://localhost:8443/in")
    assert transfer_guard.resolve(local, exempt=frozenset({"localhost"}))
    with pytest.raises(transfer_guard.Refused):
        transfer_guard.resolve(local, exempt=frozenset({"other.example"}))


def test_an_address_goes_with_portability_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC})
    for kind in (RequestKind.ACCESS, RequestKind.DELETION, RequestKind.OPT_OUT):
        with pytest.raises(IntakeRefused, match="machine-readable") as refused:
            transfer.check("https://receiver.example/in", kind, exempt=frozenset())
        assert refused.value.field == "transfer_url"


# --- the doors: API and portal ----------------------------------------------------------------


def count() -> int:
    db.session.remove()
    return db.session.scalar(select(func.count(Request.id)))


def api_post(client: FlaskClient, api_key: str, **body: Any) -> Any:
    return client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "portability", "regime": "gdpr", **JANE, **body},
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"transfer_url": "http://receiver.example/in"}, "https://"),
        ({"transfer_url": "https://a:b@receiver.example/in"}, "user name or password"),
        ({"transfer_url": "https://169.254.169.254/latest"}, "not on the public internet"),
        ({"transfer_url": "https://localhost/in"}, "not on the public internet"),
        ({"transfer_url": "https://receiver.example/" + "x" * 2000}, "2,000 characters"),
        ({"transfer_url": "https://receiver.example/in", "kind": "access"}, "machine-readable"),
        ({"transfer_url": "https://receiver.example/\x00"}, "control"),
    ],
)
def test_the_api_refuses_a_bad_address_with_422_on_the_field_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    body: dict[str, str],
    words: str,
) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC})
    resp = api_post(client, api_key, **body)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert words in resp.json["errors"]["json"]["transfer_url"][0]
    assert count() == 0


def test_the_api_takes_an_address_and_shows_the_transfer_waiting(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC})
    resp = api_post(client, api_key, transfer_url="https://receiver.example:8443/in?b=1")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.json["transfer"]["host"] == "receiver.example:8443"
    assert resp.json["transfer"]["state"] == "waiting"
    req = db.session.scalars(select(Request)).one()
    assert req.transfer_url == "https://receiver.example:8443/in?b=1"
    plain = api_post(client, api_key)
    assert plain.status_code == 201 and plain.json["transfer"] is None
    spec = client.get("/api/v1/openapi.json").json
    # The body has one shape per right; the portability shape describes the address.
    shapes = spec["components"]["schemas"]
    described = shapes["PortabilityRequest"]["properties"]["transfer_url"]
    assert "portability" in described["description"]


def test_the_portal_shows_the_field_for_portability_and_refuses_a_bad_address(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = client.get("/request").get_data(as_text=True)
    assert "Send my data directly to another company (optional)" in page
    assert 'data-kind="portability"' in page
    form = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": "portability",
        "regime": "gdpr",
        **JANE,
        "transfer_url": "https://10.0.0.8/import",
    }
    resp = client.post("/request", data=form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="transfer_url-error"' in html and "not on the public internet" in html
    resp = client.post("/request", data={**form, "transfer_url": "http://receiver.example/"})
    assert resp.status_code == 422 and "https://" in resp.get_data(as_text=True)
    assert count() == 0
    # For another kind the (hidden) field is not sent: the request is taken without it.
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC})
    resp = client.post("/request", data={**form, "kind": "access"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert db.session.scalars(select(Request)).one().transfer_url == ""


# --- a real HTTPS receiver --------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """The other company's HTTPS endpoint: answers with `answers` in turn (the last one
    again and again) and keeps what it was sent."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext, answers: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.answers = list(answers)
        self.received: list[dict[str, Any]] = []

    def next_answer(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        status = self.server.next_answer()
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ca(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A CA the workers trust, and `localhost` exempt from the public-address check (the
    test-only settings); set before the app is made, so the workers inherit them."""
    authority = trustme.CA()
    bundle = tmp_path / "transfer-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("DSAR_TRANSFER_ALLOW_HOSTS", "localhost")
    monkeypatch.setenv("DSAR_TRANSFER_CA_BUNDLE", str(bundle))
    return authority


@pytest.fixture
def receiver(ca: trustme.CA, app: Flask) -> Iterator[Callable[[list[int]], Receiver]]:
    """Start receivers; this process's app trusts them as the workers do (the app may have
    been made before `ca` set the environment)."""
    app.config["DSAR_TRANSFER_ALLOW_HOSTS"] = frozenset({"localhost"})
    app.config["DSAR_TRANSFER_CA_BUNDLE"] = os.environ["DSAR_TRANSFER_CA_BUNDLE"]
    servers: list[Receiver] = []

    def start(answers: list[int]) -> Receiver:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(tls)
        server = Receiver(tls, answers)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def submit(client: FlaskClient, api_key: str, url: str) -> tuple[Request, str]:
    resp = api_post(client, api_key, transfer_url=url, identity_verified=True)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    db.session.remove()
    req = db.session.scalars(
        select(Request).where(Request.reference == resp.json["reference"])
    ).one()
    return req, "/r/" + resp.json["tracking_url"].rsplit("/r/", 1)[1]


def transfer_events(request_id: int) -> list[Event]:
    db.session.remove()
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.request_id == request_id, Event.action.like("transfer_%"))
            .order_by(Event.id)
        )
    )


def run_until_sent(run_workers: Callable[..., None], request_id: int) -> list[Event]:
    def done() -> bool:
        if db.session.get(Request, request_id).status is RequestStatus.ACTION_REQUIRED:
            return True
        return any(e.action in transfer.FINAL for e in transfer_events(request_id))

    run_workers(done, timeout=300)
    return transfer_events(request_id)


@pytest.mark.slow
def test_the_package_reaches_the_receiver_with_its_digest_and_the_page_says_accepted(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
    run_workers: Callable[..., Any],
) -> None:
    server = receiver([200])
    port = server.server_address[1]
    req, page = submit(client, api_key, f"https://localhost:{port}/import?batch=7")
    events = run_until_sent(run_workers, req.id)
    assert [e.action for e in events] == ["transfer_queued", "transfer_delivered"]
    package = db.session.scalars(
        select(Document).where(Document.request_id == req.id, Document.kind == "package")
    ).one()
    assert len(server.received) == 1
    got = server.received[0]
    assert got["path"] == "/import?batch=7"
    assert hashlib.sha256(got["body"]).hexdigest() == package.sha256
    digest = base64.b64encode(hashlib.sha256(got["body"]).digest()).decode()
    assert got["headers"]["Content-Digest"] == f"sha-256=:{digest}:"
    assert got["headers"]["Content-Type"] == "application/zip"
    assert got["headers"]["X-DSAR-Reference"] == req.reference
    assert got["headers"]["Host"] == f"localhost:{port}"
    delivered = events[-1].detail
    assert delivered["host"] == f"localhost:{port}" and delivered["status"] == 200
    assert delivered["sha256"] == package.sha256 and delivered["bytes"] == package.size
    # The address itself is the person's data: in no event and no worker's log.
    assert all("batch=7" not in json.dumps(e.detail) for e in events)
    assert all("batch=7" not in log for log in run_workers.logs)
    html = client.get(page).get_data(as_text=True)
    assert f"We sent your data to <strong>localhost:{port}</strong> on" in html
    assert ": accepted." in html
    view = client.get(f"/api/v1/requests/{req.reference}", headers=api_headers(api_key)).json
    assert view["transfer"]["state"] == "delivered"
    assert view["transfer"]["host"] == f"localhost:{port}"
    # The letter said where the package was going; the officer's page shows each step.
    letter = db.session.scalars(
        select(Document).where(Document.request_id == req.id, Document.kind == "response")
    ).one()
    pdf = PdfReader(io.BytesIO((app.config["DSAR_DOCUMENTS_DIR"] / letter.filename).read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    assert "we are also sending the package" in text and f"localhost:{port}" in text
    with app.test_request_context():
        staff = render_template("staff/_transfer.html", req=db.session.get(Request, req.id))
    assert 'id="transfer-state">delivered<' in staff and package.sha256 in staff
    # Released once: a second start sends nothing and records nothing.
    assert transfer.start(db.session.get(Request, req.id)) is False
    assert transfer.send(req.id) is None
    assert len(transfer_events(req.id)) == 2 and len(server.received) == 1


@pytest.mark.slow
def test_a_receiver_refusal_is_final_and_the_person_is_told_to_send_it_themselves(
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
    run_workers: Callable[..., Any],
) -> None:
    server = receiver([413])
    port = server.server_address[1]
    req, page = submit(client, api_key, f"https://localhost:{port}/import")
    events = run_until_sent(run_workers, req.id)
    assert [e.action for e in events] == ["transfer_queued", "transfer_refused"]
    assert events[-1].detail["status"] == 413
    assert len(server.received) == 1  # a 4xx is not tried again
    html = client.get(page).get_data(as_text=True)
    assert f"<strong>localhost:{port}</strong> refused it (HTTP 413)" in html
    assert "you can download it below and send it yourself" in html


@pytest.mark.slow
def test_a_receiver_503_is_tried_again_and_then_delivered(
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
    run_workers: Callable[..., Any],
) -> None:
    server = receiver([503, 200])
    req, page = submit(client, api_key, f"https://localhost:{server.server_address[1]}/in")
    events = run_until_sent(run_workers, req.id)
    actions = [e.action for e in events]
    assert actions == ["transfer_queued", "transfer_retry", "transfer_delivered"], actions
    assert events[1].detail["status"] == 503
    assert len(server.received) == 2
    assert server.received[0]["body"] == server.received[1]["body"]
    assert ": accepted." in client.get(page).get_data(as_text=True)


# --- sending, in this process: caps, rebinding, the last try ---------------------------------


def with_package(
    app: Flask, client: FlaskClient, api_key: str, url: str, size: int
) -> tuple[Request, str]:
    """A request with a package on disk, as a released answer has (no workers needed), and
    its tracking page's path."""
    req, page = submit(client, api_key, url)
    data = b"PK" + b"\0" * (size - 2)
    name = f"{req.reference}-package-test.zip"
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    db.session.add(Document(request=req, kind="package", filename=name, sha256=sha256, size=size))
    db.session.commit()
    return req, page


def test_a_package_over_the_cap_is_not_sent_and_that_is_recorded(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
) -> None:
    server = receiver([200])
    req, page = with_package(
        app, client, api_key, f"https://localhost:{server.server_address[1]}/", 4096
    )
    app.config["DSAR_TRANSFER_MAX_BYTES"] = 4095
    assert transfer.send(req.id) == "failed"
    detail = transfer_events(req.id)[-1].detail
    assert (detail["reason"], detail["bytes"], detail["limit"]) == ("too_large", 4096, 4095)
    assert server.received == []
    html = client.get(page).get_data(as_text=True)
    assert "We could not send your data to <strong>localhost:" in html
    assert "larger than we can send" in html


def test_a_name_that_turned_private_after_intake_is_not_connected_to(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"rebind.example": PUBLIC})
    req, _page = with_package(app, client, api_key, "https://rebind.example/in", 100)
    fake_resolver(monkeypatch, {"rebind.example": "169.254.169.254"})  # DNS rebinding

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("connected to a refused address")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    assert transfer.send(req.id) == "failed"
    assert transfer_events(req.id)[-1].detail == {
        "host": "rebind.example",
        "bytes": 100,
        "sha256": hashlib.sha256(b"PK" + b"\0" * 98).hexdigest(),
        "document_id": db.session.get(Request, req.id).documents[0].id,
        "reason": "address",
    }


def test_a_5xx_raises_for_rq_to_retry_and_the_last_try_records_the_failure(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
) -> None:
    server = receiver([502])
    req, page = with_package(
        app, client, api_key, f"https://localhost:{server.server_address[1]}/", 64
    )
    assert 'data-state="waiting"' in client.get(page).get_data(as_text=True)
    with pytest.raises(transfer.TransferRetry, match="502"):
        transfer.send(req.id, last_attempt=False)
    assert "is being sent to <strong>localhost:" in client.get(page).get_data(as_text=True)
    assert transfer.send(req.id, last_attempt=True) == "failed"
    actions = [(e.action, e.detail.get("status")) for e in transfer_events(req.id)]
    assert actions == [("transfer_retry", 502), ("transfer_failed", 502)]
    assert transfer.view(db.session.get(Request, req.id))["state"] == "failed"
    assert "tried several times and could not reach it" in client.get(page).get_data(as_text=True)


def test_an_untrusted_certificate_is_never_accepted(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"localhost": "127.0.0.1"})  # one address: one error to name
    server = receiver([200])
    req, _page = with_package(
        app, client, api_key, f"https://localhost:{server.server_address[1]}/", 64
    )
    app.config["DSAR_TRANSFER_CA_BUNDLE"] = ""  # the system's CAs do not know the test's CA
    assert transfer.send(req.id, last_attempt=True) == "failed"
    assert transfer_events(req.id)[-1].detail["error"] == "SSLCertVerificationError"
    assert server.received == []


def test_the_retention_purge_clears_the_address_with_the_identity(
    app: Flask, client: FlaskClient, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_resolver(monkeypatch, {"receiver.example": PUBLIC})
    req, _ = submit(client, api_key, "https://receiver.example/in")
    request_id = req.id
    assert req.transfer_url == "https://receiver.example/in"
    retention.purge_record(req, now=utcnow())
    db.session.remove()
    assert db.session.get(Request, request_id).transfer_url == ""


def test_the_reconciler_sends_again_a_transfer_whose_job_was_lost(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    receiver: Callable[[list[int]], Receiver],
    env: dict[str, str],
) -> None:
    from redis import Redis

    from dsar import queue
    from dsar.services import reconcile

    server = receiver([200])
    req, _ = with_package(
        app, client, api_key, f"https://localhost:{server.server_address[1]}/", 1024
    )
    app.config["DSAR_LOST_AFTER"] = 0
    assert transfer.start(req)  # queued: the event is stored, the job sent to Redis
    Redis.from_url(env["REDIS_URL"]).flushdb()  # ... and Redis loses it
    assert not queue.job_alive(f"transfer-{req.id}")
    assert reconcile.run()["transfers"] == 1
    assert queue.job_alive(f"transfer-{req.id}")
    assert reconcile.run()["transfers"] == 0  # the job is alive: not sent twice
    # Once it has an outcome, it is never sent again.
    Redis.from_url(env["REDIS_URL"]).flushdb()
    assert transfer.send(req.id) == "delivered"
    assert reconcile.run()["transfers"] == 0
    assert len(server.received) == 1
