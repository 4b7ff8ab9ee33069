"""Test the demo world: its files, the known person Jane Doe, the help desk and the registry."""

from __future__ import annotations

import csv
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from dsar.demo import world
from dsar.demo.helpdesk import create_helpdesk_app

ROOT = Path(__file__).resolve().parents[1]
JANE = "jane.doe@example.com"
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SQL_FILES = ("crm.db", "shop.db", "newsletter.db", "helpdesk.db")
COUNT_QUERIES = {
    "crm.contacts": ("crm.db", "SELECT count(*) FROM contacts"),
    "shop.customers": ("shop.db", "SELECT count(*) FROM customers"),
    "shop.orders": ("shop.db", "SELECT count(*) FROM orders"),
    "shop.invoices": ("shop.db", "SELECT count(*) FROM invoices"),
    "newsletter.subscribers": ("newsletter.db", "SELECT count(*) FROM subscribers"),
    "helpdesk.customers": ("helpdesk.db", "SELECT count(*) FROM customers"),
    "helpdesk.tickets": ("helpdesk.db", "SELECT count(*) FROM tickets"),
}


def rows(
    db: Path, sql: str, params: tuple[Any, ...] = (), *, attach: Path | None = None
) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        if attach is not None:
            conn.execute("ATTACH DATABASE ? AS shop", (str(attach),))
        return conn.execute(sql, params).fetchall()


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def events(folder: Path) -> list[dict[str, str]]:
    with open(folder / "events.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """One world of 400 people, only read by the tests that use it."""
    folder = tmp_path_factory.mktemp("demo")
    return folder, world.build(folder, people=400, seed=7)


# --- the world ------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data_and_another_seed_does_not(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert world.build(first, people=300, seed=11) == world.build(second, people=300, seed=11)
    world.build(other, people=300, seed=12)
    assert (first / "events.csv").read_bytes() == (second / "events.csv").read_bytes()
    assert (first / "events.csv").read_bytes() != (other / "events.csv").read_bytes()
    for name in SQL_FILES:
        assert dump(first / name) == dump(second / name), name
        assert dump(first / name) != dump(other / name), name


def test_same_seed_gives_identical_bytes_in_another_process(tmp_path: Path) -> None:
    """Faker data must not depend on Python's hash seed (some locales' data does)."""
    for hash_seed in ("1", "2"):
        code = (
            f"from dsar.demo import world; world.build({str(tmp_path / hash_seed)!r}, people=200)"
        )
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    for name in world.FILES:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name


def test_jane_doe_is_in_every_system(demo: tuple[Path, dict[str, int]]) -> None:
    folder, _ = demo
    assert rows(
        folder / "crm.db",
        "SELECT first_name, last_name, phone, city, country FROM contacts WHERE email = ?",
        (JANE,),
    ) == [("Jane", "Doe", "+44 20 7946 0958", "London", "GB")]

    customers = rows(
        folder / "shop.db", "SELECT id, full_name, phone FROM customers WHERE email = ?", (JANE,)
    )
    assert [(name, phone) for _, name, phone in customers] == [("Jane Doe", "+44 20 7946 0958")]
    orders = rows(
        folder / "shop.db", "SELECT id FROM orders WHERE customer_id = ?", customers[0][:1]
    )
    assert len(orders) == 3

    assert rows(
        folder / "newsletter.db",
        "SELECT first_name, opted_in FROM subscribers WHERE email = ?",
        (JANE,),
    ) == [("Jane", 1)]

    helpdesk = rows(
        folder / "helpdesk.db", "SELECT id, name, phone FROM customers WHERE email = ?", (JANE,)
    )
    assert [row[1:] for row in helpdesk] == [("Jane Doe", "+44 20 7946 0958")]
    tickets = rows(
        folder / "helpdesk.db", "SELECT id FROM tickets WHERE customer_id = ?", helpdesk[0][:1]
    )
    assert len(tickets) == 2

    mine = [row for row in events(folder) if row["email"] == JANE]
    assert len(mine) == 2
    assert {row["marketing_consent"] for row in mine} == {"yes"}
    assert {row["name"] for row in mine} == {"Jane Doe"}
    assert {(row["dietary_use"], row["restricted"]) for row in mine} == {("catering", "no")}


def test_counts_match_the_rows_and_the_shares(demo: tuple[Path, dict[str, int]]) -> None:
    folder, counts = demo
    expected = {key: rows(folder / name, sql)[0][0] for key, (name, sql) in COUNT_QUERIES.items()}
    expected["events.rows"] = len(events(folder))
    assert counts == expected
    # Not everyone is everywhere: roughly 80 / 60 / 40 / 20 % of 400 people.
    assert 280 <= counts["crm.contacts"] <= 360
    assert 200 <= counts["shop.customers"] <= 280
    assert 120 <= counts["newsletter.subscribers"] <= 200
    assert 50 <= counts["helpdesk.customers"] <= 110
    assert 20 <= len({row["email"] for row in events(folder)}) <= 65
    per_customer = rows(
        folder / "shop.db",
        "SELECT count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
        " GROUP BY c.id",
    )
    assert max(n for (n,) in per_customer) <= 5
    assert min(n for (n,) in per_customer) == 0
    uninvoiced = rows(
        folder / "shop.db",
        "SELECT count(*) FROM orders o LEFT JOIN invoices i ON i.order_id = o.id"
        " WHERE i.id IS NULL AND o.status IN ('delivered', 'shipped', 'returned')",
    )
    assert uninvoiced == [(0,)]


def test_janes_crm_row_links_her_old_shop_account_under_another_email(
    demo: tuple[Path, dict[str, int]],
) -> None:
    folder, _ = demo
    [(linked,)] = rows(
        folder / "crm.db", "SELECT shop_customer_id FROM contacts WHERE email = ?", (JANE,)
    )
    assert rows(
        folder / "shop.db", "SELECT email, full_name FROM customers WHERE id = ?", (linked,)
    ) == [(world.JANE_OLD_EMAIL, "Jane Doe")]
    assert rows(
        folder / "shop.db", "SELECT count(*) FROM orders WHERE customer_id = ?", (linked,)
    ) == [(1,)]
    # Everyone else's link points to the shop account with the same email.
    mismatched = rows(
        folder / "crm.db",
        "SELECT count(*) FROM contacts c JOIN shop.customers s ON s.id = c.shop_customer_id"
        " WHERE s.email != c.email AND c.email != ?",
        (JANE,),
        attach=folder / "shop.db",
    )
    assert mismatched == [(0,)]


def test_jane_has_invoices_and_withheld_fields_hold_synthetic_values(
    demo: tuple[Path, dict[str, int]],
) -> None:
    folder, _ = demo
    invoices = rows(
        folder / "shop.db",
        "SELECT billing_email, billing_name FROM invoices WHERE billing_email IN (?, ?)",
        (JANE, world.JANE_OLD_EMAIL),
    )
    assert sorted(invoices) == [(world.JANE_OLD_EMAIL, "Jane Doe")] + [(JANE, "Jane Doe")] * 3
    [(last4, password_hash)] = rows(
        folder / "shop.db",
        "SELECT card_last4, password_hash FROM customers WHERE email = ?",
        (JANE,),
    )
    assert len(last4) == 4 and last4.isdigit()
    assert password_hash.startswith("$argon2id$")
    assert rows(folder / "newsletter.db", "SELECT count(*) FROM suppression") == [(0,)]


@pytest.mark.parametrize(
    ("name", "sql"),
    [
        ("crm.db", "SELECT email FROM contacts"),
        ("shop.db", "SELECT email FROM customers"),
        ("newsletter.db", "SELECT email FROM subscribers"),
        ("helpdesk.db", "SELECT email FROM customers"),
    ],
)
def test_emails_are_unique_lower_case_and_only_jane_uses_example_com(
    demo: tuple[Path, dict[str, int]], name: str, sql: str
) -> None:
    folder, _ = demo
    emails = [e for (e,) in rows(folder / name, sql)]
    assert len(emails) == len(set(emails)) > 50
    assert all(e == e.strip().lower() and "@" in e for e in emails)
    janes = [JANE, world.JANE_OLD_EMAIL] if name == "shop.db" else [JANE]
    assert sorted(e for e in emails if e.endswith("@example.com")) == sorted(janes)


def test_events_rows_are_well_formed(demo: tuple[Path, dict[str, int]]) -> None:
    folder, _ = demo
    header = (folder / "events.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(world.EVENTS_HEADER)
    table = events(folder)
    assert {row["marketing_consent"] for row in table} == {"yes", "no"}
    assert {row["dietary_use"] for row in table} == {"catering"}  # until someone limits it
    assert {row["restricted"] for row in table} == {"no"}
    pairs = [(row["event"], row["email"]) for row in table]
    assert len(pairs) == len(set(pairs))
    assert all(row["email"] == row["email"].lower() for row in table)


def test_rebuild_replaces_the_files_and_exists_reports_them(tmp_path: Path) -> None:
    assert not world.exists(tmp_path / "demo")
    counts = world.build(tmp_path / "demo", people=120)
    assert world.exists(tmp_path / "demo")
    with closing(sqlite3.connect(tmp_path / "demo" / "crm.db")) as conn, conn:
        conn.execute("DELETE FROM contacts")
    (tmp_path / "demo" / "events.csv").write_text("broken\n", encoding="utf-8")

    assert world.build(tmp_path / "demo", people=120) == counts
    crm = rows(tmp_path / "demo" / "crm.db", "SELECT count(*) FROM contacts")
    assert crm == [(counts["crm.contacts"],)]
    assert len(events(tmp_path / "demo")) == counts["events.rows"]
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(world.FILES)

    (tmp_path / "demo" / "shop.db").unlink()
    assert not world.exists(tmp_path / "demo")


def test_build_refuses_an_empty_world(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        world.build(tmp_path, people=0)


# --- the help desk --------------------------------------------------------------------------


@pytest.fixture
def helpdesk(tmp_path: Path) -> Iterator[tuple[FlaskClient, Path]]:
    world.build(tmp_path, people=200, seed=3)
    app = create_helpdesk_app(str(tmp_path / "helpdesk.db"), TOKEN)
    with app.test_client() as client:
        yield client, tmp_path / "helpdesk.db"


def post(client: FlaskClient, path: str, body: Any, headers: dict[str, str] = AUTH) -> Any:
    return client.post(path, json=body, headers=headers)


def other_customer(db: Path) -> tuple[int, str, int]:
    """Someone other than Jane, with the number of their tickets."""
    return rows(
        db,
        "SELECT c.id, c.email, count(t.id) FROM customers c JOIN tickets t ON t.customer_id = c.id"
        " WHERE c.email != ? GROUP BY c.id ORDER BY c.id LIMIT 1",
        (JANE,),
    )[0]


def test_health_needs_no_token(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, _ = helpdesk
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/search",
        "/api/v1/erase",
        "/api/v1/opt-out",
        "/api/v1/restrictions",
        "/api/v1/objections",
        "/api/v1/corrections",
    ],
)
def test_a_missing_or_wrong_token_is_refused(
    helpdesk: tuple[FlaskClient, Path], headers: dict[str, str], path: str
) -> None:
    client, db = helpdesk
    answer = post(client, path, {"email": JANE}, headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"]
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert rows(db, "SELECT marketing_ok FROM customers WHERE email = ?", (JANE,)) == [(1,)]


def test_search_finds_jane_and_her_two_tickets(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, _ = helpdesk
    answer = post(client, "/api/v1/search", {"email": "  Jane.Doe@EXAMPLE.com "})
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["customer"] == {
        "id": found["customer"]["id"],
        "email": JANE,
        "name": "Jane Doe",
        "phone": "+44 20 7946 0958",  # held as the CRM holds it, so that it can be corrected
        "marketing_ok": 1,
        "restricted": 0,
        "objected": 0,
    }
    assert len(found["tickets"]) == 2
    assert all(set(t) == {"id", "opened_at", "subject", "body", "status"} for t in found["tickets"])
    assert answer.headers["Cache-Control"] == "no-store"


def test_search_for_a_stranger_finds_nothing(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, _ = helpdesk
    answer = post(client, "/api/v1/search", {"email": "nobody@example.com"})
    assert answer.status_code == 200
    assert answer.get_json() == {"customer": None, "tickets": [], "page": 1, "next_page": None}


def test_erase_removes_jane_once_and_leaves_others(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, db = helpdesk
    other_id, other_email, other_tickets = other_customer(db)
    jane_id = rows(db, "SELECT id FROM customers WHERE email = ?", (JANE,))[0][0]

    first = post(client, "/api/v1/erase", {"email": JANE})
    assert (first.status_code, first.get_json()) == (200, {"erased": 3})
    again = post(client, "/api/v1/erase", {"email": JANE})
    assert (again.status_code, again.get_json()) == (200, {"erased": 0})

    assert post(client, "/api/v1/search", {"email": JANE}).get_json() == {
        "customer": None,
        "tickets": [],
        "page": 1,
        "next_page": None,
    }
    assert rows(db, "SELECT count(*) FROM tickets WHERE customer_id = ?", (jane_id,)) == [(0,)]
    other = post(client, "/api/v1/search", {"email": other_email}).get_json()
    assert other["customer"]["id"] == other_id
    assert len(other["tickets"]) == other_tickets


def test_search_pages_through_the_tickets(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, _ = helpdesk
    first = post(client, "/api/v1/search", {"email": JANE, "per_page": 1}).get_json()
    second = post(client, "/api/v1/search", {"email": JANE, "per_page": 1, "page": 2}).get_json()
    assert (first["next_page"], second["next_page"]) == (2, None)
    assert first["customer"] == second["customer"]
    assert [t["subject"] for t in first["tickets"] + second["tickets"]] == [
        "Return request",
        "Change of delivery address",
    ]
    bad = post(client, "/api/v1/search", {"email": JANE, "per_page": 1000})
    assert bad.status_code == 400
    assert "per_page" in bad.get_json()["error"]


def test_an_asynchronous_erasure_is_pending_then_done(tmp_path: Path) -> None:
    world.build(tmp_path, people=100, seed=3)
    app = create_helpdesk_app(str(tmp_path / "helpdesk.db"), TOKEN, erase_delay=0.3)
    with app.test_client() as client:
        accepted = post(client, "/api/v1/erasures", {"email": JANE})
        assert accepted.status_code == 202
        status_url = accepted.get_json()["status_url"]
        assert accepted.headers["Location"] == status_url
        assert JANE not in status_url
        assert client.get(status_url, headers=AUTH).get_json()["state"] == "pending"
        assert rows(
            tmp_path / "helpdesk.db", "SELECT count(*) FROM customers WHERE email = ?", (JANE,)
        ) == [(1,)]
        deadline = time.monotonic() + 10
        while (job := client.get(status_url, headers=AUTH).get_json())["state"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (job["state"], job["erased"]) == ("done", 3)
        assert rows(
            tmp_path / "helpdesk.db", "SELECT count(*) FROM customers WHERE email = ?", (JANE,)
        ) == [(0,)]
        assert client.get("/api/v1/erasures/unknown", headers=AUTH).status_code == 404
        assert client.get(status_url).status_code == 401


def test_opt_out_clears_marketing_ok(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, db = helpdesk
    _, other_email, _ = other_customer(db)
    before = rows(db, "SELECT marketing_ok FROM customers WHERE email = ?", (other_email,))

    answer = post(client, "/api/v1/opt-out", {"email": JANE.upper()})
    assert (answer.status_code, answer.get_json()) == (200, {"updated": 1})
    assert rows(db, "SELECT marketing_ok FROM customers WHERE email = ?", (JANE,)) == [(0,)]
    assert post(client, "/api/v1/opt-out", {"email": JANE}).get_json() == {"updated": 1}
    assert post(client, "/api/v1/opt-out", {"email": "nobody@example.com"}).get_json() == {
        "updated": 0
    }
    assert rows(db, "SELECT marketing_ok FROM customers WHERE email = ?", (other_email,)) == before


@pytest.mark.parametrize(
    ("path", "column"), [("restrictions", "restricted"), ("objections", "objected")]
)
def test_restrictions_and_objections_flag_jane_only(
    helpdesk: tuple[FlaskClient, Path], path: str, column: str
) -> None:
    client, db = helpdesk
    sql = f"SELECT email, {column} FROM customers WHERE {column} != 0"  # noqa: S608 (fixed)
    assert rows(db, sql) == []
    for _ in range(2):  # a repeat changes nothing more
        answer = post(client, f"/api/v1/{path}", {"email": JANE.upper()})
        assert (answer.status_code, answer.get_json()) == (200, {"updated": 1})
        assert rows(db, sql) == [(JANE, 1)]
    assert post(client, f"/api/v1/{path}", {"email": "nobody@example.com"}).get_json() == {
        "updated": 0
    }


def test_corrections_change_janes_name_email_and_phone_only(
    helpdesk: tuple[FlaskClient, Path],
) -> None:
    client, db = helpdesk
    _, other_email, _ = other_customer(db)
    before = rows(db, "SELECT * FROM customers WHERE email != ? ORDER BY id", (JANE,))
    changes = {"phone": "+442079460000", "name": "Jane Q. Doe"}
    answer = post(client, "/api/v1/corrections", {"email": JANE, "changes": changes})
    assert (answer.status_code, answer.get_json()) == (200, {"updated": 1})
    assert rows(db, "SELECT name, phone FROM customers WHERE email = ?", (JANE,)) == [
        ("Jane Q. Doe", "+442079460000")
    ]
    moved = post(
        client, "/api/v1/corrections", {"email": JANE, "changes": {"email": "jane@example.com"}}
    )
    assert moved.get_json() == {"updated": 1}
    assert post(client, "/api/v1/search", {"email": "jane@example.com"}).get_json()["customer"]
    clash = post(
        client,
        "/api/v1/corrections",
        {"email": "jane@example.com", "changes": {"email": other_email}},
    )
    assert clash.status_code == 409
    assert other_email not in clash.get_data(as_text=True)
    for bad in ({}, {"street": "1 Road"}, {"phone": ""}, {"phone": 5}, []):
        refused = post(client, "/api/v1/corrections", {"email": "jane@example.com", "changes": bad})
        assert refused.status_code == 400
    assert (
        rows(db, "SELECT * FROM customers WHERE email != ? ORDER BY id", ("jane@example.com",))
        == before
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/search",
        "/api/v1/erase",
        "/api/v1/opt-out",
        "/api/v1/restrictions",
        "/api/v1/objections",
        "/api/v1/corrections",
    ],
)
@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b'{"email": 5}',
        b"{}",
        b'{"email": "   "}',
        b"not json",
        b'"jane.doe@example.com"',
        b"",
    ],
)
def test_a_bad_body_is_a_400_with_a_message(
    helpdesk: tuple[FlaskClient, Path], path: str, data: bytes
) -> None:
    client, db = helpdesk
    answer = client.post(path, data=data, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert isinstance(answer.get_json()["error"], str)
    assert answer.get_json()["error"]
    assert rows(
        db, "SELECT count(*), sum(marketing_ok) FROM customers WHERE email = ?", (JANE,)
    ) == [(1, 1)]


def test_wrong_method_and_unknown_route_answer_json(helpdesk: tuple[FlaskClient, Path]) -> None:
    client, _ = helpdesk
    assert client.get("/api/v1/search", headers=AUTH).status_code == 405
    assert client.get("/api/v1/search", headers=AUTH).get_json() == {"error": "method not allowed"}
    assert client.get("/nowhere").status_code == 401
    assert client.get("/nowhere", headers=AUTH).get_json() == {"error": "not found"}


def test_a_missing_store_is_a_503_and_is_not_created(tmp_path: Path) -> None:
    app = create_helpdesk_app(str(tmp_path / "missing.db"), TOKEN)
    with app.test_client() as client:
        answer = post(client, "/api/v1/search", {"email": JANE})
    assert answer.status_code == 503
    assert answer.get_json() == {"error": "the help desk store is unavailable"}
    assert not (tmp_path / "missing.db").exists()


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="token"):
        create_helpdesk_app(str(tmp_path / "helpdesk.db"), "")


# --- the help desk as a process --------------------------------------------------------------


def helpdesk_command(db: Path) -> list[str]:
    return [sys.executable, "-m", "dsar.demo.helpdesk", "--db", str(db), "--port", "0"]


def test_the_server_needs_its_token_in_the_environment(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DSAR_HELPDESK_TOKEN"}
    done = subprocess.run(
        helpdesk_command(tmp_path / "helpdesk.db"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DSAR_HELPDESK_TOKEN" in done.stderr


def test_the_server_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    world.build(tmp_path, people=50)
    env = {**os.environ, "DSAR_HELPDESK_TOKEN": TOKEN}
    proc = subprocess.Popen(
        helpdesk_command(tmp_path / "helpdesk.db"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the help desk did not start"
        line = proc.stdout.readline()
        assert line.startswith("help desk listening on http://127.0.0.1:")
        base = line.split()[-1]
        with urllib.request.urlopen(base + "/health", timeout=10) as resp:
            assert json.load(resp) == {"ok": True}
        req = urllib.request.Request(
            base + "/api/v1/search",
            data=json.dumps({"email": JANE}).encode(),
            headers={**AUTH, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert len(json.load(resp)["tickets"]) == 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "help desk stopped" in out
    assert "/api/v1/search" in err  # requests are logged, their bodies are not
    assert JANE not in out + err


# --- the registry ---------------------------------------------------------------------------


def test_systems_toml_names_the_six_demo_systems() -> None:
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    systems = {s["key"]: s for s in data["system"]}
    assert list(systems) == ["crm", "shop", "newsletter", "helpdesk", "events", "archive"]
    assert {s["kind"] for s in systems.values()} == {"sql", "http", "csv", "manual"}
    assert systems["archive"]["config"]["deadline_days"] == 5
    assert systems["shop"]["disclosure"]["withheld"] == ["card_last4", "password_hash"]
    assert all(s["name"] and s["owner"] and "@" in s["contact"] for s in systems.values())
    assert systems["shop"]["config"]["tables"][1]["via"] == {
        "table": "customers",
        "column": "customer_id",
    }
    assert systems["helpdesk"]["config"]["token_env"] == "DSAR_HELPDESK_TOKEN"
    text = (ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8")
    placeholders = set(text.split("${")[1:])
    assert {p.split("}")[0] for p in placeholders} == {"DSAR_DEMO_DIR", "DSAR_HELPDESK_URL"}


def test_systems_toml_passes_the_registry_checks_with_a_full_disclosure() -> None:
    from dsar import i18n
    from dsar.services import registry, system_checks

    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    for system in data["system"]:
        clean = system_checks.clean(registry.entry_values(system, system["kind"]))
        assert (
            set(clean["disclosure"]) - {"languages"}
            == system_checks.DISCLOSURE_LISTS | system_checks.DISCLOSURE_TEXTS
        )
        assert clean["disclosure"]["purposes"] and clean["disclosure"]["retention"]
        # The same words in every shipped language but English, for the letters.
        shipped = set(i18n.LANGUAGES) - {i18n.DEFAULT}
        assert set(clean["disclosure"]["languages"]) == shipped, system["key"]
        assert set(clean["labels"]["languages"]) == shipped, system["key"]


def test_the_crm_provides_the_customer_id_the_shop_needs() -> None:
    from dsar.connectors import dependencies
    from dsar.models import SystemKind

    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    found = {s["key"]: dependencies(SystemKind(s["kind"]), s["config"]) for s in data["system"]}
    assert found["crm"] == (frozenset(), frozenset({"customer_id"}))
    assert found["shop"] == (frozenset({"customer_id"}), frozenset())
    assert found["archive"] == (frozenset(), frozenset())
