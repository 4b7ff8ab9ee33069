"""The OpenAPI document at /api/v1/openapi.json says exactly what the API does (issue 19).

Integrators build clients from it, so two tools nobody here wrote check it: the document is
valid OpenAPI (openapi-spec-validator), and schemathesis, with every check, finds nothing the
document advertises that the API refuses, or the reverse. Then, by hand: a 405 names the
allowed methods, the rights and laws it lists are the ones the API takes, and the patterns
it gives for text are the ones dsar.inputs applies.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask, current_app
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, validate
from openapi_spec_validator import validate as validate_spec
from schemathesis.engine import events, from_schema
from sqlalchemy import select

from dsar import inputs, transfer_guard
from dsar.api import openapi, patterns, schemas
from dsar.extensions import db
from dsar.models import Document, Request, RequestKind, RequestStatus
from dsar.rules import OFFERED_KINDS, REGIMES
from dsar.rules import agents as agent_rules
from dsar.services import agents, uploads
from tests.conftest import api_headers

DOC = "/api/v1/openapi.json"
CREATE = "/api/v1/requests"
READ = "/api/v1/requests/{reference}"
DOWNLOAD = "/api/v1/requests/{reference}/response.pdf"
CHOICES = "/api/v1/choices"
# schemathesis: the same cases every run, and a bounded number per operation (its coverage
# phase adds the boundary values of each field, whatever this says).
SEED = 19
EXAMPLES = 30
PUBLIC = "93.184.216.34"  # a global address, for the names transfer addresses give
JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture
def env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """schemathesis makes some 2,500 calls with one key within a minute; at the key's usual
    limit (600 a minute) most would be answered 429, which every check takes, and nothing
    behind it would be tested. tests/test_api_keys.py tests the limit itself."""
    monkeypatch.setenv("DSAR_API_RATE_LIMIT", "100000 per minute")
    return {**env, "DSAR_API_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def public_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host name resolves to a public address, as a receiver's name does in service
    (the document asks for one on the public internet; this machine has no DNS)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(str(host))
        except ValueError:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def wsgi_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two faults of schemathesis 4.32's in-process transport, not of the API: the
    ignored_auth check's probe passes network-only options (max_redirects, verify, ...) on to
    werkzeug's client, which refuses them; and a streamed file (the PDF) is read but never
    closed. The probe goes without those options, and every answer is read in full."""
    from schemathesis.transport.wsgi import WSGITransport

    send = WSGITransport.send

    def send_in_process(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        if session is None:
            for name in ("max_redirects", "verify", "cert", "proxies"):
                kwargs.pop(name, None)
        kwargs.setdefault("buffered", True)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", send_in_process)


def create(client: FlaskClient, key: str, **body: Any) -> Any:
    return client.post(CREATE, json=body, headers=api_headers(key))


def with_answer(reference: str) -> None:
    """Give the request its answer, as the documents worker would."""
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    folder = current_app.config["DSAR_DOCUMENTS_DIR"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{reference}.pdf").write_bytes(PDF)
    req.documents.append(
        Document(kind="response", filename=f"{reference}.pdf", sha256="0", size=len(PDF))
    )
    req.status = RequestStatus.COMPLETED
    db.session.commit()


# -- (a) the document is valid OpenAPI ----------------------------------------------------


def test_the_document_is_valid_openapi(client: FlaskClient) -> None:
    doc = client.get(DOC).json
    validate_spec(doc)  # raises on the first error
    assert doc["openapi"] == "3.0.3"
    # Every operation says how to sign in, and the reads can be reached from a creation.
    assert doc["components"]["securitySchemes"][openapi.SECURITY_SCHEME]["scheme"] == "bearer"
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            if method != "parameters":
                assert operation["security"] == openapi.SECURITY, (path, method)
                assert "401" in operation["responses"], (path, method)
    links = doc["paths"][CREATE]["post"]["responses"]["201"]["links"]
    assert links["GetRequest"]["operationId"] == doc["paths"][READ]["get"]["operationId"]


# -- (b) schemathesis finds nothing -------------------------------------------------------

AGENT_EMAIL = "agent@agency.example.org"
# What the document can only say in words, from values that are so: a correction's email
# and phone as a mail server and libphonenumber take them (the held value differs from the
# new one), and a transfer address on the public internet.
KNOWN_GOOD = {
    ("changes", "email"): "new.address@example.com",
    ("held", "email"): "old.address@example.net",
    ("changes", "phone"): "+44 20 7946 0958",
    ("held", "phone"): "+1 212 555 0100",
}
RECEIVER = "https://receiver.example.com/import"


def valid_in_words(case: Any, keys: Iterator[int]) -> Any:
    """A schema-valid case (positive mode) made valid where only the words of the document
    reach; a case meant to be invalid is sent as generated."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if case.headers and "Idempotency-Key" in case.headers:
        # The coverage phase sends one key with every body: the API would answer 409 (as
        # documented) to all but the first, and check none of them.
        case.headers["Idempotency-Key"] = f"contract-{next(keys)}"
    body = case.body
    if case.method != "POST" or not isinstance(body, dict):
        return case
    agent = body.get("agent")
    if isinstance(agent, dict):  # not the person's address; one a mail server takes
        person = str(body.get("email", "")).lower()
        agent["email"] = AGENT_EMAIL if person != AGENT_EMAIL else "other." + AGENT_EMAIL
    correction = body.get("correction")
    if isinstance(correction, dict):
        for part in ("changes", "held"):
            values = correction.get(part)
            for key in ("email", "phone"):
                if isinstance(values, dict) and str(values.get(key, "")).strip():
                    values[key] = KNOWN_GOOD[(part, key)]
    if body.get("kind") == "portability" and str(body.get("transfer_url", "")).strip():
        body["transfer_url"] = RECEIVER
    return case


def run_schemathesis(app: Flask, key: str, references: list[str]) -> tuple[list[str], Counter]:
    """`schemathesis run --checks all` in-process: every phase (examples, coverage, fuzzing,
    stateful links). Known references stand in for half the generated ones."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # nothing kept between runs: the same run every time
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "headers": api_headers(key),
            "generation": {"max-examples": EXAMPLES},
            "continue-on-failure": True,
            "dictionaries": {"references": {"values": references}},
            "parameters": {"path.reference": {"dictionary": "references", "probability": 0.5}},
        }
    )
    config.projects.override.checks.update(included_check_names=["all"])
    schema = schemathesis.openapi.from_wsgi(DOC, app, config=config)
    keys = iter(range(1, 10**9))

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        return valid_in_words(case, keys)

    found: list[str] = []
    answers: Counter = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                request, response = interaction.request, interaction.response
                if response is not None:
                    path = request.uri.split("://", 1)[-1].partition("/")[2]
                    answers[(request.method, _operation(path), response.status_code)] += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info
                        found.append(
                            f"{event.phase.value} {event.recorder.label} {check.name}: "
                            f"{failure.failure.title}\n{failure.failure.message}\n"
                            f"{failure.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            exc = event.value if isinstance(event, events.NonFatalError) else event.exception
            found.append("".join(traceback.format_exception(exc)))
    return found, answers


def _operation(path: str) -> str:
    path = "/" + path.partition("?")[0]
    if path == CHOICES:
        return CHOICES
    if path.endswith("/response.pdf"):
        return DOWNLOAD
    return READ if path.startswith(CREATE + "/") else CREATE


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # hypothesis, on big cases
def test_schemathesis_with_every_check_finds_nothing(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    public_internet: None,
    wsgi_calls: None,
) -> None:
    answered = create(client, api_key, kind="access", regime="gdpr", **JANE).json["reference"]
    with_answer(answered)
    waiting = create(client, api_key, kind="access", regime="gdpr", **JANE).json["reference"]

    started = time.monotonic()
    found, answers = run_schemathesis(app, api_key, [answered, waiting])
    took = time.monotonic() - started

    assert not found, f"{len(found)} findings:\n\n" + "\n\n".join(found[:10])
    # The reads were reached with real references, and with unknown ones.
    for operation in (READ, DOWNLOAD):
        assert answers[("GET", operation, 200)] > 0, answers
        assert answers[("GET", operation, 404)] > 0, answers
    assert answers[("POST", CREATE, 201)] > 0, answers
    # The choices API was reached too, with changes recorded and choices read.
    assert answers[("POST", CHOICES, 201)] > 0 and answers[("GET", CHOICES, 200)] > 0, answers
    # How long it took is reported, not asserted: a loaded machine is no failure.
    print(f"schemathesis: {sum(answers.values())} calls in {took:.0f} s")


# -- (c) a 405 says which methods are allowed ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/requests/DSAR-2026-000001", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/api/v1/requests", {"POST", "OPTIONS"}),
        ("POST", "/api/v1/requests/DSAR-2026-000001/response.pdf", {"GET", "HEAD", "OPTIONS"}),
        ("PATCH", "/api/v1/openapi.json", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_405_names_the_allowed_methods(
    client: FlaskClient, api_key: str, method: str, path: str, allowed: set[str]
) -> None:
    resp = client.open(path, method=method, headers=api_headers(api_key))
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == allowed
    assert resp.json == {
        "code": 405,
        "status": "Method Not Allowed",
        "message": resp.json["message"],
    }


def test_a_405_on_a_page_names_the_allowed_methods_too(client: FlaskClient) -> None:
    resp = client.delete("/request")
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"] and "GET" in resp.headers["Allow"]


def test_a_401_says_how_to_sign_in(client: FlaskClient) -> None:
    resp = client.get("/api/v1/requests/DSAR-2026-000001")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


# -- (d) the rights and laws it lists are the ones the API takes ------------------------


def _variants(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """RequestIn's shapes by name: one per right, and per right an agent may ask for."""
    found = doc["components"]["schemas"]
    names = [ref["$ref"].rsplit("/", 1)[1] for ref in found["RequestIn"]["oneOf"]]
    return {name: found[name] for name in names}


def _body(kind: str, regime: str, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "regime": regime, **JANE, **more}
    if kind == "correction":
        body["correction"] = {"changes": {"city": "Dublin"}}
    return body


def test_the_kinds_in_the_document_are_those_some_law_grants_and_the_api_offers(
    client: FlaskClient,
) -> None:
    doc = client.get(DOC).json
    kinds = {kind for v in _variants(doc).values() for kind in v["properties"]["kind"]["enum"]}
    expected = {k.value for k in OFFERED_KINDS if any(k in r.kinds for r in REGIMES.values())}
    assert kinds == expected == set(schemas.taken_kinds())
    assert set(doc["components"]["schemas"]["RequestOut"]["properties"]["kind"]["enum"]) == {
        k.value for k in RequestKind
    }


def test_a_kind_no_longer_offered_leaves_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = {"agent": {"description": ""}, "transfer_url": {"maxLength": 2000}}
    offered = tuple(k for k in OFFERED_KINDS if k is not RequestKind.LIMIT_SENSITIVE)
    monkeypatch.setattr(openapi, "OFFERED_KINDS", offered)
    names = openapi.request_body(flat)["RequestIn"]["oneOf"]
    assert not any("LimitSensitive" in ref["$ref"] for ref in names)
    assert any("OptOut" in ref["$ref"] for ref in names)


def test_each_law_and_right_the_document_pairs_is_taken_and_no_other(
    client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    doc = client.get(DOC).json
    stated = {
        (kind, regime)
        for name, v in _variants(doc).items()
        if not name.endswith("ByAgent")
        for kind in v["properties"]["kind"]["enum"]
        for regime in v["properties"]["regime"]["enum"]
    }
    for kind in schemas.taken_kinds():
        for regime in REGIMES:
            resp = create(client, api_key, **_body(kind, regime))
            if (kind, regime) in stated:
                assert resp.status_code == 201, (kind, regime, resp.json)
            else:
                assert resp.status_code == 422, (kind, regime, resp.json)
                assert "gives no right" in resp.json["errors"]["json"]["kind"][0]


def test_where_the_document_lets_an_agent_file_the_api_takes_it_and_nowhere_else(
    client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    doc = client.get(DOC).json
    variants = _variants(doc)
    permission = {
        "filename": "permission.pdf",
        "content_base64": base64.b64encode(PDF).decode(),
    }
    for n, kind in enumerate(schemas.taken_kinds()):
        by_agent = next(
            (
                v
                for name, v in variants.items()
                if name.endswith("ByAgent") and v["properties"]["kind"]["enum"] == [kind]
            ),
            None,
        )
        laws = set(by_agent["properties"]["regime"]["enum"]) if by_agent else set()
        needs = by_agent is not None and "permission" in _agent_schema(doc, by_agent)["required"]
        for regime in REGIMES:
            if RequestKind(kind) not in REGIMES[regime].kinds:
                continue
            rule = agent_rules.rule(regime)
            agent = {"name": "Ann Agent", "email": f"agent{n}@agency.example.org"}
            if needs:
                agent["permission"] = permission
            resp = create(client, api_key, **_body(kind, regime, agent=agent))
            if regime in laws:
                assert resp.status_code == 201, (kind, regime, resp.json)
                assert needs == rule.needs_permission(RequestKind(kind))
            else:
                assert resp.status_code == 422, (kind, regime, resp.json)
                assert "agent" in resp.json["errors"]["json"], resp.json


def _agent_schema(doc: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    ref = variant["properties"]["agent"]["allOf"][0]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


# -- the patterns for text are what dsar.inputs takes -------------------------------------

BMP = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]


@pytest.mark.parametrize("multiline", [False, True])
def test_the_text_patterns_take_each_character_as_dsar_inputs_does(multiline: bool) -> None:
    optional = re.compile(patterns.text_pattern(multiline=multiline))
    required = re.compile(patterns.text_pattern(multiline=multiline, required=True))
    for ch in BMP:
        taken = inputs.problem(ch, multiline=multiline) is None
        assert bool(optional.fullmatch(ch)) == taken, hex(ord(ch))
        assert bool(required.fullmatch(ch)) == (taken and inputs.trim(ch) != ""), hex(ord(ch))
        assert bool(required.fullmatch(f"a{ch}a")) == taken, hex(ord(ch))


def test_edge_and_url_classes_are_what_is_trimmed_and_what_no_address_holds() -> None:
    edge = re.compile(f"[{patterns.EDGE}]")
    not_in_url = re.compile(f"[{patterns.NOT_IN_URL}]")
    for ch in BMP:
        trimmed = inputs.trim(ch) == "" and inputs.problem(ch) is None
        assert bool(edge.fullmatch(ch)) == trimmed, hex(ord(ch))
        try:
            transfer_guard.parse(f"https://receiver.example.com/a{ch}b")
            refused = inputs.problem(ch) is not None
        except transfer_guard.Refused:
            refused = True
        assert bool(not_in_url.fullmatch(ch)) == refused, hex(ord(ch))


PHONE_CHARS = st.sampled_from(list("+0123456789 ()./-a\u00a0\u200b\u3000\t"))


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(st.text(PHONE_CHARS, max_size=45))
def test_the_phone_pattern_is_what_the_api_takes(raw: str) -> None:
    try:
        value = inputs.clean(raw)
        taken = len(raw) <= inputs.LIMITS["phone"] and (
            not value or inputs.phone_problem(value) is None
        )
    except inputs.InputRefused:
        taken = False
    matches = re.fullmatch(patterns.PHONE_PATTERN, raw) is not None
    assert (matches and len(raw) <= inputs.LIMITS["phone"]) == taken


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.from_regex(patterns.EMAIL_PATTERN, fullmatch=True))
def test_every_address_the_pattern_takes_marshmallow_takes(address: str) -> None:
    try:
        validate.Email()(address)
    except ValidationError:  # pragma: no cover - the assertion names it
        pytest.fail(f"{address!r} matches the pattern but marshmallow refuses it")


MAGIC = st.sampled_from([b"", b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF", b"GIF8"])


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(MAGIC, st.binary(max_size=20), st.booleans())
def test_the_permission_pattern_is_a_pdf_png_or_jpeg_in_base64(
    magic: bytes, rest: bytes, unpadded: bool
) -> None:
    text = base64.b64encode(magic + rest).decode()
    if unpadded:
        text = text.rstrip("=")
    try:
        data = base64.b64decode(text, validate=True)
        taken = bool(data) and uploads.media_type(data) in agents.PERMISSION_TYPES
    except (binascii.Error, ValueError):
        taken = False
    assert (re.fullmatch(patterns.PERMISSION_PATTERN, text) is not None) == taken
