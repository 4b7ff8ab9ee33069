"""An officer decides a correction, change by change, after the dry run searched every system.

Each asked change is accepted as asked, accepted with an edit (the officer's value is
checked like the person's), or refused with a reason from the law's list
(`dsar.rules.corrections.refusals`). What is accepted then runs as a `correct` task in every
system that was searched; a system that holds none of the accepted fields has nothing to do
and is marked so. The person's certificate lists each change with where it was made, or why
it was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dsar import inputs, transitions
from dsar.exceptions import DecisionRefused, IntakeRefused
from dsar.extensions import db
from dsar.i18n import N_
from dsar.models import Request, RequestKind, RequestStatus, TaskAction, TaskStatus, utcnow
from dsar.rules import corrections as rules
from dsar.services import correcting, workflow
from dsar.services.decisions import MAX_TEXT, dry_run_complete
from dsar.services.events import record

PARTS = {f.key for f in rules.NAME_PARTS}


@dataclass
class Row:
    """One field of the officer's review: asked, proposed, and what each system holds."""

    key: str
    label: str
    asked: str
    held: list[tuple[str, list[str]]] = field(default_factory=list)  # (system, values)
    by_hand: list[str] = field(default_factory=list)  # systems whose owner acts by hand
    not_held_by: list[str] = field(default_factory=list)


def review(req: Request) -> list[Row]:
    """Per field asked: the new value, and beside it the values each system's dry run found."""
    rows = []
    for key, value in correcting.proposed(req).items():
        row = Row(key, rules.LABELS[key], value)
        for task in req.tasks:
            if task.status is TaskStatus.SKIPPED:
                continue
            if task.system.kind.value == "manual":
                row.by_hand.append(task.system.name)
            elif key in correcting.holds(task):
                row.held.append((task.system.name, correcting.located(task).get(key, [])))
            else:
                row.not_held_by.append(task.system.name)
        rows.append(row)
    return rows


def _refusal(req: Request, key: str, form: Mapping[str, str]) -> dict[str, str] | None:
    refused = (form.get(f"refuse-{key}") or "").strip()
    if not refused:
        return None
    reason = rules.refusal(req.regime, refused)
    if reason is None:
        raise DecisionRefused(f"{rules.LABELS.get(key, key)}: choose a reason from the list.")
    why = _clean(form.get(f"why-{key}"), f"{rules.LABELS.get(key, key)}: ", multiline=False)
    if reason.free_text_required and not why:
        raise DecisionRefused(f"{rules.LABELS.get(key, key)}: explain the refusal.")
    if len(why) > MAX_TEXT:
        raise DecisionRefused(f"Keep the explanation under {MAX_TEXT:,} characters.")
    return {"refused": refused, "why": why}


def _decision(req: Request, key: str, form: Mapping[str, str]) -> dict[str, str]:
    refused = _refusal(req, key, form)
    if refused is not None:
        return refused
    try:
        value = correcting.normalise(key, form.get(f"value-{key}"), where=key)
    except IntakeRefused as exc:
        raise DecisionRefused(f"{rules.LABELS.get(key, key)}: {exc.message}") from None
    if not value:
        raise DecisionRefused(
            f"{rules.LABELS.get(key, key)}: give the value to write, or refuse the change."
        )
    return {"value": value}


def _clean(raw: object, prefix: str, *, multiline: bool) -> str:
    """The officer's text as the person will read it: no control characters (PostgreSQL
    refuses NUL), no broken Unicode, trimmed (dsar.inputs)."""
    try:
        return inputs.clean(raw if isinstance(raw, str) else "", multiline=multiline)
    except inputs.InputRefused as exc:
        raise DecisionRefused(f"{prefix}{exc.message}") from None


def _done(text: str | None) -> str:
    text = _clean(text, "Other corrections: ", multiline=True)
    if not text:
        raise DecisionRefused(
            "Other corrections: say what was changed, where (it is in the certificate), or refuse."
        )
    if len(text) > MAX_TEXT:
        raise DecisionRefused(f"Keep the note under {MAX_TEXT:,} characters.")
    return text


def _decisions(req: Request, form: Mapping[str, str]) -> dict[str, dict[str, str]]:
    decided: dict[str, dict[str, str]] = {}
    for key in correcting.proposed(req):
        if key in PARTS and "refused" in decided.get("name", {}):
            decided[key] = dict(decided["name"])  # the name refused: so are its parts
        else:
            decided[key] = _decision(req, key, form)
    return decided


def decide(req: Request, form: Mapping[str, str], *, actor: str) -> dict[str, Any]:
    """Record the officer's decision on every change and run what was accepted."""
    if req.kind is not RequestKind.CORRECTION or not req.correction:
        raise DecisionRefused(f"{req.reference} is not a correction.")
    if req.status is not RequestStatus.AWAITING_APPROVAL:
        raise DecisionRefused(f"{req.reference} is not waiting for a decision.")
    if not dry_run_complete(req):
        raise DecisionRefused("Wait for the search of every system to finish.")
    if any(t.status is TaskStatus.FAILED for t in req.tasks):
        raise DecisionRefused("Retry or skip the systems whose search failed first.")
    decided = _decisions(req, form)
    other: dict[str, str] = {}
    if req.correction.get("other"):
        # Free text no connector can apply: done by hand and said how, or refused.
        other = _refusal(req, "other", form) or {"done": _done(form.get("value-other"))}
    req.correction = {
        **req.correction,
        "decided": decided,
        "other_decision": other,
        "decided_by": actor,
        "decided_at": utcnow().isoformat(),
    }
    accepted = correcting.changes(req)
    for task in req.tasks:
        if task.status is TaskStatus.SKIPPED:
            continue
        task.preview, task.result = task.result, None
        task.attempts = 0
        task.found_count = task.erased_count = task.retained_count = 0
        task.started_at = task.finished_at = None
        task.action = TaskAction.CORRECT
        manual = task.system.kind.value == "manual"
        if accepted and (manual or set(accepted) & correcting.holds(task)):
            task.status = TaskStatus.PENDING
        else:
            task.status = TaskStatus.SKIPPED
            task.note = (
                N_("keeps none of the details to change")
                if accepted
                else N_("no change was accepted")
            )
            task.finished_at = utcnow()
    summary = {
        "accepted": sorted(accepted),
        "refused": sorted(k for k, v in decided.items() if "refused" in v),
    }
    before = transitions.move(req, RequestStatus.IN_PROGRESS)
    record(req, "correction_decided", actor=actor, before=before, after=req.status, detail=summary)
    db.session.commit()
    workflow.advance(req)
    return summary
