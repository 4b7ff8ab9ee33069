"""The preference centre, the consent ledger and the choices API (issue 15, items 3 to 5).

A person reaches their choices with a one-time emailed link, opts out of marketing email and
back in with the same steps; real rq workers carry each change to every demo system that
holds the choice, and what those systems hold is read back. The ledger keeps each change,
with its source and notice version, append-only and in the audit chain. The company's own
systems read and record choices over the API.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from dsar.extensions import db
from dsar.models import ChoiceLink, ChoiceReceipt, ConsentEntry, Event, utcnow
from dsar.services import api_keys, audit_checks, consent, transparency
from tests.conftest import api_headers, body_of, link_in

JANE = "jane.doe@example.com"  # the demo person found in every system
LINK = r"http://\S+/choices/open/\S+"


def all_final() -> bool:
    return not db.session.scalar(
        select(func.count(ChoiceReceipt.id)).where(ChoiceReceipt.status == "waiting")
    )


def holds(demo_dir: Path, email: str = JANE) -> dict[str, Any]:
    """What each demo system says about the person's marketing email, read from its data."""
    with sqlite3.connect(demo_dir / "crm.db") as conn:
        crm = {
            r[0]
            for r in conn.execute("SELECT marketing_opt_in FROM contacts WHERE email=?", (email,))
        }
    with sqlite3.connect(demo_dir / "newsletter.db") as conn:
        suppressed = conn.execute(
            "SELECT count(*) FROM suppression WHERE email=?", (email,)
        ).fetchone()[0]
        subscribed = {
            r[0] for r in conn.execute("SELECT opted_in FROM subscribers WHERE email=?", (email,))
        }
    with sqlite3.connect(demo_dir / "helpdesk.db") as conn:
        helpdesk = {
            r[0] for r in conn.execute("SELECT marketing_ok FROM customers WHERE email=?", (email,))
        }
    with open(demo_dir / "events.csv", newline="") as f:
        events = {r["marketing_consent"] for r in csv.DictReader(f) if r["email"].lower() == email}
    return {
        "crm": crm,
        "newsletter": (subscribed, suppressed),
        "helpdesk": helpdesk,
        "events": events,
    }


def ask_link(client: FlaskClient, outbox: Callable[[], list], email: str = JANE) -> str:
    """Ask for a link as the person would; returns its path, from the email."""
    page = client.get("/choices").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    sent = client.post("/choices", data={"csrf_token": token, "email": email.upper()})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert "Check your email" in sent.get_data(as_text=True)
    mail = [m for m in outbox() if m["To"] == email and "/choices/open/" in body_of(m)][-1]
    return "/choices/open/" + link_in(mail, LINK).rpartition("/")[2]


def open_choices(client: FlaskClient, outbox: Callable[[], list], email: str = JANE) -> str:
    """Ask for a link, open it; returns the choices page's HTML."""
    opened = client.get(ask_link(client, outbox, email))
    assert opened.status_code == 302 and opened.location.endswith("/choices/mine")
    return client.get("/choices/mine").get_data(as_text=True)


def save(client: FlaskClient, headers: dict[str, str] | None = None, **answers: str) -> Any:
    page = client.get("/choices/mine", headers=headers or {}).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post(
        "/choices/mine", data={"csrf_token": token, **answers}, headers=headers or {}
    )


def test_a_person_opts_out_of_marketing_email_and_back_in_and_every_system_follows(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    demo_dir: Path,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'href="/choices"' in home and "Your privacy choices" in home
    before = holds(demo_dir)
    assert before["crm"] == {1} and before["newsletter"][1] == 0 and before["events"] == {"yes"}

    page = open_choices(client, outbox)
    assert "Newsletters and marketing email" in page and "Sale or sharing" in page
    assert "Nothing recorded yet" in page
    assert "Targeted advertising" not in page  # no demo system holds it: not offered

    done = save(client, email_marketing="no")
    assert done.status_code == 303
    [entry] = consent.ledger(JANE)
    assert (entry.choice, entry.opted_in, entry.source) == ("email_marketing", False, "portal")
    assert entry.notice_version == transparency.current().number
    assert {r.system.key for r in entry.receipts} == {"crm", "newsletter", "helpdesk", "events"}
    waiting = client.get("/choices/mine").get_data(as_text=True)
    assert "Being changed now" in waiting and 'data-working="yes"' in waiting

    run_workers(all_final)
    out = holds(demo_dir)
    assert out["crm"] == {0} and out["helpdesk"] == {0} and out["events"] == {"no"}
    assert out["newsletter"] == ({0}, 1)  # unsubscribed, and on the do-not-mail list
    page = client.get("/choices/mine").get_data(as_text=True)
    assert page.count("Done: ") == 4 and "Being changed now" not in page
    assert "No, do not send them" in page

    # Opting back in: the same page, the same one answer and button.
    assert save(client, email_marketing="yes").status_code == 303
    run_workers(all_final)
    back = holds(demo_dir)
    assert back["crm"] == {1} and back["helpdesk"] == {1} and back["events"] == {"yes"}
    assert back["newsletter"] == ({1}, 0)
    entries = consent.ledger(JANE)
    assert [(e.opted_in, e.source) for e in entries] == [(True, "portal"), (False, "portal")]
    assert all(consent.intact(e) for e in entries)
    assert audit_checks.verify().ok
    assert all(r.status == "done" and r.found for e in entries for r in e.receipts)

    # Saving the same answers again records nothing.
    assert save(client, email_marketing="yes").status_code == 303
    assert len(consent.ledger(JANE)) == 2

    # The officer sees the ledger from the person's address (posted, not in the URL).
    login("officer")
    token = client.get("/audit/choices").get_data(as_text=True)
    token = token.split('name="csrf_token" value="')[1].split('"')[0]
    ledger = client.post("/audit/choices", data={"csrf_token": token, "email": JANE})
    html = ledger.get_data(as_text=True)
    every = html.split('id="ledger"')[1]
    assert ledger.status_code == 200 and every.count("Preference centre") == 2
    assert every.count("Intact") == 2 and "Opted in" in every and "Opted out" in every


def test_the_link_works_once_then_an_hour_and_never_lists_the_address_in_the_url(
    app: Flask, client: FlaskClient, demo_systems: list[str], outbox: Callable[[], list]
) -> None:
    path = ask_link(client, outbox)
    [mail] = [m for m in outbox() if "/choices/open/" in body_of(m)]
    assert JANE not in link_in(mail, LINK) and "24 hours" in body_of(mail)
    assert client.get(path).status_code == 302
    again = client.get(path)
    assert again.status_code == 404 and "used already" in again.get_data(as_text=True)

    link = db.session.scalar(select(ChoiceLink))
    link.used_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    ended = client.get("/choices/mine")
    assert ended.status_code == 302 and ended.location.endswith("/choices")
    assert "has ended" in client.get("/choices").get_data(as_text=True)

    # A link not opened within 24 hours no longer works.
    late = ask_link(client, outbox)
    newest = db.session.scalars(select(ChoiceLink).order_by(ChoiceLink.id.desc())).first()
    newest.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert client.get(late).status_code == 404
    assert client.get("/choices/mine").status_code == 302

    # Links that can no longer be used, and the address they name, go at the daily purge.
    from dsar.services import retention

    assert retention.run(now=utcnow())["choice_links_deleted"] == 1  # the late one
    assert retention.run(now=utcnow() + timedelta(hours=26))["choice_links_deleted"] == 1
    assert not db.session.scalar(select(func.count(ChoiceLink.id)))


def test_bad_input_is_refused_in_words_and_stores_nothing(
    app: Flask, client: FlaskClient, demo_systems: list[str], outbox: Callable[[], list]
) -> None:
    page = client.get("/choices").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    for bad, words in (
        ("", "Enter the email address you use with us."),
        ("not-an-address", "Enter an email address like name@example.com."),
        ("a" * 250 + "@example.com", "That email address is too long."),
    ):
        refused = client.post("/choices", data={"csrf_token": token, "email": bad})
        assert refused.status_code == 422 and words in refused.get_data(as_text=True)
    assert not db.session.scalar(select(func.count(ChoiceLink.id)))
    expired = client.post("/choices", data={"csrf_token": "stale", "email": JANE})
    assert expired.status_code in (400, 422) and JANE in expired.get_data(as_text=True)

    bogus = client.get("/choices/open/not-a-token")
    assert bogus.status_code == 404 and "Ask for a new one" in bogus.get_data(as_text=True)
    # Without an opened link, nothing can be read or changed.
    assert client.get("/choices/mine").status_code == 302
    assert client.post("/choices/mine", data={"csrf_token": token}).status_code == 302

    open_choices(client, outbox)
    wrong = save(client, email_marketing="maybe")
    assert wrong.status_code == 422 and "Not a valid choice" in wrong.get_data(as_text=True)
    assert not consent.ledger(JANE)

    # At most three links an hour for one address.
    for _ in range(2):
        assert client.post("/choices", data={"csrf_token": token, "email": JANE}).status_code == 200
    fourth = client.post("/choices", data={"csrf_token": token, "email": JANE})
    assert fourth.status_code == 422 and "three links" in fourth.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ChoiceLink.id))) == 3


def test_a_gpc_signal_is_recorded_as_an_opt_out_once_and_an_explicit_choice_then_stands(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    demo_dir: Path,
) -> None:
    open_choices(client, outbox)
    gpc = {"Sec-GPC": "1"}
    page = client.get("/choices/mine", headers=gpc).get_data(as_text=True)
    assert "Global Privacy Control signal" in page
    [entry] = consent.ledger(JANE)
    assert (entry.choice, entry.opted_in, entry.source) == ("sale_sharing", False, "gpc")
    assert [r.system.key for r in entry.receipts] == ["shop"]
    client.get("/choices/mine", headers=gpc)
    assert len(consent.ledger(JANE)) == 1  # honoured once, not on every visit
    run_workers(all_final)
    with sqlite3.connect(demo_dir / "shop.db") as conn:
        assert {
            r[0]
            for r in conn.execute(
                "SELECT sells_data_to_partners FROM customers WHERE email=?", (JANE,)
            )
        } == {0}

    # Told of the signal on the page, the person allows the sale after all: that stands.
    assert save(client, gpc, sale_sharing="yes").status_code == 303
    client.get("/choices/mine", headers=gpc)
    latest = consent.current(JANE)["sale_sharing"]
    assert latest.opted_in and latest.source == "portal"


def test_the_shops_backend_reads_and_records_choices_over_the_api(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    demo_dir: Path,
) -> None:
    _, reader = api_keys.create("mailer", scopes=[api_keys.CHOICES_READ])
    _, shop = api_keys.create(
        "shop backend", scopes=[api_keys.CHOICES_WRITE, api_keys.CHOICES_READ]
    )
    _, other = api_keys.create("intake", scopes=[api_keys.CREATE])
    person = {"Person-Email": JANE}

    assert (
        client.get("/api/v1/choices", headers={**api_headers(other), **person}).status_code == 403
    )
    read = client.get("/api/v1/choices", headers={**api_headers(reader), **person})
    assert read.status_code == 200
    assert {c["choice"]: c["opted_in"] for c in read.json["choices"]} == {
        "email_marketing": None,
        "sale_sharing": None,
    }
    in_url = client.get(f"/api/v1/choices?email={JANE}", headers={**api_headers(reader), **person})
    assert in_url.status_code == 400 and "header" in in_url.json["message"]
    assert client.get("/api/v1/choices", headers=api_headers(reader)).status_code == 422

    change = {"email": JANE, "choice": "email_marketing", "opted_in": False, "system": "newsletter"}
    assert (
        client.post("/api/v1/choices", json=change, headers=api_headers(reader)).status_code == 403
    )
    for bad, field in (
        ({**change, "choice": "telepathy"}, "choice"),
        ({**change, "opted_in": "no"}, "opted_in"),
        ({**change, "made_at": "yesterday"}, "made_at"),
        ({**change, "made_at": "2026-01-01T10:00:00"}, "made_at"),  # no offset
        ({**change, "email": "nobody"}, "email"),
        ({k: v for k, v in change.items() if k != "opted_in"}, "opted_in"),
    ):
        refused = client.post("/api/v1/choices", json=bad, headers=api_headers(shop))
        assert refused.status_code == 422 and field in refused.json["errors"]["json"], refused.json
    unknown = client.post(
        "/api/v1/choices", json={**change, "system": "nowhere"}, headers=api_headers(shop)
    )
    assert unknown.status_code == 404 and "nowhere" in unknown.json["message"]
    future = {**change, "made_at": "2999-01-01T00:00:00+00:00"}
    ahead = client.post("/api/v1/choices", json=future, headers=api_headers(shop))
    assert ahead.status_code == 409 and "later than our clock" in ahead.json["message"]
    assert not consent.ledger(JANE)

    made = client.post("/api/v1/choices", json=change, headers=api_headers(shop))
    assert made.status_code == 201 and made.json["changed"]
    assert {r["system"] for r in made.json["receipts"]} == {"crm", "helpdesk", "events"}
    run_workers(all_final)
    after = holds(demo_dir)
    assert after["crm"] == {0} and after["helpdesk"] == {0} and after["events"] == {"no"}
    assert after["newsletter"] == ({1}, 0)  # made there: not changed again by dsar
    again = client.post("/api/v1/choices", json=change, headers=api_headers(shop))
    assert again.status_code == 200 and not again.json["changed"]

    read = client.get("/api/v1/choices", headers={**api_headers(reader), **person}).json
    mail = next(c for c in read["choices"] if c["choice"] == "email_marketing")
    assert mail["opted_in"] is False and mail["source"] == "api"
    [entry] = consent.ledger(JANE)
    assert entry.actor == "API key shop backend" and entry.origin_system.key == "newsletter"


def test_the_ledger_is_append_only_and_an_entry_changed_behind_its_back_shows(
    app: Flask, client: FlaskClient, demo_systems: list[str], login: Callable[[str], str]
) -> None:
    from dsar.services import preferences

    [entry] = preferences.change(JANE, {"sale_sharing": False}, source="portal", actor="person")
    event = db.session.get(Event, entry.event_id)
    assert event.action == "choice_recorded" and event.seq is not None  # in the chain
    assert JANE not in str(event.detail)
    for statement in (
        "UPDATE consent_entries SET opted_in = 1",
        "DELETE FROM consent_entries",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(func.count(ConsentEntry.id))) == 1

    db.session.execute(text("DROP TRIGGER consent_entries_no_update"))
    db.session.execute(text("UPDATE consent_entries SET opted_in = 1"))
    db.session.commit()
    db.session.expire_all()
    assert not consent.intact(db.session.get(ConsentEntry, entry.id))
    login("auditor")
    from dsar.models import Request  # noqa: F401

    token = client.get("/audit/choices").get_data(as_text=True)
    token = token.split('name="csrf_token" value="')[1].split('"')[0]
    html = client.post("/audit/choices", data={"csrf_token": token, "email": JANE}).get_data(
        as_text=True
    )
    assert "Altered" in html
    bad = client.post("/audit/choices", data={"csrf_token": token, "email": "nope"})
    assert bad.status_code == 422 and "valid email address" in bad.get_data(as_text=True)


def test_a_completed_opt_out_request_is_in_the_ledger_and_its_letter_points_to_the_choices(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    api_key: str,
) -> None:
    from dsar.models import Document, Request, RequestStatus
    from tests.conftest import pdf_text

    made = client.post(
        "/api/v1/requests",
        json={"kind": "opt_out", "regime": "ccpa", "name": "Jane Doe", "email": JANE},
        headers=api_headers(api_key),
    )
    assert made.status_code == 201, made.json
    reference = made.json["reference"]

    def completed() -> bool:
        req = db.session.scalar(select(Request).where(Request.reference == reference))
        return req.status is RequestStatus.COMPLETED

    run_workers(completed)
    entries = consent.ledger(JANE)
    assert sorted((e.choice, e.opted_in, e.source, e.actor) for e in entries) == [
        ("email_marketing", False, "request", reference),
        ("sale_sharing", False, "request", reference),
    ]
    assert all(not e.receipts and consent.intact(e) for e in entries)  # the tasks did it
    assert audit_checks.verify().ok  # recorded mid-completion, chained whole at its commit
    letter = db.session.scalar(select(Document).where(Document.kind == "response"))
    data = (app.config["DSAR_DOCUMENTS_DIR"] / letter.filename).read_bytes()
    assert "opt back in or opt out of more at any time" in pdf_text(data)
    assert "without an account, here: http://dsar.test/choices" in pdf_text(data)
