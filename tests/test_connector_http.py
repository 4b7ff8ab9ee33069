"""The HTTP connector against a scripted local service and the demo help desk: pagination,
retries, Retry-After, timeouts, rate limits, asynchronous deletions and refused configs."""

from __future__ import annotations

import json
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dsar.connectors import Identity, validate_config
from dsar.connectors.http import HttpConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind

ROOT = Path(__file__).resolve().parents[1]
JANE = Identity(email="jane.doe@example.com", phone="+44 20 7946 0958", name="Jane Doe")

Reply = tuple[int, dict[str, str], Any]


@dataclass
class Service:
    """A local JSON service whose answers a test scripts; it records every request."""

    url: str = ""
    script: Callable[[str, str, Any], Reply] = lambda method, path, body: (200, {}, {})
    seen: list[tuple[str, str, Any, dict[str, str], float]] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
def service() -> Iterator[Service]:
    state = Service()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            state.seen.append((self.command, self.path, body, dict(self.headers), time.monotonic()))
            time.sleep(state.delay)
            status, headers, answer = state.script(self.command, self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def connector(base_url: str, timeout: float = 2, **extra: Any) -> HttpConnector:
    config = {"base_url": base_url, "locate": {"path": "/search", "records": ["tickets"]}}
    config.update(extra)
    return HttpConnector(config, settings={}, timeout=timeout, secrets={"SVC_TOKEN": "s3cret"})


TICKETS = [{"id": n, "subject": f"ticket {n}"} for n in range(1, 6)]


def test_page_numbers_are_followed_and_repeated_records_kept_once(service: Service) -> None:
    def pages(method: str, path: str, body: Any) -> Reply:
        page = body["page"]
        chunk = TICKETS[(page - 1) * 2 : page * 2]
        more = page * 2 < len(TICKETS)
        answer = {"customer": {"id": 9}, "tickets": chunk, "next": page + 1 if more else None}
        return 200, {}, answer

    service.script = pages
    locate = {
        "path": "/search",
        "records": ["customer", "tickets"],
        "params": {"per_page": 2},
        "page": {"param": "page", "next": "next"},
    }
    found = connector(service.url, locate=locate, exports={"desk_id": "customer.id"}).locate(JANE)
    assert [t["id"] for t in found.records["tickets"]] == [1, 2, 3, 4, 5]
    assert found.records["customer"] == [{"id": 9}]
    assert found.found == 6
    assert found.identifiers == {"desk_id": ["9"]}
    assert [b["page"] for _, _, b, _, _ in service.seen] == [1, 2, 3]
    assert all(b["per_page"] == 2 and b["email"] == JANE.email for _, _, b, _, _ in service.seen)
    assert all(JANE.email not in path for _, path, _, _, _ in service.seen)


def test_cursors_are_followed_until_empty(service: Service) -> None:
    cursors = {None: ("a", TICKETS[:2]), "a": ("b", TICKETS[2:4]), "b": ("", TICKETS[4:])}

    def pages(method: str, path: str, body: Any) -> Reply:
        following, chunk = cursors[body.get("cursor")]
        return 200, {}, {"data": {"tickets": chunk}, "meta": {"next_cursor": following}}

    service.script = pages
    locate = {
        "path": "/search",
        "records": ["data.tickets"],
        "cursor": {"param": "cursor", "next": "meta.next_cursor"},
    }
    found = connector(service.url, locate=locate).locate(JANE)
    assert len(found.records["data.tickets"]) == 5
    assert [b.get("cursor") for _, _, b, _, _ in service.seen] == [None, "a", "b"]


def test_a_429_waits_as_long_as_retry_after_says(service: Service) -> None:
    answers = iter(
        [(429, {"Retry-After": "1"}, {"error": "slow down"}), (200, {}, {"tickets": []})]
    )
    service.script = lambda method, path, body: next(answers)
    started = time.monotonic()
    assert connector(service.url).locate(JANE).found == 0
    waited = service.seen[1][4] - service.seen[0][4]
    assert 0.95 <= waited < 2.5
    assert time.monotonic() - started < 3


def test_a_retry_after_beyond_the_cap_fails_at_once(service: Service) -> None:
    service.script = lambda method, path, body: (429, {"Retry-After": "3600"}, {})
    with pytest.raises(ConnectorError, match="asked to wait 3600 s, longer than 30 s"):
        connector(service.url).locate(JANE)
    assert len(service.seen) == 1


def test_a_500_then_success_succeeds_and_constant_500s_fail(service: Service) -> None:
    answers = iter([(500, {}, {"error": "boom"}), (200, {}, {"tickets": [{"id": 1}]})])
    service.script = lambda method, path, body: next(answers)
    assert connector(service.url).locate(JANE).found == 1
    assert len(service.seen) == 2

    service.script = lambda method, path, body: (503, {}, {"error": "down"})
    service.seen.clear()
    with pytest.raises(ConnectorError, match=re.escape("/search answered HTTP 503 (3 attempts)")):
        connector(service.url).locate(JANE)
    assert len(service.seen) == 3


def test_a_4xx_is_not_retried_and_names_the_token(service: Service) -> None:
    service.script = lambda method, path, body: (401, {}, {"error": "who are you"})
    with pytest.raises(ConnectorError, match=r"answered HTTP 401 \(check the token\)"):
        connector(service.url, token_env="SVC_TOKEN").locate(JANE)
    assert len(service.seen) == 1
    assert service.seen[0][3]["Authorization"] == "Bearer s3cret"


def test_custom_auth_header_and_scheme(service: Service) -> None:
    service.script = lambda method, path, body: (200, {}, {"tickets": []})
    connector(service.url, token_env="SVC_TOKEN", auth_header="X-Api-Key", auth_scheme="").locate(
        JANE
    )
    assert service.seen[0][3]["X-Api-Key"] == "s3cret"
    assert "Authorization" not in service.seen[0][3]


def test_a_slow_service_times_out_and_a_closed_port_is_refused(service: Service) -> None:
    service.delay = 1.5
    started = time.monotonic()
    with pytest.raises(ConnectorError, match=r"/search did not answer within 0.5 s"):
        connector(service.url, timeout=0.5).locate(JANE)
    assert time.monotonic() - started < 1.4
    with pytest.raises(ConnectorError, match=r"cannot reach 127.0.0.1:9/search"):
        connector("http://127.0.0.1:9").locate(JANE)


def test_the_rate_limit_spaces_calls(service: Service) -> None:
    service.script = lambda method, path, body: (200, {}, {"tickets": []})
    limited = connector(service.url, rate_per_second=10)
    for _ in range(5):
        limited.locate(JANE)
    times = [t for *_, t in service.seen]
    assert times[-1] - times[0] >= 0.38


def async_service(service: Service, pending: int) -> None:
    polls = {"count": 0}

    def script(method: str, path: str, body: Any) -> Reply:
        if method == "POST":
            return 202, {}, {"id": "job-1", "status_url": "/jobs/job-1"}
        polls["count"] += 1
        if polls["count"] <= pending:
            return 200, {}, {"state": "pending"}
        return 200, {}, {"state": "done", "result": {"erased": 3}}

    service.script = script


ASYNC_ERASE = {
    "path": "/erase",
    "count": "result.erased",
    "status": {"url": "status_url", "state": "state", "done": ["done"], "interval": 0.1},
}


def test_an_asynchronous_deletion_is_polled_until_done(service: Service) -> None:
    async_service(service, pending=2)
    done = connector(service.url, erase=ASYNC_ERASE).erase(JANE)
    assert (done.found, done.erased) == (3, 3)
    assert done.receipts == ["/erase: deletion confirmed for 3 record(s)"]
    assert [(m, p) for m, p, *_ in service.seen] == [("POST", "/erase")] + [
        ("GET", "/jobs/job-1")
    ] * 3


def test_an_asynchronous_deletion_by_job_id_path(service: Service) -> None:
    async_service(service, pending=0)
    erase = {**ASYNC_ERASE, "status": {"path": "/jobs/{id}", "id": "id", "state": "state"}}
    assert connector(service.url, erase=erase).erase(JANE).erased == 3
    assert service.seen[1][1] == "/jobs/job-1"


def test_an_asynchronous_deletion_that_never_finishes_fails_in_time(service: Service) -> None:
    async_service(service, pending=10_000)
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="vendor deletion not confirmed within 1 s"):
        connector(service.url, erase=ASYNC_ERASE, async_limit=1).erase(JANE)
    assert 0.8 <= time.monotonic() - started < 2.5


def test_a_status_url_on_another_host_is_not_followed(service: Service) -> None:
    service.script = lambda method, path, body: (202, {}, {"status_url": "http://evil.test/x"})
    with pytest.raises(ConnectorError, match="points to another host"):
        connector(service.url, erase=ASYNC_ERASE).erase(JANE)
    assert len(service.seen) == 1


def test_the_demo_help_desk_pages_and_erases_asynchronously_and_idempotently(
    helpdesk_url: str,
) -> None:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    config = next(s["config"] for s in data["system"] if s["key"] == "helpdesk")
    config = {**config, "locate": {**config["locate"], "params": {"per_page": 1}}}
    desk = HttpConnector(
        config,
        settings={"DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": "test-helpdesk-token"},
    )
    found = desk.locate(JANE)
    assert (len(found.records["customer"]), len(found.records["tickets"])) == (1, 2)
    assert desk.erase(JANE).erased == 3
    again = desk.erase(JANE)
    assert (again.erased, again.found) == (0, 0)
    assert desk.locate(JANE).found == 0
    assert desk.opt_out(JANE).receipts == ["/api/v1/opt-out: opt-out confirmed for 0 record(s)"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"token": "abc"}, "unknown setting 'token'"),
        ({"rate_per_second": 0}, "'rate_per_second' must be a number from 0.01 to 1000"),
        ({"attempts": 50}, "'attempts' must be a number from 1 to 10"),
        ({"async_limit": "soon"}, "'async_limit' must be a number"),
        ({"identifiers": ["customer id"]}, "identifier 'customer id' is not a plain name"),
        ({"exports": {"email": "customer.email"}}, "exported identifier 'email'"),
        ({"auth_header": "X Api: Key"}, "'auth_header' must be a header name"),
        ({"locate": {"path": "search"}}, "[locate]: 'path' must start with /"),
        ({"locate": {"path": "/s", "method": "GET"}}, "'method' must be one of POST, PUT, DELETE"),
        ({"locate": {"path": "/s", "records": "tickets"}}, "'records' must be a list of text"),
        (
            {"locate": {"path": "/s", "page": {"param": "p", "next": "n"}, "cursor": {}}},
            "give 'page' or 'cursor', not both",
        ),
        ({"locate": {"path": "/s", "page": {"param": "p"}}}, "'page' needs 'param' and 'next'"),
        ({"erase": {"path": "/e", "status": {}}}, "give exactly one of 'url' or 'path'"),
        ({"erase": {"path": "/e", "status": {"path": "jobs/{id}"}}}, "'path' must start with /"),
        ({"erase": {"path": "/e", "status": {"url": "u", "done": "ok"}}}, "'done' must be a list"),
    ],
)
def test_bad_http_configs_are_refused_with_their_reason(extra: dict, message: str) -> None:
    config = {"base_url": "http://127.0.0.1:9", "locate": {"path": "/s"}, **extra}
    with pytest.raises(ConnectorError, match=re.escape(message)):
        validate_config(SystemKind.HTTP, config)


def test_a_locate_endpoint_is_required() -> None:
    with pytest.raises(ConnectorError, match=re.escape("a [locate] endpoint is required")):
        validate_config(SystemKind.HTTP, {"base_url": "http://x"})
