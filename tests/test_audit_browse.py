"""The audit events page (/audit/chain/events): newest first, filtered, keyset pages, and each
row checked against the chain; bad filters are said next to their field, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from dsar.extensions import db
from dsar.models import Event, Role
from dsar.services import intake
from dsar.services.accounts import create_user
from dsar.services.api_keys import create as create_api_key
from dsar.services.events import record
from tests.conftest import STAFF_PASSWORD, sign_in, staff_post

PAGE = "/audit/chain/events"
_ROW = re.compile(r'<tr id="event-(\d+)" class="(verified|broken)">(.*?)</tr>', re.DOTALL)


def rows(html: str) -> list[tuple[int, str, str]]:
    """(event id, verified|broken, the row's HTML), in the page's order."""
    return [(int(i), state, body) for i, state, body in _ROW.findall(html)]


def ids(html: str) -> list[int]:
    return [i for i, _, _ in rows(html)]


def all_event_ids(*where: Any) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event.id).where(*where).order_by(Event.id.desc())))


@pytest.fixture
def world(
    app: Flask, client: FlaskClient, demo_systems: list[str], login: Callable[[str], str]
) -> dict[str, Any]:
    """Two requests (one by an API key, one from the portal), a note by a named officer, and
    the client signed in as an auditor."""
    key, _ = create_api_key("crm-sync")
    by_api = intake.submit(
        intake.Submission(kind="opt_out", regime="ccpa", name="Jane Doe", email="jane@example.com"),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    by_person = intake.submit(
        intake.Submission(
            kind="access", regime="uk_gdpr", name="Ann Smith", email="ann@example.org"
        ),
        channel="portal",
    )
    officer = create_user("olivia@staff.test", Role.OFFICER, STAFF_PASSWORD, name="Olivia Officer")
    sign_in(client, ("olivia@staff.test", STAFF_PASSWORD))
    staff_post(client, by_person.request.reference, "note", note="Called the person back")
    login("auditor")
    return {
        "api": by_api.request.reference,
        "api_id": by_api.request.id,
        "person": by_person.request.reference,
        "person_id": by_person.request.id,
        "officer": f"user:{officer.id}",
        "key": f"api-key:{key.id}",
    }


def test_the_page_lists_every_event_newest_first_each_verified(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    resp = client.get(PAGE)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert ids(html) == all_event_ids()  # fewer than a page: all of them, newest first
    assert {state for _, state, _ in rows(html)} == {"verified"}
    assert html.count('verified-word">Verified</span>') == len(ids(html))
    assert 'id="older-events"' not in html
    # The request is a link to its staff page; its statuses read before -> after.
    assert f'href="/staff/requests/{world["person"]}"' in html
    assert "→" in html


def test_filter_by_reference_shows_only_that_requests_events(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    resp = client.get(PAGE, query_string={"reference": world["person"].lower()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    wanted = all_event_ids(Event.request_id == world["person_id"])
    assert wanted and ids(html) == wanted
    assert world["api"] not in html.split("<table", 1)[1]
    # The request page links here, and the chain's page too.
    page = client.get(f"/staff/requests/{world['person']}").get_data(as_text=True)
    assert f'href="/audit/chain/events?reference={world["person"]}"' in page
    assert 'href="/audit/chain/events"' in client.get("/audit/chain").get_data(as_text=True)


def test_filter_by_actor_names_staff_by_name_and_role(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    html = client.get(PAGE).get_data(as_text=True)
    assert f'<option value="{world["officer"]}">Olivia Officer (officer)</option>' in html
    assert f'<option value="{world["key"]}">API key #' in html and "(crm-sync)" in html
    assert '<option value="person">The person who made the request</option>' in html
    resp = client.get(PAGE, query_string={"actor": world["officer"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    wanted = all_event_ids(Event.actor == world["officer"])
    assert wanted and ids(html) == wanted
    assert all("Olivia Officer (officer)" in body for _, _, body in rows(html))
    assert any("Called the person back" in body for _, _, body in rows(html))  # its detail


def test_filter_by_action_and_by_dates(client: FlaskClient, world: dict[str, Any]) -> None:
    resp = client.get(PAGE, query_string={"action": "note"})
    assert resp.status_code == 200
    assert ids(resp.get_data(as_text=True)) == all_event_ids(Event.action == "note")
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    resp = client.get(PAGE, query_string={"from": yesterday.isoformat(), "to": tomorrow})
    assert resp.status_code == 200 and ids(resp.get_data(as_text=True)) == all_event_ids()
    resp = client.get(PAGE, query_string={"from": tomorrow.isoformat()})
    assert resp.status_code == 200
    assert ids(resp.get_data(as_text=True)) == []
    assert "No events match these filters." in resp.get_data(as_text=True)
    resp = client.get(PAGE, query_string={"to": yesterday.isoformat(), "action": "note"})
    assert resp.status_code == 200 and ids(resp.get_data(as_text=True)) == []
    # An event moved back a week (behind dsar's back) is found by its day, and shows edited.
    victim = all_event_ids(Event.action == "note")[0]
    week_ago = datetime.now(UTC) - timedelta(days=7)
    db.session.execute(
        text("UPDATE events SET at = :at WHERE id = :id"),
        {"at": week_ago.replace(tzinfo=None), "id": victim},
    )
    db.session.commit()
    day = week_ago.date().isoformat()
    html = client.get(PAGE, query_string={"from": day, "to": day}).get_data(as_text=True)
    assert [(i, s) for i, s, _ in rows(html)] == [(victim, "broken")]


@pytest.fixture
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """The SQL run, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    sa_event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    sa_event.remove(db.engine, "before_cursor_execute", note)


def test_pages_walk_the_events_by_keyset_none_repeated_none_skipped(
    client: FlaskClient, world: dict[str, Any], statements: list[tuple[str, Any]]
) -> None:
    for _ in range(230):
        record(None, "test_event", actor="cli")
    db.session.commit()
    expected = all_event_ids()
    assert len(expected) > 230
    seen: list[int] = []
    url: str | None = PAGE
    pages = 0
    while url:
        html = client.get(url).get_data(as_text=True)
        shown = ids(html)
        assert shown and len(shown) <= 100
        assert not seen or shown[0] < seen[-1]  # each page starts after the last one
        seen += shown
        assert {s for _, s, _ in rows(html)} == {"verified"}
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert f"before={shown[-1]}" in url
        pages += 1
    assert pages == (len(expected) + 99) // 100
    assert seen == expected
    # SQLite's dialect writes LIMIT ? OFFSET ? for every LIMIT: the offset is always 0.
    offsets = [p for s, p in statements if "FROM events" in s and "OFFSET" in s]
    assert offsets and {p[-1] for p in offsets} == {0}
    # A filter is carried over to the next page.
    html = client.get(PAGE, query_string={"action": "test_event"}).get_data(as_text=True)
    assert len(ids(html)) == 100
    found = re.search(r'href="([^"]+)" rel="next"', html)
    assert found and "action=test_event" in found.group(1)
    html = client.get(found.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert ids(html) == all_event_ids(Event.action == "test_event")[100:200]
    # Past the oldest: said in words, with the way back.
    resp = client.get(PAGE, query_string={"before": min(expected)})
    assert resp.status_code == 200 and "No older events match" in resp.get_data(as_text=True)


def test_a_tampered_event_shows_what_is_wrong_and_the_others_stay_verified(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    events = [(e.id, e.seq) for e in db.session.scalars(select(Event).order_by(Event.seq))]
    (edited, _), (relinked, _), (deleted, deleted_seq), (after, _) = (
        events[2],
        events[5],
        events[7],
        events[8],
    )
    db.session.execute(text("UPDATE events SET actor = 'x' WHERE id = :id"), {"id": edited})
    db.session.execute(
        text("UPDATE events SET prev_hash = :p WHERE id = :id"), {"p": "f" * 64, "id": relinked}
    )
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    state = {i: (s, body) for i, s, body in rows(html)}
    assert "Edited" in state[edited][1] and state[edited][0] == "broken"
    # prev_hash is hashed too: the relinked event is both out of order and edited.
    assert "Out of order" in state[relinked][1]
    assert [i for i, (s, _) in state.items() if s == "broken"] == sorted(
        [edited, relinked], reverse=True
    )
    # The event after the edited one still links to its stored hash: verified on its own.
    assert state[events[3][0]][0] == "verified"
    # A deleted event: the one after it says what is missing before it.
    db.session.execute(text("DELETE FROM events WHERE id = :id"), {"id": deleted})
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    body = {i: b for i, _, b in rows(html)}[after]
    assert f"the event before it (seq {deleted_seq}) is missing" in body
    # The check works on a filtered page too, fetching each row's predecessor.
    html = client.get(PAGE, query_string={"actor": "x"}).get_data(as_text=True)
    assert [(i, s) for i, s, _ in rows(html)] == [(edited, "broken")]


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"reference": "DSAR-2026-999999"}, "reference", "No request has the reference"),
        ({"reference": "jane@example.com"}, "reference", "like DSAR-2026-000123"),
        ({"actor": "user:999"}, "actor", "Choose who from the list."),
        ({"action": "made_up"}, "action", "Choose an action from the list."),
        ({"from": "yesterday"}, "from", "Type a date like 2026-03-01."),
        ({"to": "2026-02-30"}, "to", "Type a date like 2026-03-01."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "The end date is before the start"),
        ({"before": "abc"}, "before", "This page link is broken"),
        ({"before": "99999999999999999999999"}, "before", "This page link is broken"),
    ],
)
def test_bad_filters_are_said_next_to_the_field_and_the_list_is_kept(
    client: FlaskClient, world: dict[str, Any], args: dict[str, str], field: str, message: str
) -> None:
    resp = client.get(PAGE, query_string=args)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html[-2000:]
    assert "These filters cannot be used" in html
    if field != "before":
        assert f'<p class="error" id="{field}-error" role="alert">' in html
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert message in html
    assert ids(html) == all_event_ids()  # the refused filter is left out: the whole list
    # Nothing typed into a refused filter is carried into a link.
    links = " ".join(re.findall(r'href="([^"]+)"', html))
    assert "jane" not in links and "made_up" not in links and "yesterday" not in links
    # The export refuses the same filters the same way.
    assert client.get(f"{PAGE}.csv", query_string=args).status_code == 422


def test_the_csv_export_holds_the_filtered_events(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    with client.get(f"{PAGE}.csv", query_string={"reference": world["api"]}) as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "text/csv"
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        lines = resp.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,seq,at_utc,actor,who,action,reference")
    wanted = all_event_ids(Event.request_id == world["api_id"])
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == wanted
    assert all(line.endswith(",Verified") for line in lines[1:])


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask) -> None:
    anonymous = app.test_client()
    for url in (PAGE, f"{PAGE}.csv"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
