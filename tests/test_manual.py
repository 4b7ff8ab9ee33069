"""Systems with no API: the owner gets a one-time link, reports, and the request moves on;
owners are reminded and officers told when nobody acts, each message once.

The engine calls `manual.issue_link` where it would enqueue a job (fan-out, approval).
"""

from __future__ import annotations

import email.message
import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from dsar.exceptions import ManualTaskRefused, SystemInvalid
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Event,
    Reminder,
    Request,
    RequestStatus,
    Role,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.services import (
    accounts,
    api_keys,
    decisions,
    intake,
    manual,
    manual_chase,
    manual_reports,
    systems,
)
from tests.conftest import body_of, csrf_token, staff_post

OWNER = "keeper@example.com"
OFFICER = "officer@example.com"
ADA = {"name": "Ada Lovelace", "email": "ada.lovelace@example.org", "phone": "+44 20 7946 0001"}
JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
INSTRUCTIONS = "Cabinet B, folders by surname.\nShred what you erase."
LINK = r"http://dsar\.test/task/[A-Za-z0-9_-]+"


def archive(contact: str = OWNER, **config: Any) -> DataSystem:
    return systems.create(
        {
            "key": "paper",
            "name": "Paper archive",
            "kind": "manual",
            "owner": "Kim Keeper",
            "contact": contact,
            "config": {"instructions": INSTRUCTIONS, **config},
        },
        actor="cli",
    )


def submit(kind: str, regime: str = "gdpr", person: dict[str, str] = ADA) -> Request:
    key, _ = api_keys.create("tests")
    sub = intake.Submission(kind=kind, regime=regime, **person)
    return intake.submit(sub, channel="api", api_key=key, identity_verified=True).request


def paper_task(req: Request) -> Task:
    db.session.expire_all()
    return next(t for t in db.session.get(Request, req.id).tasks if t.system.key == "paper")


def mails_to(outbox: Callable[[], list], to: str) -> list[email.message.Message]:
    return [m for m in outbox() if m["To"] == to]


def subject(mail: email.message.Message) -> str:
    """The subject, unfolded: long headers are wrapped over lines."""
    return " ".join(str(mail["Subject"]).split())


def owner_link(outbox: Callable[[], list]) -> str:
    """The path of the newest link emailed to the owner (reminders carry none)."""
    for mail in reversed(mails_to(outbox, OWNER)):
        found = re.findall(LINK, body_of(mail))
        if found:
            assert len(found) == 1
            return found[0].removeprefix("http://dsar.test")
    raise AssertionError("no task link was emailed to the owner")


def report(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    resp = client.post(path, data={"csrf_token": csrf_token(client, path), **data})
    return resp.status_code, resp.get_data(as_text=True)


def sent_at(task: Task) -> datetime:
    link = manual.link_info(task)
    assert link is not None
    return datetime.fromisoformat(link["sent_at"])


def events(action: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.action == action)))


def request_status(req: Request) -> RequestStatus:
    db.session.expire_all()
    return db.session.get(Request, req.id).status


# -- the link ----------------------------------------------------------------------------


def test_owner_is_emailed_a_one_time_link_with_the_identity_in_the_body_only(
    app: Flask, outbox: Callable[[], list]
) -> None:
    archive(deadline_days=10)
    req = submit("access")
    task = paper_task(req)
    assert task.status is TaskStatus.ACTION_REQUIRED  # the fan-out emailed the owner

    [mail] = mails_to(outbox, OWNER)
    body = body_of(mail)
    due = manual.due_date(task)
    assert due == (task.token_expires_at - timedelta(days=manual.GRACE_DAYS)).date()
    assert subject(mail) == (
        f"Action needed by {due:%-d %B %Y}: find a person's records in Paper archive "
        f"({req.reference})"
    )
    for shown in (*ADA.values(), req.reference, "Cabinet B, folders by surname.", "find"):
        assert shown in body
    assert f"Please report by {due:%A %-d %B %Y}." in body
    path = owner_link(outbox)
    token = path.removeprefix("/task/")
    assert len(token) >= 43
    db.session.refresh(task)
    assert task.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(task.result)
    # The identity is in the body only: not in the subject, the link, or the event.
    # (Whole words: the random token may hold "ada" by chance, about once in 800 runs.)
    for part in ("ada", "lovelace", "ada.lovelace@example.org", "7946"):
        assert part not in subject(mail).lower()
    assert "lovelace" not in path.lower() and "7946" not in path
    [sent] = events("manual_task_sent")
    assert sent.detail == {
        "task": task.id,
        "system": "paper",
        "action": "locate",
        "n": 1,
        "due": due.isoformat(),
    }


def test_issuing_again_keeps_a_live_link_unless_the_action_changed(
    app: Flask, outbox: Callable[[], list]
) -> None:
    archive()
    task = paper_task(submit("access"))  # the fan-out issued the first link
    first = task.token_hash
    manual.issue_link(task)  # a retry or a second fan-out
    assert task.token_hash == first
    assert len(mails_to(outbox, OWNER)) == 1
    task.action = TaskAction.ERASE  # as approving a deletion does
    db.session.commit()
    manual.issue_link(task)
    assert task.token_hash not in (None, first)
    assert "erase" in body_of(mails_to(outbox, OWNER)[-1])
    assert [e.detail["n"] for e in events("manual_task_sent")] == [1, 2]


def test_the_page_shows_what_to_look_for_and_looking_changes_nothing(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    req = submit("access")
    before = db.session.scalar(select(func.count(Event.id)))
    path = owner_link(outbox)
    for _ in range(2):  # a mail scanner, then the owner
        resp = client.get(path)
        assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for shown in (*ADA.values(), req.reference, "Paper archive", "Cabinet B, folders by surname."):
        assert shown in page
    assert "I found records about this person" in page
    assert "I erased" not in page  # a locate task offers found or nothing
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert db.session.scalar(select(func.count(Event.id))) == before
    assert paper_task(req).status is TaskStatus.ACTION_REQUIRED


# -- reporting ---------------------------------------------------------------------------


@pytest.mark.slow
def test_found_completes_the_request_once_the_other_systems_are_done(
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    archive()
    req = submit("access", person=JANE)
    others_done = lambda: all(  # noqa: E731
        t.status is TaskStatus.SUCCEEDED
        for t in db.session.get(Request, req.id).tasks
        if t.system.key != "paper"
    )
    run_workers(others_done)
    assert request_status(req) is RequestStatus.IN_PROGRESS  # waiting for the owner

    status, page = report(client, owner_link(outbox), outcome="found", count="2", note="J-17")
    assert status == 200
    assert "I found records about this person" in page
    assert "<dt>Number of records</dt><dd>2</dd>" in page
    run_workers(lambda: request_status(req) is RequestStatus.COMPLETED)
    task = paper_task(req)
    assert (task.status, task.found_count, task.erased_count, task.note) == (
        TaskStatus.SUCCEEDED,
        2,
        0,
        "J-17",
    )
    assert task.result["receipts"] == ["Paper archive: 2 record(s) found by the owner"]
    assert task.token_hash is None and task.reported_at and task.finished_at
    [reported] = events("manual_task_reported")
    assert reported.actor == "owner"
    assert reported.detail == {
        "task": task.id,
        "system": "paper",
        "outcome": "found",
        "count": 2,
        "rows": 0,
        "files": [],
        "kept": 0,
    }


@pytest.mark.slow
def test_erased_after_approval_completes_the_deletion(
    app: Flask,
    client: FlaskClient,
    env: dict[str, str],
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    archive()
    req = submit("deletion")
    assert report(client, owner_link(outbox), outcome="found", count="2")[0] == 200
    req = db.session.get(Request, req.id)
    assert req.status is RequestStatus.AWAITING_APPROVAL
    decisions.approve(req, actor="user:1")  # the archive's owner gets a new link: erase
    assert "erase every record" in body_of(mails_to(outbox, OWNER)[-1])

    status, page = report(client, owner_link(outbox), outcome="erased", count="2")
    assert status == 200
    assert "I erased (destroyed) their records" in page
    assert "<dt>Number of records</dt><dd>2</dd>" in page
    run_workers(lambda: request_status(req) is RequestStatus.COMPLETED)
    task = paper_task(req)
    assert (task.status, task.action, task.found_count, task.erased_count) == (
        TaskStatus.SUCCEEDED,
        TaskAction.ERASE,
        2,
        2,
    )
    assert task.preview["receipts"] == ["Paper archive: 2 record(s) found by the owner"]


@pytest.mark.slow
def test_nothing_held_completes_an_opt_out(
    client: FlaskClient, outbox: Callable[[], list], run_workers: Callable[..., None]
) -> None:
    archive()
    req = submit("opt_out", "ccpa")
    path = owner_link(outbox)
    assert "I marked their records" in client.get(path).get_data(as_text=True)
    status, page = report(client, path, outcome="nothing", count="")
    assert status == 200
    assert "I found nothing about this person" in page
    assert "Number of records" not in page
    run_workers(lambda: request_status(req) is RequestStatus.COMPLETED)
    task = paper_task(req)
    assert (task.status, task.found_count, task.erased_count) == (TaskStatus.SUCCEEDED, 0, 0)


def test_a_used_link_is_gone_and_a_second_report_changes_nothing(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    req = submit("access")
    path = owner_link(outbox)
    token = csrf_token(client, path)
    assert (
        client.post(path, data={"csrf_token": token, "outcome": "found", "count": "3"}).status_code
        == 200
    )
    before = db.session.scalar(select(func.count(Event.id)))
    again = client.post(path, data={"csrf_token": token, "outcome": "nothing"})
    assert again.status_code == 404
    assert "This link has been used or has expired" in again.get_data(as_text=True)
    assert client.get(path).status_code == 404
    task = paper_task(req)
    assert (task.status, task.found_count) == (TaskStatus.SUCCEEDED, 3)
    assert db.session.scalar(select(func.count(Event.id))) == before


def test_expired_and_unknown_links_look_the_same(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive(deadline_days=2)
    req = submit("access")
    long_ago = utcnow() - timedelta(days=2 + manual.GRACE_DAYS, seconds=1)
    manual.issue_link(paper_task(req), force=True, now=long_ago)
    expired = client.get(owner_link(outbox))
    unknown = client.get("/task/" + "x" * 43)
    assert expired.status_code == unknown.status_code == 404
    assert expired.get_data() == unknown.get_data()
    assert "This link has been used or has expired" in expired.get_data(as_text=True)
    assert paper_task(req).status is TaskStatus.ACTION_REQUIRED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"count": "2"}, "Choose what you found or did."),
        ({"outcome": "found"}, "Give the number of records you found."),
        ({"outcome": "found", "count": "-1"}, "Give a number from 0 to 1,000,000."),
        ({"outcome": "found", "count": "two"}, "Not a valid integer value."),
        ({"outcome": "nothing", "count": "3"}, "leave the number empty or 0"),
        ({"outcome": "found", "count": "1", "note": "x" * 2001}, "under 2,000 characters"),
        ({"outcome": "erased", "count": "2"}, "Choose one of the answers this task offers."),
        ({"outcome": "opted_out"}, "Choose one of the answers this task offers."),
    ],
)
def test_bad_reports_get_422_with_the_message_and_store_nothing(
    client: FlaskClient, outbox: Callable[[], list], data: dict[str, str], message: str
) -> None:
    archive()
    req = submit("access")
    path = owner_link(outbox)
    before = db.session.scalar(select(func.count(Event.id)))
    status, page = report(client, path, **data)
    assert status == 422
    assert str(escape(message)) in page
    assert "nothing was saved" in page
    task = paper_task(req)
    assert (task.status, task.found_count, task.note) == (TaskStatus.ACTION_REQUIRED, 0, "")
    assert task.token_hash is not None
    assert db.session.scalar(select(func.count(Event.id))) == before
    assert client.get(path).status_code == 200  # the link still works


def test_the_service_refuses_an_outcome_the_action_does_not_allow(app: Flask) -> None:
    archive()
    task = paper_task(submit("opt_out", "ccpa"))
    with pytest.raises(ManualTaskRefused, match="Choose one of the answers this task offers"):
        manual_reports.report(task, manual_reports.Report(outcome="erased", count=1))
    assert task.status is TaskStatus.ACTION_REQUIRED
    manual_reports.report(task, manual_reports.Report(outcome="opted_out", count=4))
    assert (task.status, task.found_count) == (TaskStatus.SUCCEEDED, 4)


# -- chasing -----------------------------------------------------------------------------


def chase_at_once(app: Flask, now: Any, workers: int = 2) -> list[dict[str, int]]:
    """Run `chase` in several threads that start together, each with its own session."""
    db.session.commit()
    barrier = threading.Barrier(workers)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                results.append(manual_chase.chase(now=now))
            except BaseException as exc:  # reported by the test below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def test_reminders_go_out_once_each_even_from_two_workers_at_once(
    app: Flask, outbox: Callable[[], list]
) -> None:
    archive(deadline_days=7)
    req = submit("access")
    sent = sent_at(paper_task(req))
    assert manual_chase.chase(now=sent + timedelta(days=1)) == {
        "reminded": 0,
        "escalated": 0,
        "resent": 0,
    }
    for day, total in ((2, 1), (2, 1), (5, 2), (6, 2)):
        results = chase_at_once(app, sent + timedelta(days=day, hours=1))
        assert len(results) == 2
        reminders = [m for m in mails_to(outbox, OWNER) if m["Subject"].startswith("Reminder")]
        assert len(reminders) == total, (day, results)
    db.session.expire_all()
    keys = db.session.scalars(
        select(Reminder.key).where(Reminder.key.like("task-%")).order_by(Reminder.id)
    ).all()
    task = paper_task(req)
    assert keys == [f"task-{task.id}-1-remind-2", f"task-{task.id}-1-remind-5"]
    body = body_of(reminders[-1])
    assert req.reference in body and "Paper archive" in body
    assert "Ada" not in body and ADA["email"] not in body  # the reminder repeats no identity
    assert [e.detail["day"] for e in events("manual_task_reminded")] == [2, 5]


def test_escalation_after_the_deadline_tells_the_officer_once(
    client: FlaskClient,
    outbox: Callable[[], list],
    login: Callable[[str], str],
) -> None:
    accounts.create_user(OFFICER, Role.OFFICER, "officer-password-1234")
    archive(deadline_days=3)
    req = submit("access")
    sent = sent_at(paper_task(req))
    old_path = owner_link(outbox)
    assert manual_chase.chase(now=sent + timedelta(days=2, hours=1))["reminded"] == 1
    late = sent + timedelta(days=3, minutes=1)
    results = chase_at_once(client.application, late)
    assert sorted(r["escalated"] for r in results) == [0, 1]
    assert manual_chase.chase(now=late + timedelta(days=1)) == {
        "reminded": 0,
        "escalated": 0,
        "resent": 0,
    }
    [alarm] = mails_to(outbox, OFFICER)
    assert subject(alarm) == f"Owner has not acted: Paper archive for {req.reference}"
    assert f"/staff/requests/{req.reference}" in body_of(alarm)
    assert "Ada" not in body_of(alarm)
    task = paper_task(req)
    assert task.escalated_at is not None
    [escalated] = events("manual_task_escalated")
    assert escalated.detail == {
        "task": task.id,
        "system": "paper",
        "why": "overdue",
        "recipients": 1,
    }

    # The officer sees it on the request page and sends the link again.
    login("officer")
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert f"link sent {sent:%Y-%m-%d} to Kim Keeper" in page
    assert "escalated " in page and "reminded " in page
    page = staff_post(client, req.reference, f"tasks/{task.id}/resend")
    assert "A new link was emailed to the system&#39;s owner." in page
    new_path = owner_link(outbox)
    assert new_path != old_path
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert paper_task(req).escalated_at is None
    # The officer's own "mark done by hand" still works.
    staff_post(client, req.reference, f"tasks/{task.id}/done", found="1", note="by phone")
    assert paper_task(req).status is TaskStatus.SUCCEEDED
    assert client.get(new_path).status_code == 404


def test_a_system_without_contact_is_escalated_at_once(
    app: Flask, outbox: Callable[[], list]
) -> None:
    accounts.create_user(OFFICER, Role.OFFICER, "officer-password-1234")
    archive(contact="")
    req = submit("access")
    task = paper_task(req)  # the fan-out found no one to email
    manual.issue_link(task)  # the engine again: nothing more
    [alarm] = mails_to(outbox, OFFICER)
    assert subject(alarm) == f"No owner to ask: Paper archive for {req.reference}"
    assert len(events("manual_task_unassigned")) == 1
    assert task.token_hash is None and task.escalated_at is not None
    with pytest.raises(ManualTaskRefused, match="no contact address"):
        manual.resend(req, task.id, actor="user:1")


def test_a_link_that_could_not_be_emailed_is_sent_again_by_the_chase(
    app: Flask, client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    app.config["DSAR_SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens: connection refused
    req = submit("access")  # the fan-out survives the mail outage
    task = paper_task(req)
    assert request_status(req) is RequestStatus.IN_PROGRESS
    assert (task.status, task.token_hash) == (TaskStatus.ACTION_REQUIRED, None)
    assert len(events("manual_task_mail_failed")) == 1
    app.config["DSAR_SMTP_URL"] = ""
    assert manual_chase.chase()["resent"] == 1
    assert manual_chase.chase()["resent"] == 0
    assert client.get(owner_link(outbox)).status_code == 200
    assert [e.detail["n"] for e in events("manual_task_sent")] == [1, 2]


def test_personal_data_never_reaches_urls_logs_or_events(
    client: FlaskClient, outbox: Callable[[], list], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="dsar")
    archive(deadline_days=3)
    req = submit("access")
    manual_chase.chase(now=sent_at(paper_task(req)) + timedelta(days=2, hours=1))
    path = owner_link(outbox)
    client.get(path)
    report(client, path, outcome="found", count="1", note="Found Ada's folder")
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "manual tasks: 1 reminded" in logged  # the capture works
    assert path.removeprefix("/task/") not in logged
    details = " ".join(str(e.detail) for e in db.session.scalars(select(Event)))
    for secret in (ADA["email"], "Ada", "Lovelace", ADA["phone"], "folder"):
        assert secret not in logged
        assert secret not in path
        assert secret not in details


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"deadline_days": 0}, "'deadline_days' must be a whole number of days from 1 to 90"),
        ({"deadline_days": 91}, "from 1 to 90"),
        ({"deadline_days": "7"}, "from 1 to 90"),
        ({"instructions": "x" * 2001}, "'instructions' must be text of at most 2,000"),
        ({"url": "http://x"}, "take only 'deadline_days', 'instructions' and 'owner_language'"),
        ({"owner_language": "pt-BR"}, "'owner_language' must be one of en, fr_CA, pt_BR"),
        ({"owner_language": 7}, "'owner_language' must be one of"),
    ],
)
def test_manual_config_takes_only_a_deadline_and_instructions(
    app: Flask, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(SystemInvalid, match=re.escape(message)):
        archive(**config)
    assert systems.get("paper") is None


def test_manual_config_accepts_both_settings_or_none(app: Flask) -> None:
    assert archive(deadline_days=90).config == {"deadline_days": 90, "instructions": INSTRUCTIONS}
    plain = systems.create({"key": "attic", "name": "Attic", "kind": "manual"}, actor="cli")
    assert plain.config == {}
    assert manual.deadline_days(plain) == 7  # DSAR_MANUAL_DAYS


def test_an_owner_who_must_keep_records_says_why_and_the_certificate_cites_the_persons_law(
    app: Flask,
    client: FlaskClient,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    from pypdf import PdfReader

    from dsar.rules import withholding

    archive()
    req = submit("deletion", regime="lgpd")
    assert report(client, owner_link(outbox), outcome="found", count="3")[0] == 200
    decisions.approve(db.session.get(Request, req.id), actor="user:1")
    link = owner_link(outbox)
    page = client.get(link).get_data(as_text=True)
    reason = withholding.find(withholding.kept_reasons("lgpd"), "legal_obligation")
    assert reason is not None and str(escape(reason.citation)) in page  # offered in LGPD terms
    # Kept records need a reason from the list; a made-up one stores nothing.
    for bad in ("", "because"):
        status, page = report(client, link, outcome="erased", count="1", kept="2", kept_reason=bad)
        assert status == 422 and "Choose why the records you kept must be kept." in page
    status, page = report(
        client, link, outcome="erased", count="1", kept="2", kept_reason="legal_obligation"
    )
    assert status == 200
    run_workers(lambda: request_status(req) is RequestStatus.COMPLETED)
    task = paper_task(req)
    assert (task.erased_count, task.retained_count) == (1, 2)
    doc = next(d for d in db.session.get(Request, req.id).documents if d.kind == "response")
    pdf = (app.config["DSAR_DOCUMENTS_DIR"] / doc.filename).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert reason.label in text and "LGPD Art. 16" in text
    assert "GDPR" not in text.replace("LGPD", "") and "CCPA" not in text
