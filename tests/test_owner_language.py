"""A system owner reads their task in their language: the registry's `owner_language` for the
emails and, unless their browser or the page's switcher says otherwise, for the task page.

The person's emails keep the person's language; the officers' stay in English.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import i18n
from dsar.extensions import db
from dsar.models import Request, Role, TaskStatus
from dsar.services import accounts, api_keys, intake, manual, manual_chase
from tests.conftest import body_of, csrf_token
from tests.test_i18n import BROWSERS, read, subject_of, translated
from tests.test_manual import (
    ADA,
    OFFICER,
    OWNER,
    archive,
    mails_to,
    owner_link,
    paper_task,
    report,
    sent_at,
    submit,
)
from tests.test_pseudo_language import visible

TASK = "find a person's records in %(system)s"


class Page:
    """What the owner sees: the declared language and the visible text, spaces folded."""

    def __init__(self, html: str) -> None:
        self.lang = read(html).lang
        self.text = words(visible(html))

    def shows(self, text: str) -> bool:
        return words(text) in self.text


def words(text: str) -> str:
    return " ".join(text.split())  # a no-break space (French ":") folds too


def submit_in(language: str, kind: str = "access") -> Request:
    key, _ = api_keys.create("tests")
    sub = intake.Submission(kind=kind, regime="gdpr", language=language, **ADA)
    return intake.submit(sub, channel="api", api_key=key, identity_verified=True).request


def test_the_owners_email_and_page_speak_the_registrys_owner_language(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive(owner_language="de")
    req = submit_in("pt_BR")  # the person writes in Portuguese; the owner reads German
    task = paper_task(req)
    [mail] = mails_to(outbox, OWNER)
    due = manual.due_date(task)
    task_words = translated("de", TASK, system="Paper archive")
    assert words(subject_of(mail)) == words(
        translated(
            "de",
            "Action needed by %(day)s: %(task)s (%(reference)s)",
            day=format_date(due, format="long", locale="de"),
            task=task_words,
            reference=req.reference,
        )
    )
    body = body_of(mail)
    for german in (
        translated("de", "Hello %(name)s,", name="Kim Keeper"),
        translated(
            "de",
            "What to do: %(steps)s",
            steps=translated("de", "Find and count their records; change nothing."),
        ),
        translated("de", "Whom to look for (keep this email private; do not forward it):"),
        translated(
            "de", "Please report by %(due)s.", due=format_date(due, format="full", locale="de")
        ),
    ):
        assert words(german) in words(body), german
    for shown in ADA.values():
        assert shown in body
    assert "Please report by" not in body
    # The person's own email, sent in the same fan-out, is in the person's language.
    received, by_hand = mails_to(outbox, ADA["email"])  # and: part of the search by hand
    assert body_of(received).startswith(translated("pt_BR", "Hello %(name)s,", name=ADA["name"]))
    assert subject_of(by_hand) == translated(
        "pt_BR",
        "Your request %(reference)s: part of our search is done by hand",
        reference=req.reference,
    )

    # The page: German with no Accept-Language at all, the system's name, whom to look for.
    path = owner_link(outbox)
    page = Page(client.get(path).get_data(as_text=True))
    assert page.lang == "de"
    assert page.shows(translated("de", "Your task: %(task)s", task=task_words))
    assert page.shows(translated("de", "I found records about this person"))
    assert page.shows(translated("de", "What to look for")) and page.shows(ADA["name"])

    # A refusal is worded in German and keeps the task open.
    status, html = report(client, path, outcome="found", count="")
    assert status == 422
    assert translated("de", "Give the number of records you found.") in html
    assert paper_task(req).status is TaskStatus.ACTION_REQUIRED

    status, html = report(client, path, outcome="found", count="1200")
    assert status == 200
    done = Page(html)
    assert done.lang == "de"
    assert done.shows(translated("de", "Thank you, your report is recorded"))
    assert "1.200" in done.text  # German digit grouping
    assert paper_task(req).found_count == 1200


def test_without_a_registry_language_the_page_follows_the_browser_and_the_email_is_english(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive()
    req = submit("access")
    [mail] = mails_to(outbox, OWNER)
    assert subject_of(mail).startswith("Action needed by ")
    path = owner_link(outbox)
    english = Page(client.get(path, headers={"Accept-Language": "en-GB"}).get_data(as_text=True))
    assert english.lang == "en"
    assert english.shows("Your task: find a person's records in Paper archive")
    assert english.shows("At most 2,000 characters.")
    for code, header in BROWSERS.items():  # after English: nothing of it stays in the page
        page = Page(client.get(path, headers={"Accept-Language": header}).get_data(as_text=True))
        assert page.lang == i18n.tag(code), code
        phrase = translated(code, TASK, system="Paper archive")
        assert page.shows(translated(code, "Your task: %(task)s", task=phrase)), code
        assert page.shows(format_decimal(2000, locale=code)), code
    assert paper_task(req).status is TaskStatus.ACTION_REQUIRED  # looking changed nothing


def test_the_switcher_on_the_owners_page_changes_its_language_and_leaks_no_link(
    client: FlaskClient, outbox: Callable[[], list]
) -> None:
    archive(owner_language="de")
    submit("access")
    path = owner_link(outbox)
    html = client.get(path).get_data(as_text=True)
    switcher = html[html.index('<form class="language"') :]
    switcher = switcher[: switcher.index("</form>")]
    assert "action=" not in switcher and 'name="next"' not in switcher  # it stays on this page
    resp = client.get(f"{path}?lang=tr")
    assert Page(resp.get_data(as_text=True)).lang == "tr"
    assert "dsar_lang=tr" in resp.headers["Set-Cookie"]
    assert Page(client.get(path).get_data(as_text=True)).lang == "tr"  # remembered
    # A language we do not ship is ignored: the remembered choice stands.
    assert Page(client.get(f"{path}?lang=xx").get_data(as_text=True)).lang == "tr"


def test_a_used_or_unknown_link_is_explained_in_the_browsers_language(
    client: FlaskClient,
) -> None:
    for code, header in BROWSERS.items():
        resp = client.get("/task/" + "x" * 43, headers={"Accept-Language": header})
        assert resp.status_code == 404
        page = Page(resp.get_data(as_text=True))
        assert page.lang == i18n.tag(code)
        assert page.shows(translated(code, "This link has been used or has expired"))


def test_the_reminder_is_in_the_owners_language_and_the_officers_alarm_in_english(
    app: Flask, outbox: Callable[[], list]
) -> None:
    accounts.create_user(OFFICER, Role.OFFICER, "officer-password-1234")
    archive(owner_language="fr_CA", deadline_days=3)
    req = submit("access")
    sent = sent_at(paper_task(req))
    assert manual_chase.chase(now=sent + timedelta(days=2, hours=1))["reminded"] == 1
    reminder = mails_to(outbox, OWNER)[-1]
    task_words = translated("fr_CA", TASK, system="Paper archive")
    due = manual.due_date(paper_task(req))
    assert words(subject_of(reminder)) == words(
        translated(
            "fr_CA",
            "Reminder: %(task)s by %(day)s (%(reference)s)",
            task=task_words,
            day=format_date(due, format="long", locale="fr_CA"),
            reference=req.reference,
        )
    )
    assert req.reference in body_of(reminder)
    assert "Ada" not in body_of(reminder)  # a reminder repeats no identity, in any language
    manual_chase.chase(now=sent + timedelta(days=3, minutes=1))
    [alarm] = mails_to(outbox, OFFICER)
    assert subject_of(alarm) == f"Owner has not acted: Paper archive for {req.reference}"


def test_the_registry_refuses_an_owner_language_we_do_not_ship(
    client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("admin")
    path = "/staff/systems/new"
    page = client.get(path)
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_token(client, path),
        "key": "paper",
        "name": "Paper archive",
        "kind": "manual",
        "owner": "Kim Keeper",
        "contact": OWNER,
        "config": '{"owner_language": "klingon"}',
    }
    resp = client.post(path, data=data)
    assert resp.status_code == 422
    assert "&#39;owner_language&#39; must be one of en, fr_CA, pt_BR" in resp.get_data(True)
    assert db.session.scalars(select(Request)).all() == []


def test_the_officer_sees_in_which_language_the_owner_was_written_to(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive(owner_language="el")
    req = submit("access")
    login("officer")
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "to Kim Keeper &lt;keeper@example.com&gt;, in Greek</span>" in page
