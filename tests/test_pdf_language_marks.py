"""The correction certificate and the portability letter are marked for translation: in
English they read as they always did; in another language every sentence of ours goes
through the catalogue (tried with a stand-in catalogue that brackets what it translates),
dates are the language's, and the portability package stays the same byte for byte."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask_babel
import pytest
from babel.support import NullTranslations
from flask import Flask
from flask_babel import force_locale

from dsar.documents import correction, portability
from dsar.extensions import db
from dsar.i18n import day
from dsar.models import (
    DataSystem,
    Redaction,
    Request,
    RequestKind,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.rules import withholding

# Dates as the English letters always wrote them ("29 November 2026").
ENGLISH_DATE = re.compile(
    r"\b\d{1,2} (January|February|March|April|May|June|July|August"
    r"|September|October|November|December) \d{4}\b"
)


class Brackets(NullTranslations):
    """A stand-in catalogue: every message it translates comes back as ⟦message⟧."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"⟦{singular if n == 1 else plural}⟧"

    ugettext = gettext
    ungettext = ngettext


@pytest.fixture
def bracketed(monkeypatch: pytest.MonkeyPatch) -> None:
    """German ("de") speaks through the stand-in catalogue."""
    real = flask_babel.Domain.get_translations

    def get_translations(self: flask_babel.Domain) -> Any:
        return Brackets() if str(flask_babel.get_locale()) == "de" else real(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", get_translations)


@pytest.fixture
def pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The HTML of every PDF rendered during the test."""
    from dsar.documents import render

    rendered: list[str] = []
    real = render.render_template

    def render_template(template: str, **context: Any) -> str:
        page = real(template, **context)
        rendered.append(page)
        return page

    monkeypatch.setattr(render, "render_template", render_template)
    yield rendered


def visible(page: str) -> str:
    text = re.sub(r"<head>.*?</head>", " ", page, flags=re.S)
    text = re.sub(r"</?(strong|em)>", "", text)  # inline: no space
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).replace("\u200b", "").split())


def body(page: str) -> str:
    """The letter's own part: after the letterhead, before the signature."""
    return page.split("<h1>", 1)[1].split('<section class="signature">', 1)[0]


def english_left(page: str, neutral: list[str]) -> list[str]:
    """Lower-case words outside anything the catalogue translated, once the values that
    read the same in every language (names, values, citations) are taken out."""
    text = visible(body(page))
    while (fewer := re.sub(r"⟦[^⟦⟧]*⟧", " ", text)) != text:
        text = fewer
    for value in sorted(neutral, key=len, reverse=True):
        text = text.replace(value, " ")
    return re.findall(r"\b[a-z]{3,}\b", text)


def new_request(kind: RequestKind, **extra: Any) -> Request:
    now = datetime.now(UTC)
    req = Request(
        tracking_hash=f"marks-{kind.value}-{now.timestamp()}",
        kind=kind,
        regime="gdpr",
        status=RequestStatus.COMPILING,
        channel="api",
        name="Jane Doe",
        email="jane@example.com",
        received_at=now - timedelta(days=3),
        due_on=(now + timedelta(days=27)).date(),
        completed_at=now,
        **extra,
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-MARKS-{req.id:06d}"
    return req


def add_task(req: Request, key: str, name: str, status: TaskStatus, **extra: Any) -> Task:
    kind = extra.pop("kind", SystemKind.SQL)
    action = TaskAction.CORRECT if req.kind is RequestKind.CORRECTION else TaskAction.LOCATE
    system = DataSystem(key=f"{key}-{req.id}", name=name, kind=kind, owner="Operations")
    task = Task(system=system, action=action, status=status, **extra)
    req.tasks.append(task)
    return task


def correction_request() -> Request:
    now = datetime.now(UTC)
    req = new_request(RequestKind.CORRECTION)
    changed = [{"place": "contacts", "field": "phone", "count": 1}]
    add_task(
        req,
        "crm",
        "CRM",
        TaskStatus.SUCCEEDED,
        found_count=1,
        result={"changed": changed, "not_held": ["street"]},
        proof_checked_at=now,
        remaining_count=3,
    )
    add_task(
        req,
        "paper",
        "Paper archive",
        TaskStatus.SUCCEEDED,
        kind=SystemKind.MANUAL,
        found_count=2,
        result={},
        reported_at=now,
    )
    add_task(req, "helpdesk", "Help desk", TaskStatus.FAILED)
    add_task(
        req,
        "newsletter",
        "Newsletter",
        TaskStatus.SKIPPED,
        note="keeps none of the details to change",
    )
    req.correction = {
        "asked": {"phone": "+44 20 7946 0000", "email": "jane@new.example"},
        "held": {},
        "other": "My middle name is Ann.",
        "decided": {
            "phone": {"value": "+442079460000"},
            "email": {"refused": "unsupported", "why": ""},
        },
        "other_decision": {"done": "Added it to your CRM contact."},
    }
    db.session.commit()
    return req


def test_the_correction_certificate_reads_as_before_in_english(
    app: Flask, pages: list[str]
) -> None:
    req = correction_request()
    correction.render_correction_certificate(req)
    page = pages[-1]
    assert '<html lang="en">' in page
    assert f"<title>Certificate of correction · {req.reference}</title>" in page
    text = visible(page)
    today = day(datetime.now(UTC).date())
    for sentence in (
        "Dear Jane Doe,",
        "You asked us to correct personal data we hold about you (European Union (GDPR); "
        "GDPR Art. 16). We searched every system in which we keep personal data, 4 in all,",
        "Phone number +442079460000 you asked for: +44 20 7946 0000 "
        "CRM: Contacts (1 record) Paper archive: changed by the system's owner",
        "Email address Not changed. The change is not supported by what you told us or sent "
        "us (GDPR Art. 16).",
        "Other corrections You wrote: “My middle name is Ann.” "
        "What we did: Added it to your CRM contact.",
        "CRM Phone number in Contacts (1 record) Does not keep your street and number. "
        f"searched again on {today}: 3 place(s) still to be checked",
        "Paper archive Phone number: changed by the system's owner in 2 records "
        f"done by the system's owner, who reported it on {today}",
        "Help desk Not changed: could not be reached; our privacy team is finishing it by hand.",
        "Newsletter Not changed: keeps none of the details to change.",
        f"If anything is still wrong, reply to this letter quoting {req.reference}.",
    ):
        assert sentence in text, sentence
    assert ENGLISH_DATE.search(today)


def test_the_correction_certificate_in_another_language_leaves_no_english_of_ours(
    app: Flask, pages: list[str], bracketed: None
) -> None:
    req = correction_request()
    with force_locale("de"):
        correction.render_correction_certificate(req)
        today = day(datetime.now(UTC).date())
    page = pages[-1]
    assert '<html lang="de">' in page
    assert "<title>⟦Certificate of correction⟧ · " in page
    assert today in visible(page) and not ENGLISH_DATE.search(visible(body(page)))
    neutral = ["Jane Doe", "CRM", "Paper archive", "Help desk", "Newsletter", "Contacts"]
    neutral += ["+442079460000", "+44 20 7946 0000", "My middle name is Ann."]
    neutral += ["Added it to your CRM contact.", "Regulation (EU) 2016/679", "GDPR Art. 16"]
    assert english_left(page, neutral) == []


def portability_request() -> Request:
    req = new_request(RequestKind.PORTABILITY, transfer_url="https://newco.example/import")
    records = {
        "contacts": [{"email": "jane@example.com", "phone": "+442079460000"}],
        "orders": [{"order": "A-1", "total": 12.5}, {"order": "A-2", "total": 3}],
    }
    add_task(req, "crm", "CRM", TaskStatus.SUCCEEDED, found_count=3, result={"records": records})
    add_task(req, "shop", "Shop", TaskStatus.SUCCEEDED, found_count=0, result={"records": {}})
    add_task(req, "newsletter", "Newsletter", TaskStatus.SKIPPED, note="not in scope")
    reason = withholding.redaction_reasons("gdpr")[0]
    for place, field in (("contacts", "phone"), ("orders", "")):
        redaction = Redaction(
            request_id=req.id,
            system_key=req.tasks[0].system.key,
            place=place,
            record=1,
            field=field,
            reason=reason.key,
            actor="officer",
        )
        db.session.add(redaction)
    db.session.commit()
    return req


def unzip(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files: dict[str, Any] = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("generated_at")
    return {**files, "manifest.json": manifest}


def test_the_portability_letter_reads_as_before_in_english(app: Flask, pages: list[str]) -> None:
    req = portability_request()
    portability.render_portability(req)
    page = pages[-1]
    reason = withholding.redaction_reasons("gdpr")[0]
    assert '<html lang="en">' in page
    text = visible(page)
    today = day(datetime.now(UTC).date())
    for sentence in (
        f"You asked us on {day(req.received_at)}: Get my data in a machine-readable file "
        "(European Union (GDPR); GDPR Art. 20). Here is your data,",
        "Shop 0 0 records found: nothing to include. Newsletter 0 Not searched: nothing to "
        "include.",
        f"Files made on {today}",
        f"CRM, Contacts, record 1, the field “Phone”: {reason.label} ({reason.citation}).",
        f"CRM, Orders, record 1: {reason.label} ({reason.citation}).",
        f"This PDF carries one file, {req.reference}-data.zip (open your PDF reader's "
        "attachments panel to save it); we send it beside this letter too. It is a ZIP archive",
        "manifest.json: what is in the package, with the number of records",
        "schema.json: the structure of the JSON files (a JSON Schema);",
        "a folder per system with records.json (every record, as we store it) and a CSV file "
        "per table, which any spreadsheet program opens (text, UTF-8), and in files/ the",
        f"As you asked, we are also sending the package, {req.reference}-data.zip, straight to "
        "newco.example, at the address you gave us,",
    ):
        assert sentence in text, sentence


def test_the_portability_letter_speaks_the_language_and_the_package_does_not(
    app: Flask, pages: list[str], bracketed: None
) -> None:
    req = portability_request()
    english = unzip(portability.render_portability(req)[1].data)
    with force_locale("de"):
        package = portability.render_portability(req)[1]
    assert unzip(package.data) == english  # what other software reads: the same
    assert "⟦" not in json.dumps(english["manifest.json"], ensure_ascii=False)
    page = pages[-1]
    assert '<html lang="de">' in page
    assert "<title>⟦Your data in a machine-readable file⟧ · " in page
    assert not ENGLISH_DATE.search(visible(body(page)))
    neutral = ["CRM", "Shop", "Newsletter", "Contacts", "Orders", "Phone", "Regulation (EU)"]
    neutral += ["GDPR Art. 15(4)", "GDPR Art. 20", "JSON", "CSV", "newco.example"]
    neutral += [f"{req.reference}-data.zip", "manifest.json", "schema.json", "records.json"]
    neutral += ["files/", "privacy@example.com", req.reference]
    neutral += [f for f in english if f.endswith((".json", ".csv"))]
    assert english_left(page, neutral) == []
