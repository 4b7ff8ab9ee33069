"""Flags on every automated connector kind: opt_out, restriction, objection and
limit_sensitive each set exactly their configured values on the person's records and no one
else's, a repeat changes nothing more, a system without settings for a purpose says so, and
bad settings are refused in words. The demo systems really hold the flags, with words for
the person."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dsar.connectors import FLAG_PURPOSES, Connector, Identity, connector_for, validate_config
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind
from tests.conftest import HELPDESK_TOKEN

ROOT = Path(__file__).resolve().parents[1]
JANE = Identity(email="jane.doe@example.com", phone="+44 20 7946 0958", name="Jane Doe")
NEW = ("restriction", "objection", "limit_sensitive")
NOTHING = {
    "restriction": "has no restriction setting; nothing to change",
    "objection": "has no objection setting; nothing to change",
    "limit_sensitive": "has no sensitive-data limit setting; nothing to change",
}


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


def digest(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_the_purposes_are_the_four_flags() -> None:
    assert FLAG_PURPOSES == ("opt_out", "restriction", "objection", "limit_sensitive")


# --- sql ----------------------------------------------------------------------------------


def sqlite_db(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, marketing INTEGER,
                restricted INTEGER DEFAULT 0, objected INTEGER DEFAULT 0,
                sensitive_use TEXT DEFAULT 'all', restricted_on TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER,
                restricted INTEGER DEFAULT 0);
            CREATE TABLE do_not_process (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
            INSERT INTO customers (id, email, marketing) VALUES
                (1, 'jane.doe@example.com', 1), (2, 'sam.roe@example.com', 1),
                (3, 'jane.doe@example.com', 1);
            INSERT INTO orders (id, customer_id) VALUES (1, 1), (2, 2), (3, 3), (4, 1);
            """
        )
    return f"sqlite:///{path}"


def sql_config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "tables": [
            {"name": "customers", "match": {"email": "email"}},
            {"name": "orders", "via": {"table": "customers", "column": "customer_id"}},
            {"name": "do_not_process", "match": {"email": "email"}},
        ],
        "opt_out": [{"table": "customers", "set": {"marketing": 0}}],
        "restriction": [
            {"table": "customers", "set": {"restricted": 1, "restricted_on": "request"}},
            {"table": "orders", "set": {"restricted": True}},
            {"suppress": {"table": "do_not_process", "columns": {"email": "email"}}},
        ],
        "objection": [{"table": "customers", "set": {"objected": 1}}],
        "limit_sensitive": [{"table": "customers", "set": {"sensitive_use": "needed only"}}],
    }


@pytest.fixture
def shop(tmp_path: Path) -> tuple[SqlConnector, Path]:
    path = tmp_path / "shop.db"
    return SqlConnector(sql_config(sqlite_db(path)), settings={}, timeout=5), path


CUSTOMERS = "SELECT id, marketing, restricted, objected, sensitive_use, restricted_on"
CUSTOMERS += " FROM customers ORDER BY id"


def test_sql_restriction_sets_its_columns_on_the_persons_rows_only_and_once(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    first = connector.flag(JANE, "restriction")
    assert rows(path, CUSTOMERS) == [
        (1, 1, 1, 0, "all", "request"),
        (2, 1, 0, 0, "all", None),
        (3, 1, 1, 0, "all", "request"),
    ]
    assert rows(path, "SELECT id, restricted FROM orders ORDER BY id") == [
        (1, 1),
        (2, 0),
        (3, 1),
        (4, 1),
    ]
    assert rows(path, "SELECT email FROM do_not_process") == [(JANE.email,)]
    assert first.found == 5  # two accounts and three orders
    assert first.receipts == [
        "customers: restricted = 1, restricted_on = 'request' on 2 row(s)",
        "orders: restricted = True on 3 row(s)",
        "do_not_process: added",
    ]
    state = digest(path)
    again = connector.flag(JANE, "restriction")
    assert digest(path) == state
    assert again.receipts[-1] == "do_not_process: already listed; nothing to add"


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        ("objection", [(1, 1, 0, 1, "all", None), (2, 1, 0, 0, "all", None)]),
        ("limit_sensitive", [(1, 1, 0, 0, "needed only", None), (2, 1, 0, 0, "all", None)]),
        ("opt_out", [(1, 0, 0, 0, "all", None), (2, 1, 0, 0, "all", None)]),
    ],
)
def test_sql_each_purpose_sets_only_its_own_values(
    shop: tuple[SqlConnector, Path], purpose: str, expected: list[tuple[Any, ...]]
) -> None:
    connector, path = shop
    for _ in range(2):
        outcome = connector.flag(JANE, purpose)
        assert outcome.found == 2
        assert rows(path, CUSTOMERS)[:2] == expected
    assert rows(path, "SELECT sum(restricted) FROM orders") == [(0,)]


def test_sql_opt_out_is_the_opt_out_flag_with_its_old_words(
    shop: tuple[SqlConnector, Path],
) -> None:
    connector, path = shop
    assert connector.opt_out(JANE).receipts == ["customers: marketing = 0 on 2 row(s)"]
    config = {k: v for k, v in sql_config(f"sqlite:///{path}").items() if k != "opt_out"}
    bare = SqlConnector(config, settings={}, timeout=5)
    assert bare.opt_out(JANE).receipts == [
        "holds no sale, sharing or marketing use; nothing to change"
    ]


def test_sql_without_rules_for_a_purpose_says_so_and_changes_nothing(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = {k: v for k, v in sql_config(f"sqlite:///{path}").items() if k not in NEW}
    connector = SqlConnector(config, settings={}, timeout=5)
    state = digest(path)
    for purpose in NEW:
        outcome = connector.flag(JANE, purpose)
        assert (outcome.receipts, outcome.found) == ([NOTHING[purpose]], 0)
    assert digest(path) == state
    with pytest.raises(ConnectorError, match="unknown flag 'delete_everything'"):
        connector.flag(JANE, "delete_everything")


def test_sql_flag_of_a_missing_column_is_a_clear_error_and_changes_nothing(
    shop: tuple[SqlConnector, Path],
) -> None:
    _, path = shop
    config = sql_config(f"sqlite:///{path}")
    config["objection"] = [
        {"table": "customers", "set": {"objected": 1}},
        {"table": "orders", "set": {"no_such_column": 1}},
    ]
    state = digest(path)
    with pytest.raises(ConnectorError, match="no_such_column"):
        SqlConnector(config, settings={}, timeout=5).flag(JANE, "objection")
    assert digest(path) == state  # the customers' flag was rolled back with it


@pytest.mark.parametrize("purpose", NEW)
@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"table": "customers", "set": {"a": 1}}, "{p}: must be a list of rules"),
        ([{"table": "nowhere", "set": {"a": 1}}], "{p}: 'table' must name a table"),
        ([{"table": "customers", "set": {}}], "{p}: 'set' must map columns to values"),
        ([{"table": "customers", "set": {"a b": 1}}], "{p}: 'a b' is not a plain column"),
        ([{"table": "customers", "set": {"a": [1]}}], "{p}: set.a must be text, a number"),
        ([{"table": "customers"}], "{p}: each rule needs either 'table' and 'set'"),
        (
            [{"table": "customers", "set": {"a": 1}, "where": "1=1"}],
            "{p}: unknown setting 'where'",
        ),
        ([{"suppress": {"table": "x", "columns": {"c": "id"}}}], "{p} suppress: 'columns'"),
    ],
)
def test_bad_sql_flag_rules_are_refused_in_words(purpose: str, rules: Any, message: str) -> None:
    config = sql_config("sqlite:///unused.db")
    config[purpose] = rules
    with pytest.raises(ConnectorError, match=message.format(p=purpose)):
        validate_config(SystemKind.SQL, config)


# --- csv ----------------------------------------------------------------------------------


def write_sheet(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "consent", "restricted", "objected", "dietary_use"])
        writer.writerow(["Jane Doe", "jane.doe@example.com", "yes", "no", "no", "catering"])
        writer.writerow(["Sam Roe", "sam.roe@example.com", "yes", "no", "no", "catering"])
        writer.writerow(["Jane Doe", "JANE.DOE@example.com", "yes", "no", "no", "catering"])


def sheet_rows(path: Path) -> list[tuple[str, ...]]:
    return [tuple(r.values()) for r in csv.DictReader(path.read_text().splitlines())]


CSV_FLAGS = {
    "opt_out": {"consent": "no"},
    "restriction": {"restricted": "yes"},
    "objection": {"objected": "yes"},
    "limit_sensitive": {"dietary_use": "none"},
}


@pytest.mark.parametrize("purpose", FLAG_PURPOSES)
def test_csv_each_purpose_sets_its_columns_on_the_persons_rows_only_and_once(
    tmp_path: Path, purpose: str
) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    connector = CsvConnector(
        {"path": str(path), "match": {"email": "email"}, **CSV_FLAGS},
        settings={},
        timeout=5,
    )
    before = sheet_rows(path)
    outcome = connector.flag(JANE, purpose)
    ((column, value),) = CSV_FLAGS[purpose].items()
    assert outcome.found == 2
    assert outcome.receipts == [f"{column} = {value!r} on 2 row(s)"]
    table = list(csv.DictReader(path.read_text().splitlines()))
    assert [r[column] for r in table] == [value, before[1][list(table[0]).index(column)], value]
    changed = [
        (i, k) for i, (old, new) in enumerate(zip(before, sheet_rows(path), strict=True))
        for k, (a, b) in enumerate(zip(old, new, strict=True)) if a != b
    ]  # fmt: skip
    assert {i for i, _ in changed} == {0, 2}
    assert {k for _, k in changed} == {list(table[0]).index(column)}
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    assert connector.flag(JANE, purpose).found == 2
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp  # nothing left to write


def test_csv_without_settings_for_a_purpose_says_so(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    write_sheet(path)
    text = path.read_text()
    connector = CsvConnector(
        {"path": str(path), "match": {"email": "email"}}, settings={}, timeout=5
    )
    for purpose in NEW:
        assert connector.flag(JANE, purpose).receipts == [NOTHING[purpose]]
    assert connector.opt_out(JANE).receipts == ["holds no marketing use; nothing to change"]
    with pytest.raises(ConnectorError, match="unknown flag 'erase'"):
        connector.flag(JANE, "erase")
    with pytest.raises(ConnectorError, match="spreadsheet has no column 'flagged'"):
        CsvConnector(
            {"path": str(path), "match": {"email": "email"}, "objection": {"flagged": "yes"}},
            settings={},
            timeout=5,
        ).flag(JANE, "objection")
    assert path.read_text() == text


@pytest.mark.parametrize("purpose", NEW)
@pytest.mark.parametrize("values", [["restricted"], {"restricted": 1}, "yes"])
def test_bad_csv_flag_settings_are_refused(purpose: str, values: Any) -> None:
    with pytest.raises(ConnectorError, match=f"'{purpose}' must map columns to text values"):
        validate_config(
            SystemKind.CSV, {"path": "x.csv", "match": {"email": "email"}, purpose: values}
        )


# --- http ---------------------------------------------------------------------------------


def demo_system(key: str) -> dict[str, Any]:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    return next(s for s in data["system"] if s["key"] == key)


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
    ("purpose", "flags"),
    [("restriction", (1, 1, 0)), ("objection", (1, 0, 1)), ("opt_out", (0, 0, 0))],
)
def test_http_flags_mark_jane_at_the_demo_help_desk_only_and_once(
    helpdesk_url: str, demo_dir: Path, purpose: str, flags: tuple[int, ...]
) -> None:
    desk = demo_helpdesk(helpdesk_url)
    before = rows(demo_dir / "helpdesk.db", FLAGS)
    for _ in range(2):
        outcome = desk.flag(JANE, purpose)
        assert outcome.found == 1
        after = rows(demo_dir / "helpdesk.db", FLAGS)
        assert [r for r in after if r[0] == JANE.email] == [(JANE.email, *flags)]
        assert [r for r in after if r[0] != JANE.email] == [r for r in before if r[0] != JANE.email]
    path = {"restriction": "restrictions", "objection": "objections", "opt_out": "opt-out"}
    words = {"restriction": "restriction", "objection": "objection", "opt_out": "opt-out"}
    assert outcome.receipts == [
        f"/api/v1/{path[purpose]}: {words[purpose]} confirmed for 1 record(s)"
    ]


def test_http_without_a_section_for_a_purpose_says_so_and_calls_nothing(
    helpdesk_url: str, demo_dir: Path
) -> None:
    before = rows(demo_dir / "helpdesk.db", FLAGS)
    bare = demo_helpdesk(helpdesk_url, opt_out=None, restriction=None, objection=None)
    for purpose in NEW:
        assert bare.flag(JANE, purpose).receipts == [NOTHING[purpose]]
    assert bare.opt_out(JANE).receipts == ["this system offers no opt-out endpoint; nothing to do"]
    assert rows(demo_dir / "helpdesk.db", FLAGS) == before
    with pytest.raises(ConnectorError, match="unknown flag"):
        bare.flag(JANE, "correct")


@pytest.mark.parametrize("purpose", NEW)
@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({}, r"\[{p}\]: 'path' is required"),
        ({"path": "api/x"}, r"\[{p}\]: 'path' must start with /"),
        ({"path": "/x", "method": "GET"}, r"\[{p}\]: 'method' must be one of"),
        ({"path": "/x", "fields": ["phone"]}, r"\[{p}\]: unknown setting 'fields'"),
        ({"path": "/x", "count": 1}, r"\[{p}\]: 'count' must be the path of a number"),
        ("/x", r"\[{p}\]: must be a table with 'path'"),
    ],
)
def test_bad_http_flag_sections_are_refused(purpose: str, section: Any, message: str) -> None:
    with pytest.raises(ConnectorError, match=message.format(p=purpose)):
        validate_config(
            SystemKind.HTTP, {"base_url": "http://x", "locate": {"path": "/s"}, purpose: section}
        )


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


def janes_flags(demo_dir: Path) -> dict[str, Any]:
    sql = {
        "crm": "SELECT processing_restricted, objected FROM contacts WHERE email = ?",
        "shop": "SELECT processing_restricted, objected, uses_sensitive FROM customers"
        " WHERE email = ?",
        "helpdesk": "SELECT restricted, objected FROM customers WHERE email = ?",
    }
    found: dict[str, Any] = {
        k: rows(demo_dir / f"{k}.db", q, (JANE.email,)) for k, q in sql.items()
    }
    sheet = csv.DictReader((demo_dir / "events.csv").read_text(encoding="utf-8").splitlines())
    found["events"] = sorted(
        {(r["restricted"], r["dietary_use"]) for r in sheet if r["email"] == JANE.email}
    )
    return found


def others_digest(demo_dir: Path) -> str:
    """Everyone's flags but Jane's (and her old shop account's, found through the CRM)."""
    parts = [
        rows(demo_dir / "crm.db", "SELECT * FROM contacts WHERE email != ?", (JANE.email,)),
        rows(demo_dir / "shop.db", "SELECT * FROM customers WHERE full_name != 'Jane Doe'"),
        rows(demo_dir / "helpdesk.db", "SELECT * FROM customers WHERE email != ?", (JANE.email,)),
        [
            r
            for r in csv.reader((demo_dir / "events.csv").read_text().splitlines())
            if JANE.email not in r
        ],
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_each_flag_reaches_the_demo_systems_that_hold_it(demo_dir: Path, helpdesk_url: str) -> None:
    reach = {key: demo_connector(key, demo_dir, helpdesk_url) for key in AUTOMATED}
    ids = reach["crm"].locate(JANE).identifiers
    jane = Identity(JANE.email, JANE.phone, JANE.name, extra={k: tuple(v) for k, v in ids.items()})
    assert janes_flags(demo_dir) == {
        "crm": [(0, 0)],
        "shop": [(0, 0, 1)],
        "helpdesk": [(0, 0)],
        "events": [("no", "catering")],
    }
    others = others_digest(demo_dir)

    def found(purpose: str) -> dict[str, int]:
        return {key: reach[key].flag(jane, purpose).found for key in AUTOMATED}

    assert found("restriction") == {
        "crm": 1,
        "shop": 2,  # her account and her old one
        "newsletter": 0,
        "helpdesk": 1,
        "events": 2,
    }
    assert reach["newsletter"].flag(jane, "restriction").receipts == [NOTHING["restriction"]]
    assert janes_flags(demo_dir) == {
        "crm": [(1, 0)],
        "shop": [(1, 0, 1)],
        "helpdesk": [(1, 0)],
        "events": [("yes", "catering")],
    }
    assert found("objection") == {"crm": 1, "shop": 2, "newsletter": 0, "helpdesk": 1, "events": 0}
    assert found("limit_sensitive") == {
        "crm": 0,
        "shop": 2,
        "newsletter": 0,
        "helpdesk": 0,
        "events": 2,
    }
    expected = {
        "crm": [(1, 1)],
        "shop": [(1, 1, 0)],
        "helpdesk": [(1, 1)],
        "events": [("yes", "none")],
    }
    assert janes_flags(demo_dir) == expected
    for purpose in NEW:  # a repeat changes nothing more
        found(purpose)
    assert janes_flags(demo_dir) == expected
    assert others_digest(demo_dir) == others


def test_the_demo_words_every_flag_and_every_flag_column_for_the_person() -> None:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    for system in data["system"]:
        if system["key"] not in AUTOMATED:
            continue
        config, labels = system["config"], system.get("labels", {})
        for purpose in FLAG_PURPOSES:
            rules = config.get(purpose)
            if not rules:
                assert purpose not in labels, (system["key"], purpose)  # nothing done: no words
                continue
            assert labels.get(purpose), (system["key"], purpose)
            columns: list[str] = []
            if isinstance(rules, list):
                columns = [c for rule in rules for c in rule.get("set", {})]
            elif "path" not in rules:
                columns = list(rules)
            for column in columns:
                assert column in labels["fields"], (system["key"], column)
    helpdesk = next(s for s in data["system"] if s["key"] == "helpdesk")["labels"]["fields"]
    for column in ("phone", "restricted", "objected"):
        assert column in helpdesk
