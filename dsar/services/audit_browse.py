"""Browse the audit chain: its events newest first, filtered, each one checked where it stands.

Read-only. Filters come from a query string, so they hold only what may sit in a URL: a
request reference, an actor code (`user:2`, `worker`), an action name, dates and a cursor;
never a name or an email. Pages walk the events by id from a cursor (`before`), never an
OFFSET. Every row shown is checked on each view: its hash recomputed with this process's
audit key, and its prev_hash compared with the hash of the event at the seq before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select

from dsar import actors, inputs
from dsar.extensions import db
from dsar.models import Request
from dsar.services.audit import FIELDS, events_t
from dsar.services.audit_checks import VERIFIED, verify_rows

PAGE_SIZE = 100

REFERENCE_HELP = "Type a request reference like DSAR-2026-000123."
ACTOR_HELP = "Choose who from the list."
ACTION_HELP = "Choose an action from the list."
DATE_HELP = "Type a date like 2026-03-01."
RANGE_HELP = "The end date is before the start date: neither date is used."
CURSOR_HELP = "This page link is broken: the first page is shown instead."
UNTYPABLE = "This contains characters that cannot be typed. Retype it."

_REFERENCE = re.compile(r"DSAR-[0-9]{4}-[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DETAIL_CHARS = 120  # a detail value longer than this is cut, with an ellipsis
requests_t = Request.__table__


@dataclass(frozen=True)
class Filters:
    """What the list shows: only filters that were checked; `before` is the page's cursor."""

    reference: str = ""
    request_id: int | None = None
    actor: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments, without the cursor."""
        values = {
            "reference": self.reference,
            "actor": self.actor,
            "action": self.action,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Search:
    """The filters read from a query string: those usable, why the others are not (per
    field), what was typed (to show it back) and the choices of the two lists."""

    filters: Filters
    errors: dict[str, str]
    typed: dict[str, str]
    actors: list[tuple[str, str]]  # (code, words), by words
    actions: list[str]


@dataclass(frozen=True)
class Row:
    id: int
    seq: int | None
    at: datetime
    actor: str
    who: str
    action: str
    reference: str | None
    status_before: str
    status_after: str
    detail: list[tuple[str, str]]  # compact, for the page
    detail_json: str  # whole, for the export
    hash: str
    check: str

    @property
    def verified(self) -> bool:
        return self.check == VERIFIED


@dataclass(frozen=True)
class Page:
    rows: list[Row] = field(default_factory=list)
    older: int | None = None  # the cursor of the next (older) page, if there is one


# --- the filters -----------------------------------------------------------------------------


class Refused(ValueError):
    """A filter that cannot be used; the message says why, for the field."""


def _text(raw: str | None) -> str | None:
    """The trimmed value, or None when it is not text one could type (control characters)."""
    value = raw or ""
    return None if inputs.problem(value) is not None else inputs.trim(value)


def _reference(value: str) -> tuple[str, int]:
    reference = value.upper()
    if not _REFERENCE.fullmatch(reference):
        raise Refused(REFERENCE_HELP)
    found = db.session.scalar(select(requests_t.c.id).where(requests_t.c.reference == reference))
    if found is None:
        raise Refused(f"No request has the reference {reference}.")
    return reference, found


def _day(value: str) -> date:
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise Refused(DATE_HELP)


def _cursor(value: str) -> int:
    try:
        return inputs.parse_id(value)
    except inputs.InputRefused:
        raise Refused(CURSOR_HELP) from None


def _listed(value: str, allowed: Collection[str], message: str) -> str:
    if value not in allowed:
        raise Refused(message)
    return value


def search(args: Mapping[str, str]) -> Search:
    """Read and check the filters; a filter that cannot be used is left out, with why, and
    the list starts again from its first page."""
    codes = list(db.session.scalars(select(events_t.c.actor).distinct()))
    words = actors.names(codes)
    actions = sorted(db.session.scalars(select(events_t.c.action).distinct()))
    checks: dict[str, Callable[[str], Any]] = {
        "reference": _reference,
        "actor": lambda v: _listed(v, words, ACTOR_HELP),
        "action": lambda v: _listed(v, actions, ACTION_HELP),
        "from": _day,
        "to": _day,
        "before": _cursor,
    }
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    ok: dict[str, Any] = {}
    for name, check in checks.items():
        value = _text(args.get(name))
        typed[name] = (value or "")[:64]
        try:
            if value is None:
                raise Refused(UNTYPABLE)
            if value:
                ok[name] = check(value)
        except Refused as exc:
            errors[name] = str(exc)
    if ok.get("from") and ok.get("to") and ok["from"] > ok["to"]:
        errors["to"] = RANGE_HELP  # the wrong way round: neither end is used
        del ok["from"], ok["to"]
    reference, request_id = ok.get("reference", ("", None))
    filters = Filters(
        reference=reference,
        request_id=request_id,
        actor=ok.get("actor", ""),
        action=ok.get("action", ""),
        since=ok.get("from"),
        until=ok.get("to"),
        before=None if errors else ok.get("before"),
    )
    choices = sorted(codes, key=lambda c: (words[c].casefold(), c))
    return Search(filters, errors, typed, [(c, words[c]) for c in choices], actions)


# --- the events ------------------------------------------------------------------------------


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.request_id is not None:
        where.append(events_t.c.request_id == filters.request_id)
    if filters.actor:
        where.append(events_t.c.actor == filters.actor)
    if filters.action:
        where.append(events_t.c.action == filters.action)
    if filters.since:
        where.append(events_t.c.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC)
        where.append(events_t.c.at < end)
    return where


def page(filters: Filters, *, size: int = PAGE_SIZE) -> Page:
    """One page of the events that match, newest first, each checked."""
    query = (
        select(*FIELDS, requests_t.c.reference)
        .select_from(events_t.outerjoin(requests_t, events_t.c.request_id == requests_t.c.id))
        .where(*_conditions(filters))
    )
    if filters.before is not None:
        query = query.where(events_t.c.id < filters.before)
    rows = db.session.execute(query.order_by(events_t.c.id.desc()).limit(size + 1)).all()
    shown = rows[:size]
    checks = verify_rows(shown)
    who = actors.names(row.actor for row in shown)
    return Page(
        [
            Row(
                id=row.id,
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                who=who[row.actor],
                action=row.action,
                reference=row.reference,
                status_before=row.status_before or "",
                status_after=row.status_after or "",
                detail=detail_items(row.detail),
                detail_json=json.dumps(row.detail or {}, sort_keys=True, ensure_ascii=False),
                hash=row.hash or "",
                check=checks[row.id],
            )
            for row in shown
        ],
        older=shown[-1].id if len(rows) > size else None,
    )


def every_page(filters: Filters, *, size: int = 500) -> Iterator[Page]:
    """Every matching event, page after page (for an export)."""
    cursor = filters
    while True:
        found = page(cursor, size=size)
        yield found
        if found.older is None:
            return
        cursor = replace(cursor, before=found.older)


def detail_items(detail: Any) -> list[tuple[str, str]]:
    """An event's detail as (key, short text) pairs, keys sorted."""
    if not isinstance(detail, dict):
        return [] if not detail else [("", _compact(detail))]
    return [(str(key), _compact(value)) for key, value in sorted(detail.items())]


def _compact(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"
