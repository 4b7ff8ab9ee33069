"""Files a system's owner sends with their report: checked by content, stored privately.

Only PDFs, PNG and JPEG images and CSV text are taken, recognised by their first bytes, not
by the name or the type the browser claims; each is at most DSAR_UPLOAD_MAX_MB. They are
stored under DSAR_UPLOADS_DIR by a random name (mode 0600), never served inline and never
rendered as active content: the person's answer attaches them to the PDF and lists them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from dsar.exceptions import ManualTaskRefused
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Correspondence, Request, Task, Upload

MAX_FILES = 10
# Media type -> the suffix a stored file gets.
SUFFIXES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/csv": ".csv",
}


@dataclass(frozen=True)
class Incoming:
    """A file as the form received it: the name the sender gave, and its bytes."""

    name: str
    data: bytes


def folder() -> Path:
    return Path(current_app.config["DSAR_UPLOADS_DIR"])


def path_of(upload: Upload | Correspondence) -> Path:
    return folder() / upload.filename


def media_type(data: bytes) -> str | None:
    """What the bytes are, from their signature; None for anything not taken."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return "text/csv" if _is_csv(data) else None


def _is_csv(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if text.lstrip().startswith("<"):
        return False  # markup (HTML, SVG, XML) is not a spreadsheet
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return False
    return bool(rows) and len(rows[0]) >= 1


def safe_name(name: str) -> str:
    """The sender's file name, fit to show: no path, no control characters, at most 200."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or "file"


def check(files: list[Incoming]) -> list[tuple[Incoming, str]]:
    """Each file with its media type; `ManualTaskRefused` (field "files") naming the first
    file that is too big, empty or of a kind not taken."""
    limit = current_app.config["DSAR_UPLOAD_MAX_MB"] * 1024 * 1024
    if len(files) > MAX_FILES:
        raise ManualTaskRefused(N_("Send at most %(num)s files."), num=MAX_FILES, field="files")
    checked = []
    for incoming in files:
        shown = safe_name(incoming.name)
        if not incoming.data:
            raise ManualTaskRefused(N_("%(file)s is empty."), file=shown, field="files")
        if len(incoming.data) > limit:
            mb = current_app.config["DSAR_UPLOAD_MAX_MB"]
            raise ManualTaskRefused(
                N_("%(file)s is larger than %(mb)s MB."), file=shown, mb=mb, field="files"
            )
        kind = media_type(incoming.data)
        if kind is None:
            raise ManualTaskRefused(
                N_("%(file)s is not a PDF, a PNG or JPEG image, or a CSV spreadsheet."),
                file=shown,
                field="files",
            )
        checked.append((incoming, kind))
    return checked


def _write(incoming: Incoming, kind: str) -> dict[str, Any]:
    """Write one checked file under a random name (0600); the columns its row needs."""
    where = folder()
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = secrets.token_hex(16) + SUFFIXES[kind]
    fd = os.open(where / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(incoming.data)
    return {
        "filename": name,
        "original_name": safe_name(incoming.name),
        "media_type": kind,
        "size": len(incoming.data),
        "sha256": hashlib.sha256(incoming.data).hexdigest(),
    }


def store(task: Task, checked: list[tuple[Incoming, str]]) -> list[Upload]:
    """Write the files and add their rows to the session (the caller commits)."""
    stored = [Upload(task=task, **_write(incoming, kind)) for incoming, kind in checked]
    db.session.add_all(stored)
    return stored


def store_correspondence(
    req: Request, checked: list[tuple[Incoming, str]], *, added_by: int | None
) -> list[Correspondence]:
    """The original letter or email of a request an officer recorded (the caller commits)."""
    stored = [
        Correspondence(request=req, added_by_id=added_by, **_write(incoming, kind))
        for incoming, kind in checked
    ]
    db.session.add_all(stored)
    return stored


def remove_files(uploads: list[Upload] | list[Correspondence]) -> int:
    """Delete the stored files (the rows stay, with their SHA-256); how many were there."""
    removed = 0
    for upload in uploads:
        path = path_of(upload)
        if path.is_file():
            path.unlink()
            removed += 1
    return removed
