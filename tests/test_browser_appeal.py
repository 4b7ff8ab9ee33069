"""In a real browser: a Virginia request is denied by one officer; Jane appeals from the link
in the denial email; that officer cannot decide the appeal; a second officer refuses it in
writing, and Jane's tracking page tells her how to complain to the Attorney General."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dsar.models import RequestStatus, Role
from tests.conftest import link_in
from tests.test_browser import (
    fill_request_form,
    request_by_reference,
    send_and_read_reference,
    wait_until,
)

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

FIRST = ("first.officer@example.com", "first-officer-password")
SECOND = ("second.officer@example.com", "second-officer-password")


def sign_in(page: Page, live_server: str, who: tuple[str, str]) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_denied_virginia_request_is_appealed_and_decided_by_a_second_officer(
    page: Page, live_server: str, outbox: Callable[[], list]
) -> None:
    from dsar.services import accounts

    for email, password in (FIRST, SECOND):
        accounts.create_user(email, Role.OFFICER, password)

    page.goto(f"{live_server}/request")
    fill_request_form(page, "Delete my data", "Virginia (VCDPA)")
    reference = send_and_read_reference(page)

    # The first officer denies it: the address was never confirmed.
    sign_in(page, live_server, FIRST)
    page.goto(f"{live_server}/staff/requests/{reference}")
    page.locator("#deny-reason").select_option(value="not_verified")
    page.locator("#deny-text").fill("The confirmation link was never opened.")
    page.get_by_role("button", name="Deny…", exact=True).click()
    expect(page.locator("#confirm")).to_contain_text("The confirmation link was never opened.")
    page.get_by_role("button", name="Yes, deny and tell the person").click()
    expect(page.locator("#request-status")).to_have_text("denied")
    page.get_by_role("button", name="Sign out").click()

    # Jane appeals from the denial email.
    [denial] = [m for m in outbox() if "we cannot carry it out" in m["Subject"]]
    page.goto(link_in(denial, r"http://127\.0\.0\.1:\d+/appeal/\S+"))
    expect(page.get_by_role("heading", name="Appeal our decision")).to_be_visible()
    expect(page.locator("#appeal")).to_contain_text("The confirmation link was never opened.")
    page.get_by_role("button", name="Send my appeal").click()  # nothing typed
    expect(page.locator("#grounds-error")).to_contain_text("Tell us why you disagree.")
    page.get_by_label("Why do you disagree with our decision?").fill(
        "The link expired while I was travelling; I can confirm it now."
    )
    page.get_by_role("button", name="Send my appeal").click()
    appeal_heading = page.get_by_role("heading", name=re.compile(r"We have your appeal DSAR-"))
    expect(appeal_heading).to_be_visible()
    appeal_ref = re.search(r"DSAR-[\d-]+", appeal_heading.inner_text())
    assert appeal_ref, appeal_heading.inner_text()
    appeal_url = page.url
    expect(page.locator("#status-words")).to_contain_text("did not take the first decision")
    appeal = request_by_reference(appeal_ref.group(0))
    assert appeal.status is RequestStatus.AWAITING_DECISION

    # The officer who denied cannot decide the appeal.
    sign_in(page, live_server, FIRST)
    page.goto(f"{live_server}/staff/requests/{appeal.reference}")
    expect(page.locator("#appeal-not-yours")).to_contain_text("another officer must decide")
    expect(page.locator("#appeal-decision")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    # A second officer refuses it, in writing.
    sign_in(page, live_server, SECOND)
    page.goto(f"{live_server}/staff/requests/{appeal.reference}")
    expect(page.get_by_role("heading", name="Next: decide the appeal")).to_be_visible()
    expect(page.locator("#appeal-grounds")).to_contain_text("I can confirm it now.")
    page.get_by_role("radio", name=re.compile("Refuse: uphold the denial")).check()
    page.get_by_role("button", name="Send the decision").click()  # no text: kept, refused
    expect(page.locator("#appeal-text")).to_be_focused()  # the browser asks for it first
    page.locator("#appeal-text").fill("Deletion needs a confirmed address; please ask again.")
    page.get_by_role("button", name="Send the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Appeal refused")
    wait_until(
        lambda: request_by_reference(appeal.reference).status is RequestStatus.DENIED,
        "the appeal to be refused",
    )

    page.goto(appeal_url)
    decision = page.locator("#decision")
    expect(decision).to_contain_text("Our decision on your appeal")
    expect(decision).to_contain_text("Deletion needs a confirmed address")
    expect(decision).to_contain_text("Virginia Office of the Attorney General")
    expect(decision.get_by_role("link")).to_have_attribute(
        "href", "https://www.oag.state.va.us/consumer-protection/"
    )
    [refusal] = [m for m in outbox() if m["Subject"].startswith("Our decision on your appeal")]
    assert refusal["To"] == "jane.doe@example.com"
