"""Generated bad input at every door: never a 5xx, never a stored row the doors would refuse.

Hypothesis sends each entry point at least `EXAMPLES` bodies, query strings or addresses:
real text, the characters that broke things before (lone surrogates in JSON, NUL, control
characters, superscript digits, 25-digit ids, files where text belongs), deep and duplicate
JSON. CSRF and rate limits are off here (their own tests check them) so that every example
reaches the validation it is meant to test. After each test every stored text is checked with
the rules the doors use (dsar.inputs).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, String, Text, select

from dsar import create_app, inputs, transitions
from dsar.extensions import db
from dsar.models import Request, Role
from dsar.services import accounts, api_keys, intake, manual, systems, workflow

EXAMPLES = int(os.environ.get("DSAR_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),  # CI: the same examples every run
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
PASSWORD = "fuzz-password-for-tests"

# What broke a door before, and its cousins.
NASTY = [
    "",
    " ",
    "\r\n",
    "\t",
    "\ufeff",
    "\u200b",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u2028",
    "²",
    "١٢٣",
    "9" * 25,
    "-1",
    "0",
    "1e3",
    "(((((",
    "+44 20 7946 0958",
    "jane.doe@example.com",
    "Jane Doe",
    "DSAR-2026-000001",
    '=HYPERLINK("http://x","click")',
    "'; DROP TABLE requests; --",
    "<script>alert(1)</script>",
    "a" * 6000,
    "Zoë 山田 👨‍👩‍👧",
]
# Form text: anything a browser can send (UTF-8 cannot carry a lone surrogate).
form_text = st.one_of(
    st.sampled_from(NASTY), st.text(alphabet=st.characters(codec="utf-8"), max_size=120)
)
# JSON text: lone surrogates included; json.dumps writes them as \ud800 escapes.
json_text = st.one_of(
    st.sampled_from(NASTY), st.text(alphabet=st.characters(exclude_categories=()), max_size=120)
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=12,
)
a_file = st.builds(lambda data: (io.BytesIO(data), "upload.bin"), st.binary(max_size=64))
form_value = st.one_of(form_text, a_file, st.lists(form_text, min_size=2, max_size=3))


def form_data(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the fields, each a text, a file or several values; sometimes a stray field."""
    return st.fixed_dictionaries({}, optional={name: form_value for name in [*fields, "extra"]})


# -- the app and its stored rows ---------------------------------------------------------


@pytest.fixture
def fuzz_app(env: dict[str, str]) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from dsar.config import ROOT

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    LINKS.clear()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        yield app
        assert bad_rows() == []
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fuzz_client(fuzz_app: Flask) -> FlaskClient:
    return fuzz_app.test_client()


# One-line columns a person or an admin types: trimmed, with no line breaks. Every other
# stored text (details, notes, generated explanations, JSON) may hold newlines and tabs,
# never NUL, other control characters or broken ones.
ENTERED = {
    "requests": {"name", "email", "phone", "country"},
    "data_systems": {"name", "owner", "contact"},
    "api_keys": {"name"},
    "users": {"email"},
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def bad_rows() -> list[str]:
    """Every stored text that the doors' own rules would refuse."""
    bad = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).mappings():
            for column in columns:
                entered = column.name in ENTERED.get(table.name, ())
                for text in _strings(row[column.name]):
                    if inputs.problem(text, multiline=not entered) is not None:
                        bad.append(f"{table.name}.{column.name}: {text[:40]!r}")
                    elif entered and inputs.trim(text) != text:
                        bad.append(f"{table.name}.{column.name} untrimmed: {text[:40]!r}")
    rows = db.session.scalars(select(Request).where(Request.gpc.is_(False))).all()
    bad += [f"request {r.id} without a name" for r in rows if not r.name]
    return bad


def check(resp: Any) -> None:
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]


def staff(client: FlaskClient, role: Role) -> FlaskClient:
    email = f"{role.value}@fuzz.test"
    accounts.create_user(email, role, PASSWORD)
    resp = client.post("/staff/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302
    return client


@pytest.fixture
def officer(fuzz_client: FlaskClient) -> FlaskClient:
    return staff(fuzz_client, Role.OFFICER)


@pytest.fixture
def admin(fuzz_client: FlaskClient) -> FlaskClient:
    return staff(fuzz_client, Role.ADMIN)


def new_request(kind: str = "access") -> Request:
    sub = intake.Submission(kind=kind, regime="gdpr", name="Ann Fuzz", email="ann@fuzz.test")
    return intake.submit(sub, channel="portal").request


# -- the person's doors ------------------------------------------------------------------

PERSON = ["kind", "regime", "name", "email", "phone", "country", "details"]


@FUZZ
@given(data=form_data(PERSON))
def test_fuzz_the_request_form(fuzz_client: FlaskClient, data: dict[str, Any]) -> None:
    check(fuzz_client.post("/request", data=data, content_type="multipart/form-data"))


@FUZZ
@given(data=form_data(["gpc-email", "gpc-phone"]))
def test_fuzz_the_gpc_form(fuzz_client: FlaskClient, data: dict[str, Any]) -> None:
    check(
        fuzz_client.post(
            "/gpc", data=data, headers={"Sec-GPC": "1"}, content_type="multipart/form-data"
        )
    )


@pytest.fixture
def tracking(fuzz_app: Flask) -> str:
    return intake.submit(
        intake.Submission(kind="access", regime="gdpr", name="Ann", email="ann@fuzz.test"),
        channel="portal",
    ).tracking_token


@FUZZ
@given(data=form_data(["code"]), path=st.sampled_from(["download", "code", "verify/x"]))
def test_fuzz_the_download_and_confirmation_forms(
    fuzz_client: FlaskClient, tracking: str, data: dict[str, Any], path: str
) -> None:
    check(fuzz_client.post(f"/r/{tracking}/{path}", data=data, content_type="multipart/form-data"))


@pytest.fixture
def owner_link(fuzz_app: Flask) -> Callable[[], str]:
    """A fresh one-time link of a paper archive's owner."""
    systems.create(
        {"key": "paper", "name": "Paper", "kind": "manual", "contact": "keeper@fuzz.test"},
        actor="tests",
    )
    key, _ = api_keys.create("fuzz", scopes=api_keys.SCOPES)
    outbox = fuzz_app.config["DSAR_OUTBOX_DIR"]

    def fresh() -> str:
        sub = intake.Submission(kind="access", regime="gdpr", name="Ann", email="ann@fuzz.test")
        req = intake.submit(sub, channel="api", api_key=key, identity_verified=True).request
        workflow.run_task(req.tasks[0].id, last_attempt=True)
        # The newest email holding a task link (the person is told of the search by hand too).
        mails = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        found = next(
            (m for m in (re.search(r"/task/[A-Za-z0-9_-]+", p.read_text()) for p in mails) if m),
            None,
        )
        assert found and manual.find_task(found.group(0).removeprefix("/task/"))
        return found.group(0)

    return fresh


@FUZZ
@given(data=form_data(["outcome", "count", "note"]))
def test_fuzz_the_owner_report(
    fuzz_client: FlaskClient, owner_link: Callable[[], str], data: dict[str, Any]
) -> None:
    link = LINKS.get("owner") or owner_link()
    resp = fuzz_client.post(link, data=data, content_type="multipart/form-data")
    check(resp)
    # A report that was taken uses the link up: the next example gets a fresh one.
    LINKS["owner"] = "" if resp.status_code == 200 else link


LINKS: dict[str, str] = {}


# -- the API -----------------------------------------------------------------------------

request_body = st.fixed_dictionaries(
    {},
    optional={
        **{name: json_value for name in [*PERSON, "identity_verified", "extra"]},
        "kind": st.sampled_from(["access", "deletion", "opt_out", "correction"]) | json_value,
        "regime": st.sampled_from(["gdpr", "ccpa", "qc_law25"]) | json_value,
    },
)
raw_body = st.one_of(
    request_body.map(lambda body: json.dumps(body).encode()),
    request_body.map(lambda body: json.dumps(body)[:-1].encode() + b',"kind":"x"}'),
    st.binary(max_size=300),
    st.integers(1, 4000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 25).map(lambda n: b'{"identity_verified": ' + b"9" * n * 200 + b"}"),
)


@pytest.fixture
def api_secret(fuzz_app: Flask) -> str:
    return api_keys.create("fuzz", scopes=api_keys.SCOPES)[1]


@FUZZ
@given(body=raw_body)
def test_fuzz_creating_requests_over_the_api(
    fuzz_client: FlaskClient, api_secret: str, body: bytes
) -> None:
    headers = {"Authorization": f"Bearer {api_secret}"}
    check(
        fuzz_client.post(
            "/api/v1/requests", data=body, content_type="application/json", headers=headers
        )
    )


@FUZZ
@given(reference=json_text, suffix=st.sampled_from(["", "/response.pdf"]))
def test_fuzz_reading_requests_over_the_api(
    fuzz_client: FlaskClient, api_secret: str, reference: str, suffix: str
) -> None:
    path = quote(reference.encode("utf-8", "surrogatepass"), safe="") or "x"
    headers = {"Authorization": f"Bearer {api_secret}"}
    check(fuzz_client.get(f"/api/v1/requests/{path}{suffix}", headers=headers))


@FUZZ
@given(
    header=st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80)
)
def test_fuzz_api_keys_in_the_header(fuzz_client: FlaskClient, header: str) -> None:
    check(fuzz_client.get("/api/v1/requests/x", headers={"Authorization": header}))


# -- the staff workspace -----------------------------------------------------------------

QUEUE = ["status", "kind", "regime", "assignee", "due_within", "overdue", "q", "after"]


@FUZZ
@given(query=st.dictionaries(st.sampled_from([*QUEUE, "year"]), form_text, max_size=5))
def test_fuzz_the_queue_and_metrics_filters(officer: FlaskClient, query: dict[str, str]) -> None:
    encoded = urlencode({k: v.encode("utf-8") for k, v in query.items()})
    check(officer.get(f"/staff/queue?{encoded}"))
    check(officer.get(f"/audit/metrics?{encoded}"))


DECISIONS = {
    "assign": ["assignee"],
    "note": ["note"],
    "deny": ["reason", "text"],
    "clarify": ["question", "pause"],
    "duplicate": ["earlier"],
    "cancel": ["reason"],
    "pause": ["reason"],
    "extend": ["reason"],
    "tasks/1/skip": ["reason"],
    "tasks/1/done": ["found", "note"],
}


@pytest.mark.parametrize("action", sorted(DECISIONS))
def test_fuzz_the_officers_decisions(officer: FlaskClient, action: str) -> None:
    current: list[Request] = []

    @FUZZ
    @given(data=form_data(DECISIONS[action]))
    def decide(data: dict[str, Any]) -> None:
        db.session.expire_all()
        if not current or current[-1].status not in transitions.OPEN_STATUSES:
            current.append(new_request())  # the last one was closed by a decision
        resp = officer.post(
            f"/staff/requests/{current[-1].reference}/{action}",
            data=data,
            content_type="multipart/form-data",
        )
        check(resp)

    decide()


@FUZZ
@given(data=form_data(["ids", "action", "reason", "text", "next"]))
def test_fuzz_bulk_decisions(officer: FlaskClient, data: dict[str, Any]) -> None:
    if not LINKS.get("bulk"):
        LINKS["bulk"] = new_request().reference or ""
    check(officer.post("/staff/bulk", data=data, content_type="multipart/form-data"))


@FUZZ
@given(data=form_data([*PERSON, "channel", "received_on", "reason", "identity_checked", "files"]))
def test_fuzz_recording_a_request_taken_by_staff(
    officer: FlaskClient, data: dict[str, Any]
) -> None:
    check(officer.post("/staff/requests/new", data=data, content_type="multipart/form-data"))


@FUZZ
@given(data=form_data(["email", "password"]))
def test_fuzz_the_sign_in_form(fuzz_client: FlaskClient, data: dict[str, Any]) -> None:
    check(fuzz_client.post("/staff/login", data=data, content_type="multipart/form-data"))


SYSTEM = ["key", "name", "kind", "owner", "contact", "description", "enabled", "config"]
config_text = st.one_of(
    form_text,
    json_value.map(json.dumps),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
)


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {}, optional={**{name: form_value for name in SYSTEM}, "config": config_text}
    ),
    edit=st.booleans(),
)
def test_fuzz_the_data_system_form(admin: FlaskClient, data: dict[str, Any], edit: bool) -> None:
    if systems.get("crm") is None:
        systems.create({"key": "crm", "name": "CRM", "kind": "manual"}, actor="tests")
    url = "/staff/systems/crm/edit" if edit else "/staff/systems/new"
    check(admin.post(url, data=data, content_type="multipart/form-data"))


@FUZZ
@given(data=form_data(["name", "scopes"]), key_action=st.sampled_from(["", "scopes"]))
def test_fuzz_the_api_key_forms(
    admin: FlaskClient, api_secret: str, data: dict[str, Any], key_action: str
) -> None:
    if key_action:
        key_id = api_keys.listed()[-1].id
        data = {f"key{key_id}-{name}": value for name, value in data.items()}
        url = f"/staff/api-keys/{key_id}/{key_action}"
    else:
        url = "/staff/api-keys"
    check(admin.post(url, data=data, content_type="multipart/form-data"))


@FUZZ
@given(path=json_text)
def test_fuzz_addresses(fuzz_client: FlaskClient, path: str) -> None:
    quoted = quote(path.encode("utf-8", "surrogatepass"), safe="/")
    for prefix in ("/r/", "/task/", "/staff/requests/", "/audit/requests/"):
        check(fuzz_client.get(prefix + quoted))
