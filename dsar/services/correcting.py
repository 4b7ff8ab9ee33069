"""A correction's data: what the person asked, the changes decided, and the proof of them.

Kept apart from the officer's decision (`dsar.services.corrections`) because the task
runner needs these and must not import the workflow. `Request.correction` holds:

    {"asked": {"phone": "+442079460958"},      # field -> what it should be
     "held": {"email": "old@example.com"},    # values as held, to find the records
     "other": "free text",                     # anything else that is wrong
     "decided": {"phone": {"value": "+44..."}, "name": {"refused": "accurate", "why": ""}},
     "other_decision": {"done": "note"} | {"refused": "...", "why": "..."},
     "decided_by": "user:3", "decided_at": "..."}

"held" and the copies of located records are dropped once the certificate is made
(`forget_old_values`): old values are not kept past the answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from dsar import inputs
from dsar.connectors import Identity, Outcome
from dsar.connectors.base import normalise_phone
from dsar.exceptions import ConnectorError, IntakeRefused
from dsar.i18n import N_
from dsar.models import Request, SystemKind, Task
from dsar.rules import corrections as rules

MAX_VALUE = 200


def _region() -> str:
    return current_app.config["DSAR_PHONE_REGION"]


def normalise(field: str, raw: Any, *, where: str) -> str:
    """One value as a system should store it; `IntakeRefused` (field `where`) if unusable."""
    try:
        value = inputs.clean(raw)
    except inputs.InputRefused as exc:
        raise IntakeRefused.like(exc, field=where) from None
    if not value:
        return ""
    if len(value) > MAX_VALUE:
        raise IntakeRefused(
            N_("Keep this under %(limit)s characters."), limit=MAX_VALUE, field=where
        )
    kind = next((f.kind for f in rules.DECIDED if f.key == field), "text")
    if kind == "email":
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise IntakeRefused(
                N_("Enter an email address like name@example.com."), field=where
            ) from None
    if kind == "phone":
        why = inputs.phone_problem(value)
        e164 = normalise_phone(value, _region()) if why is None else ""
        if not e164:
            raise IntakeRefused(why or inputs.PHONE_DIGITS, field=where)
        return e164
    return value


def _shape(raw: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise IntakeRefused(N_("Say what is wrong and what it should be."), field="correction")
    unknown = set(raw) - {"changes", "held", "other"}
    if unknown:
        raise IntakeRefused(
            N_("Unknown part of the correction: %(part)s."),
            part=repr(sorted(unknown)[0]),
            field="correction",
        )
    changes, held = raw.get("changes") or {}, raw.get("held") or {}
    if not isinstance(changes, Mapping) or not isinstance(held, Mapping):
        raise IntakeRefused(N_("Give the changes field by field."), field="correction")
    known = {f.key for f in rules.ASKED}
    for name in [*changes, *held]:
        if name not in known or (name in held and name not in rules.LOCATING):
            raise IntakeRefused(
                N_("%(name)s is not a field that can be corrected."),
                name=repr(name),
                field="correction",
            )
    return changes, held


def _other(raw: Mapping[str, Any]) -> str:
    try:
        other = inputs.clean(raw.get("other"), multiline=True)
    except inputs.InputRefused as exc:
        raise IntakeRefused.like(exc, field="correction-other") from None
    if len(other) > rules.MAX_OTHER:
        raise IntakeRefused(
            N_("Keep this under %(limit)s characters."),
            limit=rules.MAX_OTHER,
            field="correction-other",
        )
    return other


def parse(raw: Any) -> dict[str, Any]:
    """What the person asked to have corrected, checked: the form and the API send
    {"changes": {field: value}, "held": {"email"|"phone": value}, "other": text}."""
    changes, held = _shape(raw)
    asked = {
        f.key: value
        for f in rules.ASKED
        if (value := normalise(f.key, changes.get(f.key), where=f"correction-{f.key}"))
    }
    was = {
        key: value
        for key in rules.LOCATING
        if (value := normalise(key, held.get(key), where=f"correction-held-{key}"))
    }
    other = _other(raw)
    if not asked and not other:
        raise IntakeRefused(
            N_("Say at least one thing that is wrong, and what it should be."),
            field="correction",
        )
    for key, value in was.items():
        if asked.get(key) == value:
            raise IntakeRefused(
                N_("The value we hold and the corrected one are the same."),
                field=f"correction-{key}",
            )
    return {"asked": asked, "held": was, "other": other}


def split_name(name: str) -> tuple[str, str]:
    """A proposal for systems with two name columns: the last word is the family name.
    The officer sees it and corrects it where that is wrong."""
    words = name.split()
    if len(words) < 2:
        return name, ""
    return " ".join(words[:-1]), words[-1]


def proposed(req: Request) -> dict[str, str]:
    """The changes as asked, with the name also split for two-column systems."""
    asked = dict((req.correction or {}).get("asked") or {})
    if "name" in asked:
        asked["given_name"], asked["family_name"] = split_name(asked["name"])
    return {f.key: asked[f.key] for f in rules.DECIDED if asked.get(f.key)}


def changes(req: Request) -> dict[str, str]:
    """The changes the officer accepted (with their edits): what the systems are to do."""
    decided = (req.correction or {}).get("decided") or {}
    return {
        key: entry["value"]
        for key, entry in decided.items()
        if isinstance(entry, dict) and entry.get("value")
    }


def before(req: Request, identity: Identity) -> Identity:
    """Who to look for: the values as held where the person gave them (an old email)."""
    held = (req.correction or {}).get("held") or {}
    if not held:
        return identity
    return dataclasses.replace(
        identity,
        email=held.get("email") or identity.email,
        phone=held.get("phone") or identity.phone,
    )


def after(identity: Identity, accepted: Mapping[str, str]) -> Identity:
    """Who to look for once corrected: the new email, phone and name where they changed."""
    return dataclasses.replace(
        identity,
        email=accepted.get("email") or identity.email,
        phone=accepted.get("phone") or identity.phone,
        name=accepted.get("name") or identity.name,
    )


def _same(field: str, stored: Any, wanted: str) -> bool:
    text = "" if stored is None else str(stored).strip()
    if field == "email":
        return text.lower() == wanted
    if field == "phone":
        return normalise_phone(text, _region()) == wanted
    return text == wanted


def prove(outcome: Outcome, found_after: Outcome, accepted: Mapping[str, str]) -> int:
    """Check a second search finds each new value where the system said it wrote it.

    Returns how many changed places do not show it; a place the search does not return
    (an API's write-only field) cannot be checked and is not counted.
    """
    missing = 0
    for entry in outcome.changed:
        rows = found_after.records.get(str(entry.get("place")), [])
        column, field = str(entry.get("column") or entry.get("field")), str(entry.get("field"))
        wanted = accepted.get(field, "")
        if not rows or not wanted or not any(column in row for row in rows):
            continue
        if not any(_same(field, row.get(column), wanted) for row in rows):
            missing += 1
    return missing


def correct(reach: Any, task: Task, identity: Identity) -> tuple[Outcome, int]:
    """Make the accepted changes in the task's system, then search again with the new
    values; returns the outcome and how many changed places do not show the new value."""
    accepted = changes(task.request)
    if not accepted:
        raise ConnectorError("no change was accepted for this request")
    new = after(identity, accepted)
    outcome = reach.correct(identity, accepted)
    if not outcome.found and new != identity:
        # A retry after the system was changed but before we recorded it: the records now
        # answer to the new values; writing them again changes nothing.
        outcome = reach.correct(new, accepted)
    return outcome, prove(outcome, reach.locate(new), accepted)


def columns(task: Task) -> dict[str, dict[str, str]]:
    """Where the system keeps each correctable field: {place: {column: field}}."""
    config = task.system.config if isinstance(task.system.config, dict) else {}
    kind = task.system.kind
    if kind is SystemKind.SQL:
        return {
            str(t.get("name")): dict(t.get("correct") or {})
            for t in config.get("tables", [])
            if isinstance(t, dict) and t.get("correct")
        }
    if kind is SystemKind.CSV and config.get("correct"):
        return {config.get("path", "").rsplit("/", 1)[-1]: dict(config["correct"])}
    if kind is SystemKind.HTTP and isinstance(config.get("correct"), dict):
        fields = config["correct"].get("fields") or []
        places = (config.get("locate") or {}).get("records") or []
        return {str(p).rsplit(".", 1)[-1]: {f: f for f in fields} for p in places}
    return {}


def located(task: Task) -> dict[str, list[str]]:
    """The values of each correctable field the dry run found in the task's system."""
    result = task.result if isinstance(task.result, dict) else {}
    records = result.get("records") if isinstance(result.get("records"), dict) else {}
    found: dict[str, list[str]] = {}
    for place, cols in columns(task).items():
        for row in records.get(place) or []:
            if not isinstance(row, dict):
                continue
            for column, field in cols.items():
                value = row.get(column)
                if value not in (None, "") and str(value) not in found.get(field, []):
                    found.setdefault(field, []).append(str(value))
    return found


def holds(task: Task) -> set[str]:
    """The correctable fields the system keeps anywhere."""
    return {field for cols in columns(task).values() for field in cols.values()}


def forget_old_values(req: Request) -> None:
    """Once the certificate is made: drop the values as held and the dry run's copies."""
    if req.correction:
        req.correction = {**req.correction, "held": {}}
    for task in req.tasks:
        for name in ("preview", "result"):
            data = getattr(task, name)
            if isinstance(data, dict) and data.get("records"):
                setattr(task, name, {**data, "records": {}})
