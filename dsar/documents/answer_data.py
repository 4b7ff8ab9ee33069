"""The records of an access answer: collected from every task, masked, shaped for print.

`collect` reads each task's records, masks withheld fields and works out what the PDF prints
of every table (which columns, how wide, how many rows); `data_json` and `data_csv` export the
complete, masked data that the PDF carries as attachments and that is stored beside it.

Values of fields a system declares `withheld` never leave this module: they are replaced
before any file is built (11 CCR 7024(d), applied under every regime).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from dsar.documents import words
from dsar.i18n import N_
from dsar.models import Redaction, Request, Task, TaskStatus, Upload
from dsar.rules import letters, withholding

# Tables with more columns than this print as one key/value block per record.
WIDE_COLUMNS = 7
# A printed value is cut here; the attachments hold it whole.
MAX_CELL_CHARS = 1500
# Printed records in the whole PDF, whatever the number of tables: this many DSAR_PDF_MAX_ROWS,
# shared fairly between the tables (a small table is printed whole first).
TOTAL_TABLES_BUDGET = 2

Rows = list[dict[str, Any]]
WITHHELD = N_("[withheld by our privacy team; see the note in the letter]")


@dataclass
class Place:
    """One table or endpoint of a system, as printed."""

    name: str  # as the person reads it (the registry's label, or the raw name made humane)
    total: int
    columns: list[str]  # labels
    rows: list[list[str]]
    wide: bool  # printed as one block of "label: value" lines per record
    widths: list[int] = field(default_factory=list)  # percent per column (fixed layout)

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class Withheld:
    """A record, or a field of one, an officer left out, and why (never the value)."""

    place: str
    record: int
    field: str
    reason: str
    citation: str

    def as_dict(self) -> dict[str, Any]:
        """As the data files write it: where, and why (never the value)."""
        return asdict(self)


@dataclass
class SystemView:
    anchor: str
    task: Task
    found: int  # what the system reported: the same number the status page and API show
    places: list[Place] = field(default_factory=list)
    withheld_seen: list[str] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)
    files: list[Upload] = field(default_factory=list)

    @property
    def system(self) -> Any:
        return self.task.system

    @property
    def name(self) -> str:  # in the letter's language, where the registry gives one
        return words.system_name(self.task.system)

    @property
    def owner(self) -> str:
        return words.system_owner(self.task.system)

    @property
    def description(self) -> str:
        return words.system_description(self.task.system)

    @property
    def disclosure(self) -> dict[str, Any]:
        return words.disclosure(self.task.system)

    @property
    def searched(self) -> str:  # "CRM (contacts) (3 records found)"
        return f"{self.name} ({self.status})"

    @property
    def status(self) -> str:
        if self.task.status is TaskStatus.SUCCEEDED:
            return ngettext("%(num)d record found", "%(num)d records found", self.found)
        if self.task.status is TaskStatus.SKIPPED:
            return _("not searched")
        return _("could not be searched")


def withheld_fields(task: Task) -> frozenset[str]:
    """The fields the system declares withheld, lower-cased: never shown, anywhere."""
    names = (task.system.disclosure or {}).get("withheld") or []
    return frozenset(str(n).strip().lower() for n in names)


def _mask(value: Any, withheld: frozenset[str], seen: set[str], shown: str) -> Any:
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
                out[k] = shown
            else:
                out[k] = _mask(v, withheld, seen, shown)
        return out if any(out[k] is not value[k] for k in out) else value
    if isinstance(value, list):
        out_list = [_mask(v, withheld, seen, shown) for v in value]
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


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _cell(system: Any, name: str, value: Any) -> str:
    text = words.value_words(system, name, value)
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + " … (cut here; whole in data.json)"
    return words.wrap_long(text)


# A4 less the margins, and what a character of the records' 8 pt type takes, generously.
CONTENT_MM = 174
CHAR_MM = 1.75
PAD_MM = 2.6


def _place(system: Any, name: str, rows: Rows, limit: int) -> Place:
    shown = rows[:limit]
    keys: list[str] = []
    for row in shown:
        keys.extend(str(c) for c in row if str(c) not in keys)
    labels = [words.field_label(system, k) for k in keys]
    printed = [[_cell(system, k, row.get(k)) for k in keys] for row in shown]
    widths = _widths(labels, printed)
    wide = len(keys) > WIDE_COLUMNS or widths is None
    return Place(words.place_label(system, name), len(rows), labels, printed, wide, widths or [])


def _widths(columns: list[str], rows: list[list[str]]) -> list[int] | None:
    """Percent widths that give every column room for its longest word; None when the page
    cannot, and the table must print as one block per record instead."""
    need = []  # millimetres per column: the longest word, header included
    weight = []  # the typical length, which shares out the rest of the line
    for i, name in enumerate(columns):
        values = [r[i] for r in rows]
        longest = max([words.longest_word(name), *(words.longest_word(v) for v in values)])
        need.append(longest * CHAR_MM + PAD_MM)
        weight.append(min(max(len(name), *(len(v) for v in values), 4), 40))
    if sum(need) > CONTENT_MM:
        return None
    spare = CONTENT_MM - sum(need)
    total = sum(weight) or 1
    mm = [n + spare * w / total for n, w in zip(need, weight, strict=True)]
    return [max(1, int(100 * m / CONTENT_MM)) for m in mm]


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


def _redact(
    task: Task,
    masked: dict[str, Rows],
    cuts: list[Redaction],
    reasons: dict[str, withholding.Reason],
) -> list[Withheld]:
    """Leave out what an officer withheld (in place: `masked` is this module's own copy)."""
    withheld, cut_text = [], _(WITHHELD)
    for place in list(masked):
        here = [c for c in cuts if c.place == place]
        if not here:
            continue
        whole = {c.record for c in here if not c.field}
        rows = []
        for number, row in enumerate(masked[place], start=1):
            if number in whole:
                continue
            fields = {c.field for c in here if c.field and c.record == number}
            rows.append(
                {k: (cut_text if k in fields else v) for k, v in row.items()} if fields else row
            )
        masked[place] = rows
        for cut in here:
            why = reasons.get(cut.reason)
            withheld.append(
                Withheld(
                    words.place_label(task.system, place),
                    cut.record,
                    words.field_label(task.system, cut.field) if cut.field else "",
                    _(why.label) if why else cut.reason,
                    why.citation if why else "",
                )
            )
    return withheld


def collect(req: Request, max_rows: int) -> Collected:
    """Mask every task's records, leave out what an officer withheld, and shape the tables the
    PDF prints, `max_rows` at most each."""
    reasons = {r.key: r for r in withholding.redaction_reasons(req.regime)}
    shown = letters.withheld_value(req.regime)
    cuts = list(req.redactions)
    views, data = [], {}
    for n, task in enumerate(req.tasks, start=1):
        withheld, seen = withheld_fields(task), set()
        masked = {p: list(_mask(rows, withheld, seen, shown)) for p, rows in _records(task).items()}
        found = task.found_count if task.status is TaskStatus.SUCCEEDED else 0
        view = SystemView(f"system-{n}", task, found)
        view.withheld_seen = sorted(words.field_label(task.system, name) for name in seen)
        view.withheld = _redact(
            task, masked, [c for c in cuts if c.system_key == task.system.key], reasons
        )
        view.files = list(task.uploads)
        views.append(view)
        data[task.system.key] = masked
    tables = [
        (view, place, rows) for view in views for place, rows in data[view.system.key].items()
    ]
    limits = _limits([len(rows) for _, _, rows in tables], max_rows)
    for (view, place, rows), limit in zip(tables, limits, strict=True):
        view.places.append(_place(view.system, place, rows, limit))
    return Collected(views, data)
