"""The person's language: every shipped catalogue is complete and keeps its placeholders; the
portal's pages speak the browser's language or the one chosen, declare it, and leave little
English; the request keeps the language; staff screens stay in English."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar import i18n
from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import Request
from tests.conftest import body_of, csrf_token, staff_post

TRANSLATIONS = ROOT / "translations"
SHIPPED = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# What a browser in each country sends.
BROWSERS = {
    "fr_CA": "fr-CA,fr;q=0.9,en;q=0.5",
    "pt_BR": "pt-BR,pt;q=0.9",
    "es": "es-ES,es;q=0.9",
    "de": "de-DE,de;q=0.9,en;q=0.4",
    "tr": "tr-TR,tr;q=0.9",
    "ro": "ro-RO,ro;q=0.9",
    "el": "el-GR,el;q=0.9",
    "id": "id-ID,id;q=0.9",
}


def catalogue(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def test_every_language_has_a_catalogue_and_a_glossary() -> None:
    assert set(BROWSERS) == set(SHIPPED)
    for code in SHIPPED:
        assert (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").is_file(), code
        glossary = (TRANSLATIONS / code / "GLOSSARY.md").read_text(encoding="utf-8")
        assert "counsel" in glossary.lower() or "review" in glossary.lower(), code


def test_the_install_step_compiled_every_catalogue() -> None:
    """scripts/bootstrap.sh (make run, make test) compiles each catalogue newer than its .mo."""
    for code in SHIPPED:
        po = TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime, f"{code}: not compiled"


def test_the_template_holds_every_marked_message(tmp_path: Path) -> None:
    """translations/messages.pot is what `pybabel extract` finds now (run it after marking)."""
    fresh = tmp_path / "messages.pot"
    pybabel = str(Path(sys.executable).parent / "pybabel")
    options = ["-k", "N_", "-k", "_l", "--no-location", "--omit-header", "-o", str(fresh)]
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", *options, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as f:
        now = {m.id for m in read_po(f) if m.id}
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        kept = {m.id for m in read_po(f) if m.id}
    assert now - kept == set(), "marked but not in messages.pot: run the extract (dsar/i18n.py)"
    assert kept - now == set(), "in messages.pot but no longer marked"


@pytest.mark.parametrize("code", SHIPPED)
def test_each_catalogue_translates_every_message_and_keeps_its_placeholders(code: str) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    cat = catalogue(code)
    have = {m.id for m in cat if m.id}
    assert wanted - have == set(), f"{code}: messages missing (run pybabel update)"
    problems = []
    for m in cat:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy:
            problems.append(("fuzzy", ids[0]))
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if not s:
                problems.append(("untranslated", ids[0]))
                continue
            found = sorted(PLACEHOLDER.findall(s))
            # A plural form may leave the number out ("one month" for %(num)d month).
            optional_num = len(ids) > 1 and found == [p for p in expected if p != "%(num)d"]
            if found != expected and not optional_num:
                problems.append(("placeholders", ids[0]))
            if s.count("<strong>") != ids[0].count("<strong>"):
                problems.append(("markup", ids[0]))
    assert problems == [], f"{code}: {problems[:5]}"


class Text(HTMLParser):
    """A page's visible text nodes and its declared language."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.lang = ""
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""
        if tag in ("script", "style", "option"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "option"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not self._skip and len(text.split()) >= 2:
            self.nodes.append(text)


def read(html: str) -> Text:
    parser = Text()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("code", SHIPPED)
@pytest.mark.parametrize("path", ["/", "/request"])
def test_the_browsers_language_is_spoken_and_declared_with_little_english_left(
    app: Flask, client: FlaskClient, code: str, path: str
) -> None:
    english = read(client.get(path, headers={"Accept-Language": "en-GB"}).get_data(True))
    assert english.lang == "en"
    page = read(client.get(path, headers={"Accept-Language": BROWSERS[code]}).get_data(True))
    assert page.lang == i18n.tag(code)

    # Text the same in every language: addresses, the company's name, citations and law
    # names ("— GDPR Art. 15", "Virginia (VCDPA)"): no lower-case word of three letters.
    def neutral(node: str) -> bool:
        words = re.findall(r"\b[a-z]{3,}\b", node)
        return "@" in node or app.config["DSAR_COMPANY_NAME"] in node or not words

    sentences = [n for n in english.nodes if not neutral(n)]
    left = [n for n in sentences if n in page.nodes]
    assert len(left) <= 0.1 * len(sentences), f"{code} {path}: still English: {left[:5]}"


def test_the_switcher_sets_a_cookie_that_wins_over_the_browser(client: FlaskClient) -> None:
    resp = client.get("/language?lang=de&next=/request")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/request")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.COOKIE}=de;") and "HttpOnly" in cookie
    page = read(client.get("/request", headers={"Accept-Language": "fr-CA"}).get_data(True))
    assert page.lang == "de"


@pytest.mark.parametrize(
    "query", ["lang=xx", "lang=", "lang=EN", "lang=de-DE", "", "lang=" + "x" * 5000]
)
def test_an_unknown_language_is_a_clear_400(client: FlaskClient, query: str) -> None:
    resp = client.get(f"/language?{query}")
    assert resp.status_code == 400
    assert "Choose one of the languages offered." in resp.get_data(as_text=True)
    assert "Set-Cookie" not in resp.headers or i18n.COOKIE not in resp.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_the_switcher_never_sends_the_person_to_another_site(
    client: FlaskClient, target: str
) -> None:
    resp = client.get("/language", query_string={"lang": "es", "next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] in ("/", "http://localhost/")


def test_the_request_keeps_the_language_it_was_made_in(
    app: Flask, client: FlaskClient, demo_systems: list[str]
) -> None:
    headers = {"Accept-Language": BROWSERS["pt_BR"]}
    token = csrf_token(client, "/request")
    resp = client.post(
        "/request",
        headers=headers,
        data={
            "csrf_token": token,
            "kind": "access",
            "regime": "lgpd",
            "name": "Maria Silva",
            "email": "maria@example.com",
        },
    )
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:500]
    db.session.remove()
    req = db.session.scalars(select(Request)).one()
    assert req.language == "pt_BR"


def test_staff_screens_stay_in_english(client: FlaskClient) -> None:
    page = read(client.get("/staff/login", headers={"Accept-Language": "de"}).get_data(True))
    assert page.lang == "en"


def subject_of(message: object) -> str:
    """The Subject as the reader sees it (non-ASCII travels RFC 2047-encoded)."""
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))  # type: ignore[index]


def translated(code: str, msgid: str, **values: object) -> str:
    """What the shipped catalogue says for `msgid` in `code` (compiled by the install step)."""
    from babel.support import Translations

    text = Translations.load(str(TRANSLATIONS), [code]).gettext(msgid)
    assert text != msgid, f"{code}: {msgid!r} is not translated"
    return text % values if values else text


def test_emails_speak_the_requests_language_even_when_an_officer_sends_them(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    outbox,
    login,
) -> None:
    token = csrf_token(client, "/request")
    resp = client.post(
        "/request",
        headers={"Accept-Language": BROWSERS["de"]},
        data={
            "csrf_token": token,
            "kind": "access",
            "regime": "gdpr",
            "name": "Erika Mustermann",
            "email": "erika@example.com",
        },
    )
    assert resp.status_code == 302
    db.session.remove()
    req = db.session.scalars(select(Request)).one()
    verify = outbox()[-1]
    assert subject_of(verify) == translated(
        "de", "Please confirm your request %(reference)s", reference=req.reference
    )
    body = body_of(verify)
    assert (
        translated("de", "Follow your request at any time with your private tracking link:") in body
    )
    assert "Follow your request" not in body

    login("officer")  # an officer in English asks the person a question
    staff_post(client, req.reference, "clarify", question="Welche Kundennummer haben Sie?")
    asked = outbox()[-1]
    wanted = translated(
        "de",
        "To answer your request %(reference)s we need to ask you something:",
        reference=req.reference,
    )
    assert wanted in body_of(asked)
    assert subject_of(asked) == translated(
        "de", "A question about your request %(reference)s", reference=req.reference
    )
