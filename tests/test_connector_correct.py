"""The `correct` action on every automated connector kind: the new value lands in exactly the
person's records (found by the old values), a search by the new values finds it, `changed`
and `not_held` say where it went and what the system lacks, receipts and errors name places,
columns and counts but never values, a refused value changes nothing, and bad settings are
refused in words."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import tomllib
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dsar.connectors import (
    CORRECTABLE_FIELDS,
    Connector,
    Identity,
    Outcome,
    connector_for,
    validate_config,
)
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind
from tests.conftest import HELPDESK_TOKEN

ROOT = Path(__file__).resolve().parents[1]
OLD_PHONE = "+44 20 7946 0958"
JANE = Identity(email="jane.doe@example.com", phone=OLD_PHONE, name="Jane Doe")
NEW_PHONE = "+442079460000"
SECRETS = (OLD_PHONE, "7946", "jane.doe", "Jane", "Manchester", "M1 1AA", "taken@example.com")


def no_values(outcome: Outcome) -> None:
    """Receipts and the change list hold names and counts, never a person's values."""
    text = json.dumps([outcome.receipts, outcome.changed, outcome.not_held])
    for value in SECRETS:
        assert value not in text


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


# --- sql ----------------------------------------------------------------------------------


def sqlite_db(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT UNIQUE, full_name TEXT,
                phone TEXT, city TEXT CHECK (length(city) <= 20), postcode TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER,
                contact_phone TEXT, item TEXT);
            CREATE TABLE invoices (id INTEGER PRIMARY KEY, billing_email TEXT, name TEXT);
            INSERT INTO customers VALUES
                (1, 'jane.doe@example.com', 'Jane Doe', '+44 20 7946 0958', 'London', 'EC1A 1BB'),
                (2, 'sam.roe@example.com', 'Sam Roe', '+44 20 7946 1111', 'Leeds', 'LS1 1AA'),
                (3, 'taken@example.com', 'Taken', '', '', '');
            INSERT INTO orders VALUES (1, 1, '+44 20 7946 0958', 'jumper'),
                (2, 1, '+44 20 7946 0958', 'belt'), (3, 2, '+44 20 7946 1111', 'scarf');
            INSERT INTO invoices VALUES (1, 'jane.doe@example.com', 'Jane Doe');
            """
        )
    return f"sqlite:///{path}"


def sql_config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "tables": [
            {
                "name": "customers",
                "match": {"email": "email", "phone": "phone"},
                "correct": {
                    "full_name": "name",
                    "phone": "phone",
                    "city": "city",
                    "email": "email",
                },
            },
            {
                "name": "orders",
                "via": {"table": "customers", "column": "customer_id"},
                "correct": {"contact_phone": "phone"},  # a linked table may be corrected too
            },
            {
                "name": "invoices",
                "match": {"billing_email": "email"},
                "retain": {"reason": "tax law", "citation": "HGB s.257"},
            },
        ],
    }


@pytest.fixture
def shop(tmp_path: Path) -> tuple[SqlConnector, Path]:
    path = tmp_path / "shop.db"
    return SqlConnector(sql_config(sqlite_db(path)), settings={}, timeout=5), path


def test_sql_correct_writes_only_the_persons_rows_and_a_search_finds_the_new_value(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    others = "SELECT id, email, full_name, phone, city FROM customers WHERE id != 1"
    before = rows(path, others)
    outcome = connector.correct(JANE, {"phone": NEW_PHONE, "city": "Manchester", "postcode": "M1"})
    assert rows(path, "SELECT phone, city, postcode FROM customers WHERE id = 1") == [
        (NEW_PHONE, "Manchester", "EC1A 1BB")  # postcode is not mapped: not touched
    ]
    assert rows(path, "SELECT id, contact_phone FROM orders ORDER BY id") == [
        (1, NEW_PHONE),
        (2, NEW_PHONE),
        (3, "+44 20 7946 1111"),
    ]
    assert rows(path, others) == before
    assert rows(path, "SELECT name FROM invoices") == [("Jane Doe",)]  # legal records stay
    assert outcome.found == 4  # her account, her two orders and her (retained) invoice
    assert sorted(outcome.changed, key=lambda c: (c["place"], c["field"])) == [
        {"place": "customers", "field": "city", "column": "city", "count": 1},
        {"place": "customers", "field": "phone", "column": "phone", "count": 1},
        {"place": "orders", "field": "phone", "column": "contact_phone", "count": 2},
    ]
    assert outcome.not_held == ["postcode"]
    assert "customers: phone changed on 1 row(s)" in outcome.receipts
    assert "orders: phone changed on 2 row(s)" in outcome.receipts
    assert "holds no postcode; nothing to change" in outcome.receipts
    assert outcome.as_json()["changed"] == outcome.changed
    assert outcome.as_json()["not_held"] == ["postcode"]
    no_values(outcome)

    after = connector.locate(Identity(email="", phone=NEW_PHONE))
    assert [r["id"] for r in after.records["customers"]] == [1]
    assert after.records["customers"][0]["city"] == "Manchester"
    assert connector.locate(Identity(email="", phone=OLD_PHONE)).found == 0


def test_sql_correct_of_the_email_is_found_by_the_new_email_and_is_idempotent(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    first = connector.correct(JANE, {"email": "jane@example.org", "name": "Jane Q. Doe"})
    assert {(c["field"], c["count"]) for c in first.changed} == {("email", 1), ("name", 1)}
    moved = Identity(email="jane@example.org")
    assert connector.locate(moved).records["customers"][0]["full_name"] == "Jane Q. Doe"
    dump = rows(path, "SELECT * FROM customers ORDER BY id")
    again = connector.correct(moved, {"email": "jane@example.org", "name": "Jane Q. Doe"})
    assert rows(path, "SELECT * FROM customers ORDER BY id") == dump
    assert again.found == 3  # her account and two orders: the invoice keeps the old email


def test_sql_correct_for_someone_unknown_changes_nothing(shop: tuple[SqlConnector, Path]) -> None:
    connector, path = shop
    before = rows(path, "SELECT * FROM customers")
    outcome = connector.correct(Identity(email="nobody@example.com"), {"phone": NEW_PHONE})
    assert (outcome.found, outcome.changed, outcome.not_held) == (0, [], [])
    assert outcome.receipts == ["no records held; nothing to change"]
    assert rows(path, "SELECT * FROM customers") == before


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"phone": NEW_PHONE, "email": "taken@example.com"}, "email"),  # UNIQUE
        ({"phone": NEW_PHONE, "city": "M" * 21}, "city"),  # CHECK
    ],
)
def test_sql_correct_that_the_database_refuses_changes_nothing(
    shop: tuple[SqlConnector, Path], changes: dict[str, str], column: str
) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    # The orders come first here, so their UPDATE has run when the customers' row fails:
    # the whole correction rolls back, theirs too.
    customers, orders, invoices = config["tables"]
    orders = {"name": "orders", "match": {"customer_id": "customer_id"}, **orders}
    del orders["via"]
    config["tables"] = [orders, customers, invoices]
    connector = SqlConnector(config, settings={}, timeout=5)
    who = Identity(email=JANE.email, extra={"customer_id": ("1",)})
    everything = "SELECT * FROM customers", "SELECT * FROM orders"
    before = [rows(path, sql) for sql in everything]
    with pytest.raises(ConnectorError) as refused:
        connector.correct(who, changes)
    message = str(refused.value)
    assert message.startswith("table customers: the database refused the new value")
    assert column in message and "nothing was changed" in message
    for value in (*changes.values(), OLD_PHONE, JANE.email):
        assert value not in message
    assert [rows(path, sql) for sql in everything] == before
    assert connector.correct(who, {"phone": NEW_PHONE}).changed[0]["place"] == "orders"


def test_sql_correct_refuses_bad_changes_before_touching_the_database(tmp_path: Path) -> None:
    connector = SqlConnector(
        sql_config(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"), settings={}, timeout=5
    )
    with pytest.raises(ConnectorError, match="at least one change"):
        connector.correct(JANE, {})
    with pytest.raises(ConnectorError, match="'salary' is not a field a correction can change"):
        connector.correct(JANE, {"salary": "1"})
    with pytest.raises(ConnectorError, match="the new phone must be non-empty text"):
        connector.correct(JANE, {"phone": "  "})


def test_sql_system_without_correct_settings_says_so_and_counts_the_person(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    for spec in config["tables"]:
        spec.pop("correct", None)
    before = rows(path, "SELECT * FROM customers")
    outcome = SqlConnector(config, settings={}, timeout=5).correct(
        JANE, {"phone": NEW_PHONE, "city": "Leeds"}
    )
    assert outcome.found == 4
    assert outcome.changed == []
    assert outcome.not_held == ["phone", "city"]
    assert outcome.receipts == ["no correctable fields configured; nothing changed"]
    assert rows(path, "SELECT * FROM customers") == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["tables"][0].update(correct={"phone": "mobile"}), "'mobile' is not a field"),
        (
            lambda c: c["tables"][2].update(correct={"name": "name"}),
            "table 'invoices': a retained table is a legal record",
        ),
        (lambda c: c["tables"][0].update(correct={"full name": "name"}), "not a plain column"),
        (lambda c: c["tables"][0].update(correct={"x; DROP": "name"}), "not a plain column"),
        (lambda c: c["tables"][0].update(correct={}), "'correct' must map columns"),
        (lambda c: c["tables"][0].update(correct=["phone"]), "'correct' must map columns"),
        (lambda c: c.update(correct={"phone": "phone"}), "unknown setting 'correct'"),
    ],
)
def test_bad_sql_correct_settings_are_refused_in_words(change: Any, message: str) -> None:
    config = sql_config("sqlite:///unused.db")
    change(config)
    with pytest.raises(ConnectorError, match=message):
        validate_config(SystemKind.SQL, config)


def test_every_correctable_field_is_accepted_in_settings() -> None:
    config = sql_config("sqlite:///unused.db")
    config["tables"][0]["correct"] = {f"col_{f}": f for f in CORRECTABLE_FIELDS}
    validate_config(SystemKind.SQL, config)
    assert CORRECTABLE_FIELDS == (
        "name",
        "given_name",
        "family_name",
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "country",
    )


# --- csv ----------------------------------------------------------------------------------


def write_sheet(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["event", "Full Name", "email", "phone"])
        writer.writerow(["Spring", "Jane Doe", "jane.doe@example.com", OLD_PHONE])
        writer.writerow(["Spring", "Sam Roe", "sam.roe@example.com", "+44 20 7946 1111"])
        writer.writerow(["Autumn", "Jane Doe", "Jane.Doe@example.com ", OLD_PHONE])


def sheet_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def sheet(path: Path, **extra: Any) -> CsvConnector:
    config = {"path": str(path), "match": {"email": "email"}, **extra}
    return CsvConnector(config, settings={}, timeout=5)


def test_csv_correct_rewrites_only_the_persons_rows(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    connector = sheet(path, correct={"Full Name": "name", "email": "email"})
    outcome = connector.correct(
        JANE, {"name": "Jane Q. Doe", "email": "jane@example.org", "phone": NEW_PHONE}
    )
    assert [(r["Full Name"], r["email"], r["phone"]) for r in sheet_rows(path)] == [
        ("Jane Q. Doe", "jane@example.org", OLD_PHONE),  # phone is not mapped: not touched
        ("Sam Roe", "sam.roe@example.com", "+44 20 7946 1111"),
        ("Jane Q. Doe", "jane@example.org", OLD_PHONE),
    ]
    assert outcome.found == 2
    assert outcome.changed == [
        {"place": "events.csv", "field": "name", "column": "Full Name", "count": 2},
        {"place": "events.csv", "field": "email", "column": "email", "count": 2},
    ]
    assert outcome.not_held == ["phone"]
    assert "holds no phone; nothing to change" in outcome.receipts
    no_values(outcome)
    assert connector.locate(Identity(email="jane@example.org")).found == 2
    assert connector.locate(JANE).found == 0
    before = path.stat().st_mtime_ns, path.stat().st_ino
    again = connector.correct(Identity(email="jane@example.org"), {"name": "Jane Q. Doe"})
    assert again.found == 2
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before  # nothing left to write


def test_csv_correct_without_settings_or_rows_says_so(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    text = path.read_text(encoding="utf-8")
    plain = sheet(path).correct(JANE, {"name": "Jane Q. Doe"})
    assert (plain.found, plain.changed, plain.not_held) == (2, [], ["name"])
    assert plain.receipts == ["no correctable fields configured; nothing changed"]
    nobody = sheet(path, correct={"Full Name": "name"}).correct(
        Identity(email="nobody@example.com"), {"name": "X"}
    )
    assert (nobody.found, nobody.changed, nobody.not_held) == (0, [], [])
    assert nobody.receipts == ["no rows held; nothing to change"]
    with pytest.raises(ConnectorError, match="spreadsheet has no column 'surname'"):
        sheet(path, correct={"surname": "family_name"}).correct(JANE, {"family_name": "Roe"})
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("correct", "message"),
    [
        ({"phone": "mobile"}, "'mobile' is not a field"),
        ({"": "name"}, "is not a column header"),
        ({}, "'correct' must map columns"),
        ("name", "'correct' must map columns"),
    ],
)
def test_bad_csv_correct_settings_are_refused(correct: Any, message: str) -> None:
    with pytest.raises(ConnectorError, match=message):
        validate_config(
            SystemKind.CSV, {"path": "x.csv", "match": {"email": "email"}, "correct": correct}
        )


# --- http ---------------------------------------------------------------------------------


def demo_config(key: str) -> dict[str, Any]:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    return next(s for s in data["system"] if s["key"] == key)


def demo_helpdesk(helpdesk_url: str, **changes: Any) -> HttpConnector:
    config = {**demo_config("helpdesk")["config"], **changes}
    return HttpConnector(
        {k: v for k, v in config.items() if v is not None},
        settings={"DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
    )


def helpdesk_customers(demo_dir: Path) -> list[tuple[Any, ...]]:
    return rows(demo_dir / "helpdesk.db", "SELECT * FROM customers ORDER BY id")


def test_http_correct_changes_jane_at_the_demo_help_desk_only(
    helpdesk_url: str, demo_dir: Path
) -> None:
    desk = demo_helpdesk(helpdesk_url)
    before = [r for r in helpdesk_customers(demo_dir) if r[1] != JANE.email]
    outcome = desk.correct(JANE, {"phone": NEW_PHONE, "name": "Jane Q. Doe", "street": "1 Road"})
    assert outcome.found == 1
    assert outcome.changed == [
        {"place": "customer", "field": "phone", "column": "phone", "count": 1},
        {"place": "customer", "field": "name", "column": "name", "count": 1},
    ]
    assert outcome.not_held == ["street"]
    assert outcome.receipts == [
        "/api/v1/corrections: correction confirmed for 1 record(s)",
        "customer: phone changed on 1 row(s)",
        "customer: name changed on 1 row(s)",
        "holds no street; nothing to change",
    ]
    no_values(outcome)
    customer = desk.locate(JANE).records["customer"][0]
    assert (customer["phone"], customer["name"]) == (NEW_PHONE, "Jane Q. Doe")
    assert [r for r in helpdesk_customers(demo_dir) if r[1] != JANE.email] == before

    moved = desk.correct(JANE, {"email": "jane@example.org"})
    assert moved.changed[0]["count"] == 1
    assert desk.locate(JANE).found == 0
    assert desk.locate(Identity(email="jane@example.org")).records["customer"][0]["phone"] == (
        NEW_PHONE
    )


def test_http_correct_of_fields_the_service_lacks_calls_nothing_but_the_search(
    helpdesk_url: str, demo_dir: Path
) -> None:
    before = helpdesk_customers(demo_dir)
    lacking = demo_helpdesk(helpdesk_url).correct(JANE, {"street": "1 Road", "city": "Leeds"})
    assert (lacking.found, lacking.changed, lacking.not_held) == (3, [], ["street", "city"])
    assert lacking.receipts == [
        "holds no street; nothing to change",
        "holds no city; nothing to change",
    ]
    plain = demo_helpdesk(helpdesk_url, correct=None).correct(JANE, {"phone": NEW_PHONE})
    assert (plain.found, plain.changed, plain.not_held) == (3, [], ["phone"])
    assert plain.receipts == ["no correctable fields configured; nothing changed"]
    assert helpdesk_customers(demo_dir) == before


def test_http_correct_that_the_service_refuses_is_a_connector_error(
    helpdesk_url: str, demo_dir: Path
) -> None:
    taken = next(r[1] for r in helpdesk_customers(demo_dir) if r[1] != JANE.email)
    before = helpdesk_customers(demo_dir)
    with pytest.raises(ConnectorError) as refused:
        demo_helpdesk(helpdesk_url).correct(JANE, {"email": taken})
    assert taken not in str(refused.value)
    assert helpdesk_customers(demo_dir) == before


class Recorder(BaseHTTPRequestHandler):
    """A service that records what it is sent and says two records changed."""

    seen: list[Any] = []

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        Recorder.seen.append((self.command, self.path, json.loads(self.rfile.read(length))))
        answer = json.dumps({"result": {"changed": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_http_correct_body_is_the_identity_body_plus_the_listed_changes(recorder: str) -> None:
    connector = HttpConnector(
        {
            "base_url": recorder,
            "identifiers": ["customer_id"],
            "locate": {"path": "/search", "records": ["data.people"]},
            "correct": {
                "path": "/fix",
                "method": "PUT",
                "fields": ["phone", "postcode"],
                "count": "result.changed",
                "params": {"source": "dsar"},
            },
        },
        settings={},
        timeout=5,
    )
    who = Identity(email=JANE.email, phone=OLD_PHONE, extra={"customer_id": ("7",)})
    outcome = connector.correct(who, {"phone": NEW_PHONE, "name": "Jane Q. Doe"})
    assert Recorder.seen == [
        (
            "PUT",
            "/fix",
            {
                "source": "dsar",
                "email": JANE.email,
                "phone": "+442079460958",  # the old phone finds the records
                "customer_id": ["7"],
                "changes": {"phone": NEW_PHONE},  # name is not listed in fields
            },
        )
    ]
    assert outcome.found == 2  # the answer's count
    assert outcome.changed == [{"place": "people", "field": "phone", "column": "phone", "count": 2}]
    assert outcome.not_held == ["name"]


@pytest.mark.parametrize(
    ("correct", "message"),
    [
        ({"path": "/c"}, r"\[correct\]: 'fields' is required"),
        ({"path": "/c", "fields": []}, r"\[correct\]: 'fields' is required"),
        ({"path": "/c", "fields": ["mobile"]}, "'mobile' in 'fields' is not a field"),
        ({"fields": ["phone"]}, r"\[correct\]: 'path' is required"),
        ({"path": "/c", "fields": ["phone"], "method": "GET"}, "'method' must be one of"),
    ],
)
def test_bad_http_correct_settings_are_refused(correct: dict[str, Any], message: str) -> None:
    with pytest.raises(ConnectorError, match=message):
        validate_config(
            SystemKind.HTTP,
            {"base_url": "http://x", "locate": {"path": "/s"}, "correct": correct},
        )


def test_fields_belong_to_the_correct_section_only() -> None:
    with pytest.raises(ConnectorError, match=r"\[erase\]: unknown setting 'fields'"):
        validate_config(
            SystemKind.HTTP,
            {
                "base_url": "http://x",
                "locate": {"path": "/s"},
                "erase": {"path": "/e", "fields": []},
            },
        )


# --- the demo world -----------------------------------------------------------------------


AUTOMATED = ("crm", "shop", "newsletter", "helpdesk", "events")


def demo_connector(key: str, demo_dir: Path, helpdesk_url: str) -> Connector:
    system = demo_config(key)
    return connector_for(
        SystemKind(system["kind"]),
        system["config"],
        settings={"DSAR_DEMO_DIR": str(demo_dir), "DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
    )


def test_correcting_janes_phone_reaches_every_demo_system_that_holds_it(
    demo_dir: Path, helpdesk_url: str
) -> None:
    reach = {key: demo_connector(key, demo_dir, helpdesk_url) for key in AUTOMATED}
    # The CRM runs first and tells the shop which account ids are Jane's (her old one too).
    ids = reach["crm"].locate(JANE).identifiers
    jane = Identity(JANE.email, JANE.phone, JANE.name, extra={k: tuple(v) for k, v in ids.items()})
    phone_rows = "SELECT count(*) FROM {table} WHERE phone = ?"
    holding = (("crm", "contacts"), ("shop", "customers"), ("helpdesk", "customers"))

    def count(new: bool) -> list[int]:
        phone = NEW_PHONE if new else OLD_PHONE
        return [
            rows(demo_dir / f"{name}.db", phone_rows.format(table=table), (phone,))[0][0]
            for name, table in holding
        ]

    assert (count(new=True), count(new=False)) == ([0, 0, 0], [1, 2, 1])

    outcomes = {key: reach[key].correct(jane, {"phone": NEW_PHONE}) for key in AUTOMATED}
    changed = {
        key: [(c["place"], c["column"], c["count"]) for c in o.changed]
        for key, o in outcomes.items()
    }
    assert changed == {
        "crm": [("contacts", "phone", 1)],
        "shop": [("customers", "phone", 2)],  # her account and her old one, linked by the CRM
        "newsletter": [],
        "helpdesk": [("customer", "phone", 1)],
        "events": [],
    }
    assert {key: o.not_held for key, o in outcomes.items()} == {
        "crm": [],
        "shop": [],
        "newsletter": ["phone"],
        "helpdesk": [],
        "events": ["phone"],
    }
    for outcome in outcomes.values():
        assert outcome.found > 0
        no_values(outcome)
    assert (count(new=True), count(new=False)) == ([1, 2, 1], [0, 0, 0])
    invoices = "SELECT count(*) FROM invoices WHERE billing_email = ?"
    assert rows(demo_dir / "shop.db", invoices, (JANE.email,)) != [(0,)]  # kept as they were

    # A search by the new phone alone finds her CRM contact again.
    found = reach["crm"].locate(Identity(email="", phone=NEW_PHONE))
    assert [r["email"] for r in found.records["contacts"]] == [JANE.email]


def test_the_demo_systems_map_what_they_really_hold() -> None:
    held = {}
    for key in AUTOMATED:
        config = demo_config(key)["config"]
        if "tables" in config:
            held[key] = {
                t["name"]: set(t.get("correct", {}).values())
                for t in config["tables"]
                if t.get("correct")
            }
        elif "fields" in config.get("correct", {}):
            held[key] = {"customer": set(config["correct"]["fields"])}
        else:
            held[key] = {"events.csv": set(config["correct"].values())}
    assert held == {
        "crm": {"contacts": {"given_name", "family_name", "email", "phone", "city", "country"}},
        "shop": {"customers": {"name", "email", "phone", "street", "postcode", "city", "country"}},
        "newsletter": {"subscribers": {"email", "given_name"}},
        "helpdesk": {"customer": {"name", "email", "phone"}},
        "events": {"events.csv": {"name", "email"}},
    }
