"""A pseudo-language finds every string that escaped translation.

Each message of translations/messages.pot becomes «àççéñtéd» text (placeholders and markup
kept) in a catalogue compiled for this test only. The person's whole journey then runs in it
(the home page, the form and its errors, the tracking pages, the emails, the PDF answer) and
the letters of every other right render in it too: any English word left is a string that
is not marked, or a text shown without being translated. What is not ours to translate is
taken out first: the person's own details, the registry's words for its systems, the
company's settings, citations.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import i18n
from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import Request, RequestStatus
from dsar.services import decisions, manual_chase, review
from tests.conftest import body_of, csrf_token, download_answer, link_in, pdf_text, staff_post
from tests.test_i18n import subject_of

PSEUDO = "eo"  # a locale Babel knows (dates, numbers) that we do not ship
ACCENTS = str.maketrans("aeiouycnAEIOUYCN", "àéïôüýçñÀÉÏÔÜÝÇÑ")
KEEP = re.compile(r"(%\(\w+\)[sd]|%[sd%]|<[^>]+>|&\w+;|\{\w*\})")
# English words a sentence that escaped translation almost surely holds; in the pseudo
# language each reads accented ("ýôü"), so a plain one is ours, untranslated.
ENGLISH = re.compile(
    r"\b(the|you|your|we|our|this|that|with|have|has|will|please|request|answer|letter|"
    r"not|and|for|are|was|been|from|which|what|when|here|there|they|their|can|may|must|"
    r"any|each|every|about|into|of|page|records?|system|systems|data|personal)\b",
    re.IGNORECASE,
)
PERSON = {"name": "Maria Silva", "email": "maria.silva@example.com"}
ONE_DAY = timedelta(days=1)


def pseudo(text: str) -> str:
    parts = KEEP.split(text)
    return "«" + "".join(p if KEEP.fullmatch(p) else p.translate(ACCENTS) for p in parts) + "»"


@pytest.fixture(scope="session")
def pseudo_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with (ROOT / "translations" / "messages.pot").open("rb") as fh:
        catalog = read_po(fh, locale=PSEUDO)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(pseudo(message.id[min(n, 1)]) for n in range(2))
        else:
            message.string = pseudo(message.id)
    folder = tmp_path_factory.mktemp("pseudo")
    target = folder / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return folder


@pytest.fixture
def in_pseudo(
    app: Flask, pseudo_catalogue: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The app offers the pseudo language as if it shipped."""
    monkeypatch.setitem(i18n.LANGUAGES, PSEUDO, "Pseudo")
    directories = app.extensions["babel"].translation_directories
    directories.insert(0, str(pseudo_catalogue))
    yield
    directories.remove(str(pseudo_catalogue))


def not_ours(app: Flask) -> list[str]:
    """Texts that are the person's, the registry's or the company's, longest first."""
    out = [*PERSON.values(), "Preview for staff, not sent: the letter as it reads now."]
    out += ["The answer is made when the request completes."]
    settings = ("COMPANY_NAME", "COMPANY_ADDRESS", "DPO", "SIGNATORY", "EU_REPRESENTATIVE")
    for key in (f"DSAR_{name}" for name in settings):
        value = app.config[key]
        out += [value, *re.split(r"[;,]\s*", value)]

    def strings(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    registry = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text("utf-8"))
    for system in registry["system"]:
        for key in ("name", "owner", "description", "labels", "disclosure"):
            out += list(strings(system.get(key)))
    return sorted({" ".join(t.split()) for t in out if t.strip()}, key=len, reverse=True)


def english_left(text: str, exempt: list[str]) -> list[str]:
    """The sentences of `text` that still hold an English word once what is not ours is out."""
    text = " ".join(text.split())
    for item in exempt:
        text = text.replace(item, " ")
    text = re.sub(r"«[^«»]*»", " ", text)  # translated (pseudo) text
    text = re.sub(r"\S+@\S+|https?://\S+|DSAR-\d{4}-\d+", " ", text)
    return [s.strip() for s in re.split(r"(?<=[.:;!?])\s+", text) if ENGLISH.search(s)]


class Visible(HTMLParser):
    """A page's visible text, and the attributes a person reads or hears."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "option"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "option"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " \n ".join(parser.parts)


def check(seen: dict[str, str], exempt: list[str]) -> None:
    left = {where: english_left(text, exempt) for where, text in seen.items()}
    left = {where: found for where, found in left.items() if found}
    assert left == {}, "strings that escaped translation:\n" + "\n".join(
        f"{where}: {found[:4]}" for where, found in left.items()
    )
    for where, text in seen.items():
        assert "«" in text, f"{where} was not rendered in the pseudo language"


def test_the_persons_journey_leaves_no_string_untranslated(
    app: Flask,
    client: FlaskClient,
    in_pseudo: None,
    demo_systems: list[str],
    helpdesk_url: str,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
) -> None:
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen: dict[str, str] = {}

    def page(name: str, resp: object) -> None:
        html = resp.get_data(as_text=True)  # type: ignore[attr-defined]
        assert f'lang="{PSEUDO}"' in html, name
        seen[name] = visible(html)

    page("home", client.get("/"))
    page("form", client.get("/request"))
    page(
        "form with errors",
        client.post("/request", data={"csrf_token": csrf_token(client, "/request")}),
    )
    page("not found", client.get("/no-such-page"))
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": "lgpd"}
    resp = client.post("/request", data={**data, **PERSON})
    assert resp.status_code == 302
    tracking = resp.headers["Location"]
    page("waiting for confirmation", client.get(tracking))
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    verify = link.removeprefix("http://dsar.test")
    page("confirmation page", client.get(verify))
    token = {"csrf_token": csrf_token(client, verify)}
    page("a wrong confirmation link", client.post(f"{tracking}/verify/wrong-code", data=token))
    bad = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": "gdpr"}
    bad |= {**PERSON, "phone": "call me maybe"}
    page("a refused phone number", client.post("/request", data=bad))
    assert client.post(verify, data={"csrf_token": csrf_token(client, verify)}).status_code == 302
    page("in progress", client.get(tracking))
    reference = db.session.scalars(select(Request)).one().reference

    def answered() -> bool:
        req = db.session.scalar(select(Request).where(Request.reference == reference))
        return req.status is RequestStatus.COMPLETED

    run_workers(answered)
    page("answered", client.get(tracking))
    download_answer(client, tracking, outbox)
    page("download page", client.get(f"{tracking}/download"))
    # The workers run in their own processes, which do not know the pseudo language; what
    # they rendered (the letter, "your answer is ready") is rendered here once more in it.
    req = db.session.scalar(select(Request).where(Request.reference == reference))
    req.language = PSEUDO
    db.session.commit()
    review.tell_ready(req)
    sent = [m for m in outbox() if "/verify/" in body_of(m) or "«" in m["Subject"] + body_of(m)]
    for n, message in enumerate(sent, start=1):
        seen[f"email {n}: {message['Subject']!r}"] = subject_of(message) + "\n" + body_of(message)
    login("officer")
    letter = client.get(f"/staff/requests/{reference}/letter-preview")
    assert letter.status_code == 200
    seen["access letter (PDF)"] = pdf_text(letter.data)
    check(seen, not_ours(app))


@pytest.mark.parametrize(
    ("kind", "regime", "extra"),
    [
        ("deletion", "gdpr", {}),
        ("opt_out", "ccpa", {}),
        ("restriction", "gdpr", {}),
        ("portability", "gdpr", {}),
        ("correction", "gdpr", {"fix_email": "maria.new@example.com"}),
    ],
)
def test_every_letter_renders_translated(
    app: Flask,
    client: FlaskClient,
    in_pseudo: None,
    demo_systems: list[str],
    login: Callable[[str], str],
    kind: str,
    regime: str,
    extra: dict[str, str],
) -> None:
    data = {"csrf_token": csrf_token(client, "/request"), "kind": kind, "regime": regime}
    resp = client.post("/request", data={**data, **PERSON, **extra})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    reference = db.session.scalars(select(Request)).one().reference
    login("officer")
    preview = client.get(f"/staff/requests/{reference}/letter-preview?lang={PSEUDO}")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:300]
    check({f"{kind} letter (PDF)": pdf_text(preview.data)}, not_ours(app))


def test_a_system_owners_emails_and_page_leave_no_string_untranslated(
    app: Flask, client: FlaskClient, in_pseudo: None, outbox: Callable[[], list]
) -> None:
    from tests.test_manual import (
        INSTRUCTIONS,
        OWNER,
        archive,
        mails_to,
        owner_link,
        report,
        sent_at,
        submit,
    )

    archive(owner_language=PSEUDO, deadline_days=3)
    seen: dict[str, str] = {}

    def page(name: str, html: str) -> None:
        assert f'lang="{PSEUDO}"' in html, name
        seen[name] = visible(html)

    req = submit("access", person=PERSON)
    path = owner_link(outbox)
    page("task page", client.get(path).get_data(as_text=True))
    page("a count missing", report(client, path, outcome="found", count="")[1])
    page("a count refused", report(client, path, outcome="found", count="-4")[1])
    page("nothing, yet a count", report(client, path, outcome="nothing", count="2")[1])
    bad_rows = report(client, path, outcome="found", count="1", rows="Box, Box\n1, 2")[1]
    page("typed records refused", bad_rows)
    page("a note too long", report(client, path, outcome="found", count="1", note="x" * 2001)[1])
    manual_chase.chase(now=sent_at(db.session.get(Request, req.id).tasks[0]) + ONE_DAY * 2.1)
    status, done = report(client, path, outcome="found", count="3")
    assert status == 200
    page("report recorded", done)
    # A used link no longer says whose it was: its page follows the browser.
    page("link used", client.get(path, headers={"Accept-Language": PSEUDO}).get_data(True))

    erasure = submit("deletion", person=PERSON)
    assert report(client, owner_link(outbox), outcome="found", count="2")[0] == 200
    decisions.approve(
        db.session.get(Request, erasure.id), actor="user:1"
    )  # the owner's new link asks them to erase
    erase_path = owner_link(outbox)
    page("erase task page", client.get(erase_path).get_data(as_text=True))
    kept = report(client, erase_path, outcome="erased", count="1", kept="2", kept_reason="")[1]
    page("a kept reason missing", kept)

    for n, message in enumerate(mails_to(outbox, OWNER), start=1):
        seen[f"owner email {n}"] = subject_of(message) + "\n" + body_of(message)
    assert len([k for k in seen if k.startswith("owner email")]) >= 3  # task, reminder, erase
    exempt = [*INSTRUCTIONS.splitlines(), "Paper archive", "Kim Keeper", *not_ours(app)]
    check(seen, exempt)


def test_what_the_person_is_told_while_waiting_leaves_no_string_untranslated(
    app: Flask,
    client: FlaskClient,
    in_pseudo: None,
    outbox: Callable[[], list],
    login: Callable[[str], str],
) -> None:
    from tests.test_manual import archive
    from tests.test_person_informed import minutes_pass

    archive()  # part of the search is done by hand: the request stays open
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen: dict[str, str] = {}
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": "uk_gdpr"}
    tracking = client.post("/request", data={**data, **PERSON}).headers["Location"]
    token = csrf_token(client, tracking)
    client.post(f"{tracking}/verify-again", data={"csrf_token": token})  # too soon
    seen["resend refused"] = visible(client.get(tracking).get_data(as_text=True))
    minutes_pass(3)
    client.post(f"{tracking}/verify-again", data={"csrf_token": token})
    seen["resent"] = visible(client.get(tracking).get_data(as_text=True))
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    verify = link.removeprefix("http://dsar.test")
    assert client.post(verify, data={"csrf_token": csrf_token(client, verify)}).status_code == 302
    reference = db.session.scalars(select(Request)).one().reference
    login("officer")
    staff_post(client, reference, "clarify", question="Which account?", pause="y")
    staff_post(client, reference, "extend", reason="Many systems.")
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen["paused, asked, extended, by hand"] = visible(client.get(tracking).get_data(True))
    staff_post(client, reference, "resume")
    staff_post(client, reference, "pause", reason="A copy of your passport.")
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen["paused by the officer"] = visible(client.get(tracking).get_data(True))
    expired = client.post(
        "/request",
        data={**data, **PERSON, "csrf_token": "old"},
        headers={"Accept-Language": PSEUDO},
    )
    seen["an expired form"] = visible(expired.get_data(as_text=True))
    for n, message in enumerate(m for m in outbox() if m["To"] == PERSON["email"]):
        seen[f"email {n}: {message['Subject']!r}"] = subject_of(message) + "\n" + body_of(message)
    exempt = ["Which account?", "Many systems.", "A copy of your passport.", "Paper archive"]
    check(seen, exempt + not_ours(app))


def test_the_transparency_page_leaves_no_string_untranslated(
    app: Flask, client: FlaskClient, in_pseudo: None, demo_systems: list[str]
) -> None:
    from dsar.services import systems

    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen = {"transparency page": visible(client.get("/privacy").get_data(as_text=True))}
    crm = systems.get("crm")
    assert crm is not None
    systems.set_enabled(crm, False, actor="cli")
    seen["current"] = visible(client.get("/privacy").get_data(as_text=True))
    seen["version 1"] = visible(client.get("/privacy/versions/1").get_data(as_text=True))
    seen["versions"] = visible(client.get("/privacy/versions").get_data(as_text=True))
    seen["no such version"] = visible(client.get("/privacy/versions/9").get_data(as_text=True))
    check(seen, not_ours(app))


def test_the_thread_with_the_privacy_team_leaves_no_string_untranslated(
    app: Flask,
    client: FlaskClient,
    in_pseudo: None,
    outbox: Callable[[], list],
    login: Callable[[str], str],
) -> None:
    from tests.test_manual import archive

    archive()
    client.set_cookie(i18n.COOKIE, PSEUDO)
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": "uk_gdpr"}
    tracking = client.post("/request", data={**data, **PERSON}).headers["Location"]
    token = csrf_token(client, tracking)
    early = client.post(f"{tracking}/messages", data={"csrf_token": token, "body": "Hello"})
    seen = {"writing before confirming": visible(early.get_data(as_text=True))}
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    verify = link.removeprefix("http://dsar.test")
    assert client.post(verify, data={"csrf_token": csrf_token(client, verify)}).status_code == 302
    reference = db.session.scalars(select(Request)).one().reference
    login("officer")
    staff_post(client, reference, "clarify", question="Which account?", pause="y")
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen["asked"] = visible(client.get(tracking).get_data(as_text=True))
    empty = client.post(f"{tracking}/messages", data={"csrf_token": token, "body": ""})
    seen["an empty answer"] = visible(empty.get_data(as_text=True))
    client.post(f"{tracking}/messages", data={"csrf_token": token, "body": "The old one."})
    seen["answered"] = visible(client.get(tracking).get_data(as_text=True))
    staff_post(client, reference, "reply", text="Thank you, found it.")
    client.set_cookie(i18n.COOKIE, PSEUDO)
    seen["replied"] = visible(client.get(tracking).get_data(as_text=True))
    for n, message in enumerate(m for m in outbox() if m["To"] == PERSON["email"]):
        seen[f"email {n}: {message['Subject']!r}"] = subject_of(message) + "\n" + body_of(message)
    exempt = ["Which account?", "The old one.", "Thank you, found it.", "Paper archive"]
    check(seen, exempt + not_ours(app))
