"""The queue as an officer finds things in it: any part of a name, email, phone or reference,
whatever the case or accents (SQLite FTS5 here; PostgreSQL pg_trgm in
tests/test_queue_search_pg.py), sorted by date received with keyset pages, "waiting on" in
words and as a filter, and the filtered queue as an audited CSV file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import (
    ApiKey,
    DataSystem,
    Event,
    Request,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.services import api_keys, intake

PEOPLE = {
    "jane": ("Jane Doe", "jane.doe@example.com", "+44 20 7946 0958"),
    "jose": ("José Álvarez Muñoz", "jose.alvarez@example.es", ""),
    "wu": ("Li Wu", "li@example.cn", "+86 10 1234 5678"),
    "joan": ("Joan Smith", "j.smith@example.org", ""),
    "strauss": ("Anna Strauß", "anna@example.de", ""),
}


def make(name: str, email: str, phone: str = "", **changes: object) -> Request:
    key = db.session.scalar(select(ApiKey))
    if key is None:
        key, _ = api_keys.create("tests")
    sub = intake.Submission(kind="access", regime="gdpr", name=name, email=email, phone=phone)
    req = intake.submit(sub, channel="api", api_key=key, identity_verified=False).request
    for attr, value in changes.items():
        setattr(req, attr, value)
    db.session.commit()
    return req


@pytest.fixture
def people(app: Flask) -> dict[str, Request]:
    return {key: make(*values) for key, values in PEOPLE.items()}


def listed(page: str) -> list[str]:
    if '<table class="queue stack">' not in page:
        return []
    table = page[page.index('<table class="queue stack">') : page.index("</table>")]
    return re.findall(r">(DSAR-\d{4}-\d{6})</a>", table)


def found(client: FlaskClient, query: str, code: int = 200) -> set[str]:
    resp = client.get("/staff/queue", query_string={"q": query})
    assert resp.status_code == code, resp.get_data(as_text=True)[-2000:]
    return set(listed(resp.get_data(as_text=True)))


def refs(people: dict[str, Request], *keys: str) -> set[str]:
    return {people[k].reference or "" for k in keys}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jane", ["jane"]),
        ("JANE", ["jane"]),
        ("jane.doe", ["jane"]),
        ("doe@exam", ["jane"]),
        ("jane.doe@example.com", ["jane"]),  # looked up by "jane.doe@", checked in full
        ("doe@example.com", ["jane"]),
        ("doe@example.org", []),
        ("@example.com", ["jane"]),
        ("José", ["jose"]),
        ("jose", ["jose"]),
        ("ALVAREZ", ["jose"]),
        ("munoz", ["jose"]),
        ("muñoz álv", ["jose"]),
        ("strauss", ["strauss"]),
        ("STRAUSS", ["strauss"]),
        ("strauß", ["strauss"]),
        ("wu", ["wu"]),  # two letters: the start of a word
        ("Li Wu", ["wu"]),
        ("7946 0958", ["jane"]),
        ("+442079460958", ["jane"]),
        ("020 7946", []),  # the national zero is not in the stored number
        ("jo", ["jose", "joan"]),
        ("smith jane", []),  # every word must match the same request
        ("nobody", []),
    ],
)
def test_any_part_of_a_name_email_or_phone_finds_the_request(
    client: FlaskClient,
    login: Callable[[str], str],
    people: dict[str, Request],
    query: str,
    expected: list[str],
) -> None:
    login("officer")
    assert found(client, query) == refs(people, *expected)


def test_any_part_of_a_reference_finds_it_in_every_status(
    client: FlaskClient, login: Callable[[str], str], people: dict[str, Request]
) -> None:
    login("officer")
    jane = people["jane"]
    jane.status = RequestStatus.COMPLETED
    db.session.commit()
    number = (jane.reference or "")[-6:]
    for query in (jane.reference or "", number, (jane.reference or "").lower(), f"2026-{number}"):
        assert jane.reference in found(client, query), query


def test_a_changed_or_removed_name_is_found_by_what_it_is_now(
    client: FlaskClient, login: Callable[[str], str], people: dict[str, Request]
) -> None:
    login("officer")
    jane = people["jane"]
    jane.name = "Jane Example-Renamed"
    db.session.commit()
    assert found(client, "renamed") == refs(people, "jane")
    jane.name, jane.email, jane.phone = "[removed under retention policy]", "", ""
    db.session.commit()
    assert found(client, "jane") == set()
    assert found(client, "7946") == set()
    # The index itself forgets the words: nothing of them is left to match.
    if db.engine.dialect.name == "sqlite":
        query = "SELECT rowid FROM requests_search WHERE requests_search MATCH '\"jane\"'"
    else:
        query = "SELECT id FROM requests WHERE search_text LIKE '%jane%'"
    assert db.session.execute(db.text(query)).all() == []


def test_a_search_keeps_the_other_filters_and_says_why_it_is_refused(
    client: FlaskClient, login: Callable[[str], str], people: dict[str, Request]
) -> None:
    login("officer")
    resp = client.get("/staff/queue?q=j&regime=gdpr&sort=-received")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Type at least two letters or digits to search." in page
    assert 'value="j"' in page  # what was typed stays in the box
    assert re.search(r'<option selected value="gdpr">', page)
    assert re.search(r'<option selected value="-received">', page)
    too_long = client.get("/staff/queue", query_string={"q": "x" * 300})
    assert too_long.status_code == 400
    assert "Keep the search under 254 characters." in too_long.get_data(as_text=True)
    many = client.get("/staff/queue", query_string={"q": "a1 b2 c3 d4 e5 f6 g7"})
    assert many.status_code == 400
    assert "Search with at most 6 words." in many.get_data(as_text=True)


# -- sorting -----------------------------------------------------------------------------


@pytest.fixture
def received_over_time(app: Flask) -> list[Request]:
    """60 requests received a day apart (the newest today), due in the opposite order."""
    start = datetime.now(UTC) - timedelta(days=60)
    made = []
    for n in range(60):
        req = make(f"Person {n}", f"person{n}@example.com")
        req.received_at = start + timedelta(days=n, minutes=n)
        req.due_on = (start + timedelta(days=200 - n)).date()
        made.append(req)
    db.session.commit()
    return made


def test_the_queue_sorts_by_date_received_with_pages(
    client: FlaskClient, login: Callable[[str], str], received_over_time: list[Request]
) -> None:
    login("officer")
    newest_first = [r.reference for r in reversed(received_over_time)]
    page = client.get("/staff/queue?sort=-received").get_data(as_text=True)
    assert listed(page) == newest_first[:50]
    assert 'aria-sort="descending"' in page
    next_url = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert listed(second) == newest_first[50:]
    # The "Received" heading turns the order round; the due date keeps its own order.
    heading = re.search(r'<a href="([^"]+)">Received', page)
    assert heading is not None and "sort=received" in heading.group(1)
    oldest = client.get(heading.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert listed(oldest) == newest_first[::-1][:50]
    by_due = client.get("/staff/queue").get_data(as_text=True)
    assert listed(by_due) == newest_first[:50]  # due in the opposite order of receipt


@pytest.mark.parametrize(
    "query",
    ["sort=name", "sort=-received&after=2026-01-01.5", "sort=received&after=12.x", "after=9.9"],
)
def test_a_bad_sort_or_page_link_is_a_400_in_words(
    client: FlaskClient, login: Callable[[str], str], people: dict[str, Request], query: str
) -> None:
    login("officer")
    resp = client.get(f"/staff/queue?{query}")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Choose an order from the list." in page or "This page link is broken" in page
    assert "Traceback" not in page


# -- waiting on --------------------------------------------------------------------------


@pytest.fixture
def waiting(people: dict[str, Request]) -> dict[str, Request]:
    archive = DataSystem(
        key="archive", name="Paper archive", kind=SystemKind.MANUAL, owner="Legal and records"
    )
    crm = DataSystem(key="crm", name="CRM (contacts)", kind=SystemKind.SQL, owner="Sales")
    jane, jose, wu = people["jane"], people["jose"], people["wu"]
    for req in (jane, jose):
        req.status = RequestStatus.IN_PROGRESS
    jane.tasks += [
        Task(system=archive, action=TaskAction.LOCATE, status=TaskStatus.ACTION_REQUIRED),
        Task(system=crm, action=TaskAction.LOCATE, status=TaskStatus.SUCCEEDED),
    ]
    jose.tasks += [Task(system=crm, action=TaskAction.LOCATE, status=TaskStatus.FAILED)]
    wu.status = RequestStatus.AWAITING_APPROVAL
    db.session.commit()
    return people


def row_text(page: str, reference: str) -> str:
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{reference}.*?</tr>", page, re.S)
    assert row is not None, reference
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(0)))


def test_each_row_says_who_the_request_waits_on(
    client: FlaskClient, login: Callable[[str], str], waiting: dict[str, Request]
) -> None:
    login("officer")
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "Waiting on" in page
    assert "System owner: Legal and records" in row_text(page, waiting["jane"].reference or "")
    assert "Failed system: CRM (contacts)" in row_text(page, waiting["jose"].reference or "")
    assert "Officer: to approve the dry run" in row_text(page, waiting["wu"].reference or "")
    joan = row_text(page, waiting["joan"].reference or "")
    assert "The person: to confirm who they are" in joan


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("owner", ["jane"]),
        ("failed", ["jose"]),
        ("officer", ["wu"]),
        ("person", ["joan", "strauss"]),
    ],
)
def test_the_queue_filters_by_who_it_waits_on(
    client: FlaskClient,
    login: Callable[[str], str],
    waiting: dict[str, Request],
    choice: str,
    expected: list[str],
) -> None:
    login("officer")
    page = client.get(f"/staff/queue?waiting={choice}").get_data(as_text=True)
    assert set(listed(page)) == refs(waiting, *expected)
    bad = client.get("/staff/queue?waiting=nobody")
    assert bad.status_code == 400
    assert "Choose who the request waits on from the list." in bad.get_data(as_text=True)


# -- CSV ---------------------------------------------------------------------------------


def test_the_filtered_queue_downloads_as_a_csv_file_and_the_export_is_audited(
    client: FlaskClient, login: Callable[[str], str], waiting: dict[str, Request]
) -> None:
    login("auditor")
    page = client.get("/staff/queue?q=example&sort=-received").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" download>Download these requests as CSV</a>', page)
    assert link is not None
    resp = client.get(link.group(1).replace("&amp;", "&"))
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == [
        *("Reference", "Name", "Right", "Law", "Received", "Due", "Days left", "Status"),
        *("Waiting on", "Assignee"),
    ]
    by_ref = {row[0]: row for row in rows[1:]}
    assert set(by_ref) == {r.reference for r in waiting.values()}
    jane = by_ref[waiting["jane"].reference or ""]
    assert jane[1] == "Jane Doe"
    assert jane[2] == "See the data held about me"
    assert jane[3] == "European Union (GDPR)"
    assert jane[7] == "in progress"
    assert jane[8] == "System owner: Legal and records"
    event = db.session.scalars(select(Event).where(Event.action == "queue_exported")).one()
    assert event.actor.startswith("user:")
    assert event.detail == {"filters": {"sort": "-received"}, "search": True}
    assert "example" not in str(event.detail["filters"])  # what was searched stays private


def test_the_csv_file_holds_every_page_and_no_live_formula(
    client: FlaskClient, login: Callable[[str], str], received_over_time: list[Request]
) -> None:
    received_over_time[0].name = '=HYPERLINK("http://evil.example")'
    db.session.commit()
    login("officer")
    resp = client.get("/staff/queue.csv?status=all")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 1 + 60
    names = {row[1] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.example")' in names


def test_a_csv_with_bad_filters_is_a_400_page_and_no_export(
    client: FlaskClient, login: Callable[[str], str], people: dict[str, Request]
) -> None:
    login("officer")
    resp = client.get("/staff/queue.csv?due_within=abc")
    assert resp.status_code == 400
    assert "Due within: give a whole number of days" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Event).where(Event.action == "queue_exported")) is None
