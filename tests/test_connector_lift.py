"""Lifting a flag on every automated connector kind (GDPR Art. 18(3): a restriction is lifted;
Art. 21: an objection is withdrawn): `lift(identity, purpose)` puts back exactly the values the
settings name on the person's records and no one else's, takes them off a suppression list, a
repeat changes nothing more, a system without settings for the purpose says so, settings that
set a flag but say not how to lift it are refused in words before anything changes, and bad
settings are refused at validation. The demo systems lift what they flag, with words for the
person."""

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

from dsar.connectors import Connector, Identity, connector_for, validate_config
from dsar.connectors.base import LIFTABLE_PURPOSES, NOTHING_TO_LIFT
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.demo.helpdesk import create_helpdesk_app
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind
from tests.conftest import HELPDESK_TOKEN

ROOT = Path(__file__).resolve().parents[1]
JANE = Identity(email="jane.doe@example.com", phone="+44 20 7946 0958", name="Jane Doe")
NOT_LIFTABLE = ("opt_out", "limit_sensitive", "erase", "")


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


def digest(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_the_liftable_purposes_and_their_words() -> None:
    assert LIFTABLE_PURPOSES == ("restriction", "objection")
    assert NOTHING_TO_LIFT == {
        "restriction": "has no restriction setting; nothing to lift",
        "objection": "has no objection setting; nothing to lift",
    }


# --- sql ----------------------------------------------------------------------------------


def sqlite_db(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, marketing INTEGER,
                restricted INTEGER DEFAULT 0, objected INTEGER DEFAULT 0,
                restricted_on TEXT DEFAULT '');
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER,
                restricted INTEGER DEFAULT 0);
            CREATE TABLE do_not_process (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
            CREATE TABLE do_not_mail (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
            INSERT INTO customers (id, email, marketing) VALUES
                (1, 'jane.doe@example.com', 1), (2, 'sam.roe@example.com', 1),
                (3, 'jane.doe@example.com', 1);
            INSERT INTO orders (id, customer_id) VALUES (1, 1), (2, 2), (3, 3), (4, 1);
            INSERT INTO do_not_process (email) VALUES ('sam.roe@example.com');
            """
        )
    return f"sqlite:///{path}"


def sql_config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "tables": [
            {"name": "customers", "match": {"email": "email"}},
            {"name": "orders", "via": {"table": "customers", "column": "customer_id"}},
        ],
        "opt_out": [
            {"table": "customers", "set": {"marketing": 0}},
            {"suppress": {"table": "do_not_mail", "columns": {"email": "email"}}},
        ],
        "restriction": [
            {
                "table": "customers",
                "set": {"restricted": 1, "restricted_on": "request"},
                "lift": {"restricted": 0, "restricted_on": ""},
            },
            {"table": "orders", "set": {"restricted": True}, "lift": {"restricted": False}},
            {"suppress": {"table": "do_not_process", "columns": {"email": "email"}}},
        ],
        "objection": [{"table": "customers", "set": {"objected": 1}, "lift": {"objected": 0}}],
    }


@pytest.fixture
def shop(tmp_path: Path) -> tuple[SqlConnector, Path]:
    path = tmp_path / "shop.db"
    return SqlConnector(sql_config(sqlite_db(path)), settings={}, timeout=5), path


CUSTOMERS = "SELECT id, marketing, restricted, objected, restricted_on FROM customers ORDER BY id"
ORDERS = "SELECT id, restricted FROM orders ORDER BY id"
LISTED = "SELECT email FROM do_not_process ORDER BY email"


def test_sql_lifting_a_restriction_puts_back_the_persons_values_only_and_once(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    before = digest(path)
    connector.flag(JANE, "restriction")
    connector.flag(JANE, "objection")
    assert rows(path, LISTED) == [(JANE.email,), ("sam.roe@example.com",)]

    lifted = connector.lift(JANE, "restriction")
    assert rows(path, CUSTOMERS) == [
        (1, 1, 0, 1, ""),  # the objection stays: only the restriction was lifted
        (2, 1, 0, 0, ""),
        (3, 1, 0, 1, ""),
    ]
    assert rows(path, ORDERS) == [(1, 0), (2, 0), (3, 0), (4, 0)]
    assert rows(path, LISTED) == [("sam.roe@example.com",)]  # only Jane taken off the list
    assert lifted.found == 5  # two accounts and three orders
    assert lifted.receipts == [
        "customers: restriction lifted on 2 row(s) (restricted = 0, restricted_on = '')",
        "orders: restriction lifted on 3 row(s) (restricted = False)",
        "do_not_process: removed",
    ]

    state = digest(path)
    again = connector.lift(JANE, "restriction")
    assert digest(path) == state  # a repeat changes nothing more
    assert again.found == 5
    assert again.receipts[-1] == "do_not_process: not listed; nothing to remove"

    withdrawn = connector.lift(JANE, "objection")
    assert withdrawn.receipts == ["customers: objection withdrawn on 2 row(s) (objected = 0)"]
    assert withdrawn.found == 2
    assert digest(path) == before  # flagged and lifted: as it was


def test_sql_lift_of_someone_unknown_changes_nothing(shop: tuple[SqlConnector, Path]) -> None:
    connector, path = shop
    state = digest(path)
    outcome = connector.lift(Identity(email="nobody@example.com"), "restriction")
    assert outcome.found == 0
    assert outcome.receipts[-1] == "do_not_process: not listed; nothing to remove"
    assert digest(path) == state


def test_sql_without_rules_for_a_purpose_has_nothing_to_lift(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = {
        k: v for k, v in sql_config(f"sqlite:///{path}").items() if k not in LIFTABLE_PURPOSES
    }
    connector = SqlConnector(config, settings={}, timeout=5)
    state = digest(path)
    for purpose in LIFTABLE_PURPOSES:
        outcome = connector.lift(JANE, purpose)
        assert (outcome.receipts, outcome.found) == ([NOTHING_TO_LIFT[purpose]], 0)
    assert digest(path) == state


def test_sql_a_set_rule_without_lift_values_is_refused_before_anything_changes(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    del config["restriction"][1]["lift"]  # customers would be lifted, orders would not
    connector = SqlConnector(config, settings={}, timeout=5)
    connector.flag(JANE, "restriction")
    state = digest(path)
    with pytest.raises(ConnectorError) as refused:
        connector.lift(JANE, "restriction")
    assert str(refused.value) == (
        "restriction: the rule for table 'orders' says no 'lift' values; add"
        " lift = { column = value } to the system's settings, or lift it in the system by hand"
    )
    assert digest(path) == state


def test_sql_a_suppression_table_another_flag_fills_is_not_emptied(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    config["opt_out"][1]["suppress"]["table"] = "do_not_process"
    connector = SqlConnector(config, settings={}, timeout=5)
    connector.flag(JANE, "restriction")
    state = digest(path)
    with pytest.raises(ConnectorError, match="'do_not_process' also holds the opt_out list"):
        connector.lift(JANE, "restriction")
    assert digest(path) == state


def test_sql_a_failing_lift_rolls_back_every_rule(shop: tuple[SqlConnector, Path]) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    config["restriction"][1]["lift"] = {"no_such_column": 0}
    connector = SqlConnector(config, settings={}, timeout=5)
    connector.flag(JANE, "restriction")
    state = digest(path)
    with pytest.raises(ConnectorError, match="no_such_column"):
        connector.lift(JANE, "restriction")
    assert digest(path) == state  # the customers' lift was rolled back with it


@pytest.mark.parametrize("purpose", NOT_LIFTABLE)
def test_sql_only_a_restriction_or_an_objection_is_lifted(
    shop: tuple[SqlConnector, Path], purpose: str
) -> None:
    connector, path = shop
    state = digest(path)
    with pytest.raises(ConnectorError, match="only restriction or objection can be lifted"):
        connector.lift(JANE, purpose)
    assert digest(path) == state


@pytest.mark.parametrize(
    ("purpose", "rules", "message"),
    [
        (
            "opt_out",
            [{"table": "customers", "set": {"marketing": 0}, "lift": {"marketing": 1}}],
            "opt_out: only a restriction or an objection can be lifted; remove 'lift'",
        ),
        (
            "limit_sensitive",
            [{"table": "customers", "set": {"a": 0}, "lift": {"a": 1}}],
            "limit_sensitive: only a restriction or an objection can be lifted",
        ),
        (
            "restriction",
            [{"table": "customers", "set": {"a": 1}, "lift": {"a b": 0}}],
            "restriction: 'a b' is not a plain column",
        ),
        (
            "objection",
            [{"table": "customers", "set": {"a": 1}, "lift": {"a": [0]}}],
            "objection: lift.a must be text, a number or true/false",
        ),
        (
            "objection",
            [{"table": "customers", "set": {"a": 1}, "lift": {"a": {"b": 0}}}],
            "objection: lift.a must be text, a number or true/false",
        ),
        (
            "restriction",
            [{"table": "customers", "set": {"a": 1}, "lift": {}}],
            "restriction: 'lift' must map columns to values",
        ),
        (
            "restriction",
            [{"table": "customers", "set": {"a": 1}, "lift": "a = 0"}],
            "restriction: 'lift' must map columns to values",
        ),
        (
            "restriction",
            [{"suppress": {"table": "x", "columns": {"email": "email"}}, "lift": {"a": 0}}],
            "restriction: a suppression rule is lifted by removing the person from its table",
        ),
        (
            "opt_out",
            [{"table": "customers", "set": {"a": 1}, "unset": {"a": 0}}],
            r"opt_out: unknown setting 'unset'; known settings: set, table$",
        ),
    ],
)
def test_bad_sql_lift_settings_are_refused_in_words(purpose: str, rules: Any, message: str) -> None:
    config = sql_config("sqlite:///unused.db")
    config[purpose] = rules
    with pytest.raises(ConnectorError, match=message):
        validate_config(SystemKind.SQL, config)


# --- csv ----------------------------------------------------------------------------------


def write_sheet(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "restricted", "objected", "reason"])
        writer.writerow(["Jane Doe", "jane.doe@example.com", "no", "no", ""])
        writer.writerow(["Sam Roe", "sam.roe@example.com", "yes", "yes", "asked"])
        writer.writerow(["Jane Doe", "JANE.DOE@example.com", "no", "no", ""])


CSV_SETTINGS = {
    "restriction": {"restricted": "yes", "reason": "asked"},
    "restriction_lift": {"restricted": "no", "reason": ""},
    "objection": {"objected": "yes"},
    "objection_lift": {"objected": "no"},
}


def csv_connector(path: Path, **settings: Any) -> CsvConnector:
    config = {"path": str(path), "match": {"email": "email"}, **CSV_SETTINGS, **settings}
    return CsvConnector({k: v for k, v in config.items() if v is not None}, settings={}, timeout=5)


@pytest.mark.parametrize(
    ("purpose", "receipt"),
    [
        ("restriction", "restriction lifted on 2 row(s) (restricted = 'no', reason = '')"),
        ("objection", "objection withdrawn on 2 row(s) (objected = 'no')"),
    ],
)
def test_csv_lifting_puts_back_the_persons_values_only_and_once(
    tmp_path: Path, purpose: str, receipt: str
) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    original = path.read_text()
    connector = csv_connector(path)
    connector.flag(JANE, purpose)
    assert path.read_text() != original
    outcome = connector.lift(JANE, purpose)
    assert (outcome.found, outcome.receipts) == (2, [receipt])
    assert path.read_text() == original  # Sam's flags, set before, stay as they were
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    again = connector.lift(JANE, purpose)
    assert (again.found, again.receipts) == (2, [receipt])
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp  # nothing left to write


def test_csv_without_settings_has_nothing_to_lift_and_a_flag_without_lift_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    original = path.read_text()
    bare = csv_connector(path, **dict.fromkeys(CSV_SETTINGS))
    for purpose in LIFTABLE_PURPOSES:
        assert bare.lift(JANE, purpose).receipts == [NOTHING_TO_LIFT[purpose]]
    unliftable = csv_connector(path, restriction_lift=None)
    with pytest.raises(ConnectorError) as refused:
        unliftable.lift(JANE, "restriction")
    assert str(refused.value) == (
        "restriction: the settings say no 'restriction_lift' values; add"
        " restriction_lift = { column = value } to the system's settings, or lift it in the"
        " system by hand"
    )
    for purpose in NOT_LIFTABLE:
        with pytest.raises(ConnectorError, match="only restriction or objection can be lifted"):
            bare.lift(JANE, purpose)
    with pytest.raises(ConnectorError, match="spreadsheet has no column 'flagged'"):
        csv_connector(path, objection_lift={"flagged": "no"}).lift(JANE, "objection")
    assert path.read_text() == original


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"opt_out_lift": {"c": "yes"}}, "'opt_out_lift': only a restriction or an objection"),
        ({"limit_sensitive_lift": {"c": "x"}}, "'limit_sensitive_lift': only a restriction"),
        ({"restriction_lift": {"restricted": 0}}, "'restriction_lift' must map columns to text"),
        ({"objection_lift": ["objected"]}, "'objection_lift' must map columns to text values"),
        ({"objection_lift": {}}, "'objection_lift' must name at least one column"),
        (
            {"restriction": None, "restriction_lift": {"restricted": "no"}},
            "'restriction_lift' lifts a flag the file does not set",
        ),
    ],
)
def test_bad_csv_lift_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    config = {"path": "x.csv", "match": {"email": "email"}, **CSV_SETTINGS, **settings}
    with pytest.raises(ConnectorError, match=message):
        validate_config(SystemKind.CSV, {k: v for k, v in config.items() if v is not None})


# --- http ---------------------------------------------------------------------------------


def demo_systems() -> list[dict[str, Any]]:
    text = (ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["system"]


def demo_system(key: str) -> dict[str, Any]:
    return next(s for s in demo_systems() if s["key"] == key)


def demo_helpdesk(helpdesk_url: str, **changes: Any) -> HttpConnector:
    config = {**demo_system("helpdesk")["config"], **changes}
    return HttpConnector(
        {k: v for k, v in config.items() if v is not None},
        settings={"DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
    )


FLAGS = "SELECT email, marketing_ok, restricted, objected FROM customers ORDER BY id"


@pytest.mark.parametrize(
    ("purpose", "path", "words"),
    [
        ("restriction", "restrictions", "restriction lifted"),
        ("objection", "objections", "objection withdrawn"),
    ],
)
def test_http_lift_clears_janes_flag_at_the_demo_help_desk_only_and_once(
    helpdesk_url: str, demo_dir: Path, purpose: str, path: str, words: str
) -> None:
    db = demo_dir / "helpdesk.db"
    desk = demo_helpdesk(helpdesk_url)
    before = rows(db, FLAGS)
    assert desk.flag(JANE, purpose).found == 1
    assert rows(db, FLAGS) != before
    for _ in range(2):  # a repeat changes nothing more
        outcome = desk.lift(JANE, purpose)
        assert outcome.found == 1
        assert outcome.receipts == [f"/api/v1/{path}: {words}, confirmed for 1 record(s)"]
        assert rows(db, FLAGS) == before
    nobody = desk.lift(Identity(email="nobody@example.com"), purpose)
    assert nobody.found == 0
    assert rows(db, FLAGS) == before


def test_http_without_a_section_has_nothing_to_lift_and_one_without_lift_is_refused(
    helpdesk_url: str, demo_dir: Path
) -> None:
    db = demo_dir / "helpdesk.db"
    bare = demo_helpdesk(helpdesk_url, restriction=None, objection=None)
    for purpose in LIFTABLE_PURPOSES:
        assert bare.lift(JANE, purpose).receipts == [NOTHING_TO_LIFT[purpose]]
    for purpose in NOT_LIFTABLE:
        with pytest.raises(ConnectorError, match="only restriction or objection can be lifted"):
            bare.lift(JANE, purpose)
    desk = demo_helpdesk(helpdesk_url, objection={"path": "/api/v1/objections"})
    desk.flag(JANE, "objection")
    flagged = rows(db, FLAGS)
    with pytest.raises(ConnectorError) as refused:
        desk.lift(JANE, "objection")
    assert str(refused.value) == (
        "objection: [objection] names no [objection.lift] endpoint; add [objection.lift] with"
        " its path (and method, count) to the system's settings, or lift it in the system by"
        " hand"
    )
    assert rows(db, FLAGS) == flagged


@pytest.mark.parametrize(
    ("purpose", "section", "message"),
    [
        (
            "opt_out",
            {"path": "/x", "lift": {"path": "/x", "method": "DELETE"}},
            r"\[opt_out\]: only a restriction or an objection can be lifted",
        ),
        (
            "limit_sensitive",
            {"path": "/x", "lift": {"path": "/y"}},
            r"\[limit_sensitive\]: only a restriction or an objection can be lifted",
        ),
        ("restriction", {"path": "/x", "lift": {}}, r"\[restriction.lift\]: 'path' is required"),
        (
            "objection",
            {"path": "/x", "lift": {"method": "DELETE"}},
            r"\[objection.lift\]: 'path' is required",
        ),
        ("objection", {"path": "/x", "lift": "/x"}, r"\[objection.lift\]: must be a table"),
        (
            "restriction",
            {"path": "/x", "lift": {"path": "x", "method": "DELETE"}},
            r"\[restriction.lift\]: 'path' must start with /",
        ),
        (
            "restriction",
            {"path": "/x", "lift": {"path": "/x", "method": "PATCH"}},
            r"\[restriction.lift\]: 'method' must be one of",
        ),
        (
            "restriction",
            {"path": "/x", "lift": {"path": "/x", "method": "DELETE", "count": 1}},
            r"\[restriction.lift\]: 'count' must be the path of a number",
        ),
        (
            "objection",
            {"path": "/x", "lift": {"path": "/x"}},
            r"\[objection.lift\]: the same path and method as \[objection\] would set the"
            " objection again",
        ),
        (
            "objection",
            {"path": "/x", "method": "PUT", "lift": {"path": "/x", "method": "PUT"}},
            r"\[objection.lift\]: the same path and method",
        ),
        (
            "restriction",
            {"path": "/x", "lift": {"path": "/y", "lift": {"path": "/z"}}},
            r"\[restriction.lift\]: only a restriction or an objection can be lifted",
        ),
        (
            "restriction",
            {"path": "/x", "lift": {"path": "/y", "fields": ["email"]}},
            r"\[restriction.lift\]: unknown setting 'fields'",
        ),
    ],
)
def test_bad_http_lift_sections_are_refused(purpose: str, section: Any, message: str) -> None:
    with pytest.raises(ConnectorError, match=message):
        validate_config(
            SystemKind.HTTP, {"base_url": "http://x", "locate": {"path": "/s"}, purpose: section}
        )


def test_a_lift_with_another_path_and_an_accepted_answer_is_valid() -> None:
    validate_config(
        SystemKind.HTTP,
        {
            "base_url": "http://x",
            "locate": {"path": "/s"},
            "restriction": {
                "path": "/r",
                "lift": {"path": "/r/lift", "count": "n", "status": {"url": "status_url"}},
            },
        },
    )


@pytest.fixture
def vendor() -> Iterator[tuple[str, list[tuple[str, str, Any]], dict[str, str]]]:
    """A service that accepts a lift (202) and says `state["job"]` when asked how it went."""
    seen: list[tuple[str, str, Any]] = []
    state = {"job": "done"}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.append((self.command, self.path, body))
            if self.command == "GET":
                status, answer = 200, {"state": state["job"], "cleared": 2}
            else:
                status, answer = 202, {"status_url": "/jobs/1"}
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen, state
    server.shutdown()
    server.server_close()


def test_an_accepted_lift_is_followed_until_the_vendor_says_it_is_done(
    vendor: tuple[str, list[tuple[str, str, Any]], dict[str, str]],
) -> None:
    url, seen, state = vendor
    lift = {
        "path": "/restrictions/lift",
        "count": "cleared",
        "status": {"url": "status_url", "state": "state", "interval": 0.05},
    }
    config = {
        "base_url": url,
        "locate": {"path": "/search"},
        "restriction": {"path": "/restrictions", "lift": lift},
    }
    desk = HttpConnector(config, settings={}, timeout=2)
    outcome = desk.lift(JANE, "restriction")
    assert (outcome.found, outcome.receipts) == (
        2,
        ["/restrictions/lift: restriction lifted, confirmed for 2 record(s)"],
    )
    assert seen == [
        (
            "POST",
            "/restrictions/lift",
            {"email": JANE.email, "phone": JANE.phone, "name": JANE.name},
        ),
        ("GET", "/jobs/1", None),
    ]
    state["job"] = "failed"
    with pytest.raises(ConnectorError, match="reports the lifting of the restriction as 'failed'"):
        desk.lift(JANE, "restriction")


@pytest.mark.parametrize("path", ["/api/v1/restrictions", "/api/v1/objections"])
def test_the_help_desk_clears_a_flag_only_with_the_token(demo_dir: Path, path: str) -> None:
    db = demo_dir / "helpdesk.db"
    app = create_helpdesk_app(str(db), HELPDESK_TOKEN)
    column = "restricted" if "restrictions" in path else "objected"
    sql = f"SELECT {column} FROM customers WHERE email = ?"  # noqa: S608 (fixed names)
    good = {"Authorization": f"Bearer {HELPDESK_TOKEN}"}
    with app.test_client() as client:
        assert client.post(path, json={"email": JANE.email}, headers=good).json == {"updated": 1}
        refused = client.delete(path, json={"email": JANE.email}, headers={})
        assert refused.status_code == 401
        assert rows(db, sql, (JANE.email,)) == [(1,)]
        assert client.delete(path, json={"email": 5}, headers=good).status_code == 400
        cleared = client.delete(path, json={"email": " Jane.Doe@EXAMPLE.com "}, headers=good)
        assert (cleared.status_code, cleared.json) == (200, {"updated": 1})
        assert rows(db, sql, (JANE.email,)) == [(0,)]


# --- the demo world -----------------------------------------------------------------------


AUTOMATED = ("crm", "shop", "newsletter", "helpdesk", "events")


def demo_connector(key: str, demo_dir: Path, helpdesk_url: str) -> Connector:
    system = demo_system(key)
    return connector_for(
        SystemKind(system["kind"]),
        system["config"],
        settings={"DSAR_DEMO_DIR": str(demo_dir), "DSAR_HELPDESK_URL": helpdesk_url},
        timeout=5,
        secrets={"DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN},
    )


def world_digest(demo_dir: Path) -> str:
    """Every table of the demo's databases and the events sheet, as they stand."""
    parts = [digest(demo_dir / f"{key}.db") for key in ("crm", "shop", "newsletter", "helpdesk")]
    sheet = (demo_dir / "events.csv").read_text(encoding="utf-8").splitlines()
    parts.append(repr(list(csv.reader(sheet))))  # the cells: a rewrite may quote otherwise
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_the_demo_systems_lift_what_they_flag(demo_dir: Path, helpdesk_url: str) -> None:
    reach = {key: demo_connector(key, demo_dir, helpdesk_url) for key in AUTOMATED}
    ids = reach["crm"].locate(JANE).identifiers
    jane = Identity(JANE.email, JANE.phone, JANE.name, extra={k: tuple(v) for k, v in ids.items()})
    original = world_digest(demo_dir)
    for purpose in LIFTABLE_PURPOSES:
        for key in AUTOMATED:
            reach[key].flag(jane, purpose)
    assert world_digest(demo_dir) != original

    def lifted(purpose: str) -> dict[str, int]:
        return {key: reach[key].lift(jane, purpose).found for key in AUTOMATED}

    expected = {"crm": 1, "shop": 2, "newsletter": 0, "helpdesk": 1, "events": 2}
    assert lifted("restriction") == expected
    assert lifted("objection") == {**expected, "events": 0}
    assert world_digest(demo_dir) == original  # every flag set is cleared, nothing else moved
    assert lifted("restriction") == expected  # a repeat changes nothing more
    assert lifted("objection") == {**expected, "events": 0}
    assert world_digest(demo_dir) == original
    assert reach["newsletter"].lift(jane, "restriction").receipts == [
        NOTHING_TO_LIFT["restriction"]
    ]
    assert reach["events"].lift(jane, "objection").receipts == [NOTHING_TO_LIFT["objection"]]


def test_the_demo_says_how_to_lift_every_lift_it_can_set_and_words_it() -> None:
    for system in demo_systems():
        config, labels = system["config"], system.get("labels", {})
        for purpose in LIFTABLE_PURPOSES:
            rules = config.get(purpose)
            if system["kind"] == "manual" or not rules:
                assert f"{purpose}_lift" not in labels, (system["key"], purpose)
                continue
            if isinstance(rules, list):  # sql: every column rule says how
                assert all("lift" in r for r in rules if "set" in r), (system["key"], purpose)
            elif "path" in rules:  # http
                assert "lift" in rules, (system["key"], purpose)
            else:  # csv
                assert config.get(f"{purpose}_lift"), (system["key"], purpose)
            assert labels.get(f"{purpose}_lift"), (system["key"], purpose)
