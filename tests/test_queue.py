"""The staff queue: due-date order, filters, search, counts per status, keyset pages.

The search by any part of a name, email, phone or reference, the sort by date received,
the "waiting on" column and the CSV export: tests/test_queue_search.py."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import event, select

from dsar.extensions import db
from dsar.models import (
    ApiKey,
    DataSystem,
    Request,
    RequestKind,
    RequestStatus,
    Role,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
    User,
)
from dsar.services import accounts, api_keys, intake, reminders
from tests.conftest import sign_in

OFFICER = ("officer@example.com", "officer-password-1")
OTHER = ("other.officer@example.com", "officer-password-2")
AUDITOR = ("auditor@example.com", "auditor-password-1")
SEARCH_HELP = "Type at least two letters or digits to search."
S = RequestStatus

# name: kind, regime, status, due in days from today, assignee ("officer", "other" or None)
WORLD: dict[str, tuple[str, str, RequestStatus, int, str | None]] = {
    "r0": ("access", "gdpr", S.IN_PROGRESS, -5, "officer"),
    "r1": ("access", "ccpa", S.IN_PROGRESS, 3, "other"),
    "r2": ("deletion", "gdpr", S.AWAITING_APPROVAL, 10, None),
    "r3": ("deletion", "uk_gdpr", S.ACTION_REQUIRED, 20, "officer"),
    "r4": ("access", "uk_gdpr", S.RECEIVED, 1, None),
    "r5": ("access", "gdpr", S.COMPLETED, -10, "officer"),
    "r6": ("deletion", "ccpa", S.DENIED, 2, None),
    "r7": ("access", "lgpd", S.AWAITING_VERIFICATION, 30, "other"),
    "r8": ("opt_out", "ccpa", S.IN_PROGRESS, -1, None),
    "r9": ("access", "gdpr", S.CANCELLED, 5, "other"),
    "r10": ("deletion", "gdpr", S.READY_FOR_REVIEW, 14, "officer"),
    "r11": ("access", "gdpr", S.COMPILING, 15, None),
}
OPEN_BY_DUE = ["r0", "r8", "r4", "r1", "r2", "r10", "r11", "r3", "r7"]
ALL_BY_DUE = ["r5", "r0", "r8", "r4", "r6", "r1", "r9", "r2", "r10", "r11", "r3", "r7"]


@dataclass
class World:
    refs: dict[str, str]  # name -> reference
    emails: dict[str, str]
    ids: dict[str, int]  # "officer", "other", "auditor" -> user id

    def names(self, page: str) -> list[str]:
        by_ref = {ref: name for name, ref in self.refs.items()}
        return [by_ref[ref] for ref in listed(page)]


def listed(page: str) -> list[str]:
    """The references in the queue table, top to bottom."""
    if '<table class="queue stack">' not in page:
        return []
    table = page[page.index('<table class="queue stack">') : page.index("</table>")]
    return re.findall(r">(DSAR-\d{4}-\d{6})</a>", table)


def text(page: str) -> str:
    """The page as a person reads it: no tags, entities decoded, spaces squeezed."""
    body = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(body))


@pytest.fixture
def key(app: Flask, api_key: str) -> ApiKey:
    found = api_keys.find(api_key)
    assert found is not None
    return found


@pytest.fixture
def staff(app: Flask) -> dict[str, int]:
    return {
        "officer": accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1]).id,
        "other": accounts.create_user(OTHER[0], Role.OFFICER, OTHER[1]).id,
        "auditor": accounts.create_user(AUDITOR[0], Role.AUDITOR, AUDITOR[1]).id,
    }


def submit(key: ApiKey, kind: str, regime: str, email: str) -> Request:
    # Only kinds that need email verification: nothing is fanned out to workers.
    sub = intake.Submission(
        kind="access" if kind not in ("access", "deletion") else kind,
        regime=regime,
        name="Pat Example",
        email=email,
    )
    req = intake.submit(sub, channel="api", api_key=key, identity_verified=False).request
    req.kind = RequestKind(kind)
    return req


@pytest.fixture
def world(key: ApiKey, staff: dict[str, int]) -> World:
    today = reminders.today_here()
    refs, emails = {}, {}
    for n, (name, (kind, regime, status, due_in, assignee)) in enumerate(WORLD.items()):
        req = submit(key, kind, regime, f"person{n}@example.com")
        req.status = status
        req.due_on = today + timedelta(days=due_in)
        req.assignee_id = staff[assignee] if assignee else None
        db.session.commit()
        refs[name], emails[name] = req.reference, req.email
    return World(refs, emails, staff)


def get(client: FlaskClient, url: str, code: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == code, resp.get_data(as_text=True)[-3000:]
    return resp.get_data(as_text=True)


# -- order and filters -------------------------------------------------------------------


def test_the_queue_lists_open_requests_by_due_date(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue")
    assert world.names(page) == OPEN_BY_DUE
    assert world.names(get(client, "/staff/queue?status=all")) == ALL_BY_DUE
    assert "Next page" not in page

    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{world.refs['r0']}.*?</tr>", page, re.S)
    assert row is not None
    cells = text(row.group(0))
    today = reminders.today_here()
    assert (today - timedelta(days=5)).isoformat() in cells
    assert "overdue" in cells
    assert "See the data held about me" in cells
    assert "European Union (GDPR)" in cells
    assert "in progress" in cells
    assert OFFICER[0] in cells
    unassigned = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{world.refs['r4']}.*?</tr>", page, re.S)
    assert unassigned is not None
    assert "unassigned" in text(unassigned.group(0))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=in_progress", ["r0", "r8", "r1"]),
        ("status=completed", ["r5"]),
        ("kind=deletion", ["r2", "r10", "r3"]),
        ("kind=deletion&status=all", ["r6", "r2", "r10", "r3"]),
        ("regime=ccpa", ["r8", "r1"]),
        ("regime=ccpa&status=all", ["r8", "r6", "r1"]),
        ("assignee={officer}", ["r0", "r10", "r3"]),
        ("assignee={officer}&status=all", ["r5", "r0", "r10", "r3"]),
        ("assignee=me", ["r0", "r10", "r3"]),
        ("assignee=none", ["r8", "r4", "r2", "r11"]),
        ("assignee={other}&regime=gdpr&status=all", ["r9"]),
        ("due_within=3", ["r0", "r8", "r4", "r1"]),
        ("due_within=0", ["r0", "r8"]),
        ("due_within=14&kind=deletion", ["r2", "r10"]),
        ("overdue=1", ["r0", "r8"]),
        ("overdue=1&status=all", ["r0", "r8"]),
        ("overdue=1&assignee=none", ["r8"]),
        ("overdue=y&regime=gdpr&kind=access&assignee=me", ["r0"]),
        ("overdue=0", OPEN_BY_DUE),
        ("status=&kind=&regime=&assignee=&due_within=&q=", OPEN_BY_DUE),
    ],
)
def test_each_filter_narrows_the_queue(
    client: FlaskClient, world: World, query: str, expected: list[str]
) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue?" + query.format(**world.ids))
    assert world.names(page) == expected


def test_the_filter_form_shows_the_filters_in_force(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    page = get(
        client, f"/staff/queue?kind=deletion&assignee={world.ids['other']}&due_within=9&overdue=1"
    )
    assert re.search(r'<option selected value="deletion">', page)
    assert re.search(
        rf'<option selected value="{world.ids["other"]}">{OTHER[0]} \(officer\)</option>', page
    )
    assert 'value="9"' in page
    assert re.search(r'<input checked id="overdue" name="overdue" type="checkbox"', page)
    # Every active staff member can be picked; "me" and "unassigned" too.
    for label in (OFFICER[0], OTHER[0], AUDITOR[0], ">Me<", ">Unassigned<"):
        assert label in page
    assert "Clear filters" in page


def test_an_empty_result_says_what_to_do(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue?regime=lgpd&status=completed")
    assert listed(page) == []
    assert "No requests match these filters. Clear filters" in text(page)
    assert re.search(r'<a href="/staff/queue">Clear filters</a>', page)


# -- search ------------------------------------------------------------------------------


def test_a_reference_finds_exactly_that_request(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    for name in ("r3", "r5"):  # r5 is completed: a search looks in every status
        ref = world.refs[name]
        assert world.names(get(client, f"/staff/queue?q={ref}")) == [name]
        assert world.names(get(client, f"/staff/queue?q=+{ref.lower()}+")) == [name]
    # A chosen status still applies.
    assert listed(get(client, f"/staff/queue?q={world.refs['r5']}&status=in_progress")) == []


def test_an_email_finds_exactly_that_request_whatever_the_case(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, OFFICER)
    email = world.emails["r7"]
    assert world.names(get(client, f"/staff/queue?q={email}")) == ["r7"]
    assert world.names(get(client, f"/staff/queue?q=++{email.upper()}+")) == ["r7"]
    assert world.names(get(client, f"/staff/queue?q={email.replace('@', '%40')}")) == ["r7"]
    # Other filters still apply to what the search found.
    assert listed(get(client, f"/staff/queue?q={email}&regime=gdpr")) == []


def test_a_partial_email_finds_the_request(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    for partial in ("person7@example", "erson7@example.com", "PERSON7"):
        page = get(client, f"/staff/queue?q={partial}")
        assert world.names(page) == ["r7"]
        assert SEARCH_HELP not in page
    assert len(listed(get(client, "/staff/queue?q=@example.com"))) == len(WORLD)


@pytest.mark.parametrize("q", ["x", "%2B", "a+b+c"])
def test_a_search_too_short_to_mean_anything_is_refused_and_keeps_the_filters(
    client: FlaskClient, world: World, q: str
) -> None:
    sign_in(client, OFFICER)
    page = get(client, f"/staff/queue?q={q}&kind=deletion", 400)
    assert SEARCH_HELP in page
    # The list stays, by the filters that could be used: open deletions.
    assert world.names(page) == ["r2", "r10", "r3"]
    assert 'class="field has-error"' in page
    assert re.search(r'<option selected value="deletion">', page)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "abc", "99999", "1.5", "3651"])
def test_a_bad_due_within_is_a_400_with_a_message(
    client: FlaskClient, world: World, value: str
) -> None:
    sign_in(client, OFFICER)
    page = get(client, f"/staff/queue?due_within={value}", 400)
    assert "Due within: give a whole number of days from 0 to 3,650." in page
    assert world.names(page) == OPEN_BY_DUE  # the refused filter is left out, not the list
    assert "Traceback" not in page


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "kind=sell", "regime=mars", "assignee=someone", "assignee=-3"],
)
def test_unknown_choices_are_a_400_with_a_message(
    client: FlaskClient, world: World, query: str
) -> None:
    sign_in(client, OFFICER)
    page = get(client, f"/staff/queue?{query}", 400)
    assert world.names(page) == OPEN_BY_DUE
    assert "These filters cannot be used" in page
    assert 'role="alert"' in page


@pytest.mark.parametrize(
    "after",
    ["abc", "2026-01-01", "2026-13-01.5", "2026-01-01.x", "2026-01-01.-5", "5.2026-01-01"],
)
def test_a_malformed_page_link_is_a_400(client: FlaskClient, world: World, after: str) -> None:
    sign_in(client, OFFICER)
    page = get(client, f"/staff/queue?after={after}", 400)
    assert "This page link is broken." in page
    assert world.names(page) == OPEN_BY_DUE  # the first page


# -- counts ------------------------------------------------------------------------------


def tabs(page: str) -> dict[str, str]:
    nav = re.search(r'<nav class="filters"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None
    return dict(re.findall(r">([a-zA-Z ]+) \(([\d,+]+)\)</a>", nav.group(1)))


def test_counts_per_status_follow_the_other_filters(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    assert tabs(get(client, "/staff/queue")) == {
        "Open": "9",
        "received": "1",
        "awaiting verification": "1",
        "awaiting approval": "1",
        "in progress": "3",
        "action required": "1",
        "compiling": "1",
        "ready for review": "1",
        "completed": "1",
        "denied": "1",
        "cancelled": "1",
        "All": "12",
    }
    # The status filter does not narrow the counts; the others do.
    deletion = get(client, "/staff/queue?kind=deletion&status=denied")
    assert world.names(deletion) == ["r6"]
    assert tabs(deletion) == {
        "Open": "3",
        "awaiting approval": "1",
        "action required": "1",
        "ready for review": "1",
        "denied": "1",
        "All": "4",
    }
    assert tabs(get(client, "/staff/queue?overdue=1")) == {
        "Open": "2",
        "in progress": "2",
        "All": "2",
    }
    assert tabs(get(client, f"/staff/queue?q={world.refs['r5']}")) == {
        "Open": "0",
        "completed": "1",
        "All": "1",
    }


def test_status_tabs_keep_the_other_filters(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue?regime=ccpa&due_within=30")
    links = dict(
        (label, htmllib.unescape(href))
        for href, label in re.findall(
            r'<a href="([^"]+)" *(?:aria-current="page")?>([a-z A-Z]+) \(', page
        )
    )
    assert links["denied"] == "/staff/queue?regime=ccpa&due_within=30&status=denied"
    assert links["Open"] == "/staff/queue?regime=ccpa&due_within=30"
    assert world.names(get(client, links["denied"])) == ["r6"]
    assert world.names(get(client, links["All"])) == ["r8", "r6", "r1"]


def test_counts_stop_at_the_cap(
    client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsar.staff import queue_views

    monkeypatch.setattr(queue_views, "COUNT_CAP", 2)
    sign_in(client, OFFICER)
    counts = tabs(get(client, "/staff/queue"))
    assert counts["in progress"] == "2+"
    assert counts["received"] == "1"
    assert counts["Open"] == "8+"  # 2 (capped) + six statuses of one
    assert counts["All"] == "11+"


# -- pages -------------------------------------------------------------------------------


def test_keyset_pages_of_fifty_have_no_gaps_or_duplicates(
    client: FlaskClient, key: ApiKey, staff: dict[str, int]
) -> None:
    today = reminders.today_here()
    expected: list[tuple[date, int, str]] = []
    for n in range(120):
        req = submit(key, "access", "gdpr", f"page{n}@example.com")
        req.due_on = today + timedelta(days=(n * 7) % 9 - 4)  # many on the same day
        db.session.commit()
        expected.append((req.due_on, req.id, req.reference))
    for n in range(5):  # other laws: the filter must hold on every page
        submit(key, "access", "ccpa", f"ccpa{n}@example.com")
    db.session.commit()
    expected.sort()
    sign_in(client, OFFICER)

    url, seen, sizes = "/staff/queue?regime=gdpr&assignee=none", [], []
    while url:
        page = get(client, url)
        refs = listed(page)
        sizes.append(len(refs))
        seen += refs
        found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
        url = htmllib.unescape(found.group(1)) if found else ""
        if url:
            assert "regime=gdpr" in url
            assert "assignee=none" in url
            assert re.search(r"after=\d{4}-\d{2}-\d{2}\.\d+", url)
    assert sizes == [50, 50, 20]
    assert seen == [ref for _, _, ref in expected]
    assert len(set(seen)) == 120
    assert "First page" in page


def test_a_page_costs_the_same_number_of_queries_for_one_row_or_many(
    app: Flask, client: FlaskClient, world: World
) -> None:
    sign_in(client, OFFICER)
    system = DataSystem(key="crm", name="CRM", kind=SystemKind.MANUAL)
    other = DataSystem(key="mail", name="Mail", kind=SystemKind.MANUAL)
    req = db.session.scalar(select(Request).where(Request.reference == world.refs["r1"]))
    assert req is not None
    req.tasks += [
        Task(system=system, action=TaskAction.LOCATE, status=TaskStatus.SUCCEEDED),
        Task(system=other, action=TaskAction.LOCATE, status=TaskStatus.RUNNING),
    ]
    db.session.commit()

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def run(url: str) -> tuple[str, int]:
        # Each request starts afresh, as in a server: no identity map, no cached user.
        db.session.remove()
        g.pop("_login_user", None)
        statements.clear()
        page = get(client, url)
        return page, len(statements)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        many, n_many = run("/staff/queue?status=all")
        few, n_few = run(f"/staff/queue?status=all&assignee={world.ids['other']}")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(listed(many)) == 12
    assert len(listed(few)) == 3
    # The signed-in user, staff for the filter, the page, its tasks, their systems, its
    # assignees, counts, and the header's count of unread notifications.
    assert n_many == n_few == 8
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{world.refs['r1']}.*?</tr>", many, re.S)
    assert row is not None
    assert "Data systems: 1 of 2 done" in text(row.group(0))


# -- who may look ------------------------------------------------------------------------


def test_an_auditor_can_view_the_queue(client: FlaskClient, world: World) -> None:
    sign_in(client, AUDITOR)
    page = get(client, "/staff/queue")
    assert world.names(page) == OPEN_BY_DUE
    assert world.names(get(client, "/staff/queue?assignee=me")) == []


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, world: World) -> None:
    for url in ("/staff/queue", "/staff/queue?status=all", "/staff/queue?q=bad"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]


def test_an_inactive_user_is_not_offered_as_assignee(client: FlaskClient, world: World) -> None:
    user = db.session.get(User, world.ids["other"])
    assert user is not None
    user.active = False
    db.session.commit()
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue")
    select_ = re.search(r'<select id="assignee".*?</select>', page, re.S)
    assert select_ is not None
    assert OFFICER[0] in select_.group(0)
    assert OTHER[0] not in select_.group(0)
    assert OTHER[0] in page  # still shown as the assignee of their requests


# -- bulk actions ------------------------------------------------------------------------


def test_no_bulk_form_without_a_bulk_endpoint(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "staff.bulk" in app.view_functions:
        monkeypatch.delitem(app.view_functions, "staff.bulk")
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue")
    assert 'id="bulk"' not in page
    assert 'name="ids"' not in page


def bulk_endpoint(app: Flask) -> None:
    if "staff.bulk" not in app.view_functions:
        app.add_url_rule("/staff/bulk", "staff.bulk", lambda: "", methods=["POST"])


def test_rows_get_checkboxes_once_bulk_actions_exist(
    app: Flask, client: FlaskClient, world: World
) -> None:
    bulk_endpoint(app)
    sign_in(client, OFFICER)
    page = get(client, "/staff/queue?kind=deletion")
    assert '<form id="bulk" method="post" action="/staff/bulk">' in page
    form = page[page.index('<form id="bulk"') :]
    assert '<input type="hidden" name="next" value="/staff/queue?kind=deletion">' in form
    boxes = re.findall(r'<input type="checkbox" name="ids" value="(\d+)"', form)
    expected = ["r2", "r10", "r3"]
    ids = [
        db.session.scalar(select(Request.id).where(Request.reference == world.refs[n]))
        for n in expected
    ]
    assert [int(b) for b in boxes] == ids


def test_an_auditor_gets_no_checkboxes(app: Flask, client: FlaskClient, world: World) -> None:
    bulk_endpoint(app)
    sign_in(client, AUDITOR)
    page = get(client, "/staff/queue")
    assert world.names(page) == OPEN_BY_DUE
    assert 'name="ids"' not in page
