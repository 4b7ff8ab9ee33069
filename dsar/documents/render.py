"""Render our own templates as PDF with WeasyPrint, and store the files an answer is made of.

The other modules of `dsar.documents` build on this one and nothing here imports them back.

The URL fetcher refuses everything except files under `static/pdf/`: a value that reaches a
template can never make the renderer read a local file or call a network address.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import url2pathname

from flask import current_app, render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from dsar.config import ROOT
from dsar.models import Upload

log = logging.getLogger(__name__)

PDF_ASSETS = (ROOT / "static" / "pdf").resolve()


class FetchRefused(ValueError):
    pass


class AssetFetcher(URLFetcher):
    """Serve our own PDF assets; refuse every other URL, and remember what was refused."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("file://"):
            path = Path(url2pathname(url[len("file://") :].split("?")[0])).resolve()
            if path.is_relative_to(PDF_ASSETS) and path.is_file():
                return super().fetch(url, headers)
        self.refused.append(url)
        log.warning("PDF renderer refused to fetch a URL outside static/pdf")
        raise FetchRefused("fetching is not allowed")


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    sha256: str
    seconds: float


@dataclass(frozen=True)
class RenderedFile:
    """One file of a request's answer, stored as a Document row of `kind`."""

    kind: str  # "response" (the PDF), "data_json", "data_csv", "certificate", ...
    suffix: str  # ".pdf", ".json", ".csv"
    data: bytes
    sha256: str
    seconds: float = 0.0


def render_pdf(template: str, *, attachments: list[Any] | None = None, **context: Any) -> Rendered:
    """Render a template; `attachments` (weasyprint.Attachment) are embedded as PDF files."""
    started = time.perf_counter()
    html = render_template(template, **context)
    fetcher = AssetFetcher()
    doc = HTML(string=html, base_url=f"{PDF_ASSETS}/", url_fetcher=fetcher)
    pdf = doc.write_pdf(attachments=attachments)
    return Rendered(pdf, hashlib.sha256(pdf).hexdigest(), time.perf_counter() - started)


def as_file(kind: str, rendered: Rendered) -> RenderedFile:
    return RenderedFile(kind, ".pdf", rendered.pdf, rendered.sha256, rendered.seconds)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def uploads_path(upload: Upload) -> Path:
    """Where a file a system owner sent is stored (DSAR_UPLOADS_DIR, by its random name)."""
    return Path(current_app.config["DSAR_UPLOADS_DIR"]) / upload.filename
