"""Reminders: which one is due, who gets it, once only, even with two real workers at once."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from dsar import queue
from dsar.config import ROOT
from dsar.extensions import db
from dsar.launcher import worker_argv
from dsar.models import (
    ApiKey,
    Event,
    Reminder,
    Request,
    RequestKind,
    RequestStatus,
    Role,
    User,
)
from dsar.services import accounts, api_keys, clock, intake, reminders

TODAY = date(2026, 3, 2)
OFFICER = "officer@example.com"
PASSWORD = "staff-password-1"


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (10, None),
        (8, None),
        (7, "before-7"),
        (5, "before-7"),
        (4, "before-7"),
        (3, "before-3"),
        (2, "before-3"),
        (1, "before-1"),
        (0, "before-1"),
        (-1, "overdue-2026-03-02"),
        (-30, "overdue-2026-03-02"),
    ],
)
def test_reminder_key(days_left: int, expected: str | None) -> None:
    assert reminders.reminder_key(days_left, [7, 3, 1], TODAY) == expected


def test_reminder_key_ignores_the_order_of_the_offsets() -> None:
    assert reminders.reminder_key(2, [1, 7, 3], TODAY) == "before-3"


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture
def key(app: Flask, api_key: str) -> ApiKey:
    found = api_keys.find(api_key)
    assert found is not None
    return found


def make_request(key: ApiKey, *, due_in: int | None = None, today: date = TODAY) -> Request:
    """A vouched GDPR access request received a few days before `today`, due `due_in` days
    after `today` when given (set directly in the database)."""
    sub = intake.Submission(
        kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
    )
    received = datetime(today.year, today.month, today.day, 9, tzinfo=UTC) - timedelta(days=3)
    receipt = intake.submit(sub, channel="api", api_key=key, identity_verified=True, now=received)
    req = receipt.request
    if due_in is not None:
        req.due_on = today + timedelta(days=due_in)
        db.session.commit()
    return req


def user(email: str, role: Role) -> User:
    return accounts.create_user(email, role, PASSWORD)


def reminders_to(outbox: Callable[[], list], to: str | None = None) -> list[tuple[str, str]]:
    """(recipient, subject) of every reminder email so far."""
    return [
        (m["To"], m["Subject"])
        for m in outbox()
        if (m["Subject"].startswith(("Due in", "OVERDUE:"))) and (to is None or m["To"] == to)
    ]


def reminder_rows() -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(r.request_id, r.key) for r in db.session.scalars(select(Reminder))]


# -- the service -------------------------------------------------------------------------


def test_one_reminder_per_request_then_nothing_the_same_day(
    key: ApiKey, outbox: Callable[[], list]
) -> None:
    user(OFFICER, Role.OFFICER)
    user("auditor@example.com", Role.AUDITOR)
    in7, in3, today, late = (make_request(key, due_in=n) for n in (7, 3, 0, -2))
    far = make_request(key, due_in=20)

    report = reminders.run(today=TODAY)
    assert sorted(report.reminded) == sorted(
        [
            (in7.id, "before-7"),
            (in3.id, "before-3"),
            (today.id, "before-1"),
            (late.id, "overdue-2026-03-02"),
        ]
    )
    assert sorted(reminders_to(outbox)) == sorted(
        [
            (OFFICER, f"Due in 7 days: {in7.reference}"),
            (OFFICER, f"Due in 3 days: {in3.reference}"),
            (OFFICER, f"Due in 0 days: {today.reference}"),
            (OFFICER, f"OVERDUE: {late.reference} was due 28 February 2026"),
        ]
    )
    assert far.id not in {r for r, _ in reminder_rows()}
    [overdue_mail] = [m for m in outbox() if m["Subject"].startswith("OVERDUE")]
    body = overdue_mail.get_payload(decode=True).decode()
    assert "2 days ago" in body
    assert f"/staff/requests/{late.reference}" in body
    events = db.session.scalars(select(Event).where(Event.action == "reminder_sent")).all()
    assert len(events) == 4
    assert all(e.detail["recipients"] == 1 for e in events)

    again = reminders.run(today=TODAY)
    assert again.reminded == []
    assert len(reminders_to(outbox)) == 4

    # The next day: 6 and 2 days left fall under reminders already sent; the request due
    # yesterday and the one already overdue each get that day's overdue alarm.
    tomorrow = TODAY + timedelta(days=1)
    next_day = reminders.run(today=tomorrow)
    assert sorted(next_day.reminded) == sorted(
        [(today.id, "overdue-2026-03-03"), (late.id, "overdue-2026-03-03")]
    )
    new = reminders_to(outbox)[4:]
    assert sorted(new) == sorted(
        [
            (OFFICER, f"OVERDUE: {today.reference} was due 2 March 2026"),
            (OFFICER, f"OVERDUE: {late.reference} was due 28 February 2026"),
        ]
    )
    assert reminders.run(today=tomorrow).reminded == []
    assert Counter(reminder_rows()).most_common(1)[0][1] == 1


def test_the_assignee_alone_is_reminded(key: ApiKey, outbox: Callable[[], list]) -> None:
    user(OFFICER, Role.OFFICER)
    other = user("other.officer@example.com", Role.OFFICER)
    assigned = make_request(key, due_in=3)
    unassigned = make_request(key, due_in=3)
    assigned.assignee_id = other.id
    db.session.commit()

    reminders.run(today=TODAY)
    assert sorted(reminders_to(outbox)) == sorted(
        [
            ("other.officer@example.com", f"Due in 3 days: {assigned.reference}"),
            (OFFICER, f"Due in 3 days: {unassigned.reference}"),
            ("other.officer@example.com", f"Due in 3 days: {unassigned.reference}"),
        ]
    )


def test_without_officers_the_admins_are_reminded(key: ApiKey, outbox: Callable[[], list]) -> None:
    user("admin@example.com", Role.ADMIN)
    user("auditor@example.com", Role.AUDITOR)
    req = make_request(key, due_in=1)
    reminders.run(today=TODAY)
    assert reminders_to(outbox) == [("admin@example.com", f"Due in 1 day: {req.reference}")]


def test_a_paused_request_gets_no_reminder_and_its_date_moves_on(
    key: ApiKey, outbox: Callable[[], list]
) -> None:
    user(OFFICER, Role.OFFICER)
    req = intake.submit(
        intake.Submission(
            kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="api",
        api_key=key,
        identity_verified=True,
        now=datetime(2026, 1, 5, 9, tzinfo=UTC),
    ).request
    assert req.due_on == date(2026, 2, 5)
    clock.pause(
        req, reason="waiting for ID", actor="user:1", now=datetime(2026, 2, 1, 9, tzinfo=UTC)
    )
    assert (req.paused_since, req.due_on) == (date(2026, 2, 1), date(2026, 2, 5))

    report = reminders.run(today=date(2026, 2, 3))  # 4 days left: would be "before-7"
    assert report.reminded == []
    assert report.recomputed == [req.id]
    db.session.refresh(req)
    assert req.due_on == date(2026, 2, 7)
    assert "2 days so far" in req.due_basis

    reminders.run(today=date(2026, 2, 4))
    db.session.refresh(req)
    assert req.due_on == date(2026, 2, 8)
    assert reminders_to(outbox) == []
    assert reminder_rows() == []


def test_an_owed_acknowledgement_is_sent_once(key: ApiKey, outbox: Callable[[], list]) -> None:
    req = make_request(key)
    req.acknowledged_at = None
    req.status = RequestStatus.IN_PROGRESS
    db.session.commit()

    def acknowledgements() -> list:
        # The template of the late acknowledgement, not the "received" email of the intake.
        return [m for m in outbox() if "link in our" in m.get_payload(decode=True).decode()]

    assert acknowledgements() == []

    report = reminders.run(today=TODAY)
    assert report.acknowledged == [req.id]
    [mail] = acknowledgements()
    assert mail["To"] == "jane.doe@example.com"
    assert mail["Subject"] == f"We have received your request {req.reference}"
    db.session.refresh(req)
    assert req.acknowledged_at is not None

    assert reminders.run(today=TODAY).acknowledged == []
    assert len(acknowledgements()) == 1


def test_a_request_awaiting_verification_is_not_acknowledged_again(
    key: ApiKey, outbox: Callable[[], list]
) -> None:
    """The verification email is the acknowledgement; received requests are left alone."""
    req = make_request(key)
    req.acknowledged_at = None
    req.status = RequestStatus.RECEIVED
    db.session.commit()
    before = len(outbox())
    assert reminders.run(today=TODAY).acknowledged == []
    assert len(outbox()) == before


# -- two real workers at once ------------------------------------------------------------


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            worker_argv(env["REDIS_URL"], burst=True),
            env=dict(os.environ),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def wait_all(procs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for proc, log in procs:
        proc.wait(timeout=120)
        assert proc.returncode == 0, log.read_text()[-3000:]


DUE_IN = (7, 3, 1, 0, -2, -9)
# Enough reminders that one job lasts about a second: both workers are then surely at it.
RACE_REQUESTS = 40 * len(DUE_IN)


def open_requests(n: int, today: date) -> list[Request]:
    """`n` open, acknowledged requests due across DUE_IN, inserted directly (fast)."""
    received = datetime(today.year, today.month, today.day, 9, tzinfo=UTC) - timedelta(days=3)
    reqs = []
    for i in range(n):
        req = Request(
            tracking_hash=secrets.token_hex(32),
            kind=RequestKind.ACCESS,
            regime="gdpr",
            status=RequestStatus.IN_PROGRESS,
            channel="api",
            name="Jane Doe",
            email="jane.doe@example.com",
            received_at=received,
            acknowledged_at=received,
        )
        clock.recompute(req)
        req.due_on = today + timedelta(days=DUE_IN[i % len(DUE_IN)])
        db.session.add(req)
        reqs.append(req)
    db.session.flush()
    for req in reqs:
        req.reference = f"DSAR-{received:%Y}-{req.id:06d}"
    db.session.commit()
    return reqs


def expected_key(days_left: int, today: date) -> str:
    key = reminders.reminder_key(days_left, [7, 3, 1], today)
    assert key is not None
    return key


def race(env: dict[str, str], tmp_path: Path) -> None:
    """Enqueue the reminder job twice, start two burst workers together, wait for both, and
    check that the two jobs really ran at the same time on the two workers."""
    tasks = queue.get_queue(queue.TASKS)
    for job_id in ("reminders-a", "reminders-b"):
        tasks.enqueue("workers.jobs.send_deadline_reminders", job_id=job_id)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    procs = [(start_worker(env, log), log) for log in logs]
    wait_all(procs)
    jobs = [tasks.fetch_job(job_id) for job_id in ("reminders-a", "reminders-b")]
    for job in jobs:
        assert job is not None
        assert job.get_status() == "finished", job.latest_result()
    a, b = jobs
    # pytest.fail, not assert: a race that did not happen is never an expected failure.
    if a.worker_name == b.worker_name:
        pytest.fail(f"one worker ran both jobs ({a.worker_name}); there was no race")
    if not (a.started_at < b.ended_at and b.started_at < a.ended_at):
        pytest.fail("the two jobs did not overlap in time; there was no race")


@pytest.mark.slow
def test_two_workers_send_each_reminder_once_and_restarts_send_nothing(
    env: dict[str, str], app: Flask, outbox: Callable[[], list], tmp_path: Path
) -> None:
    user(OFFICER, Role.OFFICER)
    today = reminders.today_here()  # the workers run for the real today
    requests = open_requests(RACE_REQUESTS, today)
    expected = Counter((req.id, expected_key((req.due_on - today).days, today)) for req in requests)
    assert {k for _, k in expected} == {
        "before-7",
        "before-3",
        "before-1",
        f"overdue-{today.isoformat()}",
    }

    race(env, tmp_path)

    sent = reminders_to(outbox, OFFICER)
    subjects = Counter(subject for _, subject in sent)
    assert len(sent) == len(requests)
    assert set(subjects.values()) == {1}, subjects.most_common(3)
    for req in requests:
        assert sum(req.reference in s for s in subjects) == 1
    rows = reminder_rows()
    assert Counter(rows) == expected

    # A restart: the job runs again from scratch and finds everything already sent.
    tasks = queue.get_queue(queue.TASKS)
    tasks.enqueue("workers.jobs.send_deadline_reminders", job_id="reminders-c")
    wait_all([(start_worker(env, tmp_path / "w3.log"), tmp_path / "w3.log")])
    again = tasks.fetch_job("reminders-c")
    assert again is not None
    assert again.get_status() == "finished"
    assert reminders_to(outbox, OFFICER) == sent
    assert reminder_rows() == rows


@pytest.mark.slow
def test_two_workers_send_an_owed_acknowledgement_once(
    env: dict[str, str], app: Flask, outbox: Callable[[], list], tmp_path: Path
) -> None:
    user(OFFICER, Role.OFFICER)
    requests = open_requests(RACE_REQUESTS, reminders.today_here())
    owing = requests[::10]
    for req in owing:
        req.acknowledged_at = None
    db.session.commit()
    race(env, tmp_path)
    db.session.expire_all()
    assert all(req.acknowledged_at is not None for req in owing)
    acks = Counter(m["Subject"] for m in outbox() if m["Subject"].startswith("We have received"))
    assert acks == Counter(f"We have received your request {r.reference}" for r in owing)
