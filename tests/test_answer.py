"""The access answer: a letter per regime built from the systems' disclosures, a contents
page, numbered pages, the records (capped) and the complete data attached as JSON and CSV,
with withheld values never disclosed."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from dsar.documents import answer, words
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Document,
    Request,
    RequestKind,
    RequestStatus,
    SystemKind,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.rules import letters
from dsar.services import intake
from dsar.services.api_keys import create as create_api_key
from tests.conftest import pdf_text

WITHHELD = letters.withheld_value("gdpr")


def attachments(data: bytes) -> dict[str, bytes]:
    return {name: blobs[0] for name, blobs in PdfReader(io.BytesIO(data)).attachments.items()}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def stored(app: Flask, req: Request) -> dict[str, bytes]:
    folder: Path = app.config["DSAR_DOCUMENTS_DIR"]
    docs = db.session.scalars(select(Document).where(Document.request_id == req.id)).all()
    return {d.kind: (folder / d.filename).read_bytes() for d in docs}


def test_janes_access_answer_has_the_letter_contents_pages_and_her_data_attached(
    app: Flask,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
) -> None:
    crm = db.session.scalar(select(DataSystem).where(DataSystem.key == "crm"))
    crm.disclosure = {
        "purposes": ["sales follow-up"],
        "recipients": ["Acme Mailer Inc."],
        "third_countries": ["United States"],
        "retention": "3 years after the last contact",
        "withheld": ["company"],
    }
    events = db.session.scalar(select(DataSystem).where(DataSystem.key == "events"))
    events.disclosure = {}  # an owner who described nothing
    for system in db.session.scalars(
        select(DataSystem).where(DataSystem.kind == SystemKind.MANUAL)
    ):
        system.enabled = False  # a paper archive waits for its owner; not this test's subject
    db.session.commit()
    with sqlite3.connect(demo_dir / "crm.db") as conn:
        (company,) = conn.execute(
            "SELECT company FROM contacts WHERE email = 'jane.doe@example.com'"
        ).fetchone()
    key, _ = create_api_key("tests")
    sub = intake.Submission(
        kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
    )
    req = intake.submit(sub, channel="api", api_key=key, identity_verified=True).request
    req_id = req.id
    run_workers(lambda: db.session.get(Request, req_id).status is RequestStatus.COMPLETED)

    req = db.session.get(Request, req_id)
    files = stored(app, req)
    assert set(files) == {"response", "data_json", "data_csv"}
    pdf = files["response"]
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    text = pdf_text(pdf)
    # The letter: Art. 15(1)(a)-(h), from the CRM's metadata; the others say nothing is stated.
    for cite in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)", "(h)"):
        assert f"GDPR Art. 15(1){cite}" in text
    assert "CRM (contacts) sales follow-up" in text
    assert "Acme Mailer Inc.; outside the EEA/UK: United States" in text
    assert "3 years after the last contact" in text
    assert "Events guest list (spreadsheet) not stated by the system owner" in text
    assert "supervisory authority (GDPR Art. 77)" in text
    # Contents with page numbers, and numbered pages.
    assert re.search(r"Contents What the law asks us to tell you \.+ ?1 ", text)
    assert re.search(r"Summary: what each system holds \.+ ?\d+ ", text)
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    for task in req.tasks:
        for place, rows in task.result["records"].items():
            label = words.place_label(task.system, place)
            assert f"{label} ({len(rows)} record{'s' if len(rows) != 1 else ''})" in text
    # The withheld value is nowhere; its name and the reason are.
    assert "CRM (contacts): Company" in text
    assert f"company {WITHHELD}" in text or f"{WITHHELD}" in text
    inside = attachments(pdf)
    assert set(inside) == {"data.json", "data.csv"}
    assert inside["data.json"] == files["data_json"]
    assert inside["data.csv"] == files["data_csv"]
    for blob in (pdf, files["data_json"], files["data_csv"]):
        assert company.encode() not in blob
    assert company not in text

    data = json.loads(inside["data.json"])
    assert (data["reference"], data["regime"]) == (req.reference, "gdpr")
    assert data["received_on"] and data["due_on"] == req.due_on.isoformat()
    systems = {s["key"]: s for s in data["systems"]}
    assert set(systems) == {t.system.key for t in req.tasks}
    for task in req.tasks:
        assert systems[task.system.key]["found"] == task.found_count
    assert len(systems["shop"]["records"]["orders"]) >= 3  # demo: Jane's orders, old one too
    (contact,) = systems["crm"]["records"]["contacts"]
    assert contact["company"] == WITHHELD
    assert contact["email"] == "jane.doe@example.com"

    rows = csv_rows(inside["data.csv"])
    assert set(rows[0]) == {"system", "place", "record", "field", "value"}
    orders = len(systems["shop"]["records"]["orders"])
    numbers = {r["record"] for r in rows if (r["system"], r["place"]) == ("shop", "orders")}
    assert numbers == {str(n) for n in range(1, orders + 1)}
    assert {"field": "company", "value": WITHHELD}.items() <= next(
        r for r in rows if r["system"] == "crm" and r["field"] == "company"
    ).items()
    # One CSV row per value of every record in the JSON.
    values = sum(
        len(row) for s in data["systems"] for rows_ in s["records"].values() for row in rows_
    )
    assert len(rows) == values


# --- Letters per regime, built from task results directly (no workers needed) ----------


def make_request(
    regime: str,
    systems: list[tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]],
    *,
    status: TaskStatus = TaskStatus.SUCCEEDED,
    kind: RequestKind = RequestKind.ACCESS,
    **fields: Any,
) -> Request:
    """A request in `compiling` whose tasks hold the given records, one per system."""
    now = datetime.now(UTC)
    req = Request(
        tracking_hash=f"t-{regime}-{now.timestamp()}",
        kind=kind,
        regime=regime,
        status=RequestStatus.COMPILING,
        channel="api",
        name=fields.pop("name", "Jane Doe"),
        email=fields.pop("email", "jane.doe@example.com"),
        received_at=fields.pop("received_at", now),
        due_on=(now + timedelta(days=30)).date(),
        **fields,
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-TEST-{req.id:06d}"
    for n, (meta, records) in enumerate(systems, start=1):
        system = DataSystem(
            key=meta.pop("key", f"s{n}-{regime}"),
            name=meta.pop("name", f"System {n}"),
            kind=SystemKind.MANUAL,
            **meta,
        )
        found = sum(len(rows) for rows in records.values())
        req.tasks.append(
            Task(
                system=system,
                action=TaskAction.LOCATE,
                status=status,
                found_count=found,
                result={"records": records, "found": found},
            )
        )
    db.session.commit()
    return req


def files_of(req: Request) -> dict[str, bytes]:
    return {f.kind: f.data for f in answer.render_access(req)}


CRM = {
    "name": "CRM",
    "owner": "Sales",
    "description": "Contacts kept by sales.",
    "disclosure": {
        "purposes": ["customer service"],
        "categories": ["identifiers", "contact details"],
        "ccpa_categories": ["Identifiers (1798.140(v)(1)(A))"],
        "recipients": ["Parcel carriers"],
        "source": "from you, and from our partner shops",
        "withheld": ["ssn"],
    },
}
CONTACT = {"id": 1, "email": "jane.doe@example.com", "ssn": "123-45-6789", "city": "Lisbon"}


@pytest.mark.parametrize(
    ("regime", "expected"),
    [
        (
            "ccpa",
            [
                "Categories of personal information Civ. Code 1798.110(a)(1)",
                "CRM Identifiers (1798.140(v)(1)(A))",
                "Categories of sources",
                "CRM from you, and from our partner shops",
                "Business or commercial purposes",
                "Categories of third parties we disclose it to",
                "CRM Parcel carriers",
                "The specific pieces of personal information",
                "at least the 12 months before we received your request",
                "back to 1 January 2022",
                "Civ. Code 1798.130(a)(2)(B)",
                "Data we hold but do not show 11 CCR 7024(d)",
                "CRM: SSN",
                "California Privacy Protection Agency",
                "Empty shop not stated by the system owner",
            ],
        ),
        (
            "lgpd",
            [
                "full declaration",
                "Origin of the data LGPD Art. 19 II",
                "Absence of records LGPD Art. 19 II",
                "We hold no records about you in: Empty shop.",
                "Criteria used LGPD Art. 19 II",
                "for the email address jane.doe@example.com",
                "Purpose of the processing LGPD Art. 19 II",
                "CRM customer service",
                "ANPD",
                "CRM: SSN",
            ],
        ),
        (
            "us_va",
            [
                "Categories of personal data Va. Code 59.1-577(A)(1)",
                "CRM identifiers; contact details",
                "Whom we share it with",
                "Virginia Attorney General",
            ],
        ),
    ],
)
def test_each_regime_gets_its_letter_from_rule_data(
    app: Flask, regime: str, expected: list[str]
) -> None:
    received = datetime(2026, 3, 10, 12, tzinfo=UTC)
    req = make_request(
        regime,
        [(dict(CRM), {"contacts": [CONTACT]}), ({"name": "Empty shop"}, {})],
        received_at=received,
    )
    files = files_of(req)
    text = pdf_text(files["response"])
    for phrase in expected:
        assert phrase in text
    if regime == "ccpa":
        assert "10 March 2025 to 10 March 2026" in text
    for blob in files.values():
        assert b"123-45-6789" not in blob
    assert "123-45-6789" not in text and letters.withheld_value(regime) in text
    assert "We hold no records about you in this system." in text


def test_long_tables_stop_at_the_cap_and_point_to_the_attachments(app: Flask) -> None:
    app.config["DSAR_PDF_MAX_ROWS"] = 5
    orders = [{"id": n, "item": f"item-{n:03d}", "total": f"{n}.00"} for n in range(1, 13)]
    wide = [{f"field_{c}": f"w{n}-{c}" for c in range(10)} for n in range(1, 8)]
    req = make_request("gdpr", [({"name": "Shop"}, {"orders": orders, "wide": wide})])
    files = files_of(req)
    text = pdf_text(files["response"])
    assert "Orders (12 records)" in text
    assert "item-005" in text and "item-006" not in text
    assert "7 more records are in the attached data.json / data.csv." in text
    # A wide table prints as key/value blocks, also capped.
    assert "Record 5 Field 0: w5-0" in text and "w6-0" not in text
    assert "2 more records are in the attached data.json / data.csv." in text
    data = json.loads(attachments(files["response"])["data.json"])
    assert len(data["systems"][0]["records"]["orders"]) == 12
    assert data["systems"][0]["records"]["wide"][6]["field_9"] == "w7-9"
    assert len(csv_rows(files["data_csv"])) == 12 * 3 + 7 * 10


def test_withheld_fields_are_hidden_at_any_depth_and_in_any_case(app: Flask) -> None:
    meta = {"name": "Help desk", "disclosure": {"withheld": ["Password"]}}
    ticket = {"id": 3, "customer": {"password": "hunter2-secret", "name": "Jane"}}
    req = make_request("uk_gdpr", [(meta, {"tickets": [ticket]})])
    files = files_of(req)
    text = pdf_text(files["response"])
    assert "Help desk: Password" in text
    for blob in files.values():
        assert b"hunter2-secret" not in blob
    assert "hunter2-secret" not in text
    assert "UK GDPR Art. 15(1)(a)" in text
    assert "Information Commissioner" in text


def test_a_system_that_could_not_be_searched_says_so(app: Flask) -> None:
    req = make_request("gdpr", [({"name": "Archive"}, {})], status=TaskStatus.FAILED)
    text = pdf_text(files_of(req)["response"])
    assert "Archive could not be searched" in text
    assert "We could not search this system for this answer." in text
