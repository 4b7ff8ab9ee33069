"""Every PDF a person, an officer or an auditor reads stays on its pages and speaks words:
no character past a page's edge, an email address never broken across lines, no citation of
another law, no raw column names. Tried with the worst a data system can send: 40 columns,
a 300-character token with no space, 5,000 records."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pdfplumber
import pytest
from flask import Flask
from flask.testing import FlaskClient

from dsar.documents import answer, certificates, correction
from dsar.documents.evidence import render_evidence
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Request,
    RequestKind,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
    utcnow,
)
from dsar.services.events import record

LONG_EMAIL = "jane.alexandra.doe-montgomery@subsidiary.example-company.co.uk"
TOKEN = "tok" + "A1b2C3d4E5" * 30  # 303 characters, no space, no hyphen
COLUMNS = [f"attribute_number_{n:02d}" for n in range(1, 41)]
ROWS = 5000
# Words only another law's letter may print.
FOREIGN = {
    "gdpr": ("CCR", "Civ. Code", "CCPA", "LGPD", "1798."),
    "uk_gdpr": ("CCR", "Civ. Code", "CCPA", "LGPD", "1798."),
    "ccpa": ("GDPR", "LGPD", "Art. 15", "Art. 17"),
    "lgpd": ("GDPR", "CCR", "Civ. Code", "CCPA", "1798."),
}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
MULTI_LAW = "Commercial Code s.257; GDPR Art. 17(3)(b); CCPA 1798.105(d)(8); LGPD Art. 16 I"


def wide_rows() -> list[dict[str, Any]]:
    rows = []
    for n in range(ROWS):
        row: dict[str, Any] = {column: f"value {n}-{i}" for i, column in enumerate(COLUMNS)}
        row["attribute_number_01"] = LONG_EMAIL
        row["attribute_number_02"] = TOKEN
        rows.append(row)
    return rows


def build(regime: str, kind: RequestKind, action: TaskAction, result: dict[str, Any]) -> Request:
    now = datetime.now(UTC)
    req = Request(
        tracking_hash=f"layout-{regime}-{kind.value}-{now.timestamp()}",
        kind=kind,
        regime=regime,
        status=RequestStatus.COMPILING,
        channel="api",
        name="Jane Alexandra Doe-Montgomery",
        email=LONG_EMAIL,
        received_at=now - timedelta(days=3),
        due_on=(now + timedelta(days=27)).date(),
        completed_at=now,
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-LAYOUT-{req.id:06d}"
    system = DataSystem(
        key=f"wide-{req.id}",
        name="Customer data warehouse (every attribute we keep)",
        kind=SystemKind.MANUAL,
        owner="Data engineering",
        description="A table with forty columns.",
        disclosure={
            "purposes": ["Analytics"],
            "categories": ["Identifiers"],
            "recipients": ["Cloud provider (processor)"],
            "retention": "Two years",
            "source": "From you",
            "legal_basis": {"gdpr": "GDPR Art. 6(1)(f)", "default": "Our relationship"},
        },
    )
    found = sum(len(v) for v in (result.get("records") or {}).values()) or 1
    task = Task(
        system=system,
        action=action,
        status=TaskStatus.SUCCEEDED,
        found_count=found,
        erased_count=found if action is TaskAction.ERASE else 0,
        retained_count=2 if action is TaskAction.ERASE else 0,
        proof_checked_at=now if action is TaskAction.ERASE else None,
        remaining_count=0,
        result=result,
    )
    req.tasks.append(task)
    record(req, "submitted", actor="api-key:1", after="received", detail={"channel": "api"})
    record(req, "note_added", actor="system", detail={"note": TOKEN})
    db.session.commit()
    return req


def check(pdf: bytes, regime: str, *, whole: tuple[str, ...] = (LONG_EMAIL,)) -> str:
    problems: list[str] = []
    texts = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for number, page in enumerate(doc.pages, start=1):
            for char in page.chars:
                if char["text"].strip() and (
                    char["x0"] < 0
                    or char["x1"] > page.width + 0.5
                    or char["top"] < 0
                    or char["bottom"] > page.height + 0.5
                ):
                    problems.append(f"page {number}: {char['text']!r} at x1={char['x1']:.0f}")
                    break
            texts.append(page.extract_text() or "")
    text = "\n".join(texts)
    for needle in whole:
        assert needle in text, f"{needle!r} is broken across lines or missing"
    for word in FOREIGN[regime]:
        assert word not in text, f"a {regime} letter cites {word!r}"
    raw = sorted(set(SNAKE.findall(text)))
    assert raw == [], f"raw names in the PDF: {raw[:10]}"
    assert problems == [], problems[:5]
    return text


@pytest.mark.parametrize("regime", ["gdpr", "ccpa", "lgpd"])
def test_an_access_answer_with_40_columns_a_long_token_and_5000_rows_stays_on_its_pages(
    app: Flask, regime: str
) -> None:
    req = build(
        regime,
        RequestKind.ACCESS,
        TaskAction.LOCATE,
        {"records": {"customer_attributes": wide_rows()}, "found": ROWS},
    )
    files = {f.kind: f.data for f in answer.render_access(req)}
    text = check(files["response"], regime)
    assert "Attribute number 40" in text
    assert "Customer attributes" in text


@pytest.mark.parametrize("regime", ["gdpr", "ccpa", "lgpd"])
def test_a_deletion_certificate_cites_only_the_persons_law_and_stays_on_its_pages(
    app: Flask, regime: str
) -> None:
    kept = [{"place": "tax_invoices", "count": 2, "reason": "Tax law", "citation": MULTI_LAW}]
    req = build(
        regime,
        RequestKind.DELETION,
        TaskAction.ERASE,
        {"receipts": [TOKEN], "kept": kept, "erased": ROWS},
    )
    text = check(certificates.render_deletion_certificate(req).data, regime, whole=())
    assert "Tax invoices" in text
    assert "Commercial Code s.257" in text


def test_an_opt_out_confirmation_says_how_to_opt_back_in(app: Flask) -> None:
    req = build("ccpa", RequestKind.OPT_OUT, TaskAction.OPT_OUT, {"receipts": [TOKEN]})
    req.tasks[0].system.labels = {
        "opt_out": "We no longer share your data with partners.",
        "opt_out_undo": "To share it again, tell us at privacy@example.com.",
    }
    db.session.commit()
    text = check(certificates.render_confirmation(req).data, "ccpa", whole=())
    flat = " ".join(text.split())
    # A table cell's lines interleave with its neighbours' in the extracted text.
    assert "To share it again, tell us at" in flat and "privacy@example.com." in flat
    assert "for the one system in which we keep personal data" in flat


@pytest.mark.parametrize("regime", ["gdpr", "ccpa", "lgpd"])
def test_a_correction_certificate_names_each_change_and_cites_only_the_persons_law(
    app: Flask, regime: str
) -> None:
    changed = [{"place": "customer_attributes", "field": "street", "column": "street", "count": 2}]
    req = build(
        regime,
        RequestKind.CORRECTION,
        TaskAction.CORRECT,
        {"receipts": [TOKEN], "changed": changed, "not_held": ["phone"]},
    )
    req.tasks[0].system.kind = SystemKind.SQL
    req.tasks[0].proof_checked_at = utcnow()
    long_street = "Flat 12B, " + TOKEN[:120] + " Montgomery-Doe Gardens"
    req.correction = {
        "asked": {"street": long_street, "name": "Jane A. Doe", "phone": "+442079460000"},
        "held": {},
        "other": "My date of birth is wrong: it is 1 May 1980.",
        "decided": {
            "street": {"value": long_street},
            "name": {"refused": "accurate", "why": "Your passport shows this name."},
            "phone": {"value": "+442079460000"},
        },
        "other_decision": {"refused": "other", "why": "We do not keep your date of birth."},
    }
    db.session.commit()
    text = check(correction.render_correction_certificate(req).data, regime, whole=())
    flat = " ".join(text.split())
    assert "Certificate of correction" in flat
    assert "Customer attributes (2 records)" in flat
    assert "The data we hold is accurate" in flat
    assert "Not changed. We do not keep your date of birth." in flat  # no "free text" cited
    assert "Does not keep your phone number" in flat
    assert "None of our systems" in flat  # the phone: accepted, kept nowhere


def test_a_restriction_confirmation_has_its_own_title_and_next_step(app: Flask) -> None:
    req = build("gdpr", RequestKind.RESTRICTION, TaskAction.RESTRICT, {"receipts": [TOKEN]})
    text = " ".join(check(certificates.render_confirmation(req).data, "gdpr", whole=()).split())
    assert "Confirmation that the use of your data is restricted" in text
    assert "Your records are marked as" in text
    assert "We will tell you before" in text and "restriction is lifted." in text
    assert "What comes next" in text and "change your" not in text


def test_the_evidence_pdf_keeps_its_timeline_and_hashes_on_the_page(app: Flask) -> None:
    req = build("gdpr", RequestKind.DELETION, TaskAction.ERASE, {"receipts": [TOKEN]})
    req.status = RequestStatus.COMPLETED
    for n in range(60):
        record(req, "note_added", actor="system", detail={"note": f"{TOKEN} {n}"})
    db.session.commit()
    check(render_evidence(req, generated_by="Audrey Auditor (auditor)").pdf, "gdpr", whole=())


def test_the_metrics_report_stays_on_its_pages(
    app: Flask, client: FlaskClient, login: Callable[[str], str]
) -> None:
    for regime in ("gdpr", "ccpa", "lgpd"):
        req = build(regime, RequestKind.ACCESS, TaskAction.LOCATE, {"records": {}})
        req.status = RequestStatus.COMPLETED
        req.completed_at = utcnow()
    db.session.commit()
    login("auditor")
    with client.get("/audit/metrics.pdf") as resp:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        pdf = resp.data
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            assert all(c["x1"] <= page.width + 0.5 for c in page.chars if c["text"].strip())
            text = page.extract_text() or ""
            assert SNAKE.findall(text) == [], SNAKE.findall(text)[:10]
