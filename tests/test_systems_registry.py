"""The data systems registry: the staff pages, the service behind them, and secrets kept out
of every page, event and log line."""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.exceptions import ConfigFileError, SystemInvalid
from dsar.extensions import db
from dsar.models import DataSystem, Event, Role, SystemKind
from dsar.services import accounts, api_keys, intake, registry, system_secrets, systems
from tests.conftest import csrf_token, sign_in

ADMIN = ("admin@example.com", "admin-password-1")
OFFICER = ("officer@example.com", "officer-password-1")
AUDITOR = ("auditor@example.com", "auditor-password-1")

PASSWORD = "s3cret-Pa55word"
NEW_PASSWORD = "n3w-Pa55word"
WAREHOUSE_URL = f"postgresql://dsar:{PASSWORD}@db.example.com:5432/warehouse"
MASKED_URL = "postgresql://dsar:***@db.example.com:5432/warehouse"
WAREHOUSE_CONFIG: dict[str, Any] = {
    "url": WAREHOUSE_URL,
    "tables": [
        {"name": "members", "key": "id", "match": {"email_address": "email", "mobile": "phone"}},
        {"name": "visits", "key": "id", "via": {"table": "members", "column": "member_id"}},
    ],
}
HTTP_CONFIG: dict[str, Any] = {
    "base_url": "https://billing.example.com",
    "token_env": "BILLING_TOKEN",
    "locate": {"path": "/api/search", "records": ["customer", "invoices"]},
    "erase": {"path": "/api/erase", "count": "erased"},
}


@pytest.fixture
def staff(app: Flask) -> None:
    accounts.create_user(ADMIN[0], Role.ADMIN, ADMIN[1])
    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    accounts.create_user(AUDITOR[0], Role.AUDITOR, AUDITOR[1])


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at every level, dsar's own included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="dsar")
    return caplog


def assert_no_secret_logged(logs: pytest.LogCaptureFixture, *secrets: str) -> None:
    assert logs.records, "nothing was logged: the capture is not working"
    for rec in logs.records:
        text = rec.getMessage() + repr(rec.args) + str(rec.exc_text or "")
        for secret in secrets:
            assert secret not in text, f"{secret!r} logged by {rec.name}"


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET a page; no page may ever show a stored password."""
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)[-2000:]
    text = resp.get_data(as_text=True)
    for secret in (PASSWORD, NEW_PASSWORD):
        assert secret not in text, f"{url} shows a password"
    return text


def token(client: FlaskClient) -> str:
    return csrf_token(client, "/staff/systems")


def form_data(client: FlaskClient, config: Any, **fields: Any) -> dict[str, Any]:
    data = {
        "csrf_token": token(client),
        "name": "A system",
        "kind": "sql",
        "owner": "Data team",
        "contact": "data@example.com",
        "description": "",
        "enabled": "y",
        "config": config if isinstance(config, str) else json.dumps(config),
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> tuple[int, str]:
    """POST, following a redirect to show the flashed message; (first status, final page)."""
    resp = client.post(url, data=data if data is not None else {"csrf_token": token(client)})
    if resp.status_code == 302 and "/staff/login" not in resp.headers["Location"]:
        return 302, page(client, resp.headers["Location"])
    return resp.status_code, resp.get_data(as_text=True)


def textarea(html_text: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html_text, re.S)
    assert found, f"no {name} textarea"
    return html.unescape(found.group(1)).removeprefix("\r\n").removeprefix("\n")


def stored(key: str) -> DataSystem | None:
    db.session.expire_all()
    return db.session.scalar(select(DataSystem).where(DataSystem.key == key))


def system_count() -> int:
    return db.session.scalar(select(func.count()).select_from(DataSystem)) or 0


def system_events(key: str) -> list[Event]:
    events = db.session.scalars(select(Event).where(Event.request_id.is_(None))).all()
    return [e for e in events if e.detail.get("system") == key]


def add_warehouse() -> DataSystem:
    return systems.create(
        {"key": "warehouse", "name": "Warehouse", "kind": "sql", "config": WAREHOUSE_CONFIG},
        actor="user:1",
    )


# -- the list ------------------------------------------------------------------------------


def test_the_demo_systems_are_listed_with_their_identity_fields(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, AUDITOR)
    text = page(client, "/staff/systems")
    for key in ("crm", "shop", "newsletter", "helpdesk", "events"):
        assert f'id="system-{key}"' in text
    for shown in (
        "CRM (contacts)",
        "Sales operations",
        "sales-ops@example.com",
        "email → contacts.email",
        "email → customers.email",
        "email → subscribers.email",
        "email → column email",
        "sent in the request body",
        "DSAR_HELPDESK_TOKEN",
        "SQL database",
        "CSV spreadsheet",
        "HTTP (JSON API)",
    ):
        assert shown in text, shown
    assert 'href="/staff/systems"' in text  # the nav link
    assert "Add a system" not in text  # auditors cannot add


def test_anonymous_visitors_are_sent_to_sign_in(
    client: FlaskClient, demo_systems: list[str]
) -> None:
    for url in ("/staff/systems", "/staff/systems/new", "/staff/systems/crm/edit"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]
    csrf = csrf_token(client, "/staff/login")
    for action in ("new", "crm/edit", "crm/disable", "crm/enable", "crm/test"):
        resp = client.post(f"/staff/systems/{action}", data={"csrf_token": csrf})
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]
    crm = stored("crm")
    assert crm is not None and crm.enabled


# -- adding --------------------------------------------------------------------------------


def test_an_admin_adds_an_http_system(
    client: FlaskClient, staff: None, demo_systems: list[str], logs: pytest.LogCaptureFixture
) -> None:
    sign_in(client, ADMIN)
    form = page(client, "/staff/systems/new")
    assert "dsar never stores a token" in form
    assert "/api/v1/search" in form  # the demo help desk as the http example
    assert "${DSAR_DEMO_DIR}/shop.db" in form  # the demo shop as the sql example

    data = form_data(client, HTTP_CONFIG, key="billing", name="Billing", kind="http")
    code, text = post(client, "/staff/systems/new", data)
    assert code == 302, text
    assert "Billing (billing) is registered." in text
    assert 'id="system-billing"' in text
    assert "BILLING_TOKEN" in text
    assert "https://billing.example.com" in text

    billing = stored("billing")
    assert billing is not None
    assert billing.kind is SystemKind.HTTP
    assert billing.config == HTTP_CONFIG
    assert (billing.owner, billing.contact, billing.enabled) == (
        "Data team",
        "data@example.com",
        True,
    )
    (event,) = system_events("billing")
    assert event.action == "system_created"
    assert event.actor.startswith("user:")
    assert event.detail == {
        "system": "billing",
        "fields": ["name", "kind", "owner", "contact", "enabled", "config"],
    }
    assert any("billing created" in r.getMessage() for r in logs.records)


def test_a_manual_system_needs_no_settings_and_has_nothing_to_test(
    client: FlaskClient, staff: None
) -> None:
    sign_in(client, ADMIN)
    data = form_data(client, "", key="paper-files", name="Paper files", kind="manual")
    code, text = post(client, "/staff/systems/new", data)
    assert code == 302, text
    assert "checked by the owner" in text
    assert "Test connection" not in text
    system = stored("paper-files")
    assert system is not None and system.config == {}
    code, text = post(client, "/staff/systems/paper-files/test")
    assert "Manual systems have no connection to test." in text


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**HTTP_CONFIG, "token": "abc"}, "&#39;token&#39; holds a literal secret"),
        (
            {**HTTP_CONFIG, "headers": {"Authorization": "Bearer abc"}},
            "&#39;headers&#39; holds literal header values",
        ),
        (
            {**HTTP_CONFIG, "locate": {"path": "/s", "api_key": "abc"}},
            "&#39;locate.api_key&#39; holds a literal secret",
        ),
        ({**HTTP_CONFIG, "token_env": "abc-123.xyz"}, "must be the name of an environment"),
    ],
)
def test_literal_secrets_are_refused(
    client: FlaskClient, staff: None, config: dict[str, Any], message: str
) -> None:
    sign_in(client, ADMIN)
    data = form_data(client, config, key="billing", name="Billing", kind="http")
    code, text = post(client, "/staff/systems/new", data)
    assert code == 422
    assert message in text
    assert "token_env" in text  # says what to do instead
    assert stored("billing") is None


def test_bad_json_and_invalid_configs_are_refused_next_to_the_field(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, ADMIN)
    before = system_count()
    bad_json = '{\n  "url": "sqlite:///x.db",\n  "tables": [,]\n}'
    code, text = post(client, "/staff/systems/new", form_data(client, bad_json, key="new-one"))
    assert code == 422
    assert "Not valid JSON: line 3 column 14" in text
    assert 'id="config-error"' in text
    assert textarea(text, "config") == bad_json  # the admin's text comes back to fix

    code, text = post(client, "/staff/systems/new", form_data(client, "[1, 2]", key="new-one"))
    assert code == 422
    assert "must be a JSON object" in text

    no_tables = {"url": "sqlite:///x.db"}
    code, text = post(client, "/staff/systems/new", form_data(client, no_tables, key="new-one"))
    assert code == 422
    assert "SQL system: &#39;tables&#39; is required (list)." in text
    assert 'id="config-error"' in text

    # Any plain name may be an identifier another system exports; this is not a name.
    bad_match = {"path": "${DSAR_DEMO_DIR}/x.csv", "match": {"email": "not a field!"}}
    data = form_data(client, bad_match, key="new-one", kind="csv")
    code, text = post(client, "/staff/systems/new", data)
    assert code == 422
    assert "identity field" in text

    code, text = post(client, "/staff/systems/new", form_data(client, {}, key="bad key!"))
    assert code == 422
    assert "Use letters, digits, - and _ only." in text
    assert system_count() == before


def test_a_duplicate_key_is_refused(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, ADMIN)
    crm = stored("crm")
    assert crm is not None
    config = dict(crm.config)
    data = form_data(client, {**HTTP_CONFIG}, key="crm", name="Another CRM", kind="http")
    code, text = post(client, "/staff/systems/new", data)
    assert code == 422
    assert "A system with key &#39;crm&#39; already exists." in text
    assert 'id="key-error"' in text
    crm = stored("crm")
    assert crm is not None
    assert (crm.name, crm.kind, crm.config) == ("CRM (contacts)", SystemKind.SQL, config)
    with pytest.raises(SystemInvalid, match="already exists"):
        systems.create({"key": "crm", "name": "x", "kind": "manual"}, actor="cli")


# -- editing, and the password in a database URL -------------------------------------------


def test_a_url_password_is_never_shown_and_kept_when_the_url_is_unchanged(
    client: FlaskClient, staff: None, logs: pytest.LogCaptureFixture
) -> None:
    add_warehouse()
    sign_in(client, ADMIN)
    listing = page(client, "/staff/systems")
    assert MASKED_URL in listing
    assert "email → members.email_address" in listing
    assert "phone → members.mobile" in listing
    edit = page(client, "/staff/systems/warehouse/edit")
    shown = textarea(edit, "config")
    assert MASKED_URL in shown
    assert json.loads(shown)["tables"] == WAREHOUSE_CONFIG["tables"]

    # Sent back as shown: nothing changes, the password stays.
    data = form_data(client, shown, name="Warehouse", owner="", contact="", enabled="y")
    code, text = post(client, "/staff/systems/warehouse/edit", data)
    assert code == 302, text
    assert "nothing changed" in text
    warehouse = stored("warehouse")
    assert warehouse is not None
    assert warehouse.config == WAREHOUSE_CONFIG
    assert system_events("warehouse")[1:] == []

    # Another field changed, the URL as shown: the password still stays.
    data = form_data(client, shown, name="Data warehouse", owner="BI team", contact="")
    code, text = post(client, "/staff/systems/warehouse/edit", data)
    assert code == 302, text
    warehouse = stored("warehouse")
    assert warehouse is not None
    assert warehouse.name == "Data warehouse"
    assert warehouse.config["url"] == WAREHOUSE_URL
    event = system_events("warehouse")[-1]
    assert (event.action, event.detail["fields"]) == ("system_updated", ["name", "owner"])

    # The host changed but the password left masked: refused, not stored as "***".
    moved = shown.replace("db.example.com", "db2.example.com")
    code, text = post(client, "/staff/systems/warehouse/edit", form_data(client, moved))
    assert code == 422
    assert "type the password again" in text
    assert stored("warehouse").config["url"] == WAREHOUSE_URL  # type: ignore[union-attr]

    # A new URL replaces the stored one, and is masked in turn.
    new_url = f"postgresql://dsar:{NEW_PASSWORD}@db2.example.com:5432/warehouse"
    data = form_data(client, shown.replace(MASKED_URL, new_url), name="Data warehouse")
    code, text = post(client, "/staff/systems/warehouse/edit", data)
    assert code == 302, text
    assert "postgresql://dsar:***@db2.example.com:5432/warehouse" in text
    warehouse = stored("warehouse")
    assert warehouse is not None
    assert warehouse.config["url"] == new_url
    assert warehouse.config["tables"] == WAREHOUSE_CONFIG["tables"]
    event = system_events("warehouse")[-1]
    assert event.detail["fields"] == ["owner", "contact", "config"]
    assert "db2.example.com" in textarea(page(client, "/staff/systems/warehouse/edit"), "config")

    for event in system_events("warehouse"):
        assert PASSWORD not in json.dumps(event.detail)
        assert NEW_PASSWORD not in json.dumps(event.detail)
    assert_no_secret_logged(logs, PASSWORD, NEW_PASSWORD)


def test_a_failed_database_connection_does_not_show_the_password(
    client: FlaskClient, staff: None, logs: pytest.LogCaptureFixture
) -> None:
    config = {**WAREHOUSE_CONFIG, "url": f"postgresql+psycopg://dsar:{PASSWORD}@127.0.0.1:9/w"}
    systems.create({"key": "warehouse", "name": "W", "kind": "sql", "config": config}, actor="t")
    sign_in(client, OFFICER)
    code, text = post(client, "/staff/systems/warehouse/test")
    assert code == 302
    assert "Connection failed: database error" in text
    assert "postgresql+psycopg://dsar:***@127.0.0.1:9/w" in text
    assert_no_secret_logged(logs, PASSWORD)


def test_an_invalid_edit_changes_nothing(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, ADMIN)
    crm = stored("crm")
    assert crm is not None
    before = (crm.name, crm.config)
    shown = textarea(page(client, "/staff/systems/crm/edit"), "config")
    broken = shown.replace('"match"', '"matches"')
    code, text = post(client, "/staff/systems/crm/edit", form_data(client, broken, name="X"))
    assert code == 422
    assert "unknown setting &#39;matches&#39;; known settings:" in text
    code, text = post(client, "/staff/systems/crm/edit", form_data(client, "{", name="X"))
    assert code == 422
    assert "Not valid JSON: line 1 column 2" in text
    crm = stored("crm")
    assert crm is not None
    assert (crm.name, crm.config) == before
    assert [e.action for e in system_events("crm")] == []


# -- disabling -----------------------------------------------------------------------------


def test_a_disabled_system_gets_no_tasks_until_enabled_again(
    client: FlaskClient, staff: None, demo_systems: list[str], api_key: str
) -> None:
    key = api_keys.find(api_key)
    assert key is not None

    def systems_of_a_new_request() -> set[str]:
        sub = intake.Submission(
            kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
        )
        req = intake.submit(sub, channel="api", api_key=key, identity_verified=True).request
        return {t.system.key for t in req.tasks}

    sign_in(client, ADMIN)
    code, text = post(client, "/staff/systems/newsletter/disable")  # what it does, first
    assert code == 200
    assert "New requests create no task for Newsletter (mailing lists)." in text
    assert systems.get("newsletter").enabled  # nothing changed yet
    confirmed = {"csrf_token": token(client), "confirmed": "yes"}
    code, text = post(client, "/staff/systems/newsletter/disable", confirmed)
    assert code == 302
    assert "is disabled: new requests will not reach it" in text
    assert 'class="badge disabled"' in text
    newsletter = stored("newsletter")
    assert newsletter is not None and not newsletter.enabled
    assert systems_of_a_new_request() == {"crm", "shop", "helpdesk", "events"}

    code, text = post(client, "/staff/systems/newsletter/enable")
    assert "is enabled: new requests will reach it" in text
    assert systems_of_a_new_request() == {"crm", "shop", "newsletter", "helpdesk", "events"}
    actions = [(e.action, e.detail["fields"]) for e in system_events("newsletter")]
    assert actions == [("system_disabled", ["enabled"]), ("system_enabled", ["enabled"])]

    # Enabling an enabled system records nothing.
    newsletter = stored("newsletter")
    assert newsletter is not None
    assert systems.set_enabled(newsletter, True, actor="cli") is False
    assert len(system_events("newsletter")) == 2


# -- testing a connection ------------------------------------------------------------------


def test_testing_connections(client: FlaskClient, staff: None, demo_systems: list[str]) -> None:
    systems.create(
        {
            "key": "offline",
            "name": "Offline API",
            "kind": "http",
            "config": {"base_url": "http://127.0.0.1:9", "locate": {"path": "/search"}},
        },
        actor="cli",
    )
    sign_in(client, ADMIN)
    code, text = post(client, "/staff/systems/crm/test")
    assert code == 302
    assert re.search(r"Connection OK in \d+\.\d\d s: a search for a test address found 0", text)

    code, text = post(client, "/staff/systems/events/test")
    assert "Connection OK" in text and "columns: " in text

    resp = client.post(
        "/staff/systems/offline/test", data={"csrf_token": token(client), "back": "edit"}
    )
    assert resp.headers["Location"].endswith("/staff/systems/offline/edit")
    text = page(client, resp.headers["Location"])
    assert "Connection failed: cannot reach 127.0.0.1:9/search" in text

    check = systems.test_connection(stored("crm"))  # type: ignore[arg-type]
    assert check.ok and check.elapsed >= 0


def test_the_help_desk_connection_is_tested_with_its_token(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, OFFICER)
    code, text = post(client, "/staff/systems/helpdesk/test")
    assert code == 302
    assert "Connection OK" in text


# -- who may do what -----------------------------------------------------------------------


def test_an_officer_lists_and_tests_but_cannot_change(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, OFFICER)
    text = page(client, "/staff/systems")
    assert "Test connection" in text
    assert "Add a system" not in text
    assert "/staff/systems/crm/edit" not in text
    code, text = post(client, "/staff/systems/crm/test")
    assert code == 302 and "Connection OK" in text
    page(client, "/staff/systems/new", 403)
    page(client, "/staff/systems/crm/edit", 403)
    data = form_data(client, HTTP_CONFIG, key="billing", kind="http")
    assert post(client, "/staff/systems/new", data)[0] == 403
    assert post(client, "/staff/systems/crm/edit", form_data(client, {}, kind="manual"))[0] == 403
    assert post(client, "/staff/systems/crm/disable")[0] == 403
    assert post(client, "/staff/systems/crm/enable")[0] == 403
    crm = stored("crm")
    assert crm is not None and crm.enabled and crm.kind is SystemKind.SQL
    assert stored("billing") is None


def test_an_auditor_only_reads(client: FlaskClient, staff: None, demo_systems: list[str]) -> None:
    sign_in(client, AUDITOR)
    text = page(client, "/staff/systems")
    assert "Test connection" not in text
    page(client, "/staff/systems/new", 403)
    page(client, "/staff/systems/crm/edit", 403)
    for action in ("crm/test", "crm/disable", "crm/enable"):
        assert post(client, f"/staff/systems/{action}")[0] == 403, action
    data = form_data(client, HTTP_CONFIG, key="billing", kind="http")
    assert post(client, "/staff/systems/new", data)[0] == 403
    assert post(client, "/staff/systems/crm/edit", form_data(client, {}, kind="manual"))[0] == 403
    crm = stored("crm")
    assert crm is not None and crm.enabled and crm.kind is SystemKind.SQL
    assert stored("billing") is None


def test_an_unknown_system_is_404(client: FlaskClient, staff: None) -> None:
    sign_in(client, ADMIN)
    page(client, "/staff/systems/nope/edit", 404)
    assert post(client, "/staff/systems/nope/test")[0] == 404


# -- the service and the TOML file ----------------------------------------------------------


def test_masking() -> None:
    assert system_secrets.mask_url(WAREHOUSE_URL) == MASKED_URL
    assert system_secrets.mask_url("sqlite:///${DSAR_DEMO_DIR}/crm.db") == (
        "sqlite:///${DSAR_DEMO_DIR}/crm.db"
    )
    assert system_secrets.mask_url("mysql://u:p%40ss:w0rd@h/d") == "mysql://u:***@h/d"
    assert system_secrets.mask_url("postgresql://u@h/d?sslmode=require&password=x&token=") == (
        "postgresql://u@h/d?sslmode=require&password=***&token="
    )
    assert system_secrets.scrub("bad password pa55 for u", {"url": "pg://u:pa55@h/d"}) == (
        "bad password *** for u"
    )


def test_the_systems_file_refuses_literal_secrets_too(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "systems.toml"
    path.write_text(
        '[[system]]\nkey = "api"\nname = "API"\nkind = "http"\n'
        '[system.config]\nbase_url = "https://x.example"\ntoken = "abc"\n'
        '[system.config.locate]\npath = "/s"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match=r"system #1 \(api\): 'token' holds a literal"):
        registry.load_file(path)
    assert stored("api") is None


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        ("[1]", "The words for the person must be a JSON object"),
        ('{"places": {"orders": ""}}', "&#39;places.orders&#39; must be text of 1 to 500"),
        ('{"fields": {"paid": {"yes": "Paid"}}}', "must be text, or a table with label"),
        ('{"fields": {"paid": 1}}', "&#39;fields.paid&#39; must be text"),
        ('{"erase": "' + "x" * 501 + '"}', "&#39;erase&#39; must be text of 1 to 500"),
        ('{"colours": {}}', "unknown key &#39;colours&#39;"),
        ('{"places": [1]}', "&#39;places&#39; must be a table of names"),
        ('{"places": {', "Not valid JSON"),
    ],
)
def test_bad_labels_are_refused_next_to_the_field_and_store_nothing(
    client: FlaskClient, staff: None, demo_systems: list[str], labels: str, said: str
) -> None:
    sign_in(client, ADMIN)
    before = system_count()
    data = form_data(client, {"instructions": "Look in the binders."}, kind="manual")
    code, text = post(client, "/staff/systems/new", {**data, "key": "paper", "labels": labels})
    assert code == 422
    assert said in text
    assert system_count() == before


def test_labels_reach_the_registry_as_given(
    client: FlaskClient, staff: None, demo_systems: list[str]
) -> None:
    sign_in(client, ADMIN)
    labels = {
        "places": {"binders": "Your paper files"},
        "fields": {"paid": {"label": "Paid", "yes": "paid", "no": "not yet paid"}},
        "erase": "Your paper files are shredded.",
    }
    data = form_data(client, {"instructions": "Look in the binders."}, kind="manual")
    code, text = post(
        client, "/staff/systems/new", {**data, "key": "paper", "labels": json.dumps(labels)}
    )
    assert code == 302, text
    assert stored("paper").labels == labels
