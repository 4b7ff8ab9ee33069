"""Hostile text in every field that reaches an answer PDF stays text: the renderer fetches
nothing but our own static/pdf files, calls no network address, and runs no script."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from dsar.documents.compose import render_answer
from dsar.documents.render import PDF_ASSETS, AssetFetcher
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
)
from dsar.services.system_checks import DISCLOSURE_LISTS, DISCLOSURE_TEXTS
from tests.conftest import pdf_text


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it gets; none should come."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: red; }")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the renderer asks the fetcher for, allowed or refused."""
    urls: list[str] = []
    original = AssetFetcher.fetch

    def spy(self: AssetFetcher, url: str, headers: Any = None) -> Any:
        urls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(AssetFetcher, "fetch", spy)
    return urls


def evil(url: str, tag: str) -> str:
    """Every trick a value could try, pointing at the trap server; `tag` names the field."""
    return " ".join(
        (
            f"<script>alert('{tag}')</script>",
            '<img src="file:///etc/passwd">',
            '<img src="http://169.254.169.254/latest/meta-data/">',
            f"<style>@import url({url}/import-{tag}.css);</style>",
            f"<link rel=stylesheet href={url}/link-{tag}.css>",
            f"<link rel=attachment href={url}/attach-{tag}>",
            f'<div style="background: url({url}/bg-{tag}.png)">x</div>',
            f"url({url}/url-{tag}.png)",
            f'<iframe src="{url}/frame-{tag}"></iframe><object data="{url}/obj-{tag}"></object>',
        )
    )


def hostile_request(url: str, kind: RequestKind, action: TaskAction, regime: str) -> Request:
    now = datetime.now(UTC)
    req = Request(
        tracking_hash=f"evil-{kind.value}-{regime}",
        kind=kind,
        regime=regime,
        status=RequestStatus.COMPILING,
        channel="portal",
        name=evil(url, "name"),
        email="jane.doe@example.com",
        phone=evil(url, "phone"),
        country=evil(url, "country"),
        details=evil(url, "details"),
        received_at=now,
        due_on=(now + timedelta(days=30)).date(),
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-EVIL-{req.id:06d}"
    disclosure: dict[str, Any] = {k: [evil(url, k)] for k in DISCLOSURE_LISTS}
    disclosure.update({k: evil(url, k) for k in DISCLOSURE_TEXTS})
    disclosure["withheld"] = ["secret"]
    record = {
        evil(url, "key"): evil(url, "value"),
        "nested": {"deep": evil(url, "deep")},
        "secret": evil(url, "withheld"),
    }
    result = {
        "records": {evil(url, "place"): [record]},
        "found": 1,
        "erased": 1,
        "receipts": [evil(url, "receipt")],
    }
    for n, status in enumerate((TaskStatus.SUCCEEDED, TaskStatus.SKIPPED)):
        system = DataSystem(
            key=f"evil-{req.id}-{n}",
            name=evil(url, f"system{n}"),
            kind=SystemKind.MANUAL,
            owner=evil(url, "owner"),
            contact=evil(url, "contact"),
            description=evil(url, "description"),
            disclosure=disclosure,
        )
        req.tasks.append(
            Task(
                system=system,
                action=action,
                status=status,
                found_count=1,
                erased_count=1,
                result=result,
                note=evil(url, "note"),
            )
        )
    db.session.commit()
    return req


@pytest.mark.parametrize(
    ("kind", "action", "regime"),
    [
        (RequestKind.ACCESS, TaskAction.LOCATE, "gdpr"),
        (RequestKind.ACCESS, TaskAction.LOCATE, "ccpa"),
        (RequestKind.ACCESS, TaskAction.LOCATE, "lgpd"),
        (RequestKind.DELETION, TaskAction.ERASE, "gdpr"),
        (RequestKind.OPT_OUT, TaskAction.OPT_OUT, "ccpa"),
    ],
)
def test_hostile_values_fetch_nothing_and_stay_text(
    app: Flask,
    trap: tuple[str, list[str]],
    fetched: list[str],
    kind: RequestKind,
    action: TaskAction,
    regime: str,
) -> None:
    url, hits = trap
    req = hostile_request(url, kind, action, regime)
    files = render_answer(req)

    assert files[0].kind == "response" and files[0].data.startswith(b"%PDF")
    assert hits == []  # the trap server was never called
    assert fetched, "the stylesheet is fetched through the AssetFetcher"
    assets = PDF_ASSETS.as_uri() + "/"
    assert all(u.startswith(assets) for u in fetched), fetched
    assert b"/JavaScript" not in files[0].data
    assert_no_links_or_files(files[0].data, url)
    text = pdf_text(files[0].data)
    assert req.reference in text
    # Whatever a template shows of a hostile value, it shows as literal text, tags and all.
    assert text.count("alert('") == text.count("<script>alert('")
    if kind is RequestKind.ACCESS:
        for tag in ("name", "system0", "description", "owner", "purposes", "value", "key"):
            assert f"<script>alert('{tag}')</script>" in text
        assert '<img src="file:///etc/passwd">' in text
        assert "<style>@import url(" in text and "<link rel=stylesheet href=" in text
        withheld = files[0].data + files[1].data + files[2].data
        assert b"alert('withheld')" not in withheld


def assert_no_links_or_files(pdf: bytes, url: str) -> None:
    """A URL may appear in the PDF as shown text, never as a link or an embedded file."""
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            assert url not in str(action.get("/URI", ""))
    assert set(reader.attachments) <= {"data.json", "data.csv"}
