"""The preference centre's choices on every automated connector kind: `choose(identity, choice,
opted_in)` writes what the settings say for opting out, and for opting back in, on the
person's records only; a repeat changes nothing more; a system that does not declare the
choice says so and changes nothing; an unknown choice is refused; settings that say how to
opt out but not how to opt back in (or the reverse) are refused, naming the setting to add.
The demo systems declare the choices they hold, and `declared_choices` lists them."""

from __future__ import annotations

import csv
import hashlib
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
from flask import Flask

from dsar.connectors import Identity, connector_for, declared_choices, validate_config
from dsar.connectors.base import CHOICE_KEYS, NOTHING_TO_CHOOSE
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.demo.helpdesk import create_helpdesk_app
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind
from dsar.rules import choices
from dsar.services import connections, systems
from tests.conftest import HELPDESK_TOKEN

ROOT = Path(__file__).resolve().parents[1]
JANE = Identity(email="jane.doe@example.com", phone="+44 20 7946 0958", name="Jane Doe")
NOBODY = Identity(email="nobody@example.com")
UNKNOWN = "unknown choice 'newsletter'; use one of " + ", ".join(choices.KEYS)


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


def digest(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def refusal(kind: SystemKind, config: dict[str, Any]) -> str:
    """What validation says of `config` (it must refuse it)."""
    with pytest.raises(ConnectorError) as refused:
        validate_config(kind, config)
    return str(refused.value)


def test_the_choices_and_what_a_system_without_one_says() -> None:
    assert CHOICE_KEYS == choices.KEYS
    assert NOTHING_TO_CHOOSE["email_marketing"] == (
        "holds no email_marketing setting; nothing to change"
    )


def test_declared_choices_reads_any_config_in_the_order_of_the_choices() -> None:
    config = {"choices": {"profiling": [{}], "email_marketing": {"out": {}}, "sms": {}}}
    assert declared_choices(config) == ("email_marketing", "profiling")  # sms declares nothing
    assert declared_choices({"deadline_days": 5, "instructions": "Search the boxes"}) == ()
    assert declared_choices({}) == ()
    assert declared_choices({"choices": ["email_marketing"]}) == ()


# --- sql ----------------------------------------------------------------------------------


def sqlite_db(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, marketing INTEGER,
                sells INTEGER);
            CREATE TABLE do_not_mail (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
            INSERT INTO customers (id, email, marketing, sells) VALUES
                (1, 'jane.doe@example.com', 1, 1), (2, 'sam.roe@example.com', 1, 1),
                (3, 'jane.doe@example.com', 1, 1);
            INSERT INTO do_not_mail (email) VALUES ('sam.roe@example.com');
            """
        )
    return f"sqlite:///{path}"


SUPPRESS = {"suppress": {"table": "do_not_mail", "columns": {"email": "email"}}}


def sql_config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "tables": [{"name": "customers", "match": {"email": "email"}}],
        # The opt-out request fills the same list: a later opt-in takes the person off it.
        "opt_out": [{"table": "customers", "set": {"marketing": 0}}, SUPPRESS],
        "choices": {
            "email_marketing": [
                {"table": "customers", "out": {"marketing": 0}, "in": {"marketing": 1}},
                SUPPRESS,
            ],
            "sale_sharing": [{"table": "customers", "out": {"sells": 0}, "in": {"sells": 1}}],
        },
    }


@pytest.fixture
def shop(tmp_path: Path) -> tuple[SqlConnector, Path]:
    path = tmp_path / "shop.db"
    return SqlConnector(sql_config(sqlite_db(path)), settings={}, timeout=5), path


CUSTOMERS = "SELECT id, marketing, sells FROM customers ORDER BY id"
LISTED = "SELECT email FROM do_not_mail ORDER BY email"


def test_sql_opting_out_and_back_in_changes_the_persons_rows_only_and_once(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    before = digest(path)
    out = connector.choose(JANE, "email_marketing", False)
    assert (out.found, out.receipts) == (
        2,
        ["customers: marketing = 0 on 2 row(s)", "do_not_mail: added"],
    )
    assert rows(path, CUSTOMERS) == [(1, 0, 1), (2, 1, 1), (3, 0, 1)]
    assert rows(path, LISTED) == [(JANE.email,), ("sam.roe@example.com",)]
    state = digest(path)
    again = connector.choose(JANE, "email_marketing", False)
    assert again.receipts[-1] == "do_not_mail: already listed; nothing to add"
    assert digest(path) == state  # a repeat changes nothing more

    back = connector.choose(JANE, "email_marketing", True)
    assert (back.found, back.receipts) == (
        2,
        ["customers: marketing = 1 on 2 row(s)", "do_not_mail: removed"],
    )
    assert digest(path) == before  # Sam stays listed: only Jane was taken off
    again = connector.choose(JANE, "email_marketing", True)
    assert again.receipts[-1] == "do_not_mail: not listed; nothing to remove"
    assert digest(path) == before


def test_sql_each_choice_changes_its_own_columns(shop: tuple[SqlConnector, Path]) -> None:
    connector, path = shop
    out = connector.choose(JANE, "sale_sharing", False)
    assert (out.found, out.receipts) == (2, ["customers: sells = 0 on 2 row(s)"])
    assert rows(path, CUSTOMERS) == [(1, 1, 0), (2, 1, 1), (3, 1, 0)]
    assert rows(path, LISTED) == [("sam.roe@example.com",)]
    connector.choose(JANE, "sale_sharing", True)
    assert rows(path, CUSTOMERS) == [(1, 1, 1), (2, 1, 1), (3, 1, 1)]


def test_sql_opting_in_takes_the_person_off_a_list_their_opt_out_request_filled(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    connector.opt_out(JANE)
    assert (JANE.email,) in rows(path, LISTED)
    back = connector.choose(JANE, "email_marketing", True)  # not refused, unlike a lift
    assert back.receipts[-1] == "do_not_mail: removed"
    assert rows(path, LISTED) == [("sam.roe@example.com",)]


def test_sql_an_undeclared_choice_changes_nothing_and_an_unknown_one_is_refused(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    state = digest(path)
    for opted_in in (False, True):
        outcome = connector.choose(JANE, "sms", opted_in)
        assert (outcome.found, outcome.receipts) == (
            0,
            ["holds no sms setting; nothing to change"],
        )
        with pytest.raises(ConnectorError) as refused:
            connector.choose(JANE, "newsletter", opted_in)
        assert str(refused.value) == UNKNOWN
    nobody = connector.choose(NOBODY, "email_marketing", True)
    assert nobody.found == 0
    assert digest(path) == state


def test_sql_a_failing_choice_rolls_back_every_rule(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    config = sql_config(sqlite_db(path))
    config["choices"]["email_marketing"][1] = {
        "suppress": {"table": "no_such_table", "columns": {"email": "email"}}
    }
    connector = SqlConnector(config, settings={}, timeout=5)
    state = digest(path)
    with pytest.raises(ConnectorError, match="no_such_table"):
        connector.choose(JANE, "email_marketing", False)
    assert digest(path) == state  # the customers' columns were rolled back with it


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            {"newsletter": [{"table": "customers", "out": {"a": 0}, "in": {"a": 1}}]},
            "sql system: unknown choice 'newsletter' in 'choices'; known choices: "
            + ", ".join(choices.KEYS),
        ),
        (
            {"email_marketing": [{"table": "customers", "out": {"marketing": 0}}]},
            "choices.email_marketing: 'in' is required (how opting back in changes the data);"
            " add in = { column = value }",
        ),
        (
            {"sms": [{"table": "customers", "in": {"marketing": 1}}]},
            "choices.sms: 'out' is required (how opting out changes the data); add"
            " out = { column = value }",
        ),
        (
            {"sms": [{"table": "customers", "set": {"marketing": 0}}]},
            "choices.sms: 'out' is required",
        ),
        (
            {"sms": [{"table": "customers", "out": {"a": 0}, "in": {"a": 1}, "set": {}}]},
            "choices.sms: unknown setting 'set'; known settings: in, out, table",
        ),
        (
            {"sms": [{"table": "orders", "out": {"a": 0}, "in": {"a": 1}}]},
            "choices.sms: 'table' must name a table listed in 'tables'",
        ),
        (
            {"sms": [{"table": "customers", "out": {"a b": 0}, "in": {"a": 1}}]},
            "choices.sms: 'a b' is not a plain column or table name",
        ),
        (
            {"sms": [{"table": "customers", "out": {"a": 0}, "in": {"a": [1]}}]},
            "choices.sms: in.a must be text, a number or true/false",
        ),
        (
            {"sms": [{"table": "customers", "out": {}, "in": {"a": 1}}]},
            "choices.sms: 'out' must map columns to values",
        ),
        ({"sms": []}, "choices.sms: must be a list of rules ([[choices.sms]])"),
        ({"sms": {"out": {}, "in": {}}}, "choices.sms: must be a list of rules"),
        ({"sms": [{"out": {"a": 0}, "in": {"a": 1}}]}, "choices.sms: each rule needs either"),
        (
            {"sms": [{**SUPPRESS, "in": {"a": 1}}]},
            "choices.sms: unknown setting 'in'; known settings: suppress",
        ),
        (
            {"sms": [{"suppress": {"table": "x", "columns": {"email": "customer_id"}}}]},
            "choices.sms suppress: 'columns' may only hold email, phone or name",
        ),
        ("email_marketing", "sql system: 'choices' must be a table keyed by choice"),
    ],
)
def test_bad_sql_choice_settings_are_refused_in_words(declared: Any, message: str) -> None:
    config = sql_config("sqlite:///unused.db")
    config["choices"] = declared
    assert message in refusal(SystemKind.SQL, config)


# --- csv ----------------------------------------------------------------------------------


def write_sheet(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "marketing_consent", "note"])
        writer.writerow(["Jane Doe", "jane.doe@example.com", "yes", ""])
        writer.writerow(["Sam Roe", "sam.roe@example.com", "yes", ""])
        writer.writerow(["Jane Doe", "JANE.DOE@example.com", "yes", ""])


CSV_CHOICES = {
    "email_marketing": {
        "out": {"marketing_consent": "no", "note": "opted out"},
        "in": {"marketing_consent": "yes", "note": ""},
    }
}


def csv_config(path: Path, **settings: Any) -> dict[str, Any]:
    config = {"path": str(path), "match": {"email": "email"}, "choices": CSV_CHOICES, **settings}
    return {k: v for k, v in config.items() if v is not None}


def consents(path: Path) -> list[tuple[str, str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [(r["email"], r["marketing_consent"], r["note"]) for r in csv.DictReader(fh)]


def test_csv_opting_out_and_back_in_rewrites_the_persons_rows_only_and_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    original = path.read_text()
    connector = CsvConnector(csv_config(path), settings={}, timeout=5)
    for opted_in, receipt, cells in (
        (False, "marketing_consent = 'no', note = 'opted out' on 2 row(s)", ("no", "opted out")),
        (True, "marketing_consent = 'yes', note = '' on 2 row(s)", ("yes", "")),
    ):
        outcome = connector.choose(JANE, "email_marketing", opted_in)
        assert (outcome.found, outcome.receipts) == (2, [receipt])
        assert consents(path) == [
            ("jane.doe@example.com", *cells),
            ("sam.roe@example.com", "yes", ""),
            ("JANE.DOE@example.com", *cells),
        ]
        stamp = path.stat().st_mtime_ns, path.stat().st_ino
        again = connector.choose(JANE, "email_marketing", opted_in)
        assert (again.found, again.receipts) == (2, [receipt])
        assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp  # nothing left to write
    assert path.read_text() == original


def test_csv_an_undeclared_choice_changes_nothing_and_an_unknown_one_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    original = path.read_text()
    connector = CsvConnector(csv_config(path), settings={}, timeout=5)
    bare = CsvConnector(csv_config(path, choices=None), settings={}, timeout=5)
    for opted_in in (False, True):
        for system in (connector, bare):
            outcome = system.choose(JANE, "targeted_ads", opted_in)
            assert (outcome.found, outcome.receipts) == (0, [NOTHING_TO_CHOOSE["targeted_ads"]])
            with pytest.raises(ConnectorError) as refused:
                system.choose(JANE, "newsletter", opted_in)
            assert str(refused.value) == UNKNOWN
        assert bare.choose(JANE, "email_marketing", opted_in).receipts == [
            NOTHING_TO_CHOOSE["email_marketing"]
        ]
    missing = {"sms": {"out": {"sms_ok": "no"}, "in": {"sms_ok": "yes"}}}
    with pytest.raises(ConnectorError, match="spreadsheet has no column 'sms_ok'"):
        CsvConnector(csv_config(path, choices=missing), settings={}, timeout=5).choose(
            JANE, "sms", False
        )
    assert path.read_text() == original


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            {"newsletter": CSV_CHOICES["email_marketing"]},
            "csv system: unknown choice 'newsletter' in 'choices'; known choices: "
            + ", ".join(choices.KEYS),
        ),
        (
            {"sms": {"out": {"sms_ok": "no"}}},
            "csv system: choices.sms: 'in' is required (how opting back in changes the data);"
            ' add in = { column = "value" }',
        ),
        (
            {"sms": {"in": {"sms_ok": "yes"}}},
            "csv system: choices.sms: 'out' is required (how opting out changes the data); add"
            ' out = { column = "value" }',
        ),
        (
            {"sms": {"out": {"a": "no"}, "in": {"a": "yes"}, "lift": {"a": "x"}}},
            "csv system: choices.sms: unknown setting 'lift'; known settings: in, out",
        ),
        ({"sms": {"out": {"a": 0}, "in": {"a": "yes"}}}, "'out' must map columns to text"),
        ({"sms": {"out": {"a": "no"}, "in": {}}}, "'in' must map columns to text values"),
        ({"sms": {"out": {"a": "no"}, "in": "a"}}, "'in' must map columns to text values"),
        ({"sms": ["out", "in"]}, "csv system: choices.sms: must be a table with 'out' and 'in'"),
        ("sms", "csv system: 'choices' must be a table keyed by choice"),
    ],
)
def test_bad_csv_choice_settings_are_refused(declared: Any, message: str) -> None:
    config = csv_config(Path("x.csv"), choices=declared)
    assert message in refusal(SystemKind.CSV, config)


# --- http ---------------------------------------------------------------------------------


def demo_systems_file() -> list[dict[str, Any]]:
    text = (ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["system"]


def demo_system(key: str) -> dict[str, Any]:
    return next(s for s in demo_systems_file() if s["key"] == key)


def demo_helpdesk(helpdesk_url: str, **changes: Any) -> HttpConnector:
    config = {**demo_system("helpdesk")["config"], **changes}
    return HttpConnector(
        {k: v for k, v in config.items() if v is not None},
        settings={"DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
    )


MARKETING = "SELECT email, marketing_ok FROM customers ORDER BY id"


def test_http_opting_out_and_back_in_at_the_demo_help_desk_changes_jane_only_and_once(
    helpdesk_url: str, demo_dir: Path
) -> None:
    db = demo_dir / "helpdesk.db"
    desk = demo_helpdesk(helpdesk_url)
    before = rows(db, MARKETING)
    assert (JANE.email, 1) in before
    for opted_in, path, verb, value in (
        (False, "/api/v1/opt-out", "opt-out of", 0),
        (True, "/api/v1/opt-in", "opt-in to", 1),
    ):
        for _ in range(2):  # a repeat changes nothing more
            outcome = desk.choose(JANE, "email_marketing", opted_in)
            assert (outcome.found, outcome.receipts) == (
                1,
                [f"{path}: {verb} email_marketing confirmed for 1 record(s)"],
            )
            now = rows(db, MARKETING)
            assert [r for r in now if r[0] != JANE.email] == [
                r for r in before if r[0] != JANE.email
            ]
            assert (JANE.email, value) in now
    assert rows(db, MARKETING) == before
    assert desk.choose(NOBODY, "email_marketing", False).found == 0
    assert rows(db, MARKETING) == before


def test_http_an_undeclared_choice_changes_nothing_and_an_unknown_one_is_refused(
    helpdesk_url: str, demo_dir: Path
) -> None:
    db = demo_dir / "helpdesk.db"
    before = rows(db, MARKETING)
    for desk in (demo_helpdesk(helpdesk_url), demo_helpdesk(helpdesk_url, choices=None)):
        outcome = desk.choose(JANE, "profiling", False)
        assert (outcome.found, outcome.receipts) == (0, [NOTHING_TO_CHOOSE["profiling"]])
        with pytest.raises(ConnectorError) as refused:
            desk.choose(JANE, "newsletter", True)
        assert str(refused.value) == UNKNOWN
    bare = demo_helpdesk(helpdesk_url, choices=None)
    assert bare.choose(JANE, "email_marketing", False).receipts == [
        NOTHING_TO_CHOOSE["email_marketing"]
    ]
    assert rows(db, MARKETING) == before


@pytest.fixture
def vendor() -> Iterator[tuple[str, list[tuple[str, str, Any]]]]:
    """A service that says how many records each call changed, and remembers what it got."""
    seen: list[tuple[str, str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.command, self.path, json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"result": {"changed": 3}}).encode())

        do_POST = do_DELETE = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_http_a_choice_sends_the_identity_and_the_choice_to_its_endpoint(
    vendor: tuple[str, list[tuple[str, str, Any]]],
) -> None:
    url, seen = vendor
    side = {"path": "/preferences/sale", "count": "result.changed", "params": {"source": "dsar"}}
    config = {
        "base_url": url,
        "locate": {"path": "/search"},
        "identifiers": ["customer_id"],
        "choices": {"sale_sharing": {"out": {**side, "method": "DELETE"}, "in": side}},
    }
    desk = HttpConnector(config, settings={}, timeout=2)
    jane = Identity(JANE.email, extra={"customer_id": ("1042",)})
    out = desk.choose(jane, "sale_sharing", False)
    back = desk.choose(jane, "sale_sharing", True)
    assert (out.found, out.receipts) == (
        3,
        ["/preferences/sale: opt-out of sale_sharing confirmed for 3 record(s)"],
    )
    assert back.receipts == ["/preferences/sale: opt-in to sale_sharing confirmed for 3 record(s)"]
    body = {
        "source": "dsar",
        "email": JANE.email,
        "customer_id": ["1042"],
        "choice": "sale_sharing",
    }
    assert seen == [("DELETE", "/preferences/sale", body), ("POST", "/preferences/sale", body)]


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            {"newsletter": {"out": {"path": "/o"}, "in": {"path": "/i"}}},
            "http system: unknown choice 'newsletter' in 'choices'; known choices: "
            + ", ".join(choices.KEYS),
        ),
        (
            {"email_marketing": {"out": {"path": "/o"}}},
            "http system [choices.email_marketing]: 'in' is required (how opting back in"
            " changes the data); add [choices.email_marketing.in] with its path",
        ),
        (
            {"sms": {"in": {"path": "/i"}}},
            "[choices.sms]: 'out' is required (how opting out changes the data); add"
            " [choices.sms.out] with its path",
        ),
        (
            {"sms": {"out": {"path": "/o"}, "in": {"path": "/i"}, "lift": {"path": "/l"}}},
            "[choices.sms]: unknown setting 'lift'; known settings: in, out",
        ),
        (
            {"sms": {"out": {"path": "/o"}, "in": {"count": "n"}}},
            "[choices.sms.in]: 'path' is required",
        ),
        (
            {"sms": {"out": {"path": "o"}, "in": {"path": "/i"}}},
            "[choices.sms.out]: 'path' must start with /",
        ),
        (
            {"sms": {"out": {"path": "/o", "method": "PATCH"}, "in": {"path": "/i"}}},
            "[choices.sms.out]: 'method' must be one of",
        ),
        (
            {"sms": {"out": {"path": "/o", "fields": ["email"]}, "in": {"path": "/i"}}},
            "[choices.sms.out]: unknown setting 'fields'",
        ),
        (
            {"sms": {"out": {"path": "/o"}, "in": {"path": "/o", "count": "n"}}},
            "[choices.sms.in]: the same path and method as [choices.sms.out] would opt out again",
        ),
        ({"sms": "/o"}, "[choices.sms]: must be a table with 'out' and 'in'"),
        (["sms"], "http system: 'choices' must be a table keyed by choice"),
    ],
)
def test_bad_http_choice_sections_are_refused(declared: Any, message: str) -> None:
    config = {"base_url": "http://x", "locate": {"path": "/s"}, "choices": declared}
    assert message in refusal(SystemKind.HTTP, config)


def test_the_help_desk_opts_in_only_with_the_token(demo_dir: Path) -> None:
    db = demo_dir / "helpdesk.db"
    app = create_helpdesk_app(str(db), HELPDESK_TOKEN)
    sql = "SELECT marketing_ok FROM customers WHERE email = ?"
    good = {"Authorization": f"Bearer {HELPDESK_TOKEN}"}
    with app.test_client() as client:
        assert client.post("/api/v1/opt-out", json={"email": JANE.email}, headers=good).json == {
            "updated": 1
        }
        refused = client.post("/api/v1/opt-in", json={"email": JANE.email})
        assert refused.status_code == 401
        assert rows(db, sql, (JANE.email,)) == [(0,)]
        assert client.post("/api/v1/opt-in", json={"email": 5}, headers=good).status_code == 400
        body = {"email": " Jane.Doe@EXAMPLE.com ", "choice": "email_marketing"}
        allowed = client.post("/api/v1/opt-in", json=body, headers=good)
        assert (allowed.status_code, allowed.json) == (200, {"updated": 1})
        assert rows(db, sql, (JANE.email,)) == [(1,)]
        nobody = client.post("/api/v1/opt-in", json={"email": NOBODY.email}, headers=good)
        assert nobody.json == {"updated": 0}


# --- the demo world -----------------------------------------------------------------------


DECLARED = {
    "crm": ("email_marketing",),
    "shop": ("sale_sharing",),
    "newsletter": ("email_marketing",),
    "helpdesk": ("email_marketing",),
    "events": ("email_marketing",),
    "archive": (),
}


def test_the_demo_registry_declares_the_choices_its_systems_hold(
    app: Flask, demo_systems: list[str]
) -> None:
    registered = {system.key: declared_choices(system.config) for system in systems.all_systems()}
    assert registered == DECLARED
    assert {s["key"]: declared_choices(s["config"]) for s in demo_systems_file()} == DECLARED


def test_the_demo_newsletter_opts_jane_out_and_back_in_through_its_connector(
    app: Flask, demo_systems: list[str], demo_dir: Path
) -> None:
    system = systems.get("newsletter")
    assert system is not None
    newsletter = connections.connector(system)
    db = demo_dir / "newsletter.db"
    listed = "SELECT email FROM suppression WHERE email = ?"
    subscribed = "SELECT opted_in FROM subscribers WHERE email = ?"
    before = digest(db)
    assert (rows(db, listed, (JANE.email,)), rows(db, subscribed, (JANE.email,))) == ([], [(1,)])

    out = newsletter.choose(JANE, "email_marketing", False)
    assert (out.found, out.receipts) == (
        1,
        ["subscribers: opted_in = 0 on 1 row(s)", "suppression: added"],
    )
    assert rows(db, listed, (JANE.email,)) == [(JANE.email,)]
    assert rows(db, subscribed, (JANE.email,)) == [(0,)]

    back = newsletter.choose(JANE, "email_marketing", True)
    assert (back.found, back.receipts) == (
        1,
        ["subscribers: opted_in = 1 on 1 row(s)", "suppression: removed"],
    )
    assert rows(db, listed, (JANE.email,)) == []
    assert rows(db, subscribed, (JANE.email,)) == [(1,)]
    assert digest(db) == before
    assert newsletter.choose(JANE, "sale_sharing", False).receipts == [
        NOTHING_TO_CHOOSE["sale_sharing"]
    ]


def world_state(demo_dir: Path) -> dict[str, str]:
    """Every table of the demo's databases and the events sheet's cells, as they stand."""
    state = {
        key: digest(demo_dir / f"{key}.db") for key in ("crm", "shop", "newsletter", "helpdesk")
    }
    sheet = (demo_dir / "events.csv").read_text(encoding="utf-8").splitlines()
    state["events"] = repr(list(csv.reader(sheet)))  # the cells: a rewrite may quote otherwise
    return state


def test_every_demo_system_opts_jane_out_and_back_in(demo_dir: Path, helpdesk_url: str) -> None:
    settings = {"DSAR_DEMO_DIR": str(demo_dir), "DSAR_HELPDESK_URL": helpdesk_url}
    reach = {
        s["key"]: connector_for(
            SystemKind(s["kind"]),
            s["config"],
            settings=settings,
            timeout=5,
            secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
        )
        for s in demo_systems_file()
        if s["kind"] != "manual"
    }
    ids = reach["crm"].locate(JANE).identifiers
    jane = Identity(JANE.email, JANE.phone, JANE.name, extra={k: tuple(v) for k, v in ids.items()})
    original = world_state(demo_dir)

    def chosen(opted_in: bool) -> dict[str, dict[str, int]]:
        return {
            choice: {key: reach[key].choose(jane, choice, opted_in).found for key in reach}
            for choice in ("email_marketing", "sale_sharing")
        }

    expected = {
        "email_marketing": {"crm": 1, "shop": 0, "newsletter": 1, "helpdesk": 1, "events": 2},
        "sale_sharing": {"crm": 0, "shop": 2, "newsletter": 0, "helpdesk": 0, "events": 0},
    }
    for opted_in in (False, True):
        assert chosen(opted_in) == expected
        state = world_state(demo_dir)
        assert chosen(opted_in) == expected  # a repeat changes nothing more
        assert world_state(demo_dir) == state
    # Jane allowed all of it to begin with, but for the sale of her old shop account's data,
    # which she had refused: opting back in allows it there too.
    assert {k for k in original if original[k] != state[k]} == {"shop"}
    shop = "SELECT email, sells_data_to_partners FROM customers WHERE full_name = 'Jane Doe'"
    assert sorted(rows(demo_dir / "shop.db", shop)) == [
        ("j.doe.old@example.com", 1),
        (JANE.email, 1),
    ]


def test_a_choice_column_named_like_a_secret_is_a_column_not_a_secret() -> None:
    """`out` and `in` name columns in a database or a spreadsheet; an online service's are
    endpoints, whose settings are checked for literal secrets like any other."""
    from dsar.exceptions import SystemInvalid
    from dsar.models import SystemKind
    from dsar.services.system_secrets import refuse_secrets

    sql = {"choices": {"sms": [{"table": "t", "out": {"token_sms": 0}, "in": {"token_sms": 1}}]}}
    refuse_secrets(SystemKind.SQL, sql)
    csv_config = {"choices": {"sms": {"out": {"api_key_ok": "no"}, "in": {"api_key_ok": "yes"}}}}
    refuse_secrets(SystemKind.CSV, csv_config)
    http = {"choices": {"sms": {"out": {"path": "/o", "params": {"api_key": "abc"}}}}}
    with pytest.raises(SystemInvalid, match="literal secret"):
        refuse_secrets(SystemKind.HTTP, http)
