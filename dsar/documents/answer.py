"""The access answer: a letter per regime, a section per system, the data attached.

The PDF is for reading, so it prints at most `DSAR_PDF_MAX_ROWS` records per table (and a
bounded total), each value cut to a readable length; the complete data goes into data.json
and data.csv, which are both stored beside the PDF and embedded in it. Render time and
memory therefore grow with the number of tables, not with the number of records.

The records, masked of withheld fields before any file is built, come from `answer_data`.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime
from typing import Any

import weasyprint
from flask import current_app
from flask_babel import gettext as _

from dsar import deadlines, rules
from dsar.documents import answer_data, answer_files, letterhead
from dsar.documents.answer_data import SystemView
from dsar.documents.render import PDF_ASSETS, AssetFetcher, RenderedFile, render_pdf, uploads_path
from dsar.i18n import N_, day
from dsar.models import Request
from dsar.rules import letters

FILE_KINDS = {
    "application/pdf": N_("PDF"),
    "image/png": N_("image"),
    "image/jpeg": N_("photo"),
    "text/csv": N_("spreadsheet"),
}


def _join(values: Any, regime_key: str) -> str:
    if isinstance(values, dict):  # one phrase per law
        values = values.get(regime_key) or values.get("default") or ""
    if isinstance(values, list):
        return "; ".join(str(v) for v in values if str(v).strip())
    return str(values or "").strip()


def _item_rows(
    item: letters.Item, views: list[SystemView], regime_key: str
) -> list[tuple[str, str]]:
    """One line per system for an item built from disclosure metadata."""
    out = []
    for view in views:
        disclosure = view.disclosure
        parts = []
        for key in item.fields:
            text = _join(disclosure.get(key), regime_key)
            if text and key == "third_countries":
                text = _("outside the EEA/UK: %(countries)s", countries=text)
            if text:
                parts.append(text)
        out.append((view.name, "; ".join(parts) or _(letters.NOT_STATED)))
    return out


def _letter_items(letter: letters.Letter, views: list[SystemView], regime: Any) -> list[dict]:
    items = []
    for item in letter.items:
        entry: dict[str, Any] = {"item": item, "rows": [], "text": ""}
        if item.fields:
            entry["rows"] = _item_rows(item, views, regime.key)
        elif item.computed == "absent":
            empty = [v.name for v in views if v.found == 0]
            entry["text"] = (
                _("We hold no records about you in: %(systems)s.", systems="; ".join(empty))
                if empty
                else _("Every system we searched holds records about you.")
            )
        elif item.computed == "criteria":
            entry["criteria"] = True
        elif item.computed == "complaint":
            entry["text"] = _(regime.complaint)
        else:
            entry["text"] = _(item.text)
        items.append(entry)
    return items


def _lookback(letter: letters.Letter, received: date) -> str:
    if letter.lookback is None:
        return ""
    start = deadlines.add_months(received, -12)
    return _(letter.lookback.text, lookback_from=day(start), received_on=day(received))


def _attachments(
    data_json: bytes, data_csv: bytes, views: list[SystemView], now: datetime
) -> list[weasyprint.Attachment]:
    """data.json, data.csv and the files system owners sent, embedded in the PDF (as bytes:
    nothing is fetched, and nothing is rendered)."""
    fetcher = AssetFetcher()
    files = [
        (data_json, "data.json", _("Every record we hold about you, as JSON")),
        (data_csv, "data.csv", _("Every record we hold about you, one value per row (CSV)")),
    ]
    for view in views:
        for n, upload in enumerate(view.files, start=1):
            path = uploads_path(upload)
            if path.is_file():
                name = f"{view.system.key}-{n}-{upload.original_name}"
                sent_by = _("Sent by the owner of %(system)s", system=view.name)
                files.append((path.read_bytes(), name, sent_by))
    return [
        weasyprint.Attachment(
            string=data,
            name=name,
            description=description,
            url_fetcher=fetcher,
            created=now,
            modified=now,
            relationship="Data",
        )
        for data, name, description in files
    ]


def _file(kind: str, suffix: str, data: bytes, seconds: float = 0.0) -> RenderedFile:
    return RenderedFile(kind, suffix, data, hashlib.sha256(data).hexdigest(), seconds)


def render_access(req: Request) -> list[RenderedFile]:
    """The answer to an access request: the PDF letter with data.json and data.csv inside."""
    started = time.perf_counter()
    config = current_app.config
    received = deadlines.received_on(req.received_at, config["DSAR_TIMEZONE"])
    collected = answer_data.collect(req, config["DSAR_PDF_MAX_ROWS"])
    data_json = answer_files.data_json(req, received, collected)
    data_csv = answer_files.data_csv(collected)
    collected.data.clear()  # only the printed rows are needed from here on
    now = datetime.now(UTC).replace(microsecond=0)
    regime = rules.regime(req.regime)
    letter = letters.access_letter(req.regime)
    rendered = render_pdf(
        "pdf/access.html",
        attachments=_attachments(data_json, data_csv, collected.views, now),
        req=req,
        regime=regime,
        letter=letter,
        items=_letter_items(letter, collected.views, regime),
        lookback=_lookback(letter, received),
        withheld_note=letters.withheld_note(req.regime),
        kind_label=rules.KIND_LABELS[req.kind],
        received_on=received,
        views=collected.views,
        max_rows=config["DSAR_PDF_MAX_ROWS"],
        company=letterhead.company(req.regime),
        stylesheet=(PDF_ASSETS / "response.css").as_uri(),
        generated_on=now.date(),
        file_kinds=FILE_KINDS,
    )
    seconds = time.perf_counter() - started
    return [
        _file("response", ".pdf", rendered.pdf, seconds),
        _file("data_json", ".json", data_json),
        _file("data_csv", ".csv", data_csv),
    ]
