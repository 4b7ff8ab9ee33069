"""The staff home: tiles that count what waits and link to exactly those requests, the user's
own urgent work, the on-time rate per month and each data system's figures as charts."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event

from dsar import create_app
from dsar.config import ROOT
from dsar.deadlines import add_months
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
)
from dsar.services import accounts, api_keys, dashboard, dashboard_stats, intake, reminders
from dsar.staff import dashboard_charts as charts
from dsar.staff import dashboard_views
from tests.conftest import sign_in
from tests.postgres import pg_database, pg_server  # noqa: F401

OFFICER = ("officer@example.com", "officer-password-1")
OTHER = ("other.officer@example.com", "officer-password-2")
AUDITOR = ("auditor@example.com", "auditor-password-1")
ADMIN = ("admin@example.com", "admin-password-1")
S, T = RequestStatus, TaskStatus

# name: status, due in days from today, assignee, {system key: task status}
WORLD: dict[str, tuple[RequestStatus, int, str | None, dict[str, TaskStatus]]] = {
    "mine_overdue": (S.IN_PROGRESS, -2, "officer", {"archive": T.ACTION_REQUIRED}),
    "mine_soon": (S.RECEIVED, 3, "officer", {}),
    "mine_later": (S.AWAITING_VERIFICATION, 20, "officer", {}),
    "other_soon": (S.IN_PROGRESS, 7, "other", {"crm": T.FAILED, "archive": T.SUCCEEDED}),
    "other_later": (S.IN_PROGRESS, 8, "other", {"crm": T.RUNNING}),
    "approval_done": (S.AWAITING_APPROVAL, 15, None, {"crm": T.SUCCEEDED, "archive": T.SKIPPED}),
    "approval_running": (S.AWAITING_APPROVAL, 16, None, {"crm": T.RUNNING}),
    "review": (S.READY_FOR_REVIEW, 10, "officer", {}),
    "appeal": (S.AWAITING_DECISION, 30, None, {}),
    "stuck": (S.ACTION_REQUIRED, 12, None, {"crm": T.FAILED, "archive": T.ACTION_REQUIRED}),
    "cancelled_failed": (S.CANCELLED, -10, "officer", {"crm": T.FAILED}),
    "completed_late": (S.COMPLETED, -5, "officer", {"crm": T.SUCCEEDED}),
}
# tile id on the page: the requests it counts (and its link lists)
TILES = {
    "mine": {"mine_overdue", "mine_soon", "mine_later", "review"},
    "due-soon": {"mine_overdue", "mine_soon", "other_soon"},
    "overdue": {"mine_overdue"},
    "approval": {"approval_done", "approval_running"},
    "review": {"review"},
    "appeals": {"appeal"},
    "owners": {"mine_overdue", "stuck"},
    "failed": {"other_soon", "stuck"},
}


@dataclass
class World:
    refs: dict[str, str]  # name -> reference
    systems: dict[str, DataSystem]


def text(page: str) -> str:
    """The page as a person reads it: no tags, entities decoded, spaces squeezed."""
    body = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(body))


def get(client: FlaskClient, url: str, code: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == code, resp.get_data(as_text=True)[-3000:]
    return resp.get_data(as_text=True)


def tile(page: str, key: str) -> tuple[str, str, str]:
    """(count, link, words) of one tile."""
    found = re.search(rf'<li class="[^"]*" id="tile-{key}">(.*?)</li>', page, re.S)
    assert found, f"no tile {key}"
    inner = found.group(1)
    link = re.search(r'<a href="([^"]+)"><span class="tile-count">([^<]+)</span>', inner)
    assert link, inner
    return link.group(2), htmllib.unescape(link.group(1)), text(inner).strip()


def references(page: str) -> set[str]:
    return set(re.findall(r'href="/staff/requests/(DSAR-\d{4}-\d{6})"', page))


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


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
        "admin": accounts.create_user(ADMIN[0], Role.ADMIN, ADMIN[1]).id,
    }


def new_request(key: ApiKey, n: int, kind: str = "access") -> Request:
    """A request waiting for its email: nothing is fanned out to workers."""
    sub = intake.Submission(kind=kind, regime="gdpr", name="Pat Example", email=f"p{n}@example.com")
    return intake.submit(sub, channel="api", api_key=key, identity_verified=False).request


def systems() -> dict[str, DataSystem]:
    found = {
        "crm": DataSystem(key="crm", name="CRM", kind=SystemKind.SQL),
        "archive": DataSystem(key="archive", name="Paper archive", kind=SystemKind.MANUAL),
    }
    db.session.add_all(found.values())
    db.session.commit()
    return found


@pytest.fixture
def world(key: ApiKey, staff: dict[str, int]) -> World:
    today = reminders.today_here()
    known = systems()
    refs = {}
    for n, (name, (status, due_in, assignee, tasks)) in enumerate(WORLD.items()):
        req = new_request(key, n)
        req.status = status
        req.due_on = today + timedelta(days=due_in)
        req.assignee_id = staff[assignee] if assignee else None
        if status in (S.COMPLETED, S.CANCELLED):
            req.completed_at = datetime.now(UTC)
        for system, task_status in tasks.items():
            req.tasks.append(
                Task(system=known[system], action=TaskAction.LOCATE, status=task_status)
            )
        db.session.commit()
        refs[name] = req.reference
    return World(refs, known)


# -- the tiles ---------------------------------------------------------------------------


def test_each_tile_counts_and_links_to_exactly_those_requests(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    for key, names in TILES.items():
        count, link, _ = tile(page, key)
        assert count == str(len(names)), key
        assert link.startswith("/staff/queue"), key
        listed = references(get(client, link))
        assert listed == {world.refs[n] for n in names}, (key, link)


def test_tiles_say_what_is_inside_in_words(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    assert "1 with the dry run finished in every system" in tile(page, "approval")[2]
    assert "Paper archive (2)" in tile(page, "owners")[2]
    assert "CRM (2)" in tile(page, "failed")[2]
    assert "overdue ones included" in tile(page, "due-soon")[2]
    words = text(page)
    for raw in ("awaiting_", "ready_for_review", "action_required", "in_progress"):
        assert raw not in words
    assert "No task has finished in any data system in the last 90 days." in words


def test_counts_stop_at_the_cap(
    client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_views, "COUNT_CAP", 2)
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    assert tile(page, "mine")[0] == "2+"
    assert tile(page, "due-soon")[0] == "2+"
    assert tile(page, "overdue")[0] == "1"
    assert tile(page, "failed")[0] == "2"


def test_my_work_lists_my_open_requests_soonest_first(client: FlaskClient, world: World) -> None:
    sign_in(client, OFFICER)
    mine = section(get(client, "/staff/"), "my-work")
    order = re.findall(r">(DSAR-\d{4}-\d{6})</a>", mine)
    names = ["mine_overdue", "mine_soon", "review", "mine_later"]
    assert order == [world.refs[n] for n in names]
    words = text(mine)
    assert "2 days overdue" in words
    assert "3 days left" in words
    assert "See the data held about me" in words  # the right, in words
    assert "ready for review" in words


def test_someone_with_nothing_assigned_is_told_so(client: FlaskClient, world: World) -> None:
    sign_in(client, ADMIN)
    page = get(client, "/staff/")
    assert "Nothing is assigned to you." in text(section(page, "my-work"))
    assert tile(page, "mine")[0] == "0"


# -- who sees it ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OFFICER, ADMIN, AUDITOR], ids=["officer", "admin", "auditor"])
def test_every_role_sees_the_home(client: FlaskClient, world: World, who: tuple[str, str]) -> None:
    sign_in(client, who)
    page = get(client, "/staff/")
    assert "What waits" in page
    assert tile(page, "overdue")[0] == "1"
    assert 'id="on-time"' in page and 'id="systems-figures"' in page


def test_an_auditor_gets_no_action_buttons_and_no_work_of_their_own(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, AUDITOR)
    page = get(client, "/staff/")
    assert 'id="record-request"' not in page
    assert 'id="my-work"' not in page
    assert 'id="tile-mine"' not in page
    assert "<form" not in page.replace('action="/staff/logout"', "").split("</header>")[1]
    sign_in(client, OFFICER)
    assert 'id="record-request"' in get(client, "/staff/")


def test_sign_in_lands_on_the_home(client: FlaskClient, world: World) -> None:
    resp = sign_in(client, OFFICER)
    assert resp.headers["Location"].endswith("/staff/")
    page = get(client, resp.headers["Location"])
    assert "<title>Home" in page
    assert '<a href="/staff/">Home</a>' in page


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, world: World) -> None:
    resp = client.get("/staff/")
    assert resp.status_code == 302
    assert "/staff/login" in resp.headers["Location"]


# -- empty -------------------------------------------------------------------------------


def test_a_fresh_install_says_there_is_nothing_yet(client: FlaskClient, staff: dict) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    words = text(page)
    assert "No request has been closed yet this month." in words
    assert "No request has been closed in the last 12 months." in words
    assert "No data system is registered yet." in words
    assert "Nothing is assigned to you." in words
    assert all(tile(page, key)[0] == "0" for key in TILES)
    assert "<svg" not in page  # no empty chart


# -- the on-time rate ----------------------------------------------------------------------


def answered(
    key: ApiKey,
    n: int,
    *,
    done: datetime,
    due: date,
    status: RequestStatus = S.COMPLETED,
    first_due: date | None = None,
) -> Request:
    req = new_request(key, n)
    req.status = status
    req.completed_at = done
    req.due_on = due
    if first_due is not None:  # extended: due_on is the date in force
        req.first_due_on, req.extended_due_on = first_due, due
    db.session.commit()
    return req


@pytest.fixture
def history(key: ApiKey, staff: dict[str, int]) -> date:
    """This month: on time, late, extended and on time, denied on time, cancelled (no
    answer owed). Three months ago: one late. Thirteen months ago: outside the window."""
    now = datetime.now(UTC)
    today = now.date()
    answered(key, 1, done=now, due=today + timedelta(days=3))
    answered(key, 2, done=now, due=today - timedelta(days=1))
    answered(key, 3, done=now, due=today + timedelta(days=20), first_due=today - timedelta(days=5))
    answered(key, 4, done=now, due=today, status=S.DENIED)
    answered(key, 5, done=now, due=today - timedelta(days=9), status=S.CANCELLED)
    earlier = now - timedelta(days=92)
    answered(key, 6, done=earlier, due=earlier.date() - timedelta(days=40))
    answered(key, 7, done=now - timedelta(days=400), due=today - timedelta(days=420))
    return today


def test_the_on_time_rate_counts_extensions_and_leaves_out_what_owes_no_answer(
    client: FlaskClient, history: date
) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    month = text(re.search(r'id="on-time-month">(.*?)</dd>', page, re.S).group(1)).strip()
    assert month == "75% on time: 3 of 4 answered by their due date"
    year = text(re.search(r'id="on-time-year">(.*?)</dd>', page, re.S).group(1)).strip()
    assert year == "60% on time: 3 of 5"
    table = page[page.index('id="on-time-table"') :]
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>([^<]+)</td></tr>", table
    )
    assert len(rows) == 12
    assert rows[-1] == (f"{history:%B %Y}", "4", "3", "75%")
    assert sum(int(r[1]) for r in rows) == 5
    assert next(r for r in rows if r[1] == "1")[2:] == ("0", "0%")
    assert sum(1 for r in rows if r[3] == "no answers") == 10
    assert "<figure" in page and "<figcaption>" in page and 'role="img"' in page


def test_the_day_an_answer_counts_against_is_the_company_s_calendar_day(
    app: Flask, key: ApiKey
) -> None:
    """Due on the 10th, in New York: 23:30 there on the 10th (04:30 UTC on the 11th) is on
    time; 00:30 there on the 11th is late."""
    app.config["DSAR_TIMEZONE"] = "America/New_York"
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    due = date(2026, 11, 10)
    answered(key, 1, done=datetime(2026, 11, 11, 4, 30, tzinfo=UTC), due=due)
    answered(key, 2, done=datetime(2026, 11, 11, 5, 30, tzinfo=UTC), due=due)
    # On the 1st at 02:00 UTC it is still October in New York.
    answered(key, 3, done=datetime(2026, 11, 1, 2, 0, tzinfo=UTC), due=date(2026, 11, 2))
    stats = dashboard_stats.compute(now=now)
    assert (stats.this_month.answered, stats.this_month.on_time) == (2, 1)
    october = stats.months[-2]
    assert (october.first_day, october.answered, october.on_time) == (date(2026, 10, 1), 1, 1)


@pytest.mark.parametrize(
    ("first", "years"),
    [(date(2025, 12, 1), {1: "2026"}), (date(2025, 3, 1), {0: "2025", 10: "2026"})],
)
def test_each_year_is_named_once_under_its_bars(first: date, years: dict[int, str]) -> None:
    months = [dashboard_stats.Month(add_months(first, n), 0, 0) for n in range(12)]
    bars = charts.month_bars(months)
    assert {n: b.year for n, b in enumerate(bars) if b.year} == years
    assert [b.value for b in bars] == [charts.NO_ANSWER] * 12


# -- data systems --------------------------------------------------------------------------


def task(
    req: Request,
    system: DataSystem,
    status: TaskStatus,
    *,
    took: timedelta,
    ended: datetime,
    manual: bool = False,
) -> None:
    start = ended - took
    t = Task(system=system, action=TaskAction.LOCATE, status=status, finished_at=ended)
    if manual:  # no job: the owner's link starts the clock
        t.result = {"link": {"sent_at": start.isoformat(), "n": 1}}
    else:
        t.queued_at, t.started_at = start, ended - took / 2
    req.tasks.append(t)


@pytest.fixture
def task_history(key: ApiKey, staff: dict[str, int]) -> dict[str, DataSystem]:
    known = systems()
    known["shop"] = DataSystem(key="shop", name="Shop", kind=SystemKind.SQL)
    known["old"] = DataSystem(key="old", name="Old CRM", kind=SystemKind.SQL, enabled=False)
    db.session.add_all([known["shop"], known["old"]])
    now = datetime.now(UTC)
    crm = [(T.SUCCEEDED, 10), (T.SUCCEEDED, 20), (T.SUCCEEDED, 60), (T.FAILED, 300)]
    for n, (status, seconds) in enumerate(crm):
        req = new_request(key, n)
        task(req, known["crm"], status, took=timedelta(seconds=seconds), ended=now)
        if n < 2:
            task(
                req,
                known["archive"],
                T.SUCCEEDED,
                took=timedelta(days=1 + 2 * n),
                ended=now,
                manual=True,
            )
    old = new_request(key, 10)
    # Finished 100 days ago: outside the 90 days.
    task(old, known["crm"], T.FAILED, took=timedelta(seconds=5), ended=now - timedelta(days=100))
    task(old, known["old"], T.FAILED, took=timedelta(seconds=5), ended=now - timedelta(days=100))
    running = new_request(key, 11)
    running.tasks.append(Task(system=known["shop"], action=TaskAction.LOCATE, status=T.RUNNING))
    db.session.commit()
    return known


def test_each_system_s_failure_rate_and_median_time(
    client: FlaskClient, task_history: dict[str, DataSystem]
) -> None:
    sign_in(client, OFFICER)
    page = get(client, "/staff/")
    table = page[page.index('id="systems-table"') :]
    rows = re.findall(r"<tr><td>([^<]+)</td>" + r"<td>([^<]+)</td>" * 4 + "</tr>", table)
    assert rows == [
        ("CRM", "4", "1", "25%", "20 s"),
        ("Paper archive", "2", "0", "0%", "2.0 days"),
        ("Shop", "0", "0", "no tasks", "no tasks"),
    ]
    bars = text(section(page, "systems-figures"))
    assert "25% (1 of 4)" in bars
    assert "Old CRM" not in bars  # disabled, and nothing in the last 90 days


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(app: Flask, key: ApiKey) -> None:
    crm = systems()["crm"]
    now = datetime.now(UTC)
    for n, seconds in enumerate((4, 10, 30, 1000)):
        task(new_request(key, n), crm, T.SUCCEEDED, took=timedelta(seconds=seconds), ended=now)
    db.session.commit()
    (figures,) = [s for s in dashboard_stats.compute(now=now).systems if s.name == "CRM"]
    assert figures.median_seconds == pytest.approx(20, abs=0.01)
    assert figures.failure_rate == 0


# -- cost --------------------------------------------------------------------------------


def test_statistics_are_kept_for_a_few_minutes_and_say_when_they_were_computed(
    app: Flask, client: FlaskClient, history: date
) -> None:
    sign_in(client, OFFICER)
    first = dashboard_stats.statistics()
    assert dashboard_stats.statistics() is first
    later = first.computed_at + dashboard_stats.MAX_AGE
    assert dashboard_stats.statistics(now=later) is not first
    dashboard_stats.forget()
    page = get(client, "/staff/")
    assert re.search(r"Statistics computed at \d\d:\d\d \(UTC\)", text(page))


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def test_the_page_costs_the_same_number_of_queries_for_few_requests_or_many(
    client: FlaskClient, key: ApiKey, world: World, statements: list[str]
) -> None:
    sign_in(client, OFFICER)

    def run() -> int:
        # Each request starts afresh, as in a server: no identity map, no cached user.
        db.session.remove()
        g.pop("_login_user", None)
        dashboard_stats.forget()
        statements.clear()
        get(client, "/staff/")
        return len(statements)

    few = run()
    key, crm = db.session.merge(key), db.session.merge(world.systems["crm"])
    for n in range(40):
        req = new_request(key, 100 + n, kind=RequestKind.DELETION.value)
        req.tasks.append(Task(system=crm, action=TaskAction.LOCATE))
    db.session.commit()
    assert run() == few
    # The signed-in user, unread notifications, the counts, the systems' waits and
    # failures, my urgent requests, and the two statistics.
    assert few == 7, statements


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_home_s_queries_run_alike_on_postgresql(
    env: dict[str, str],
    pg_database: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The correlated per-system counts, the JSON path of the owner's link, the union of
    samples and the day-by-day CASE: the same figures on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", pg_database)
    pg_app = create_app()
    with pg_app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        pg_app.config["DSAR_TIMEZONE"] = "America/New_York"
        key = api_keys.find(api_keys.create("tests", scopes=api_keys.SCOPES)[1])
        assert key is not None
        officer = accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
        known = systems()
        now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        due = date(2026, 11, 10)
        answered(key, 1, done=datetime(2026, 11, 11, 4, 30, tzinfo=UTC), due=due)
        answered(key, 2, done=datetime(2026, 11, 11, 5, 30, tzinfo=UTC), due=due)
        waiting = new_request(key, 3)
        waiting.assignee_id = officer.id
        waiting.status = S.IN_PROGRESS
        waiting.due_on = date.today() - timedelta(days=1)
        waiting.tasks.append(
            Task(system=known["archive"], action=TaskAction.LOCATE, status=T.ACTION_REQUIRED)
        )
        for n, seconds in enumerate((10, 20, 60)):
            task(
                new_request(key, 10 + n),
                known["crm"],
                T.SUCCEEDED,
                took=timedelta(seconds=seconds),
                ended=now,
            )
        failed = new_request(key, 20)
        failed.status = S.ACTION_REQUIRED
        task(failed, known["crm"], T.FAILED, took=timedelta(seconds=5), ended=now)
        task(failed, known["archive"], T.SUCCEEDED, took=timedelta(days=2), ended=now, manual=True)
        db.session.commit()

        work = dashboard.work(user_id=officer.id, today=date.today(), cap=1000)
        assert (work.mine, work.overdue, work.waiting_on_owners, work.failed) == (1, 1, 1, 1)
        assert [(c.name, c.requests) for c in work.owners] == [("Paper archive", 1)]
        assert [(c.name, c.requests) for c in work.failing] == [("CRM", 1)]
        assert [r.id for r in work.urgent] == [waiting.id]

        stats = dashboard_stats.compute(now=now)
        assert (stats.this_month.answered, stats.this_month.on_time) == (2, 1)
        figures = {s.name: s for s in stats.systems}
        assert (figures["CRM"].finished, figures["CRM"].failed) == (4, 1)
        assert figures["CRM"].median_seconds == pytest.approx(20, abs=0.01)
        assert figures["Paper archive"].median_seconds == pytest.approx(2 * 86400, abs=1)
        db.session.remove()
        db.engine.dispose()
