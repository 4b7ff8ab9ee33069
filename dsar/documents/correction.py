"""The correction certificate: each change asked, where it was made, or why it was not.

Read from the request's correction (what was asked and decided) and each system's task
(where the connector wrote each field, and the second search that proves it). Old values
never appear: the certificate names the new value, the places and the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from dsar.documents import words
from dsar.documents.certificates import letter_context, local_day, proof_line
from dsar.documents.render import RenderedFile, as_file, render_pdf
from dsar.i18n import DEFAULT, day
from dsar.models import Request, Task, TaskStatus
from dsar.rules import corrections as rules


def _in_sentence(label: str) -> str:
    """A field's label inside a sentence: lower-cased in English only."""
    return label.lower() if words.language() == DEFAULT else label


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


def _label(key: Any) -> str:
    """A field's label in the letter's language (a key we do not know, as it is)."""
    return _(rules.LABELS[key]) if key in rules.LABELS else str(key)


def _where(task: Task, entry: dict[str, Any]) -> str:
    place = words.place_label(task.system, str(entry.get("place") or ""))
    count = entry.get("count")
    if not isinstance(count, int):
        return place
    return ngettext("%(place)s (%(num)d record)", "%(place)s (%(num)d records)", count, place=place)


def refused_words(req: Request, entry: dict[str, Any]) -> tuple[str, str]:
    """Why a change was not made: the law's reason and citation, then the officer's words;
    "another reason" is the officer's words alone."""
    reason = rules.refusal(req.regime, str(entry.get("refused")))
    why = str(entry.get("why") or "")
    if reason is None or reason.free_text_required:
        return why.rstrip("."), ""
    return f"{_(reason.label)} ({reason.citation})", why


def changes(req: Request) -> list[Change]:
    correction = req.correction or {}
    decided = correction.get("decided") or {}
    asked = dict(correction.get("asked") or {})
    found = []
    parts = {f.key for f in rules.NAME_PARTS}
    for key in [f.key for f in rules.DECIDED if f.key in decided and f.key not in parts]:
        entry = decided[key]
        change = Change(_label(key), asked.get(key) or entry.get("value", ""))
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
                    places = places or [task.note or _("changed by the system's owner")]
                if places:
                    made_in = _(
                        "%(system)s: %(places)s", system=task.system.name, places=", ".join(places)
                    )
                    change.made_in.append(made_in)
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
            _("%(field)s in %(place)s", field=_label(str(e.get("field"))), place=_where(task, e))
            for e in _changed(task)
        ]
        not_held = result.get("not_held") if isinstance(result.get("not_held"), list) else []
        note = ""
        if task.status is TaskStatus.SKIPPED:
            # Our services' notes (marked N_ there) read translated; an officer's as typed.
            note = _(task.note) if task.note else _("not changed")
        elif task.status is TaskStatus.FAILED:
            note = _("could not be reached; our privacy team is finishing it by hand")
        elif task.system.kind.value == "manual" and task.status is TaskStatus.SUCCEEDED:
            made = ", ".join(_label(k) for k in accepted if k in rules.LABELS)
            count = task.found_count
            note = f" ({task.note})" if task.note else ""
            changed = changed or [_owner_changed(made, count, task.note or "")]
        rows.append(
            SystemRow(
                name=task.system.name,
                changed=changed,
                # "your email address" in English; German capitalises nouns: as translated.
                not_held=[_in_sentence(_label(str(f))) for f in not_held],
                proof=_proof(task) if task.status is TaskStatus.SUCCEEDED else "",
                note=note,
            )
        )
    return rows


def _owner_changed(fields: str, count: int, note: str) -> str:
    """What the owner of a system without an API changed by hand, in how many records."""
    if note:
        return ngettext(
            "%(fields)s: changed by the system's owner in %(num)d record (%(note)s)",
            "%(fields)s: changed by the system's owner in %(num)d records (%(note)s)",
            count,
            fields=fields,
            note=note,
        )
    return ngettext(
        "%(fields)s: changed by the system's owner in %(num)d record",
        "%(fields)s: changed by the system's owner in %(num)d records",
        count,
        fields=fields,
    )


def _proof(task: Task) -> str:
    if task.proof_checked_at is None:
        return proof_line(task)  # a system without an API: its owner's report
    checked = day(local_day(task.proof_checked_at))
    if not task.remaining_count:
        return _("searched again on %(date)s: the new values are there", date=checked)
    # English reads "place(s)" whatever the count; the plural lets other languages agree.
    return ngettext(
        "searched again on %(date)s: %(num)d place(s) still to be checked",
        "searched again on %(date)s: %(num)d place(s) still to be checked",
        task.remaining_count,
        date=checked,
    )


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
