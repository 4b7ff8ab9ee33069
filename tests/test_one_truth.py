"""One truth: every document and every screen is built from the same task results.

Jane's access request reaches one system of every connector kind (sql, http, csv, manual);
the paper archive's owner reports what they found with typed rows and a scan. The count each
system reported is the count in the PDF, in data.json, on the person's status page, in the
API, on the officer's page and in the auditor's evidence; the archive's rows and file reach
the person. Then the owner's form is tried with what a careless or hostile owner might send.
"""

from __future__ import annotations

import email.message
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus, SystemKind, TaskStatus, Upload
from dsar.services import api_keys, intake, retention, uploads
from tests.conftest import api_headers, csrf_token, download_answer, pdf_text
from tests.test_manual import archive, owner_link

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}
TYPED = (
    "Document,Date,Where kept\n"
    "Delivery note 4711,2024-03-02,Binder 12\n"
    "Contract K-88,2023-11-20,Safe 2\n"
)


def tiny_pdf(text: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<p>{text}</p>").write_pdf()


def attachments(data: bytes) -> dict[str, bytes]:
    return {name: blobs[0] for name, blobs in PdfReader(io.BytesIO(data)).attachments.items()}


def post_report(client: FlaskClient, path: str, files: list[tuple[bytes, str]], **data: str):
    form = {
        "csrf_token": csrf_token(client, path),
        **data,
        "files": [(io.BytesIO(blob), name) for blob, name in files],
    }
    resp = client.post(path, data=form, content_type="multipart/form-data")
    # Werkzeug's test client spools a large multipart body to a temporary file it never
    # closes; the app closes what it parsed.
    resp.request.environ["wsgi.input"].close()
    return resp


def status_of(req_id: int) -> RequestStatus:
    db.session.expire_all()
    return db.session.get(Request, req_id).status


@pytest.fixture
def jane(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    outbox: Callable[[], list[email.message.Message]],
    run_workers: Callable[..., None],
) -> tuple[int, str, str]:
    """Jane's access request, every automated system done, the archive waiting; the
    owner's link path; the person's tracking token."""
    archive()
    key, raw = api_keys.create("tests", scopes=api_keys.SCOPES)
    done = intake.submit(
        intake.Submission(kind="access", regime="gdpr", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    req_id = done.request.id
    run_workers(
        lambda: all(
            t.status is TaskStatus.SUCCEEDED
            for t in db.session.get(Request, req_id).tasks
            if t.system.key != "paper"
        )
    )
    client.application.config["_TEST_KEY"] = raw
    return req_id, owner_link(outbox), done.tracking_token


def test_every_screen_and_document_says_what_each_system_reported(
    app: Flask,
    client: FlaskClient,
    jane: tuple[int, str, str],
    run_workers: Callable[..., None],
    outbox: Callable[[], list[email.message.Message]],
    login: Callable[[str], str],
) -> None:
    req_id, link, token = jane
    scan = tiny_pdf("Scan of the signed contract K-88")
    resp = post_report(
        client,
        link,
        [(scan, "contract K-88.pdf")],
        outcome="found",
        count="2",
        rows=TYPED,
        note="Two paper files",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[-2000:]
    run_workers(lambda: status_of(req_id) is RequestStatus.COMPLETED)
    req = db.session.get(Request, req_id)
    tasks = {t.system.key: t for t in req.tasks}
    assert {tasks[k].system.kind for k in tasks} == {
        SystemKind.SQL,
        SystemKind.HTTP,
        SystemKind.CSV,
        SystemKind.MANUAL,
    }
    assert tasks["paper"].found_count == 2

    pdf = download_answer(client, f"/r/{token}", outbox)
    text = pdf_text(pdf)
    inside = attachments(pdf)
    data = json.loads(inside["data.json"])
    progress = client.get(f"/r/{token}/progress").get_json()
    api = client.get(
        f"/api/v1/requests/{req.reference}",
        headers=api_headers(app.config["_TEST_KEY"]),
    ).get_json()
    login("auditor")
    staff = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    evidence = pdf_text(client.get(f"/audit/requests/{req.reference}/evidence.pdf").data)

    by_key = {s["key"]: s for s in data["systems"]}
    by_name = {t["system"]: t for t in progress["tasks"]}
    by_api = {t["system"]: t for t in api["tasks"]}
    for key, task in tasks.items():
        n, name = task.found_count, task.system.name
        found = f"{n} record{'s' if n != 1 else ''} found"
        assert by_key[key]["found"] == n, key
        assert by_name[name]["found"] == n == by_name[name]["records"], key
        assert by_api[key]["found"] == n, key
        assert re.search(rf"{re.escape(name)} .{{0,80}}?{found}", text), (key, found)
        row = re.search(rf'id="task-{key}">(.*?)</tr>', staff, re.DOTALL)
        assert row and re.search(rf"<td>{task.attempts}</td><td>{n}</td>", row.group(1)), key
        assert f"{name}: locate, succeeded" in evidence and f"Found {n}," in evidence, key
    assert "0 records found" not in text.split("Paper archive", 1)[1][:200]
    assert "We hold no records about you in this system" not in text.split("Paper archive")[1]

    # The archive's typed rows and its scan reach the person.
    paper = by_key["paper"]
    rows = next(iter(paper["records"].values()))
    assert [r["Document"] for r in rows] == ["Delivery note 4711", "Contract K-88"]
    assert "Delivery note 4711" in text and "Binder 12" in text
    assert "contract K-88.pdf" in text  # listed in the letter
    attached = [blob for name, blob in inside.items() if name.endswith(".pdf")]
    assert attached == [scan]


def test_owner_files_are_checked_by_content_and_size_and_nothing_is_kept_when_refused(
    app: Flask,
    client: FlaskClient,
    jane: tuple[int, str, str],
) -> None:
    req_id, link, _ = jane
    app.config["DSAR_UPLOAD_MAX_MB"] = 1
    html = b"<html><script>alert(1)</script></html>"
    exe = b"MZ\x90\x00" + b"\x00" * 100
    big = tiny_pdf("big") + b"%" * (1024 * 1024)
    cases = [
        ([(html, "scan.pdf")], "scan.pdf is not a PDF, a PNG or JPEG image, or a CSV"),
        ([(exe, "photo.png")], "photo.png is not a PDF"),
        ([(big, "huge.pdf")], "huge.pdf is larger than 1 MB"),
        ([(tiny_pdf("x"), f"f{n}.pdf") for n in range(11)], "Send at most 10 files."),
    ]
    for files, said in cases:
        resp = post_report(client, link, files, outcome="found", count="1")
        assert resp.status_code == 422, said
        assert str(escape(said)) in resp.get_data(as_text=True), said
        assert "nothing was saved" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    folder = uploads.folder()
    assert not folder.exists() or list(folder.iterdir()) == []
    paper = next(t for t in db.session.get(Request, req_id).tasks if t.system.key == "paper")
    assert paper.status is TaskStatus.ACTION_REQUIRED

    # A name with a path is kept as its last part; the file is stored 0600 by a random name.
    resp = post_report(
        client, link, [(tiny_pdf("x"), "../../etc/passwd")], outcome="found", count="1"
    )
    assert resp.status_code == 200
    (upload,) = db.session.scalars(select(Upload)).all()
    assert upload.original_name == "passwd" and upload.media_type == "application/pdf"
    path = uploads.path_of(upload)
    assert path.name != "passwd" and oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_body_past_the_upload_limit_is_refused_with_words_not_a_crash(
    app: Flask, client: FlaskClient, jane: tuple[int, str, str]
) -> None:
    _, link, _ = jane
    app.config["DSAR_UPLOAD_MAX_MB"] = 1  # bodies up to 11 MB are read on the owner's page
    blob = b"%PDF-" + b"0" * (12 * 1024 * 1024)
    resp = post_report(client, link, [(blob, "scan.pdf")], outcome="found", count="1")
    assert resp.status_code == 413
    assert "too large" in resp.get_data(as_text=True).lower()
    assert client.get(link).status_code == 200  # the link still works


def test_the_owners_files_are_purged_with_the_located_data(
    app: Flask,
    client: FlaskClient,
    jane: tuple[int, str, str],
    run_workers: Callable[..., None],
) -> None:
    req_id, link, _ = jane
    resp = post_report(client, link, [(tiny_pdf("scan"), "scan.pdf")], outcome="found", count="1")
    assert resp.status_code == 200
    run_workers(lambda: status_of(req_id) is RequestStatus.COMPLETED)
    (upload,) = db.session.scalars(select(Upload)).all()
    assert uploads.path_of(upload).is_file()
    req = db.session.get(Request, req_id)
    docs = db.session.scalars(select(Document).where(Document.request_id == req_id)).all()
    assert docs
    now = req.completed_at + timedelta(days=app.config["DSAR_PURGE_DAYS"] + 1)
    retention.run(now=now)
    db.session.expire_all()
    assert not uploads.path_of(upload).exists()
    assert db.session.get(Upload, upload.id).sha256 == upload.sha256  # the row stays


def test_a_deletion_waiting_for_approval_says_what_was_found_never_done(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    run_workers: Callable[..., None],
) -> None:
    key, _ = api_keys.create("tests")
    done = intake.submit(
        intake.Submission(kind="deletion", regime="ccpa", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    req_id = done.request.id
    # The dry run: every system searched, nothing changed, the officer to approve.
    run_workers(
        lambda: all(t.status is TaskStatus.SUCCEEDED for t in db.session.get(Request, req_id).tasks)
    )
    assert status_of(req_id) is RequestStatus.AWAITING_APPROVAL
    progress = client.get(f"/r/{done.tracking_token}/progress").get_json()
    page = client.get(f"/r/{done.tracking_token}").get_data(as_text=True)
    tasks = {t.system.name: t for t in db.session.get(Request, req_id).tasks}
    assert progress["words"] == "In progress: our privacy team is checking what to erase"
    for shown in progress["tasks"]:
        n = tasks[shown["system"]].found_count
        assert shown["words"] == f"Found {n}, waiting for our approval"
        assert shown["records"] == n
        assert f"Found {n}, waiting for our approval" in page
    assert ">Done<" not in page
