"""The SQL connector on the demo world's own configs: identifiers across systems, erasure
strategies, retention, suppression, injection payloads and refused configs."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dsar.connectors import Identity, validate_config
from dsar.connectors.sql import SqlConnector
from dsar.demo import world
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind

ROOT = Path(__file__).resolve().parents[1]
KEY = b"test-pseudonym-key"
JANE = Identity(email="jane.doe@example.com", phone="+44 20 7946 0958", name="Jane Doe")
INJECTIONS = [
    "' OR 1=1 --",
    '"; DROP TABLE contacts; --',
    "x'; DELETE FROM customers; --",
    "1 OR 1=1",
    "%",
    "jane.doe@example.com' --",
]


def demo_config(key: str) -> dict[str, Any]:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    return next(s["config"] for s in data["system"] if s["key"] == key)


def connect(demo: Path, key: str, pseudonym_key: bytes = KEY) -> SqlConnector:
    return SqlConnector(
        demo_config(key),
        settings={"DSAR_DEMO_DIR": str(demo)},
        timeout=5,
        pseudonym_key=pseudonym_key,
    )


def rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def dump(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return "\n".join(conn.iterdump())


def jane_in_shop(demo: Path) -> Identity:
    """Jane as the engine passes her to the shop: with the customer id the CRM exported."""
    crm = connect(demo, "crm").locate(JANE)
    return Identity(JANE.email, JANE.phone, JANE.name, extra=crm.identifiers)


def test_the_crm_exports_the_old_shop_account_and_the_shop_finds_it_by_id(demo_dir: Path) -> None:
    crm = connect(demo_dir, "crm").locate(JANE)
    [old_id] = rows(
        demo_dir / "shop.db", "SELECT id FROM customers WHERE email = ?", (world.JANE_OLD_EMAIL,)
    )
    assert crm.identifiers == {"customer_id": [str(old_id[0])]}

    alone = connect(demo_dir, "shop").locate(JANE)
    assert {k: len(v) for k, v in alone.records.items()} == {
        "customers": 1,
        "orders": 3,
        "invoices": 3,
    }
    linked = connect(demo_dir, "shop").locate(jane_in_shop(demo_dir))
    assert sorted(r["email"] for r in linked.records["customers"]) == [
        world.JANE_OLD_EMAIL,
        JANE.email,
    ]
    assert {k: len(v) for k, v in linked.records.items()} == {
        "customers": 2,
        "orders": 4,
        "invoices": 4,
    }
    assert (linked.found, linked.retained) == (10, 4)
    assert linked.kept == [
        {
            "place": "invoices",
            "count": 4,
            "reason": demo_config("shop")["tables"][2]["retain"]["reason"],
            "citation": demo_config("shop")["tables"][2]["retain"]["citation"],
        }
    ]


def test_the_crm_finds_jane_by_phone_in_another_rendering(demo_dir: Path) -> None:
    by_phone = Identity(email="", phone="020 7946 0958", region="GB")
    found = connect(demo_dir, "crm").locate(by_phone)
    assert [r["email"] for r in found.records["contacts"]] == [JANE.email]


def test_erase_applies_each_strategy_and_keeps_retained_invoices(demo_dir: Path) -> None:
    shop_db = demo_dir / "shop.db"
    jane = jane_in_shop(demo_dir)
    order_ids = [r["id"] for r in connect(demo_dir, "shop").locate(jane).records["orders"]]
    invoices_before = rows(shop_db, "SELECT * FROM invoices ORDER BY id")

    done = connect(demo_dir, "shop").erase(jane)
    assert (done.found, done.erased, done.retained) == (10, 6, 4)
    assert done.receipts == [
        "invoices: 4 row(s) kept: " + done.kept[0]["reason"] + f" ({done.kept[0]['citation']})",
        "orders: 4 row(s) de-identified (customer_id emptied, ship_to masked,"
        " contact_email pseudonymised)",
        "customers: 2 row(s) deleted",
    ]
    assert not any("jane" in r.lower() for r in done.receipts)
    assert rows(shop_db, "SELECT count(*) FROM customers WHERE full_name = 'Jane Doe'") == [(0,)]
    marks = ",".join("?" * len(order_ids))
    orders = rows(
        shop_db,
        f"SELECT customer_id, ship_to, contact_email FROM orders WHERE id IN ({marks})",  # noqa: S608
        tuple(order_ids),
    )
    expected = {
        hmac.new(KEY, e.encode(), hashlib.sha256).hexdigest()[:32]
        for e in (JANE.email, world.JANE_OLD_EMAIL)
    }
    assert {(c, s) for c, s, _ in orders} == {(None, "[erased]")}
    assert {e for _, _, e in orders} == expected
    assert rows(shop_db, "SELECT * FROM invoices ORDER BY id") == invoices_before

    # The proof: located again, only what was retained remains.
    again = connect(demo_dir, "shop").locate(jane)
    assert again.found - again.retained == 0
    assert again.retained == 4


def test_erase_twice_reports_nothing_erased_and_the_same_retained(demo_dir: Path) -> None:
    jane = jane_in_shop(demo_dir)
    connect(demo_dir, "shop").erase(jane)
    after_once = dump(demo_dir / "shop.db")
    second = connect(demo_dir, "shop").erase(jane)
    assert (second.found, second.erased, second.retained) == (4, 0, 4)
    assert len(second.receipts) == 1 and second.receipts[0].startswith("invoices: 4 row(s) kept")
    assert dump(demo_dir / "shop.db") == after_once


def test_pseudonymising_without_a_key_refuses_and_changes_nothing(demo_dir: Path) -> None:
    before = dump(demo_dir / "shop.db")
    with pytest.raises(ConnectorError, match="pseudonymising needs a key"):
        connect(demo_dir, "shop", pseudonym_key=b"").erase(JANE)
    assert dump(demo_dir / "shop.db") == before


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("system", ["crm", "shop", "newsletter"])
def test_injection_payloads_find_nothing_and_change_nothing(
    demo_dir: Path, system: str, payload: str
) -> None:
    db = demo_dir / f"{system}.db"
    before = dump(db)
    who = Identity(email=payload, phone=payload, name=payload, extra={"customer_id": [payload]})
    connector = connect(demo_dir, system)
    assert connector.locate(who).found == 0
    assert connector.erase(who).erased == 0
    connector.opt_out(who)
    if system == "newsletter":  # the suppression list records any address it is given
        assert rows(db, "SELECT email FROM suppression") == [(payload.lower(),)]
    else:
        assert dump(db) == before
    assert rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'") != [(0,)]


def test_suppression_opt_out_is_idempotent_and_survives_erasure(demo_dir: Path) -> None:
    db = demo_dir / "newsletter.db"
    first = connect(demo_dir, "newsletter").opt_out(JANE)
    assert first.receipts == [
        "subscribers: opted_in = 0 on 1 row(s)",
        "suppression: added, so that no further marketing is sent",
    ]
    second = connect(demo_dir, "newsletter").opt_out(JANE)
    assert second.receipts[1] == "suppression: already listed; nothing to add"
    assert rows(db, "SELECT email FROM suppression") == [(JANE.email,)]
    assert rows(db, "SELECT opted_in FROM subscribers WHERE email = ?", (JANE.email,)) == [(0,)]

    erased = connect(demo_dir, "newsletter").erase(JANE)
    assert (erased.erased, erased.retained) == (1, 1)
    assert rows(db, "SELECT email FROM suppression") == [(JANE.email,)]
    assert connect(demo_dir, "newsletter").opt_out(Identity(email="")).receipts[1] == (
        "suppression: no email, phone or name to add"
    )


def test_a_replaced_database_file_is_read_afresh(demo_dir: Path, tmp_path: Path) -> None:
    crm = connect(demo_dir, "crm")
    assert crm.locate(JANE).found == 1
    spare = tmp_path / "spare.db"
    shutil.copy(demo_dir / "crm.db", spare)
    with closing(sqlite3.connect(spare)) as conn, conn:
        conn.execute("DELETE FROM contacts WHERE email = ?", (JANE.email,))
    os.replace(spare, demo_dir / "crm.db")
    assert crm.locate(JANE).found == 0


BASE: dict[str, Any] = {"url": "sqlite://"}


def table(**spec: Any) -> dict[str, Any]:
    return {"name": "t", "key": "id", "match": {"email": "email"}, **spec}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**BASE, "tables": [table()], "password": "x"}, "unknown setting 'password'"),
        ({**BASE, "tables": [table(retian={})]}, "unknown setting 'retian'"),
        ({**BASE, "tables": [table(), table()]}, "table 't': listed twice"),
        ({**BASE, "tables": [table(erase="truncate")]}, "'erase' must be \"delete\" or map"),
        ({**BASE, "tables": [table(erase={"email": "blank"})]}, "'blank' is not a strategy"),
        ({**BASE, "tables": [table(erase={"email": "mask:" + "x" * 201})]}, "longer than 200"),
        (
            {**BASE, "tables": [table(erase={"name": "null"})]},
            "'erase' must also clear the matched column 'email'",
        ),
        (
            {**BASE, "tables": [table(erase={"email": "null"}, retain={"reason": "r"})]},
            "give either 'erase' or 'retain', not both",
        ),
        ({**BASE, "tables": [table(retain={"reason": "tax"})]}, "'retain.citation' is required"),
        (
            {
                **BASE,
                "tables": [
                    table(),
                    {
                        "name": "o",
                        "via": {"table": "t", "column": "t_id"},
                        "retain": {"reason": "r", "citation": "c"},
                    },
                ],
            },
            "a retained table must find its rows by 'match'",
        ),
        (
            {
                **BASE,
                "tables": [
                    table(retain={"reason": "r", "citation": "c"}),
                    {"name": "o", "via": {"table": "t", "column": "t_id"}, "erase": {"x": "null"}},
                ],
            },
            "found via the retained table 't', so 'erase' must clear 't_id'",
        ),
        ({**BASE, "tables": [table(exports={"email": "e"})]}, "exported identifier 'email'"),
        ({**BASE, "tables": [table(exports={"cid": "a b"})]}, "is not a plain column"),
        (
            {**BASE, "tables": [table()], "opt_out": [{"table": "t"}]},
            "each rule needs either 'table' and 'set', or 'suppress'",
        ),
        (
            {**BASE, "tables": [table()], "opt_out": [{"suppress": {"table": "s"}}]},
            "'columns' must map columns to identity fields",
        ),
        (
            {
                **BASE,
                "tables": [table()],
                "opt_out": [{"suppress": {"table": "s", "columns": {"c": "customer_id"}}}],
            },
            "'columns' may only hold email, phone or name",
        ),
        (
            {**BASE, "tables": [table()], "opt_out": [{"table": "t", "set": {"c": [1]}}]},
            "set.c must be text, a number or true/false",
        ),
    ],
)
def test_bad_sql_configs_are_refused_with_their_reason(config: dict, message: str) -> None:
    with pytest.raises(ConnectorError, match=re.escape(message)):
        validate_config(SystemKind.SQL, config)


def test_mysql_urls_are_accepted_by_the_checks() -> None:
    validate_config(SystemKind.SQL, {"url": "mysql+pymysql://u@db/shop", "tables": [table()]})
