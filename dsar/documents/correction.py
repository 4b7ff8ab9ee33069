"""The correction certificate: each change asked, where it was made, or why it was not.

Read from the request's correction (what was asked and decided) and each system's task
(where the connector wrote each field, and the second search that proves it). Old values
never appear: the certificate names the new value, the places and the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dsar.documents import words
from dsar.documents.certificates import letter_context, local_day, long_date, proof_line
from dsar.documents.render import RenderedFile, as_file, render_pdf
from dsar.models import Request, Task, TaskStatus
from dsar.rules import corrections as rules


@dataclass
class Change:
    """One asked change and what became of it."""

    label: str
    asked: str
    value: str = ""  # what was written (the asked value, or the officer's edit)
    refused: str = ""  # the reason's words, with its citation
    why: str = ""
    made_in: list[str] = field(default_factory=list)  # "CRM (contacts): Your contact record"


@dataclass
class SystemRow:
    name: str
    changed: list[str]
    not_held: list[str]
    proof: str
    note: str


def _changed(task: Task) -> list[dict[str, Any]]:
    result = task.result if isinstance(task.result, dict) else {}
    entries = result.get("changed")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _where(task: Task, entry: dict[str, Any]) -> str:
    place = words.place_label(task.system, str(entry.get("place") or ""))
    count = entry.get("count")
    counted = f" ({count} record{'s' if count != 1 else ''})" if isinstance(count, int) else ""
    return f"{place}{counted}"


def refused_words(req: Request, entry: dict[str, Any]) -> tuple[str, str]:
    """Why a change was not made: the law's reason and citation, then the officer's words;
    "another reason" is the officer's words alone."""
    reason = rules.refusal(req.regime, str(entry.get("refused")))
    why = str(entry.get("why") or "")
    if reason is None or reason.free_text_required:
        return why.rstrip("."), ""
    return f"{reason.label} ({reason.citation})", why


def changes(req: Request) -> list[Change]:
    correction = req.correction or {}
    decided = correction.get("decided") or {}
    asked = dict(correction.get("asked") or {})
    found = []
    parts = {f.key for f in rules.NAME_PARTS}
    for key in [f.key for f in rules.DECIDED if f.key in decided and f.key not in parts]:
        entry = decided[key]
        change = Change(rules.LABELS[key], asked.get(key) or entry.get("value", ""))
        if entry.get("refused"):
            change.refused, change.why = refused_words(req, entry)
        else:
            change.value = entry.get("value", "")
            for task in req.tasks:
                if task.status is not TaskStatus.SUCCEEDED:
                    continue
                fields = {key} | (parts if key == "name" else set())
                places = [_where(task, e) for e in _changed(task) if e.get("field") in fields]
                if task.system.kind.value == "manual":
                    places = places or [task.note or "changed by the system's owner"]
                if places:
                    change.made_in.append(f"{task.system.name}: {', '.join(places)}")
        found.append(change)
    return found


def systems(req: Request) -> list[SystemRow]:
    decided = (req.correction or {}).get("decided") or {}
    parts = {f.key for f in rules.NAME_PARTS}
    accepted = [k for k, v in decided.items() if "value" in v and k not in parts]
    rows = []
    for task in req.tasks:
        result = task.result if isinstance(task.result, dict) else {}
        changed = [
            f"{rules.LABELS.get(str(e.get('field')), e.get('field'))} in {_where(task, e)}"
            for e in _changed(task)
        ]
        not_held = result.get("not_held") if isinstance(result.get("not_held"), list) else []
        note = ""
        if task.status is TaskStatus.SKIPPED:
            note = task.note or "not changed"
        elif task.status is TaskStatus.FAILED:
            note = "could not be reached; our privacy team is finishing it by hand"
        elif task.system.kind.value == "manual" and task.status is TaskStatus.SUCCEEDED:
            made = ", ".join(rules.LABELS[k] for k in accepted if k in rules.LABELS)
            count = task.found_count
            records = f"{count} record{'s' if count != 1 else ''}"
            note = f" ({task.note})" if task.note else ""
            changed = changed or [f"{made}: changed by the system's owner in {records}{note}"]
        rows.append(
            SystemRow(
                name=task.system.name,
                changed=changed,
                not_held=[rules.LABELS.get(str(f), str(f)).lower() for f in not_held],
                proof=_proof(task) if task.status is TaskStatus.SUCCEEDED else "",
                note=note,
            )
        )
    return rows


def _proof(task: Task) -> str:
    if task.proof_checked_at is None:
        return proof_line(task)  # a system without an API: its owner's report
    day = long_date(local_day(task.proof_checked_at))
    if not task.remaining_count:
        return f"searched again on {day}: the new values are there"
    return f"searched again on {day}: {task.remaining_count} place(s) still to be checked"


def render_correction_certificate(req: Request) -> RenderedFile:
    """Certify the correction: per change where it was made or why not, per system proof."""
    other = (req.correction or {}).get("other_decision") or {}
    other_refused, other_why = refused_words(req, other) if other.get("refused") else ("", "")
    return as_file(
        "response",
        render_pdf(
            "pdf/correction.html",
            **letter_context(req),
            changes=changes(req),
            rows=systems(req),
            other=(req.correction or {}).get("other", ""),
            other_done=other.get("done", ""),
            other_refused=other_refused,
            other_why=other_why,
        ),
    )
