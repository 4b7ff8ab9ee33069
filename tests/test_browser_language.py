"""In a real browser: a Brazilian's LGPD access request and a Quebecer's Law 25 request, each
from a browser set to their language, get the form, the verification email, the tracking page
and the PDF letter in that language, through real rq workers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from dsar import i18n
from dsar.extensions import db
from dsar.models import Request
from tests.conftest import body_of, link_in, pdf_text
from tests.test_i18n import BROWSERS, subject_of, translated

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.browser"]

WORK_TIMEOUT_MS = 90_000  # verification to a rendered PDF, by the page's own polling


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("code", "regime", "name", "address"),
    [
        ("pt_BR", "lgpd", "Maria Silva", "maria.silva@example.com"),
        ("fr_CA", "qc_law25", "Émilie Roy", "emilie.roy@example.com"),
    ],
)
def test_a_request_from_a_browser_in_another_language_is_answered_in_it(
    page: Page,
    live_server: str,
    live_workers: list,
    demo_systems: list[str],
    outbox: Callable[[], list],
    tmp_path: Path,
    code: str,
    regime: str,
    name: str,
    address: str,
) -> None:
    def t(msgid: str, **values: object) -> str:
        return translated(code, msgid, **values)

    page.set_extra_http_headers({"Accept-Language": BROWSERS[code]})
    page.goto(f"{live_server}/request")
    expect(page.locator("html")).to_have_attribute("lang", i18n.tag(code))
    page.get_by_label(t("Which law applies to you?")).select_option(value=regime)
    page.locator("input[name=kind][value=access]").check()
    page.locator("#name").fill(name)
    page.locator("#email").fill(address)
    page.get_by_role("button", name=t("Send my request")).click()
    expect(page.locator("#status-words")).to_have_text(
        t("Waiting for you to confirm your email address")
    )
    status_url = page.url

    [verify] = [m for m in outbox() if m["To"] == address and "/verify/" in body_of(m)]
    assert body_of(verify).startswith(t("Hello %(name)s,", name=name))
    assert "Please confirm" not in subject_of(verify)
    page.goto(link_in(verify, r"http://127\.0\.0\.1:\d+/r/\S+/verify/\S+"))
    expect(page.locator("html")).to_have_attribute("lang", i18n.tag(code))
    page.get_by_role("button", name=t("Confirm my email address")).click()
    expect(page).to_have_url(status_url)

    # The page polls and reloads itself when the answer is ready.
    send_code = page.get_by_role("button", name=t("Email me a download code"))
    expect(send_code).to_be_visible(timeout=WORK_TIMEOUT_MS)
    expect(page.locator("#status-words")).to_have_text(t("Completed: your answer is ready"))
    page.screenshot(path=tmp_path / f"status-{code}.png", full_page=True)
    send_code.click()
    [code_mail] = [m for m in outbox() if m["To"] == address and re.search(r"\d{8}", body_of(m))]
    assert body_of(code_mail).startswith(t("Hello %(name)s,", name=name))
    digits = re.search(r"^\s+(\d{8})\s*$", body_of(code_mail), re.MULTILINE)
    assert digits, body_of(code_mail)
    page.get_by_label(t("Download code")).fill(digits.group(1))
    page.get_by_role("button", name=t("Download my files")).click()
    with page.expect_download() as info:
        page.get_by_role("link", name=t("Your answer (PDF)")).click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    text = pdf_text(saved.read_bytes())
    for msgid in ("What the law asks us to tell you", "Yours sincerely,"):
        assert flat(t(msgid)) in text, msgid
        assert msgid not in text
    assert flat(t("Dear %(name)s,", name=name)) in text
    db.session.remove()
    req = db.session.scalars(select(Request)).one()
    assert (req.language, req.regime) == (code, regime)
