"""The deletion certificate and the confirmations of flags set (opt-out, restriction,
objection, limit) or lifted: what was done, system by system.

Both are letters to the person, rendered when the request completes. The certificate says per
system what was erased, what was kept and under which exception (GDPR Art. 17(3), CCPA
1798.105(d)), and whether a second search after erasing found anything left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from dsar import deadlines, rules
from dsar.documents import letterhead, words
from dsar.documents.render import PDF_ASSETS, RenderedFile, as_file, render_pdf
from dsar.i18n import N_, day
from dsar.models import Request, Task, TaskAction, TaskStatus, utcnow
from dsar.rules import citations, lifts

STYLESHEET = "evidence.css"
# Backups are erased on restore; only the CCPA regulations say so in these words.
BACKUPS = {"ccpa": "11 CCR 7022(d)"}


@dataclass(frozen=True)
class Kept:
    """Data a system kept on purpose, and the legal exception that allows it."""

    place: str
    count: int | None
    reason: str
    citation: str


@dataclass(frozen=True)
class SystemOutcome:
    """One system's part of the answer, read from its task."""

    name: str
    owner: str
    status: str
    found: int
    erased: int
    retained: int
    receipts: list[str]  # the system's own words: for officers and auditors
    kept: list[Kept] = field(default_factory=list)
    proof: str = ""
    skipped_because: str = ""
    done: str = ""  # what changed, in the words the registry gives the person
    undo: str = ""  # how to undo it, where undoing exists


def local_day(moment: datetime | None) -> date | None:
    """The calendar day of `moment` in the company's time zone (deadlines count those)."""
    if moment is None:
        return None
    return deadlines.received_on(moment, current_app.config["DSAR_TIMEZONE"])


def long_date(value: date | None) -> str:
    """A date in the language being rendered ("29 November 2026"), or a dash."""
    return day(value) if value else "—"


def proof_line(task: Task) -> str:
    """Say what the second search after erasing found, or that there was none."""
    if task.proof_checked_at is None:
        if task.reported_at is not None:  # a system with no API: its owner did it by hand
            reported = long_date(local_day(task.reported_at))
            return _("done by the system's owner, who reported it on %(date)s", date=reported)
        return _("not checked")
    checked = long_date(local_day(task.proof_checked_at))
    remaining = task.remaining_count or 0
    if remaining == 0:
        return _("re-searched on %(date)s: nothing left", date=checked)
    return ngettext(
        "re-searched on %(date)s: %(num)d record remains",
        "re-searched on %(date)s: %(num)d records remain",
        remaining,
        date=checked,
    )


def _kept(result: dict[str, Any], task: Task) -> list[Kept]:
    """Connectors that keep data say so in `result["kept"]`; older results have none."""
    entries = result.get("kept")
    if not isinstance(entries, list):
        return []
    kept = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        count = entry.get("count")
        kept.append(
            Kept(
                place=words.place_label(task.system, str(entry.get("place") or "")),
                count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                # The registry's own words; one of ours (kept_reasons) reads translated.
                reason=_(str(entry.get("reason") or "")) if entry.get("reason") else "",
                citation=citations.only_for(task.request.regime, str(entry.get("citation") or "")),
            )
        )
    return kept


# What an action did, when the registry gives no words for the system.
DONE = {
    TaskAction.ERASE: N_("Your records are erased from this system."),
    TaskAction.OPT_OUT: N_(
        "Your choice is recorded: this system no longer sells or shares your data or uses it "
        "for marketing."
    ),
    TaskAction.RESTRICT: N_("Your records are marked as restricted: kept, but no longer used."),
    TaskAction.OBJECT: N_(
        "Your records are marked: they are no longer used for the processing you objected to."
    ),
    TaskAction.LIMIT_SENSITIVE: N_(
        "Your sensitive data here is used only as strictly needed to serve you."
    ),
}
LABEL_KEYS = {
    TaskAction.ERASE: "erase",
    TaskAction.OPT_OUT: "opt_out",
    TaskAction.RESTRICT: "restriction",
    TaskAction.OBJECT: "objection",
    TaskAction.LIMIT_SENSITIVE: "limit_sensitive",
}
# The confirmation letter of each flag: its title, and what the person may do next.
CONFIRMATIONS: dict[TaskAction, tuple[str, str]] = {
    TaskAction.OPT_OUT: (N_("Confirmation of your opt-out"), ""),
    TaskAction.RESTRICT: (
        N_("Confirmation that the use of your data is restricted"),
        N_("We will tell you before any restriction is lifted."),
    ),
    TaskAction.OBJECT: (
        N_("Confirmation that your objection is upheld"),
        N_("Write to us if you wish to allow this use again."),
    ),
    TaskAction.LIMIT_SENSITIVE: (
        N_("Confirmation that the use of your sensitive data is limited"),
        N_("Write to us if you wish to allow wider use again."),
    ),
}


# What a lift did, when the registry gives no words (labels restriction_lift, objection_lift).
LIFTED = {
    "restriction": N_("The restriction is removed: your records may be used again as before."),
    "objection": N_(
        "The objection mark is removed: your records may be used again for that processing."
    ),
}


def _words(task: Task) -> tuple[str, str]:
    """What changed and how to undo it: the registry's words in the letter's language, else
    ours, translated."""
    labels = words.labels(task.system)
    if task.action is TaskAction.LIFT:
        purpose = rules.FLAG_PURPOSES[rules.ACTIONS[task.request.kind]]
        return labels.get(f"{purpose}_lift") or _(LIFTED[purpose]), ""
    key = LABEL_KEYS.get(task.action, "")
    done = labels.get(key) or (_(DONE[task.action]) if task.action in DONE else "")
    undo = labels.get("opt_out_undo", "") if task.action is TaskAction.OPT_OUT else ""
    if not undo and task.action in CONFIRMATIONS and CONFIRMATIONS[task.action][1]:
        undo = _(CONFIRMATIONS[task.action][1])
    return done, undo


def outcome_of(task: Task) -> SystemOutcome:
    result = task.result if isinstance(task.result, dict) else {}
    receipts = result.get("receipts")
    skipped = task.status is TaskStatus.SKIPPED
    done, undo = _words(task) if task.status is TaskStatus.SUCCEEDED else ("", "")
    return SystemOutcome(
        name=words.system_name(task.system),
        owner=words.system_owner(task.system),
        status=task.status.value,
        found=task.found_count,
        erased=task.erased_count,
        retained=task.retained_count,
        receipts=[str(r) for r in receipts] if isinstance(receipts, list) else [],
        kept=_kept(result, task),
        proof=proof_line(task),
        # Our services' notes (marked N_ where they are made) read translated.
        skipped_because=(_(task.note) if task.note else _("no reason given")) if skipped else "",
        done=done,
        undo=undo,
    )


def letter_context(req: Request) -> dict[str, Any]:
    """What every letter shows: who, which law and right, and the dates that count."""
    regime = rules.regime(req.regime)
    return {
        "req": req,
        "regime": regime,
        "right": regime.kinds.get(req.kind, ""),
        "kind_label": rules.KIND_LABELS[req.kind],
        "company": letterhead.company(req.regime),
        "backups_citation": BACKUPS.get(req.regime, ""),
        "received_on": long_date(local_day(req.received_at)),
        # Rendered while the request completes: completed_at is set right after.
        "completed_on": long_date(local_day(req.completed_at or utcnow())),
        "due_on": long_date(req.due_on),
        "systems": [outcome_of(t) for t in req.tasks],
        "stylesheet": (PDF_ASSETS / STYLESHEET).as_uri(),
    }


def render_deletion_certificate(req: Request) -> RenderedFile:
    """Certify the erasure: per system erased, kept (with its exception) and re-checked."""
    return as_file("response", render_pdf("pdf/certificate.html", **letter_context(req)))


def render_confirmation(req: Request) -> RenderedFile:
    """Confirm an opt-out, a restriction, an objection or a limit: per system the flag set
    or list joined, and any GPC signal."""
    title = _(CONFIRMATIONS[rules.ACTIONS[req.kind]][0])
    return as_file("response", render_pdf("pdf/opt_out.html", **letter_context(req), title=title))


def render_lift_confirmation(req: Request) -> RenderedFile:
    """Confirm a lift: why (as the person was told first), then per system what changed."""
    rule = lifts.LIFTS[req.kind]
    reason = rule.reason(req.lift_reason)
    context = letter_context(req)
    original = req.lift_of
    return as_file(
        "response",
        render_pdf(
            "pdf/lifted.html",
            **context,
            title=_(rule.title),
            rule=rule,
            reason=reason,
            original=original,
            original_received_on=long_date(local_day(original.received_at)),
            original_completed_on=long_date(local_day(original.completed_at)),
            notice_citation=rule.notice_citation(req.regime),
            reason_citation=reason.citation(req.regime) if reason else "",
        ),
    )
