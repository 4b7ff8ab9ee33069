"""Issue 16's "done when", in Chromium against the live app and real rq workers.

The officer finds "jane" and "000002" in the queue, sorts it by the date received, sees a
request waiting on "Legal and records" (the paper archive's owner), is emailed when a deletion
waits for approval, and confirms the erasure after reading its summary; an admin invites an
auditor, who signs in with a TOTP code and filters the audit chain by request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Request, RequestStatus, Role, TaskStatus
from dsar.services import accounts, api_keys, intake, systems
from tests.conftest import STAFF_PASSWORD, body_of, link_in

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

WORK_TIMEOUT = 90
OFFICER = ("olivia@example.com", "officer-password-olivia")
ADMIN = ("boss@example.com", STAFF_PASSWORD)
AUDITOR_PASSWORD = "auditor-password-nora-1"
JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
MAX = {"name": "Max Müller", "email": "max.mueller@example.net"}


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WORK_TIMEOUT
    while time.monotonic() < deadline:
        db.session.expire_all()
        if done():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def request_of(reference: str) -> Request:
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def file(person: dict[str, str], kind: str) -> str:
    key, _ = api_keys.create(f"tests-{kind}")
    receipt = intake.submit(
        intake.Submission(kind=kind, regime="gdpr", **person),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    return receipt.request.reference or ""


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_the_officers_day_and_a_new_auditor_in_the_browser(
    app: Flask,
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
) -> None:
    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1], name="Olivia Officer")
    # Jane's access request waits on the paper archive's owner (no API: a person reports).
    archive = systems.get("archive")
    assert archive is not None and archive.owner == "Legal and records"
    systems.set_enabled(archive, True, actor="tests")
    jane = file(JANE, "access")
    wait_until(
        lambda: any(t.status is TaskStatus.ACTION_REQUIRED for t in request_of(jane).tasks),
        "the archive's owner to be asked",
    )
    # Max's deletion runs its dry run in the five automated systems, then waits.
    systems.set_enabled(systems.get("archive"), False, actor="tests")
    erase = file(MAX, "deletion")
    assert erase.endswith("000002")
    wait_until(
        lambda: (
            request_of(erase).status is RequestStatus.AWAITING_APPROVAL
            and all(t.status is TaskStatus.SUCCEEDED for t in request_of(erase).tasks)
        ),
        "the dry run",
    )

    # The officer is emailed that the deletion waits for approval.
    wait_until(
        lambda: any(
            OFFICER[0] in m["To"] and erase in body_of(m) and "approv" in body_of(m)
            for m in outbox()
        ),
        "the officer's email",
    )

    sign_in(page, live_server, *OFFICER)
    page.get_by_role("link", name="Queue", exact=True).click()
    rows = page.locator("table.queue tbody tr")
    search = page.get_by_role("search")
    for typed, expected in (("jane", jane), ("000002", erase)):
        search.get_by_label("Search", exact=True).fill(typed)
        search.get_by_role("button", name="Apply filters").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(expected)
        if typed == "jane":
            expect(rows.first.locator('td[data-label="Waiting on"]')).to_contain_text(
                "Legal and records"
            )
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("link", name=re.compile("^Received")).click()
    expect(page.get_by_role("heading", name="Requests by date received")).to_be_visible()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(erase)  # the newest first
    expect(rows.nth(1)).to_contain_text(jane)

    # The erasure: its summary first, then the confirmation.
    rows.first.get_by_role("link", name=erase).click()
    page.get_by_role("button", name=re.compile("Approve and erase in every system")).click()
    effects = page.locator("#effects")
    expect(effects).to_contain_text("CRM (contacts)")
    expect(effects).to_contain_text("erase")
    page.locator("#confirm-button").click()
    wait_until(
        lambda: request_of(erase).status is RequestStatus.COMPLETED, "the erasure and the answer"
    )
    sign_out(page)

    # An admin invites an auditor, who must sign in with a code from an app.
    app.config["DSAR_TOTP_REQUIRED"] = frozenset({"admin", "auditor"})
    accounts.create_user(ADMIN[0], Role.ADMIN, ADMIN[1], name="Bo Admin", demo=True)
    sign_in(page, live_server, *ADMIN)
    page.get_by_role("link", name="Team").click()
    invite = page.locator("#invite")
    invite.get_by_text("Invite someone").click()
    invite.locator("#name").fill("Nora Auditor")
    invite.locator("#email").fill("nora@example.com")
    invite.locator("#role").select_option("auditor")
    invite.get_by_role("button").click()
    expect(page.locator("main")).to_contain_text("nora@example.com")
    sign_out(page)
    [mail] = [m for m in outbox() if "nora@example.com" in m["To"]]
    page.goto(link_in(mail, r"http://127\.0\.0\.1:\d+/staff/welcome/\S+"))
    page.locator("#password").fill(AUDITOR_PASSWORD)
    page.locator("#repeat").fill(AUDITOR_PASSWORD)
    page.locator("#password").press("Enter")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.locator("#code").fill(totp.now())
    page.locator("#two-factor-setup button").click()
    expect(page.locator("#recovery-codes")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, "nora@example.com", AUDITOR_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/login/code$"))
    page.locator("#code").fill(totp.at(int(time.time()) + 30))  # the set-up code is spent
    page.locator("#code").press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/$"))

    # The auditor filters the audit chain by the erased request.
    page.get_by_role("link", name="Audit chain").click()
    page.goto(f"{live_server}/audit/chain/events")
    page.locator("#reference").fill(erase)
    page.get_by_role("button", name="Apply filters").click()
    events = page.locator("table.audit-events tbody tr")
    expect(events.first).to_be_visible()
    for i in range(events.count()):
        expect(events.nth(i)).to_contain_text(erase)
    expect(page.locator("table.audit-events")).not_to_contain_text(jane)
