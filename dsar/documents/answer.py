"""The access answer: a letter per regime, a section per system, the data attached.

The PDF is for reading, so it prints at most `DSAR_PDF_MAX_ROWS` records per table (and a
bounded total), each value cut to a readable length; the complete data goes into data.json
and data.csv, which are both stored beside the PDF and embedded in it. Render time and
memory therefore grow with the number of tables, not with the number of records.

Values of fields a system declares `withheld` never leave this module: they are replaced
before any file is built (11 CCR 7024(d), applied under every regime).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import weasyprint
from flask import current_app

from dsar import deadlines, rules, spreadsheets
from dsar.documents.render import PDF_ASSETS, AssetFetcher, RenderedFile, render_pdf
from dsar.models import Request, Task, TaskStatus
from dsar.rules import letters

# Tables with more columns than this print as one key/value block per record.
WIDE_COLUMNS = 7
# A printed value is cut here; the attachments hold it whole.
MAX_CELL_CHARS = 1500
# Printed records in the whole PDF, whatever the number of tables: this many DSAR_PDF_MAX_ROWS,
# shared fairly between the tables (a small table is printed whole first).
TOTAL_TABLES_BUDGET = 2
CSV_HEADER = ("system", "place", "record", "field", "value")

Rows = list[dict[str, Any]]


@dataclass
class Place:
    """One table or endpoint of a system, as printed."""

    name: str
    total: int
    columns: list[str]
    rows: list[list[str]]
    wide: bool
    widths: list[int] = field(default_factory=list)  # percent per column (fixed layout)

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class SystemView:
    anchor: str
    task: Task
    found: int
    places: list[Place] = field(default_factory=list)
    withheld_seen: list[str] = field(default_factory=list)

    @property
    def system(self) -> Any:
        return self.task.system

    @property
    def status(self) -> str:
        if self.task.status is TaskStatus.SUCCEEDED:
            return f"{self.found} record{'s' if self.found != 1 else ''} found"
        if self.task.status is TaskStatus.SKIPPED:
            return "not searched"
        return "could not be searched"


def _withheld(task: Task) -> frozenset[str]:
    names = (task.system.disclosure or {}).get("withheld") or []
    return frozenset(str(n).strip().lower() for n in names)


def _mask(value: Any, withheld: frozenset[str], seen: set[str]) -> Any:
    """Replace the values of withheld fields, at any depth, and note which ones existed.

    Only what changes is copied: a subject's records can be many, and memory must stay bounded.
    """
    if not withheld:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if str(k).lower() in withheld:
                seen.add(str(k))
                out[k] = letters.WITHHELD_VALUE
            else:
                out[k] = _mask(v, withheld, seen)
        return out if any(out[k] is not value[k] for k in out) else value
    if isinstance(value, list):
        out_list = [_mask(v, withheld, seen) for v in value]
        return out_list if any(a is not b for a, b in zip(out_list, value, strict=True)) else value
    return value


def _records(task: Task) -> dict[str, Rows]:
    records = (task.result or {}).get("records") or {}
    if not isinstance(records, dict):
        return {}
    return {
        str(place): [r if isinstance(r, dict) else {"value": r} for r in rows]
        for place, rows in records.items()
        if isinstance(rows, list)
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _cell(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_CELL_CHARS:
        return text[:MAX_CELL_CHARS] + " … (cut here; whole in data.json)"
    return text


def _place(name: str, rows: Rows, limit: int) -> Place:
    shown = rows[:limit]
    columns: list[str] = []
    for row in shown:
        columns.extend(str(c) for c in row if str(c) not in columns)
    printed = [[_cell(row.get(c)) for c in columns] for row in shown]
    return Place(
        name, len(rows), columns, printed, len(columns) > WIDE_COLUMNS, _widths(columns, printed)
    )


def _widths(columns: list[str], rows: list[list[str]]) -> list[int]:
    """Share the page by each column's typical length: a fixed layout needs no measuring."""
    weights = []
    for i, name in enumerate(columns):
        longest = max((len(r[i]) for r in rows), default=0)
        weights.append(min(max(len(name), longest, 4), 40))
    total = sum(weights) or 1
    return [max(5, round(100 * w / total)) for w in weights]


@dataclass
class Collected:
    views: list[SystemView]
    data: dict[str, dict[str, Rows]]  # system key -> place -> masked rows


def _limits(sizes: list[int], max_rows: int) -> list[int]:
    """Rows to print per table: at most `max_rows` each, the total budget shared fairly."""
    budget = max_rows * TOTAL_TABLES_BUDGET
    limits = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for left, i in enumerate(order):
        share = budget // (len(order) - left)
        limits[i] = min(sizes[i], max_rows, share)
        budget -= limits[i]
    return limits


def _collect(tasks: list[Task], max_rows: int) -> Collected:
    views, data = [], {}
    for n, task in enumerate(tasks, start=1):
        withheld, seen = _withheld(task), set()
        masked = {p: _mask(rows, withheld, seen) for p, rows in _records(task).items()}
        view = SystemView(f"system-{n}", task, sum(len(rows) for rows in masked.values()))
        view.withheld_seen = sorted(seen)
        views.append(view)
        data[task.system.key] = masked
    tables = [
        (view, place, rows) for view in views for place, rows in data[view.system.key].items()
    ]
    limits = _limits([len(rows) for _, _, rows in tables], max_rows)
    for (view, place, rows), limit in zip(tables, limits, strict=True):
        view.places.append(_place(place, rows, limit))
    return Collected(views, data)


def _join(values: Any) -> str:
    if isinstance(values, list):
        return "; ".join(str(v) for v in values if str(v).strip())
    return str(values or "").strip()


def _item_rows(item: letters.Item, views: list[SystemView]) -> list[tuple[str, str]]:
    """One line per system for an item built from disclosure metadata."""
    out = []
    for view in views:
        disclosure = view.system.disclosure or {}
        parts = []
        for key in item.fields:
            text = _join(disclosure.get(key))
            if text and key == "third_countries":
                text = f"outside the EEA/UK: {text}"
            if text:
                parts.append(text)
        out.append((view.system.name, "; ".join(parts) or letters.NOT_STATED))
    return out


def _letter_items(letter: letters.Letter, views: list[SystemView], regime: Any) -> list[dict]:
    items = []
    for item in letter.items:
        entry: dict[str, Any] = {"item": item, "rows": [], "text": ""}
        if item.fields:
            entry["rows"] = _item_rows(item, views)
        elif item.computed == "absent":
            empty = [v.system.name for v in views if v.found == 0]
            entry["text"] = (
                "We hold no records about you in: " + "; ".join(empty) + "."
                if empty
                else "Every system we searched holds records about you."
            )
        elif item.computed == "criteria":
            entry["criteria"] = True
        else:
            entry["text"] = item.text.replace("{complaint}", regime.complaint)
        items.append(entry)
    return items


def _lookback(letter: letters.Letter, received: date) -> str:
    if letter.lookback is None:
        return ""
    start = deadlines.add_months(received, -12)
    return letter.lookback.text.format(
        lookback_from=start.strftime("%-d %B %Y"), received_on=received.strftime("%-d %B %Y")
    )


def _export(req: Request, received: date, collected: Collected) -> dict[str, Any]:
    return {
        "reference": req.reference,
        "kind": req.kind.value,
        "regime": req.regime,
        "received_on": received.isoformat(),
        "due_on": req.due_on.isoformat(),
        "withheld_values": letters.WITHHELD_VALUE,
        "systems": [
            {
                "key": v.system.key,
                "name": v.system.name,
                "owner": v.system.owner,
                "status": v.task.status.value,
                "found": v.found,
                "records": collected.data[v.system.key],
            }
            for v in collected.views
        ],
    }


def _csv_rows(collected: Collected) -> Iterator[tuple[str, str, int, str, str]]:
    for view in collected.views:
        for place, rows in collected.data[view.system.key].items():
            for n, row in enumerate(rows, start=1):
                for name, value in row.items():
                    # A stored number stays a number; text is what could be a formula.
                    text = value if isinstance(value, str) else _text(value)
                    yield (view.system.key, place, n, str(name), text)


def _csv(collected: Collected) -> bytes:
    # A BOM so that spreadsheet programs read the file as UTF-8.
    body = spreadsheets.write([CSV_HEADER, *_csv_rows(collected)])
    return ("\ufeff" + body).encode()


def _file(kind: str, suffix: str, data: bytes, seconds: float = 0.0) -> RenderedFile:
    return RenderedFile(kind, suffix, data, hashlib.sha256(data).hexdigest(), seconds)


def render_access(req: Request) -> list[RenderedFile]:
    """The answer to an access request: the PDF letter with data.json and data.csv inside."""
    started = time.perf_counter()
    config = current_app.config
    received = deadlines.received_on(req.received_at, config["DSAR_TIMEZONE"])
    collected = _collect(list(req.tasks), config["DSAR_PDF_MAX_ROWS"])
    data_json = json.dumps(
        _export(req, received, collected), ensure_ascii=False, indent=1, default=str
    ).encode()
    data_csv = _csv(collected)
    collected.data.clear()  # only the printed rows are needed from here on
    now = datetime.now(UTC).replace(microsecond=0)
    fetcher = AssetFetcher()
    attachments = [
        weasyprint.Attachment(
            string=data,
            name=name,
            description=description,
            url_fetcher=fetcher,
            created=now,
            modified=now,
            relationship="Data",
        )
        for data, name, description in (
            (data_json, "data.json", "Every record we hold about you, as JSON"),
            (data_csv, "data.csv", "Every record we hold about you, one value per row (CSV)"),
        )
    ]
    regime = rules.regime(req.regime)
    letter = letters.access_letter(req.regime)
    rendered = render_pdf(
        "pdf/access.html",
        attachments=attachments,
        req=req,
        regime=regime,
        letter=letter,
        items=_letter_items(letter, collected.views, regime),
        lookback=_lookback(letter, received),
        withheld_note=letters.WITHHELD_NOTE,
        kind_label=rules.KIND_LABELS[req.kind],
        received_on=received,
        views=collected.views,
        max_rows=config["DSAR_PDF_MAX_ROWS"],
        company=config["DSAR_COMPANY_NAME"],
        stylesheet=(PDF_ASSETS / "response.css").as_uri(),
        generated_on=now.date(),
    )
    seconds = time.perf_counter() - started
    return [
        _file("response", ".pdf", rendered.pdf, seconds),
        _file("data_json", ".json", data_json),
        _file("data_csv", ".csv", data_csv),
    ]
