"""The portability answer: the person's data as a package other software can read.

GDPR Art. 20, UK GDPR Art. 20, LGPD Art. 18 V, Virginia, Colorado, Connecticut and Québec s. 27
give a copy "in a structured, commonly used and machine-readable format". The package is a ZIP:

    manifest.json                  what is inside: the request, each file, its records, SHA-256
    schema.json                    a JSON Schema (2020-12) of every <system>/records.json
    <system>/records.json          the system's records, per table or endpoint, as stored
    <system>/<place>.csv           one CSV per table (UTF-8 with a BOM, a header row)
    <system>/files/<name>          files the owner of a paper system sent, as sent

The records are the same masked records as the access answer's (`answer_data.collect`): a
field a system withholds, or that an officer left out at review, is absent here too. A short
PDF letter says what the package holds and carries it as an attachment.

The letter speaks the request's language; the package does not: what other software reads (the
manifest, the records, their labels and the note in place of a withheld value) is the same
whatever language the person chose.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import weasyprint
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from dsar import deadlines, i18n, rules, spreadsheets
from dsar.documents import answer_data, letterhead, words
from dsar.documents.answer_data import Collected, SystemView
from dsar.documents.render import (
    PDF_ASSETS,
    AssetFetcher,
    RenderedFile,
    render_pdf,
    uploads_path,
)
from dsar.i18n import day
from dsar.models import Request

FORMAT = "dsar-portability/1"
_UNSAFE = re.compile(r"[^a-z0-9]+")

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "schema.json",
    "title": "One system's records about a person",
    "type": "object",
    "required": ["system", "name", "records"],
    "additionalProperties": False,
    "properties": {
        "system": {"type": "string", "description": "The system's key in the manifest"},
        "name": {"type": "string", "description": "The system's name"},
        "records": {
            "type": "object",
            "description": "Per table or endpoint (its name as stored), the records found",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "One record: field name as stored -> value",
                    "additionalProperties": {
                        "type": ["string", "number", "integer", "boolean", "null"]
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Shown:
    """One system as the letter lists it: its part of the package, in the letter's words."""

    entry: dict[str, Any]  # its part of the manifest: file names and counts
    view: SystemView  # collected in the letter's language: its status, what was left out
    labels: list[str]  # the label of each of its CSV files' tables, in the letter's language


def _slug(text: str, taken: set[str]) -> str:
    """A file name part made of a-z, 0-9 and '-', unique among `taken`."""
    text = re.sub(r"\.(csv|json)$", "", text.lower())  # a spreadsheet named as its file
    base = _UNSAFE.sub("-", text).strip("-") or "records"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    columns: list[str] = []
    for row in rows:
        columns.extend(str(k) for k in row if str(k) not in columns)
    body = spreadsheets.write([columns, *([_scalar(row.get(c)) for c in columns] for row in rows)])
    return ("\ufeff" + body).encode()


def _entry(zf: zipfile.ZipFile, name: str, data: bytes, when: datetime) -> dict[str, Any]:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    zf.writestr(info, data)
    return {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _system_files(
    zf: zipfile.ZipFile, view: SystemView, records: dict[str, list], folder: str, when: datetime
) -> dict[str, Any]:
    clean = {
        place: [{str(k): _scalar(v) for k, v in r.items()} for r in rows]
        for place, rows in records.items()
    }
    body = {"system": view.system.key, "name": view.system.name, "records": clean}
    data = json.dumps(body, ensure_ascii=False, indent=1).encode()
    entry = {
        "key": view.system.key,
        "name": view.system.name,
        "status": view.status,
        "records": sum(len(rows) for rows in clean.values()),
        "json": _entry(zf, f"{folder}/records.json", data, when),
        "csv": [],
        # Left out by an officer at review: where, and why (never the value).
        "withheld": [w.as_dict() for w in view.withheld],
    }
    taken: set[str] = {"records", "files"}
    for place, rows in clean.items():
        csv_name = f"{folder}/{_slug(str(place), taken)}.csv"
        csv_entry = _entry(zf, csv_name, _csv(rows), when)
        entry["csv"].append(
            {
                "place": place,
                "label": words.place_label(view.system, str(place)),
                "records": len(rows),
                **csv_entry,
            }
        )
    entry["files"] = _owner_files(zf, view, folder, when)
    return entry


def _owner_files(
    zf: zipfile.ZipFile, view: SystemView, folder: str, when: datetime
) -> list[dict[str, Any]]:
    """Files the owner of a system kept on paper sent (scans, photos, spreadsheets)."""
    added, taken = [], set()
    for upload in view.files:
        path = uploads_path(upload)
        if not path.is_file():
            continue
        # The name the owner gave, made safe; the suffix of what the content is.
        stem = upload.original_name.rsplit(".", 1)[0] if "." in upload.original_name else ""
        name = _slug(stem or upload.original_name, taken) + path.suffix
        entry = _entry(zf, f"{folder}/files/{name}", path.read_bytes(), when)
        added.append({"name": upload.original_name, "type": upload.media_type, **entry})
    return added


def package(req: Request, collected: Collected, when: datetime) -> tuple[bytes, dict[str, Any]]:
    """The ZIP and its manifest."""
    regime = rules.regime(req.regime)
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        schema = _entry(zf, "schema.json", json.dumps(SCHEMA, indent=1).encode(), when)
        taken: set[str] = set()
        systems = [
            _system_files(
                zf, view, collected.data[view.system.key], _slug(view.system.key, taken), when
            )
            for view in collected.views
        ]
        manifest = {
            "format": FORMAT,
            "reference": req.reference,
            "law": regime.name,
            "right": regime.kinds.get(req.kind, ""),
            "generated_at": when.isoformat(),
            "encoding": "UTF-8; CSV files begin with a byte order mark",
            "schema": schema,
            "systems": systems,
        }
        _entry(
            zf, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode(), when
        )
    return out.getvalue(), manifest


def render_portability(req: Request) -> list[RenderedFile]:
    """The letter (with the package inside) and the package on its own."""
    started = time.perf_counter()
    config = current_app.config
    received = deadlines.received_on(req.received_at, config["DSAR_TIMEZONE"])
    now = datetime.now(UTC).replace(microsecond=0)
    language = words.language()
    with force_locale(i18n.DEFAULT):  # the package reads the same in every language
        collected = answer_data.collect(req, config["DSAR_PDF_MAX_ROWS"])
        data, manifest = package(req, collected, now)
    if language != i18n.DEFAULT:  # the letter names what was left out in its own words
        collected = answer_data.collect(req, config["DSAR_PDF_MAX_ROWS"])
    shown = [
        Shown(entry, view, [words.place_label(view.system, str(c["place"])) for c in entry["csv"]])
        for entry, view in zip(manifest["systems"], collected.views, strict=True)
    ]
    name = f"{req.reference}-data.zip"
    attachment = weasyprint.Attachment(
        string=data,
        name=name,
        description=_("Your data: JSON and CSV per system, with a manifest and a schema"),
        url_fetcher=AssetFetcher(),
        created=now,
        modified=now,
        relationship="Data",
    )
    regime = rules.regime(req.regime)
    rendered = render_pdf(
        "pdf/portability.html",
        attachments=[attachment],
        req=req,
        regime=regime,
        right=regime.kinds.get(req.kind, ""),
        kind_label=rules.KIND_LABELS[req.kind],
        received_on=day(received),
        generated_on=day(now),
        due_on=day(req.due_on),
        systems=shown,
        package_name=name,
        company=letterhead.company(req.regime),
        stylesheet=(PDF_ASSETS / "response.css").as_uri(),
    )
    seconds = time.perf_counter() - started
    return [
        RenderedFile("response", ".pdf", rendered.pdf, rendered.sha256, seconds),
        RenderedFile("package", ".zip", data, hashlib.sha256(data).hexdigest()),
    ]
