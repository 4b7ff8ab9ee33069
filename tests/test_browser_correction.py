"""In a real browser: Jane asks for her phone number to be corrected; an officer checks the
change beside what every system holds and accepts it; every demo system that keeps her phone
then holds the new one, and her certificate says where it changed."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dsar.models import RequestStatus, Role, TaskStatus
from tests.conftest import body_of, link_in
from tests.test_browser import (
    OFFICER,
    WORK_TIMEOUT_MS,
    fill_request_form,
    pdf_text,
    request_by_reference,
    request_count,
    wait_until,
)

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

JANE = "jane.doe@example.com"
OLD, NEW = "+442079460958", "+442079460000"


def phones(demo_dir: Path) -> dict[str, set[str]]:
    """Jane's phone as each demo system with a phone column holds it."""
    found = {}
    for name, sql in (
        ("crm", "SELECT phone FROM contacts WHERE email = ?"),
        ("shop", "SELECT phone FROM customers WHERE email = ?"),
        ("helpdesk", "SELECT phone FROM customers WHERE email = ?"),
    ):
        with closing(sqlite3.connect(demo_dir / f"{name}.db")) as conn:
            found[name] = {row[0] for row in conn.execute(sql, (JANE,))}
    return found


def test_a_correction_changes_janes_phone_in_every_system_and_the_certificate_says_so(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    demo_dir: Path,
    outbox: Callable[[], list],
    tmp_path: Path,
) -> None:
    from dsar.services import accounts

    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    before = phones(demo_dir)
    assert all(before.values()), before  # Jane's phone is held in all three

    page.goto(f"{live_server}/request")
    fieldset = page.locator("fieldset#correction")
    fill_request_form(page, "Delete my data", "United Kingdom (UK GDPR)")
    expect(fieldset).to_be_hidden()  # the correction's fields belong to its right only
    page.get_by_role("radio", name="Correct my data").check()
    expect(fieldset).to_be_visible()

    # A phone that is not one comes back beside its field, with what was typed; nothing kept.
    fieldset.get_by_label("Phone number, as it should be").fill("call me")
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("#fix_phone-error")).to_contain_text("digits")
    expect(page.locator("#fix_phone")).to_have_value("call me")
    assert request_count() == 0

    page.locator("#fix_phone").fill("+44 20 7946 0000")
    page.get_by_role("button", name="Send my request").click()
    heading = page.get_by_role("heading", name=re.compile(r"We have your request DSAR-"))
    expect(heading).to_be_visible()
    found = re.search(r"DSAR-[\d-]+", heading.inner_text())
    assert found, heading.inner_text()
    reference, status_url = found.group(0), page.url
    [message] = [m for m in outbox() if m["Subject"].startswith("Please confirm")]
    page.goto(link_in(message, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+"))
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(status_url)

    def searched() -> bool:
        req = request_by_reference(reference)
        return req.status is RequestStatus.AWAITING_APPROVAL and all(
            t.status is TaskStatus.SUCCEEDED for t in req.tasks
        )

    wait_until(searched, "every system to be searched")
    assert phones(demo_dir) == before  # the search changed nothing

    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/staff/requests/{reference}")
    expect(page.get_by_role("heading", name="Next: decide each change")).to_be_visible()
    change = page.locator("#change-phone")
    expect(change).to_contain_text(f"Asked: {NEW}")
    for system in ("CRM (contacts)", "Web shop", "Help desk"):
        expect(change.locator("li", has_text=system)).to_contain_text("holds")
    page.screenshot(path=tmp_path / "decide.png", full_page=True)
    page.get_by_text("Decide and make the accepted changes…").click()
    page.get_by_role("button", name="Make the accepted changes").click()
    expect(page.get_by_role("status")).to_contain_text("1 change being made")

    wait_until(
        lambda: request_by_reference(reference).status is RequestStatus.COMPLETED,
        "the correction to complete",
    )
    after = phones(demo_dir)
    assert after == {"crm": {NEW}, "shop": {NEW}, "helpdesk": {NEW}}, after

    page.goto(status_url)
    send_code = page.get_by_role("button", name="Email me a download code")
    expect(send_code).to_be_visible(timeout=WORK_TIMEOUT_MS)
    send_code.click()
    [code_mail] = [m for m in outbox() if m["Subject"].startswith("Your download code")]
    code = re.search(r"^\s+(\d{8})\s*$", body_of(code_mail), re.MULTILINE)
    assert code, body_of(code_mail)
    page.get_by_label("Download code").fill(code.group(1))
    page.get_by_role("button", name="Download my files").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Your answer (PDF)").click()
    saved = tmp_path / "certificate.pdf"
    info.value.save_as(saved)
    text = pdf_text(saved.read_bytes())
    assert "Certificate of correction" in text
    assert f"Phone number {NEW}" in text
    for system in ("CRM (contacts)", "Web shop", "Help desk"):
        assert system in text
    assert "0958" not in text  # the old number is not kept, nor shown
