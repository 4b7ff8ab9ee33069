"""The records of an access answer: collected from every task, masked, shaped for print.

`collect` reads each task's records, masks withheld fields and works out what the PDF prints
of every table (which columns, how wide, how many rows); `data_json` and `data_csv` export the
complete, masked data that the PDF carries as attachments and that is stored beside it.

Values of fields a system declares `withheld` never leave this module: they are replaced
before any file is built (11 CCR 7024(d), applied under every regime).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dsar import spreadsheets
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


def collect(tasks: list[Task], max_rows: int) -> Collected:
    """Mask every task's records and shape the tables the PDF prints, `max_rows` at most each."""
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


def data_json(req: Request, received: date, collected: Collected) -> bytes:
    """data.json: the request, and every system's status and complete masked records."""
    return json.dumps(
        _export(req, received, collected), ensure_ascii=False, indent=1, default=str
    ).encode()


def _csv_rows(collected: Collected) -> Iterator[tuple[str, str, int, str, str]]:
    for view in collected.views:
        for place, rows in collected.data[view.system.key].items():
            for n, row in enumerate(rows, start=1):
                for name, value in row.items():
                    # A stored number stays a number; text is what could be a formula.
                    text = value if isinstance(value, str) else _text(value)
                    yield (view.system.key, place, n, str(name), text)


def data_csv(collected: Collected) -> bytes:
    """data.csv: one row per value of every masked record, for spreadsheet programs."""
    # A BOM so that spreadsheet programs read the file as UTF-8.
    body = spreadsheets.write([CSV_HEADER, *_csv_rows(collected)])
    return ("\ufeff" + body).encode()
