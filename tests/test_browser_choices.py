"""Issue 15's "done when", in Chromium against the live app and real rq workers.

A person opts out of the newsletter and back in from one page; each system shows its receipt
and the ledger both changes with their source; the shop's backend reads the current choice
over the API. A paused request's page says why, and a clarification answered on the portal
starts the clock again and moves the deadline.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from dsar.extensions import db
from dsar.services import api_keys, clock, consent
from tests.conftest import api_headers, body_of, link_in, staff_post
from tests.test_manual import archive
from tests.test_person_informed import JANE, the_request

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

WORK_TIMEOUT_MS = 90_000
SYSTEMS = (
    "CRM (contacts)",
    "Events guest list (spreadsheet)",
    "Help desk (support tickets)",
    "Newsletter (mailing lists)",
)


def receipts(page: Page) -> dict[str, str]:
    rows = page.locator("#receipts tbody tr")
    return {
        rows.nth(i).locator("td").nth(1).inner_text(): rows.nth(i).locator("td").nth(2).inner_text()
        for i in range(rows.count())
    }


def choose(page: Page, answer: str) -> None:
    page.get_by_label(answer).check()
    page.get_by_role("button", name="Save my choices").click()
    # The page reloads by itself once every system has answered.
    expect(page.locator("#receipts-working")).to_have_count(0, timeout=WORK_TIMEOUT_MS)


def test_opting_out_of_the_newsletter_and_back_in_from_one_page(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
) -> None:
    page.goto(live_server)
    page.get_by_role("link", name="Your privacy choices").first.click()
    page.get_by_label("Your email address").fill(JANE["email"])
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [mail] = [m for m in outbox() if "/choices/open/" in body_of(m)]
    page.goto(link_in(mail, r"http://127\.0\.0\.1:\d+/choices/open/\S+"))
    expect(page).to_have_url(re.compile(r"/choices/mine$"))
    expect(page.locator("#choice-email_marketing")).to_contain_text("Nothing recorded yet")

    choose(page, "No, do not send them")
    done = receipts(page)
    assert sorted(done) == sorted(SYSTEMS), done
    assert all(words.startswith("Done: ") for words in done.values()), done
    expect(page.locator("#choice-email_marketing")).to_contain_text("Now: No, do not send them")

    choose(page, "Yes, send them to me")
    back = receipts(page)
    assert sorted(back) == sorted(SYSTEMS) and all(w.startswith("Done: ") for w in back.values())
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(2)
    for i, answer in enumerate(("Yes, send them to me", "No, do not send them")):
        expect(history.nth(i)).to_contain_text(answer)
        expect(history.nth(i)).to_contain_text("You, in this preference centre")
        expect(history.nth(i)).to_contain_text("Version 1")

    # The shop's backend asks before mailing: the person's latest choice.
    _, secret = api_keys.create("shop backend", scopes=[api_keys.CHOICES_READ])
    ask = urllib.request.Request(
        f"{live_server}/api/v1/choices",
        headers={**api_headers(secret), "Person-Email": JANE["email"]},
    )
    with urllib.request.urlopen(ask, timeout=30) as answer:
        assert answer.status == 200
        body = json.load(answer)
    mail_choice = next(c for c in body["choices"] if c["choice"] == "email_marketing")
    assert mail_choice["opted_in"] is True and mail_choice["source"] == "portal"
    assert [e.source for e in consent.ledger(JANE["email"])] == ["portal", "portal"]


def test_a_paused_request_says_why_and_an_answer_on_the_portal_restarts_the_clock(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
    client: FlaskClient,
    login: Callable[[str], str],
) -> None:
    archive()  # a search by hand keeps the request open
    page.goto(f"{live_server}/request")
    page.get_by_label("Which law applies to you?").select_option(value="uk_gdpr")
    page.locator("input[name=kind][value=access]").check()
    page.locator("#name").fill(JANE["name"])
    page.locator("#email").fill(JANE["email"])
    page.get_by_role("button", name="Send my request").click()
    tracking = page.url
    [verify] = [m for m in outbox() if "/verify/" in body_of(m)]
    page.goto(link_in(verify, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+"))
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(tracking)

    login("officer")
    reference = the_request().reference
    due_before = the_request().due_on
    staff_post(client, reference, "clarify", question="Which shop account is yours?", pause="y")
    req = the_request()
    for event in req.events:  # asked five days ago: the clock has stood still since
        if event.action in ("clarification_requested", "clock_paused"):
            event.at -= timedelta(days=5)
    clock.recompute(req)
    db.session.commit()

    page.goto(tracking)
    expect(page.locator("#status-words")).to_contain_text("Paused")
    question = page.locator("#notice-question")
    expect(question).to_contain_text("Which shop account is yours?")
    page.get_by_label("Your message").fill("The one I opened in 2021.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.locator("#notice-question")).to_have_count(0)
    expect(page.locator("#status-words")).not_to_contain_text("Paused")

    req = the_request()
    assert req.paused_since is None
    assert timedelta(days=5) <= req.due_on - due_before <= timedelta(days=9)
    assert [e.actor for e in req.events if e.action == "clock_resumed"] == ["person"]
