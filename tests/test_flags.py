"""Restriction (GDPR Art. 18, LGPD Art. 18 IV), objection (GDPR Art. 21(1), LGPD Art. 18 §2)
and the limit on sensitive data (CCPA 1798.121): each sets the flag the registry names in
every system, under exactly the laws that grant it, and ends in a confirmation letter."""

from __future__ import annotations

import csv
import email.message
import io
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, Request, RequestKind, RequestStatus, TaskAction
from dsar.rules import REGIMES
from tests.conftest import api_headers, staff_post

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
DONE = {RequestStatus.COMPLETED, RequestStatus.ACTION_REQUIRED, RequestStatus.AWAITING_APPROVAL}


def submit(client: FlaskClient, api_key: str, kind: str, regime: str, **extra: object):
    return client.post(
        "/api/v1/requests",
        headers=api_headers(api_key),
        json={"kind": kind, "regime": regime, **JANE, **extra},
    )


def request(reference: str) -> Request:
    db.session.remove()
    return db.session.scalars(select(Request).where(Request.reference == reference)).one()


def flag(demo_dir: Path, system: str, table: str, column: str) -> set[object]:
    with closing(sqlite3.connect(demo_dir / f"{system}.db")) as conn:
        sql = f"SELECT {column} FROM {table} WHERE email = ?"  # noqa: S608 (fixed names)
        return {row[0] for row in conn.execute(sql, (JANE["email"],))}


def events_rows(demo_dir: Path) -> list[dict[str, str]]:
    text = (demo_dir / "events.csv").read_text(encoding="utf-8")
    return [r for r in csv.DictReader(io.StringIO(text)) if r["email"] == JANE["email"]]


def letter(app: Flask, req: Request) -> str:
    doc = next(d for d in req.documents if d.kind == "response")
    data = (app.config["DSAR_DOCUMENTS_DIR"] / doc.filename).read_bytes()
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


@pytest.mark.parametrize(
    ("kind", "granting"),
    [
        ("restriction", {"gdpr", "uk_gdpr", "lgpd"}),
        ("objection", {"gdpr", "uk_gdpr", "lgpd"}),
        ("limit_sensitive", {"ccpa"}),
    ],
)
def test_each_law_that_grants_the_right_takes_it_and_no_other(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    kind: str,
    granting: set[str],
) -> None:
    assert {k for k, r in REGIMES.items() if RequestKind(kind) in r.kinds} == granting
    for regime in REGIMES:
        resp = submit(client, api_key, kind, regime)
        if regime in granting:
            assert resp.status_code == 201, (regime, resp.get_data(as_text=True))
        else:
            assert resp.status_code == 422, regime
            assert "gives no right" in resp.json["errors"]["json"]["kind"][0]
    db.session.remove()
    assert {r.regime for r in db.session.scalars(select(Request))} == granting


def test_a_restriction_marks_janes_records_and_the_letter_says_so(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
) -> None:
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {0}
    resp = submit(client, api_key, "restriction", "gdpr", identity_verified=True)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    reference = resp.json["reference"]
    run_workers(lambda: request(reference).status in DONE)
    req = request(reference)
    assert req.status is RequestStatus.COMPLETED
    assert {t.action for t in req.tasks} == {TaskAction.RESTRICT}
    assert flag(demo_dir, "crm", "contacts", "processing_restricted") == {1}
    assert flag(demo_dir, "shop", "customers", "processing_restricted") == {1}
    assert {r["restricted"] for r in events_rows(demo_dir)} == {"yes"}
    assert flag(demo_dir, "crm", "contacts", "objected") == {0}  # nothing else changed
    text = letter(app, req)
    assert "Confirmation that the use of your data is restricted" in text
    assert "We will tell you before any restriction is lifted" in text


def test_limiting_sensitive_data_needs_no_verification_and_sets_only_that_flag(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    from tests.conftest import csrf_token

    resp = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            "kind": "limit_sensitive",
            "regime": "ccpa",
            **JANE,
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.remove()
    req = db.session.scalars(select(Request)).one()
    assert req.verified_by == "not required"
    assert not any(m["Subject"].startswith("Please confirm") for m in outbox())
    run_workers(lambda: request(req.reference).status in DONE)
    req = request(req.reference)
    assert req.status is RequestStatus.COMPLETED
    assert {r["dietary_use"] for r in events_rows(demo_dir)} == {"none"}
    assert flag(demo_dir, "shop", "customers", "uses_sensitive") == {0}
    assert flag(demo_dir, "crm", "contacts", "marketing_opt_in") != {0}  # no opt-out
    text = letter(app, req)
    assert "Confirmation that the use of your sensitive data is limited" in text


def test_an_objection_waits_for_the_officer_who_upholds_it_or_denies_it_with_grounds(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    demo_systems: list[str],
    demo_dir: Path,
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    outbox: Callable[[], list[email.message.Message]],
) -> None:
    upheld = submit(client, api_key, "objection", "uk_gdpr", identity_verified=True)
    denied = submit(client, api_key, "objection", "gdpr", identity_verified=True)
    refs = [upheld.json["reference"], denied.json["reference"]]

    def searched(reference: str) -> bool:
        req = request(reference)
        return req.status in DONE and all(t.status in FINAL_TASK_STATUSES for t in req.tasks)

    run_workers(lambda: all(searched(r) for r in refs))
    assert [request(r).status for r in refs] == [RequestStatus.AWAITING_APPROVAL] * 2
    assert flag(demo_dir, "crm", "contacts", "objected") == {0}  # the search changed nothing
    login("officer")
    page = staff_post(client, refs[0], "approve")
    assert "Upheld: every system is marking the records." in page
    run_workers(lambda: request(refs[0]).status in DONE - {RequestStatus.AWAITING_APPROVAL})
    req = request(refs[0])
    assert req.status is RequestStatus.COMPLETED
    assert flag(demo_dir, "crm", "contacts", "objected") == {1}
    assert "Confirmation that your objection is upheld" in letter(app, req)

    page = staff_post(client, refs[1], "deny", reason="compelling_grounds", text="Fraud checks.")
    req = request(refs[1])
    assert req.status is RequestStatus.DENIED
    assert {t.action for t in req.tasks} == {TaskAction.LOCATE}
    denial = next(m for m in outbox() if "cannot carry it out" in m["Subject"])
    from tests.conftest import body_of

    assert "GDPR Art. 21(1)" in body_of(denial)
