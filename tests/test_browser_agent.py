"""In a real browser: an authorised agent files an access request for Jane with her signed
permission; Jane confirms by email that she asked them; the request starts, and the agent's
page says the answer goes to Jane."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dsar.models import RequestStatus
from tests.conftest import body_of, link_in
from tests.test_browser import (
    fill_request_form,
    request_by_reference,
    request_count,
    send_and_read_reference,
    wait_until,
)

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_an_agent_files_for_a_person_who_confirms_by_email(
    page: Page, live_server: str, outbox: Callable[[], list], tmp_path: Path
) -> None:
    signed = tmp_path / "jane-signed-permission.pdf"
    signed.write_bytes(PDF)
    page.goto(f"{live_server}/request")
    fill_request_form(page, "See the data held about me", "California (CCPA/CPRA)")
    agent_fields = page.locator("#agent-fields")
    expect(agent_fields).to_be_hidden()
    page.get_by_label("I am an authorised agent, making this request for someone else").check()
    expect(agent_fields).to_be_visible()
    page.get_by_label("Agent's name (yours)").fill("Ada Agent")
    page.get_by_label("Agent's email address (yours)").fill("ada@agents.example")
    page.get_by_label("Agent's organisation (optional)").fill("Rights Co")

    # Without the permission: refused beside the field, what was typed kept, nothing stored.
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("#agent_permission-error")).to_contain_text("signed permission")
    expect(page.locator("#agent_email")).to_have_value("ada@agents.example")
    expect(page.locator("#agent-fields")).to_be_visible()
    assert request_count() == 0

    page.locator("#agent_permission").set_input_files(str(signed))
    reference = send_and_read_reference(page)
    expect(page.get_by_role("status")).to_contain_text("we have emailed Jane Doe")
    expect(page.locator("#made-by")).to_contain_text("our answer goes to Jane Doe")

    [receipt] = [m for m in outbox() if m["To"] == "ada@agents.example"]
    assert reference in receipt["Subject"] and "/verify/" not in body_of(receipt)
    [ask] = [m for m in outbox() if m["To"] == "jane.doe@example.com"]
    assert ask["Subject"].startswith("Did you ask Ada Agent")
    page.goto(link_in(ask, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+"))
    expect(
        page.get_by_role("heading", name="Did you ask Ada Agent to act for you?")
    ).to_be_visible()
    page.get_by_role("button", name="Yes, I asked them: confirm").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    wait_until(
        lambda: request_by_reference(reference).status is not RequestStatus.AWAITING_VERIFICATION,
        "the request to start",
    )
    req = request_by_reference(reference)
    assert req.verified_by == "email" and req.agent.organisation == "Rights Co"
