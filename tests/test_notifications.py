"""Staff notifications (issue 16, item 3): what needs an officer reaches them once, by email
at once, in a daily digest or only in the workspace's list, as each of them chose."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.config import ConfigError, from_env
from dsar.extensions import db
from dsar.models import Notification, Request, RequestStatus, Role, TaskStatus, User
from dsar.services import fanin, notifications
from dsar.services.accounts import create_user
from tests.conftest import body_of, csrf_token
from tests.test_decisions import submit


def officer(email: str, mode: str = "now") -> User:
    user = create_user(email, Role.OFFICER, "a-long-enough-password")
    user.notify = mode
    db.session.commit()
    return user


def mails_to(outbox: Callable[[], list], address: str) -> list:
    return [m for m in outbox() if m["To"] == address]


def dry_run_finished(req: Request) -> None:
    for task in req.tasks:
        task.status = TaskStatus.SUCCEEDED
    db.session.commit()
    fanin.fan_in(req.id)


def test_a_deletion_waiting_for_approval_is_told_once_to_each_officer_as_they_chose(
    app: Flask, demo_systems: list[str], outbox: Callable[[], list]
) -> None:
    at_once = officer("olivia@staff.test")
    daily = officer("dan@staff.test", "digest")
    quiet = officer("lin@staff.test", "list")
    req = submit("deletion", "gdpr")
    assert req.status is RequestStatus.AWAITING_APPROVAL
    dry_run_finished(req)
    fanin.fan_in(req.id)  # a second worker finishing at the same moment: told once

    [mail] = mails_to(outbox, at_once.email)
    assert mail["Subject"] == f"Waiting for your approval: {req.reference}"
    assert "approve or deny" in body_of(mail)
    assert f"/staff/requests/{req.reference}" in body_of(mail)
    assert not mails_to(outbox, daily.email) and not mails_to(outbox, quiet.email)
    notes = db.session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.emailed_at is not None) for n in notes] == [
        (at_once.id, True),
        (daily.id, False),
        (quiet.id, False),
    ]

    # The daily digest: one email to the digest reader, listing it; never twice.
    assert notifications.send_digests() == 1
    [digest] = mails_to(outbox, daily.email)
    assert "1 thing needed you" in body_of(digest)
    assert f"Waiting for your approval: {req.reference}" in body_of(digest)
    assert notifications.send_digests() == 0
    assert not mails_to(outbox, quiet.email)


def test_an_assigned_request_tells_only_its_assignee_and_a_failed_system_or_review_too(
    app: Flask, demo_systems: list[str], outbox: Callable[[], list]
) -> None:
    mine = officer("olivia@staff.test")
    other = officer("dan@staff.test")
    req = submit("access", "gdpr")
    req.assignee = mine
    for task in req.tasks:
        task.status = TaskStatus.SUCCEEDED
    req.tasks[0].status = TaskStatus.FAILED
    db.session.commit()
    assert fanin.fan_in(req.id)
    assert db.session.get(Request, req.id).status is RequestStatus.ACTION_REQUIRED
    [mail] = mails_to(outbox, mine.email)
    assert mail["Subject"] == f"A data system failed: {req.reference}"
    assert "retry it or skip it" in " ".join(body_of(mail).split())
    assert not mails_to(outbox, other.email)


def test_the_workspace_lists_them_counts_the_unread_and_keeps_each_ones_setting(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    login: Callable[[str], str],
    outbox: Callable[[], list],
) -> None:
    email = login("officer")
    me = db.session.scalar(select(User).where(User.email == email))
    req = submit("deletion", "gdpr")
    dry_run_finished(req)
    page = client.get("/staff/notifications").get_data(as_text=True)
    assert f"Waiting for your approval: {req.reference}" in page
    assert 'id="nav-notifications">Notifications <span class="badge">1</span>' in page
    token = csrf_token(client, "/staff/notifications")
    assert client.post("/staff/notifications/read", data={"csrf_token": token}).status_code == 302
    assert notifications.unread(me) == 0
    assert (
        '<span class="badge">'
        not in client.get("/staff/queue").get_data(as_text=True).split("</nav>")[0]
    )

    saved = client.post("/staff/notifications/mode", data={"csrf_token": token, "mode": "digest"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, me.id).notify == "digest"
    for bad in ("", "weekly", "now; drop table users"):
        refused = client.post("/staff/notifications/mode", data={"csrf_token": token, "mode": bad})
        assert refused.status_code == 422
        assert "Choose one of the three ways" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, me.id).notify == "digest"
    assert db.session.scalar(select(func.count(Notification.id))) >= 1


def test_a_bad_digest_time_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DSAR_DIGEST_CRON must be a cron expression"):
        from_env({"SECRET_KEY": "x", "DSAR_DIGEST_CRON": "every morning"}, instance=tmp_path)
    ok = from_env({"SECRET_KEY": "x", "DSAR_DIGEST_CRON": "30 6 * * 1-5"}, instance=tmp_path)
    assert ok["DSAR_DIGEST_CRON"] == "30 6 * * 1-5"
