"""Connectors against the demo world: what they find, erase and refuse."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dsar.connectors import Identity, Outcome, connector_for, dependencies, validate_config
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind

JANE = Identity(email="  Jane.Doe@Example.com ", phone="+44 20 7946 0958", name="Jane Doe")
SHOP = {
    "url": "sqlite:///${DSAR_DEMO_DIR}/shop.db",
    "tables": [
        {"name": "customers", "key": "id", "match": {"email": "email"}},
        {"name": "orders", "key": "id", "via": {"table": "customers", "column": "customer_id"}},
    ],
    "opt_out": [{"table": "customers", "set": {"sells_data_to_partners": 0}}],
}
INJECTIONS = [
    "' OR '1'='1",
    "jane.doe@example.com' OR 1=1 --",
    "x'; DROP TABLE customers; --",
    '" OR ""="',
    "%",
]


def shop(demo: Path) -> SqlConnector:
    return SqlConnector(SHOP, settings={"DSAR_DEMO_DIR": str(demo)}, timeout=5)


def digest(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    return hashlib.sha256(dump.encode()).hexdigest()


def test_sql_locate_follows_customer_id_to_orders(demo_dir: Path) -> None:
    found = shop(demo_dir).locate(JANE)
    assert [r["email"] for r in found.records["customers"]] == ["jane.doe@example.com"]
    customer_id = found.records["customers"][0]["id"]
    assert len(found.records["orders"]) == 3
    assert {r["customer_id"] for r in found.records["orders"]} == {customer_id}
    assert found.found == 4


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_payloads_as_identities_change_nothing(demo_dir: Path, payload: str) -> None:
    before = digest(demo_dir / "shop.db")
    connector = shop(demo_dir)
    who = Identity(email=payload, name=payload, phone=payload)
    assert connector.locate(who).found == 0
    assert connector.erase(who).erased == 0
    assert connector.opt_out(who).found == 0
    assert digest(demo_dir / "shop.db") == before


def test_sql_erase_twice_leaves_the_same_state_as_once(demo_dir: Path) -> None:
    first = shop(demo_dir).erase(JANE)
    assert first.erased == 4
    after_once = digest(demo_dir / "shop.db")
    second = shop(demo_dir).erase(JANE)
    assert second.erased == 0
    assert second.receipts == ["no records held; nothing to erase"]
    assert digest(demo_dir / "shop.db") == after_once


def test_sql_errors_name_the_problem_without_the_identity(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    connector = SqlConnector(
        {"url": f"sqlite:///{empty}", "tables": [{"name": "people", "match": {"email": "email"}}]},
        settings={},
        timeout=5,
    )
    with pytest.raises(ConnectorError) as caught:
        connector.locate(JANE)
    assert "no such table: people" in str(caught.value)
    assert "jane" not in str(caught.value).lower()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"tables": []}, "'url' is required"),
        (
            {
                "url": "sqlite://",
                "tables": [{"name": "t; DROP TABLE x", "match": {"email": "email"}}],
            },
            "is not a plain column or table name",
        ),
        (
            {"url": "sqlite://", "tables": [{"name": "t", "match": {"email": "e-mail"}}]},
            "identity field 'e-mail' must be one of",
        ),
        (
            {
                "url": "sqlite://",
                "tables": [{"name": "o", "via": {"table": "c", "column": "c_id"}}],
            },
            "'via.table' must name a table listed above",
        ),
        ({"url": "sqlite://", "tables": [{"name": "t"}]}, "give exactly one of 'match' or 'via'"),
        (
            {
                "url": "sqlite://",
                "tables": [{"name": "t", "match": {"email": "email"}}],
                "opt_out": [{"table": "t", "set": {}}],
            },
            "'set' must map columns to values",
        ),
    ],
)
def test_sql_config_errors_say_what_is_wrong(config: dict, message: str) -> None:
    with pytest.raises(ConnectorError, match=re.escape(message)):
        validate_config(SystemKind.SQL, config)


def test_unknown_placeholders_are_refused(demo_dir: Path) -> None:
    with pytest.raises(ConnectorError, match="unknown placeholder"):
        connector_for(
            SystemKind.SQL,
            {**SHOP, "url": "sqlite:///${HOME}/x.db"},
            settings={"DSAR_DEMO_DIR": str(demo_dir)},
            timeout=5,
        )


def events(demo: Path) -> CsvConnector:
    return CsvConnector(
        {
            "path": "${DSAR_DEMO_DIR}/events.csv",
            "match": {"email": "email"},
            "opt_out": {"marketing_consent": "no"},
        },
        settings={"DSAR_DEMO_DIR": str(demo)},
        timeout=5,
    )


def test_csv_erase_rewrites_atomically_and_keeps_everyone_else(demo_dir: Path) -> None:
    path = demo_dir / "events.csv"
    lines = path.read_text().splitlines()
    janes = [line for line in lines if "jane.doe@example.com" in line]
    assert len(janes) == 2
    result = events(demo_dir).erase(JANE)
    assert result.erased == 2
    assert path.read_text().splitlines() == [line for line in lines if line not in janes]
    assert [p.name for p in demo_dir.iterdir() if p.name.startswith(".events")] == []
    assert events(demo_dir).erase(JANE).erased == 0


def test_csv_opt_out_sets_the_column_on_the_persons_rows_only(demo_dir: Path) -> None:
    before = (demo_dir / "events.csv").read_text().splitlines()
    result = events(demo_dir).opt_out(JANE)
    assert result.found == 2
    after = (demo_dir / "events.csv").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 2
    assert all("jane.doe@example.com" in b and b.endswith(",no") for _, b in changed)


def test_csv_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=re.escape("spreadsheet events.csv not found")):
        events(tmp_path).locate(JANE)


class _Answer(BaseHTTPRequestHandler):
    status = 500

    def do_POST(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"error": "boom"}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def http(base_url: str, **extra: object) -> HttpConnector:
    config = {"base_url": base_url, "locate": {"path": "/search", "records": ["tickets"]}, **extra}
    return HttpConnector(config, settings={}, timeout=2)


def test_http_server_errors_and_refused_connections_are_connector_errors(
    failing_service: str,
) -> None:
    with pytest.raises(ConnectorError, match=r"/search answered HTTP 500"):
        http(failing_service).locate(JANE)
    with pytest.raises(ConnectorError, match=r"cannot reach 127.0.0.1:9/search"):
        http("http://127.0.0.1:9").locate(JANE)


def test_http_missing_secret_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DSAR_NOPE_TOKEN", raising=False)
    with pytest.raises(ConnectorError, match="the secret DSAR_NOPE_TOKEN is not set"):
        http("http://127.0.0.1:9", token_env="DSAR_NOPE_TOKEN").locate(JANE)


def test_http_helpdesk_finds_jane_and_erases_idempotently(
    helpdesk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSAR_HELPDESK_TOKEN", "test-helpdesk-token")
    connector = HttpConnector(
        {
            "base_url": helpdesk_url,
            "token_env": "DSAR_HELPDESK_TOKEN",
            "locate": {"path": "/api/v1/search", "records": ["customer", "tickets"]},
            "erase": {"path": "/api/v1/erase", "count": "erased"},
        },
        settings={},
        timeout=5,
    )
    found = connector.locate(JANE)
    assert len(found.records["customer"]) == 1
    assert len(found.records["tickets"]) == 2
    assert connector.erase(JANE).erased == 3
    assert connector.erase(JANE).erased == 0
    assert connector.locate(JANE).found == 0
    assert connector.opt_out(JANE).receipts == [
        "this system offers no opt-out endpoint; nothing to do"
    ]


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(415) 555-0134", "US", "+14155550134"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("not a phone", "US", ""),
        ("' OR 1=1 --", "US", ""),
        ("", "US", ""),
    ],
)
def test_identity_normalises_phones_to_e164_or_nothing(raw: str, region: str, e164: str) -> None:
    assert Identity(email="a@b.c", phone=raw, region=region).phone == e164


def test_identity_phone_variants_hold_the_usual_renderings() -> None:
    who = Identity(email=" X@Example.COM ", phone="020 7946 0958", region="GB")
    assert who.email == "x@example.com"
    variants = who.phone_variants()
    assert variants[0] == "+442079460958"
    assert {"+44 20 7946 0958", "020 7946 0958", "442079460958"} <= set(variants)
    assert Identity(email="x@example.com").phone_variants() == ()


def test_identity_values_cover_fields_and_extra_identifiers() -> None:
    who = Identity(
        email="x@example.com", name="  Jane   Doe ", extra={"customer_id": [1042, "1042", " "]}
    )
    assert who.values("email") == ("x@example.com",)
    assert who.values("name") == ("Jane Doe",)
    assert who.values("customer_id") == ("1042",)
    assert who.values("loyalty_id") == ()
    assert who.values("phone") == ()
    assert hash(who) == hash(Identity(email="x@example.com", name="Jane Doe"))


def test_outcome_json_carries_identifiers_and_what_was_kept() -> None:
    outcome = Outcome()
    outcome.add_identifiers("customer_id", [7, None, "7", 8])
    outcome.keep("invoices", 2, "tax law", "HGB s.257")
    outcome.keep("nothing", 0, "unused", "none")
    assert outcome.as_json()["identifiers"] == {"customer_id": ["7", "8"]}
    assert outcome.as_json()["kept"] == [
        {"place": "invoices", "count": 2, "reason": "tax law", "citation": "HGB s.257"}
    ]
    assert outcome.retained == 2


def test_dependencies_name_what_each_kind_needs_and_provides() -> None:
    crm = {
        "url": "sqlite://",
        "tables": [{"name": "c", "match": {"email": "email"}, "exports": {"customer_id": "sid"}}],
    }
    shop = {"url": "sqlite://", "tables": [{"name": "s", "match": {"id": "customer_id"}}]}
    helpdesk = {
        "base_url": "http://x",
        "identifiers": ["customer_id"],
        "exports": {"helpdesk_id": "customer.id"},
        "locate": {"path": "/s"},
    }
    csv_config = {"path": "/x.csv", "match": {"member": "member_id"}}
    assert dependencies(SystemKind.SQL, crm) == (frozenset(), frozenset({"customer_id"}))
    assert dependencies(SystemKind.SQL, shop) == (frozenset({"customer_id"}), frozenset())
    assert dependencies(SystemKind.HTTP, helpdesk) == (
        frozenset({"customer_id"}),
        frozenset({"helpdesk_id"}),
    )
    assert dependencies(SystemKind.CSV, csv_config) == (frozenset({"member_id"}), frozenset())
    assert dependencies(SystemKind.MANUAL, {"deadline_days": 5}) == (frozenset(), frozenset())


def test_csv_matches_phones_in_any_rendering(tmp_path: Path) -> None:
    path = tmp_path / "guests.csv"
    path.write_text(
        "name,phone\nJane,+44 20 7946 0958\nBob,020 7946 0000\nAnn,02079460958\n",
        encoding="utf-8",
    )
    connector = CsvConnector(
        {"path": str(path), "match": {"phone": "phone"}}, settings={}, timeout=5
    )
    found = connector.locate(Identity(email="", phone="020 7946 0958", region="GB"))
    assert [r["name"] for r in found.records["guests.csv"]] == ["Jane", "Ann"]
