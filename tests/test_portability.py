"""Portability: the person's data as a package other software can read, under every law
that grants it (GDPR and UK GDPR Art. 20, LGPD Art. 18 V, Virginia, Colorado, Connecticut,
Québec s. 27)."""

from __future__ import annotations

import csv
import email.message
import hashlib
import io
import json
import zipfile
from collections.abc import Callable

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Document, Request, RequestKind, RequestStatus
from dsar.rules import REGIMES
from tests.conftest import api_headers, csrf_token, download_answer

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
GRANTING = sorted(k for k, r in REGIMES.items() if RequestKind.PORTABILITY in r.kinds)


def submit(client: FlaskClient, api_key: str, regime: str) -> Request:
    resp = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "portability", "regime": regime, "identity_verified": True, **JANE},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    db.session.remove()
    return db.session.scalars(
        select(Request).where(Request.reference == resp.json["reference"])
    ).one()


def test_every_law_that_grants_portability_takes_it_and_the_others_refuse_it(
    app: Flask, client: FlaskClient, api_key: str, demo_systems: list[str]
) -> None:
    assert set(GRANTING) == {"gdpr", "uk_gdpr", "lgpd", "us_va", "us_co", "us_ct", "qc_law25"}
    for regime in GRANTING:
        req = submit(client, api_key, regime)
        assert req.status is RequestStatus.IN_PROGRESS
        assert req.due_on is not None
    refused = client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": "portability", "regime": "ccpa", "identity_verified": True, **JANE},
    )
    assert refused.status_code == 422
    assert "gives no right" in refused.json["errors"]["json"]["kind"][0]
    assert db.session.scalar(select(Request).where(Request.regime == "ccpa")) is None


def test_the_portal_offers_portability_and_files_it(
    app: Flask, client: FlaskClient, demo_systems: list[str]
) -> None:
    page = client.get("/request").get_data(as_text=True)
    assert "Get my data in a machine-readable file" in page
    resp = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            "kind": "portability",
            "regime": "lgpd",
            "name": "Jane Doe",
            "email": "jane.doe@example.com",
        },
    )
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)
    req = db.session.scalars(select(Request)).one()
    assert req.kind is RequestKind.PORTABILITY
    assert req.status is RequestStatus.AWAITING_VERIFICATION


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_package_has_a_manifest_a_schema_and_json_and_csv_per_system(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    req = submit(client, api_key, "gdpr")
    reference = req.reference
    done = {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED}
    run_workers(lambda: db.session.get(Request, req.id).status in done)
    req = db.session.get(Request, req.id)
    assert req.status is RequestStatus.COMPLETED
    docs = {
        d.kind: d for d in db.session.scalars(select(Document).where(Document.request_id == req.id))
    }
    assert set(docs) == {"response", "package"}
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    files = unzip((folder / docs["package"].filename).read_bytes())
    manifest = json.loads(files["manifest.json"])
    schema = json.loads(files["schema.json"])
    jsonschema.Draft202012Validator.check_schema(schema)
    assert manifest["reference"] == reference
    assert manifest["right"] == "GDPR Art. 20"
    found = {t.system.key: t.found_count for t in req.tasks}
    assert {s["key"]: s["records"] for s in manifest["systems"]} == found  # one truth
    listed = {"manifest.json", "schema.json"}
    for system in manifest["systems"]:
        body = files[system["json"]["file"]]
        assert hashlib.sha256(body).hexdigest() == system["json"]["sha256"]
        records = json.loads(body)
        jsonschema.validate(records, schema)
        listed.add(system["json"]["file"])
        for table in system["csv"]:
            data = files[table["file"]]
            assert hashlib.sha256(data).hexdigest() == table["sha256"]
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
            assert len(rows) == table["records"] == len(records["records"][table["place"]])
            listed.add(table["file"])
        listed.update(f["file"] for f in system["files"])
    assert set(files) == listed  # nothing in the package the manifest does not name
    # Jane is in the CRM; the shop withholds card numbers and password hashes: never here.
    crm = json.loads(
        files[next(s for s in manifest["systems"] if s["key"] == "crm")["json"]["file"]]
    )
    assert "jane.doe@example.com" in json.dumps(crm)
    everything = b"".join(files.values()).decode("utf-8", "replace")
    shop = next(t for t in req.tasks if t.system.key == "shop")
    secrets = [
        str(row[field])
        for rows in shop.result["records"].values()
        for row in rows
        for field in ("password_hash",)  # card_last4: four digits could be in any checksum
        if row.get(field)
    ]
    assert secrets, "the demo shop holds no withheld values for Jane"
    assert not [value for value in secrets if value in everything]
    assert "held — not disclosed (GDPR Art. 15(4); Art. 32)" in everything
    # The person downloads the letter and the package from the tracking page.
    tracking = next(m for m in outbox() if reference in m["Subject"] and "received" in m["Subject"])
    status_path = "/r/" + tracking.get_payload(decode=True).decode().split("/r/")[1].split()[0]
    letter = download_answer(client, status_path, outbox)
    assert letter.startswith(b"%PDF")


def test_a_reviewed_package_leaves_out_what_the_officer_withheld_and_says_why(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dsar.rules import withholding

    # The shipped default: portability answers wait for an officer's review.
    monkeypatch.setenv("DSAR_RELEASE_AT_ONCE", "opt_out")  # for the workers
    app.config["DSAR_RELEASE_AT_ONCE"] = frozenset({"opt_out"})
    req = submit(client, api_key, "gdpr")
    review = RequestStatus.READY_FOR_REVIEW
    run_workers(lambda: db.session.get(Request, req.id).status is review)
    shop = next(t for t in db.session.get(Request, req.id).tasks if t.system.key == "shop")
    first_order = shop.result["records"]["orders"][0]
    login("officer")
    page_url = f"/staff/requests/{req.reference}"
    page = client.get(page_url).get_data(as_text=True)
    assert "The answer as the person will receive it" in page
    assert "The data package (ZIP: JSON and CSV per system)" in page
    reason = withholding.redaction_reasons("gdpr")[0]
    resp = client.post(
        f"{page_url}/redact",
        data={
            "csrf_token": csrf_token(client, page_url),
            "system": "shop",
            "place": "orders",
            "record": "1",
            "field": "",
            "reason": reason.key,
            "note": "Another person's order.",
        },
    )
    assert resp.status_code == 302
    run_workers(lambda: db.session.get(Request, req.id).status is review)
    resp = client.post(f"{page_url}/release", data={"csrf_token": csrf_token(client, page_url)})
    assert resp.status_code == 302
    req = db.session.get(Request, req.id)
    assert req.status is RequestStatus.COMPLETED
    package = next(
        d
        for d in req.documents
        if d.kind == "package" and d.id == max(x.id for x in req.documents if x.kind == "package")
    )
    files = unzip((app.config["DSAR_DOCUMENTS_DIR"] / package.filename).read_bytes())
    manifest = json.loads(files["manifest.json"])
    shop_entry = next(s for s in manifest["systems"] if s["key"] == "shop")
    orders = json.loads(files[shop_entry["json"]["file"]])["records"]["orders"]
    assert first_order not in orders
    assert [w["citation"] for w in shop_entry["withheld"]] == [reason.citation]
    letter = next(
        d
        for d in req.documents
        if d.kind == "response" and d.id == max(x.id for x in req.documents if x.kind == "response")
    )
    from pypdf import PdfReader

    text = " ".join(
        p.extract_text()
        for p in PdfReader(app.config["DSAR_DOCUMENTS_DIR"] / letter.filename).pages
    )
    assert "What we left out" in text
    assert reason.citation in " ".join(text.split())


def test_the_package_holds_the_typed_records_and_files_a_paper_archive_sent(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    run_workers: Callable[..., None],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    from tests.test_manual import archive, owner_link
    from tests.test_one_truth import TYPED, post_report, tiny_pdf

    archive()
    req = submit(client, api_key, "uk_gdpr")
    others_done = lambda: all(  # noqa: E731
        t.status.value == "succeeded"
        for t in db.session.get(Request, req.id).tasks
        if t.system.key != "paper"
    )
    run_workers(others_done)
    scan = tiny_pdf("Scan of the signed contract K-88")
    resp = post_report(
        client,
        owner_link(outbox),
        [(scan, "contract K-88.pdf")],
        outcome="found",
        count="2",
        rows=TYPED,
        note="Two paper files",
    )
    assert resp.status_code == 200
    done = {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED}
    run_workers(lambda: db.session.get(Request, req.id).status in done)
    req = db.session.get(Request, req.id)
    package = next(d for d in req.documents if d.kind == "package")
    files = unzip((app.config["DSAR_DOCUMENTS_DIR"] / package.filename).read_bytes())
    manifest = json.loads(files["manifest.json"])
    paper = next(s for s in manifest["systems"] if s["key"] == "paper")
    assert paper["records"] == 2
    (sent,) = paper["files"]
    assert sent["name"] == "contract K-88.pdf"
    assert sent["file"] == "paper/files/contract-k-88.pdf"
    assert files[sent["file"]] == scan
    assert hashlib.sha256(scan).hexdigest() == sent["sha256"]
