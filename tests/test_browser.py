"""A real browser against the app over HTTP, with real Redis and long-running rq workers.

Chromium (the system's, driven by Playwright) does what a person and a privacy officer do:
fill the form, follow the emailed link, watch the status page update itself, download the
PDF answer, sign in to the staff workspace.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Request, RequestStatus, Role, TaskStatus
from tests.conftest import body_of, link_in, pdf_text

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

DEMO_SYSTEM_NAMES = (
    "CRM (contacts)",
    "Web shop (customers and orders)",
    "Newsletter (mailing lists)",
    "Help desk (support tickets)",
    "Events guest list (spreadsheet)",
)
WORK_TIMEOUT_MS = 60_000  # verification to a rendered PDF, by the page's own polling
OFFICER = ("officer@example.com", "demo-officer-password")


def request_count() -> int:
    db.session.remove()  # a fresh session sees what the server thread committed
    return db.session.scalar(select(func.count()).select_from(Request)) or 0


def the_request() -> Request:
    db.session.remove()
    return db.session.scalars(select(Request)).one()


def fill_request_form(page: Page, kind: str, law: str) -> None:
    page.get_by_label("Which law applies to you?").select_option(label=law)
    page.get_by_role("radio", name=kind).check()
    page.get_by_label("Your full name").fill("Jane Doe")
    page.get_by_label("Your email address").fill("jane.doe@example.com")


def send_and_read_reference(page: Page) -> str:
    """Send the request form; the reference the receipt's heading shows."""
    page.get_by_role("button", name="Send my request").click()
    heading = page.get_by_role("heading", name=re.compile(r"We have your request DSAR-"))
    expect(heading).to_be_visible()
    found = re.search(r"DSAR-[\d-]+", heading.inner_text())
    assert found, heading.inner_text()
    return found.group(0)


def test_person_submits_access_request_confirms_email_and_downloads_answer(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
    tmp_path: Path,
) -> None:
    home = page.goto(f"{live_server}/")
    assert home is not None and home.ok
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    assert home.headers["referrer-policy"] == "same-origin"

    page.locator(".hero").get_by_role("link", name="Make a request").click()
    expect(page).to_have_url(f"{live_server}/request")
    expect(page.get_by_role("heading", name="Make a privacy request")).to_be_visible()

    # An empty form comes back with a message next to each required field, and stores nothing.
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    expect(page.locator("fieldset#kind .error")).to_have_text(
        "Choose what you would like us to do."
    )
    for field, message in {
        "regime": "Choose the law that applies to you.",
        "name": "Enter your name so that we can find your records.",
        "email": "Enter the email address you use with us.",
    }.items():
        expect(page.locator(f"#{field}-error")).to_have_text(message)
        expect(page.locator(f"#{field}-error")).to_be_visible()
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    assert request_count() == 0

    fill_request_form(page, "See the data held about me", "European Union (GDPR)")
    page.get_by_role("button", name="Send my request").click()

    expect(
        page.get_by_role("heading", name=re.compile(r"We have your request DSAR-"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    expect(page.locator("#status-words")).to_have_text(
        "Waiting for you to confirm your email address"
    )
    req = the_request()
    assert req.status is RequestStatus.AWAITING_VERIFICATION
    status_url = page.url

    [message] = [m for m in outbox() if m["Subject"].startswith("Please confirm")]
    link = link_in(message, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+")
    assert link.startswith(f"{status_url}/verify/")
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(status_url)
    expect(
        page.get_by_role("heading", name="Thank you, your email address is confirmed")
    ).to_be_visible()

    # No reload from here on: the page polls for progress and reloads itself when done.
    send_code = page.get_by_role("button", name="Email me a download code")
    expect(send_code).to_be_visible(timeout=WORK_TIMEOUT_MS)
    expect(page.locator("#status-words")).to_have_text("Completed: your answer is ready")
    expect(page.locator("#progress-count")).to_have_text("5 of 5 done")
    rows = page.locator("#system-rows tr")
    expect(rows).to_have_count(len(DEMO_SYSTEM_NAMES))
    for name in DEMO_SYSTEM_NAMES:
        expect(rows.filter(has_text=name).locator("td").nth(1)).to_have_text("Done")
    page.screenshot(path=tmp_path / "status.png", full_page=True)

    # The tracking link alone opens nothing: Jane enters the code we email her.
    send_code.click()
    expect(page.get_by_role("heading", name="Enter your download code")).to_be_visible()
    [code_mail] = [m for m in outbox() if m["Subject"].startswith("Your download code")]
    code = re.search(r"^\s+(\d{8})\s*$", body_of(code_mail), re.MULTILINE)
    assert code, body_of(code_mail)
    page.get_by_label("Download code").fill(code.group(1))
    page.get_by_role("button", name="Download my files").click()
    expect(page.get_by_role("heading", name="Your files")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Your answer (PDF)").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == f"{req.reference}.pdf"
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "jane.doe@example.com" in text
    assert req.reference in text


def test_the_form_shows_only_the_rights_the_chosen_law_gives(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    page.get_by_text("Rights under this law").first.click()
    page.get_by_role("link", name="Ask online").first.click()
    expect(page.get_by_label("Which law applies to you?")).to_have_value("gdpr")
    expect(page.get_by_role("radio", name="See the data held about me")).to_be_checked()
    portable = page.get_by_role("radio", name="Get my data in a machine-readable file")
    expect(portable).to_be_visible()
    portable.check()
    page.get_by_label("Which law applies to you?").select_option(label="California (CCPA/CPRA)")
    expect(portable).to_be_hidden()  # the CCPA gives no portability right
    expect(page.get_by_text("Only the rights this law gives you are shown.")).to_be_visible()
    expect(page.get_by_text("write to privacy@example.com")).to_be_visible()
    page.get_by_label("Which law applies to you?").select_option(label="Brazil (LGPD)")
    expect(portable).to_be_visible()
    expect(portable).not_to_be_checked()  # unticked when it was hidden: nothing sent by surprise


def test_opt_out_takes_one_form_and_no_email_confirmation(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
    tmp_path: Path,
) -> None:
    page.goto(f"{live_server}/request")
    fill_request_form(
        page, "Stop selling, sharing or marketing with my data", "California (CCPA/CPRA)"
    )
    page.screenshot(path=tmp_path / "form.png", full_page=True)
    page.get_by_role("button", name="Send my request").click()

    expect(
        page.get_by_role("heading", name=re.compile(r"We have your request DSAR-"))
    ).to_be_visible()
    expect(page.get_by_text("We have started working on it")).to_be_visible()
    expect(page.get_by_text("One more step")).to_have_count(0)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_have_count(0)
    assert not [m for m in outbox() if m["Subject"].startswith("Please confirm")]

    expect(page.locator("#status-words")).to_have_text(
        "Completed: your answer is ready", timeout=WORK_TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Email me a download code")).to_be_visible()
    expect(page.get_by_role("heading", name="Confirm your email address")).to_have_count(0)
    assert the_request().status is RequestStatus.COMPLETED


def test_officer_signs_in_and_sees_the_request_in_the_queue(page: Page, live_server: str) -> None:
    from dsar.services import accounts, intake

    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    receipt = intake.submit(
        intake.Submission(
            kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="portal",
    )
    reference = receipt.request.reference
    due = receipt.request.due_on.isoformat()
    db.session.remove()

    page.goto(f"{live_server}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\b"))
    expect(page.get_by_role("heading", name="Privacy team sign-in")).to_be_visible()

    page.get_by_label("Email").fill(OFFICER[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text(
        "That email and password do not match a staff account."
    )
    expect(page.get_by_role("heading", name="Requests by due date")).to_have_count(0)

    page.get_by_label("Email").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Sign in").click()
    # Signed in, the officer lands on the staff home; the queue is one click away.
    expect(page.get_by_role("heading", name=re.compile(r"^Home\b"))).to_be_visible()
    page.get_by_role("link", name="Queue", exact=True).click()
    expect(page.get_by_role("heading", name="Requests by due date")).to_be_visible()
    row = page.locator("table.queue tbody tr", has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(due)
    expect(row).to_contain_text("awaiting verification")

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.get_by_text("How the due date was computed")).to_be_visible()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("ol.timeline li").first).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("verification requested")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/staff/login\b"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{live_server}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\b"))
    expect(page.get_by_role("heading", name="Privacy team sign-in")).to_be_visible()


def wait_until(
    done: Callable[[], bool], what: str, timeout: float = WORK_TIMEOUT_MS / 1000
) -> None:
    """Poll `done` (which reads the database afresh) until it holds, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def request_by_reference(reference: str) -> Request:
    db.session.remove()  # a fresh session sees what the server and the workers committed
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def crm_emails(demo_dir: Path, email: str) -> list[tuple[int]]:
    with closing(sqlite3.connect(demo_dir / "crm.db")) as conn:
        return conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchall()


def test_officer_filters_the_queue_approves_a_deletion_after_its_dry_run_and_sees_it_complete(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    demo_dir: Path,
    outbox: Callable[[], list],
    tmp_path: Path,
) -> None:
    from dsar.services import accounts, intake

    jane = "jane.doe@example.com"
    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    other = intake.submit(
        intake.Submission(
            kind="access", regime="gdpr", name="Sam Roe", email="sam.roe@example.com"
        ),
        channel="portal",
    ).request.reference
    db.session.remove()

    # The person asks for deletion and confirms their email address.
    page.goto(f"{live_server}/request")
    fill_request_form(page, "Delete my data", "European Union (GDPR)")
    page.get_by_role("button", name="Send my request").click()
    heading = page.get_by_role("heading", name=re.compile(r"We have your request DSAR-"))
    expect(heading).to_be_visible()
    found = re.search(r"DSAR-[\d-]+", heading.inner_text())
    assert found, heading.inner_text()
    reference = found.group(0)
    assert reference != other
    status_url = page.url
    [message] = [
        m for m in outbox() if m["To"] == jane and m["Subject"].startswith("Please confirm")
    ]
    page.goto(link_in(message, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+"))
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(status_url)

    # The dry run: every system searched, the request waits for an officer, nothing erased.
    def dry_run_done() -> bool:
        req = request_by_reference(reference)
        return (
            req.status is RequestStatus.AWAITING_APPROVAL
            and len(req.tasks) == len(demo_systems)
            and all(t.status is TaskStatus.SUCCEEDED for t in req.tasks)
        )

    wait_until(dry_run_done, "the dry run to finish")
    assert crm_emails(demo_dir, jane), "the dry run erased Jane from the CRM"
    assert jane in (demo_dir / "events.csv").read_text(encoding="utf-8")

    # The officer signs in and finds the request with the queue's search.
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Queue", exact=True).click()
    expect(page.get_by_role("heading", name="Requests by due date")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows.filter(has_text=reference)).to_have_count(1)
    expect(rows.filter(has_text=other)).to_have_count(1)

    search = page.get_by_role("search")
    search.get_by_label("Search", exact=True).fill(reference)
    search.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"[?&]q={re.escape(reference)}(&|$)"))
    expect(search.get_by_label("Search", exact=True)).to_have_value(reference)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(reference)
    expect(rows.first).to_contain_text("awaiting approval")
    expect(page.locator("table.queue")).not_to_contain_text(other)

    tabs = page.get_by_role("navigation", name="Requests per status")
    tab = tabs.get_by_role("link", name=re.compile(r"^awaiting approval \("))
    if tab.count():
        tab.click()
        expect(page).to_have_url(re.compile(r"[?&]status=awaiting_approval(&|$)"))
        expect(tabs.locator("[aria-current=page]")).to_have_text(
            re.compile(r"^awaiting approval \(1\)$")
        )
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(reference)

    rows.first.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.locator("#request-status")).to_have_text("awaiting approval")
    dry_run = page.locator("#dry-run")
    expect(dry_run.get_by_role("heading", name="What approving will erase")).to_be_visible()
    expect(dry_run.locator("h3", has_text="Web shop")).to_have_text(
        "Web shop (customers and orders) — 10 records"
    )
    page.screenshot(path=tmp_path / "dry-run.png", full_page=True)
    page.get_by_role("button", name="Approve and erase in every system…").click()
    # What it will do, per system, before anything is erased; the officer confirms.
    effects = page.locator("#effects")
    expect(effects).to_contain_text("Web shop (customers and orders): erase 10 records")
    expect(effects).to_contain_text("Erased records cannot be brought back.")
    page.screenshot(path=tmp_path / "confirm-erasure.png", full_page=True)
    page.get_by_role("button", name="Yes, erase in every system").click()
    approved = "Approved: the erasure is running in every system."
    expect(page.get_by_role("status").filter(has_text=approved)).to_have_text(approved)

    # The erasure runs; the officer reloads the request page until it has completed.
    status = page.locator("#request-status")
    deadline = time.monotonic() + WORK_TIMEOUT_MS / 1000
    while status.inner_text() != "completed":
        if time.monotonic() > deadline:
            pytest.fail(f"{reference} is still {status.inner_text()!r} after the erasure")
        page.wait_for_timeout(500)
        page.reload()
    assert request_by_reference(reference).status is RequestStatus.COMPLETED
    assert crm_emails(demo_dir, jane) == []
    assert jane not in (demo_dir / "events.csv").read_text(encoding="utf-8")

    documents = page.locator("section.card", has=page.get_by_role("heading", name="Documents"))
    link = documents.get_by_role(
        "link", name=re.compile(rf"^The letter \(PDF\): {reference}-.*\.pdf$")
    )
    expect(link).to_have_count(1)
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    text = pdf_text(saved.read_bytes())
    assert reference in text
