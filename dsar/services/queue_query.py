"""The queue's queries: filters, a search, a sort, capped counts per status and keyset pages.

Every query here is shaped for the indexes on `requests` (see `Request.__table_args__`):
pages walk `(due_on, id)` or `(received_at, id)` from a cursor, never an OFFSET, and the
counts stop at a cap, so a page costs about the same with a thousand requests or a million.
A search first finds its few requests through the trigram index (dsar.search_text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    exists,
    func,
    or_,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, selectinload

from dsar import transitions
from dsar.extensions import db
from dsar.models import Request, RequestKind, RequestStatus, Task, TaskStatus

PAGE_SIZE = 50
# Counts stop here: counting every row of a status with a million requests means reading
# every one of them on each page view, so each status is counted through a LIMITed subquery
# and shows "1,000+" beyond the cap. Below the cap the numbers are exact.
COUNT_CAP = 1000

ALL = list(RequestStatus)
OPEN = [s for s in ALL if s in transitions.OPEN_STATUSES]
# Sorts: the column walked, and whether newest (latest) first.
SORTS = {"due": ("due_on", False), "-due": ("due_on", True)}
SORTS |= {"received": ("received_at", False), "-received": ("received_at", True)}
# Who a request waits on, as a filter; dsar.services.waiting words each row the same way.
WAITING = ("officer", "person", "owner", "failed", "systems")
OFFICER_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.AWAITING_APPROVAL,
    RequestStatus.AWAITING_DECISION,
    RequestStatus.READY_FOR_REVIEW,
    RequestStatus.ACTION_REQUIRED,
)

_FTS = table("requests_search", column("rowid"), column("search_text"))

# `Request`, or an alias of it over the requests a search found (see `_source`).
Source = Any


@dataclass(frozen=True)
class QueueQuery:
    status: str = ""  # "" (open), "all" or a RequestStatus value
    kind: str = ""
    regime: str = ""
    assignee: str = ""  # "", "none" or a user id as text ("me" is resolved by the view)
    due_within: int | None = None
    overdue: bool = False
    words: Sequence[str] | None = None  # dsar.search_text.words(query)
    waiting: str = ""
    sort: str = "due"
    cursor: tuple[Any, int] | None = None
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Page:
    rows: list[Request]
    counts: dict[RequestStatus, int]
    more: bool


def _indexed_part(word: str) -> str:
    """What of a word the SQLite index looks up. An email's domain ("@example.com") is in
    most requests, and FTS5 reads the whole list of requests for each of its trigrams, so a
    whole address is looked up by its part up to the "@" and then checked in full."""
    local, at, _ = word.partition("@")
    return local + "@" if at and len(local.strip()) >= 3 else word


def _found(words: Sequence[str]) -> Any:
    """The ids of the requests whose search line holds every word."""
    in_full = [Request.search_text.contains(w, autoescape=True) for w in words]
    if db.engine.dialect.name == "sqlite":
        parts = [_indexed_part(w) for w in words]
        phrase = " AND ".join('"' + p.replace('"', '""') + '"' for p in parts)
        found = select(_FTS.c.rowid).where(_FTS.c.search_text.op("MATCH")(phrase))
        if parts == list(words):
            return found
        return select(Request.id).where(Request.id.in_(found), *in_full)
    return select(Request.id).where(and_(*in_full))


def _source(q: QueueQuery) -> Source:
    """What the queries read: the requests table, or, with a search, the requests it found.
    Those are fetched first (a MATERIALIZED CTE, SQLite 3.35+ and PostgreSQL 12+): whenever
    another filter is set, an unanalysed SQLite otherwise prefers the composite queue
    indexes, and reads every request of an assignee or of a status to find a few."""
    if q.words is None:
        return Request
    found = (
        select(Request)
        .where(Request.id.in_(_found(q.words)))
        .cte("found")
        .prefix_with("MATERIALIZED")
    )
    return aliased(Request, found)


def _waiting(q: QueueQuery, r: Source) -> list[ColumnElement[bool]]:
    def tasks_in(*statuses: TaskStatus) -> ColumnElement[bool]:
        return exists().where(Task.request_id == r.id, Task.status.in_(statuses))

    if q.waiting == "officer":
        return [r.status.in_(OFFICER_STATUSES)]
    if q.waiting == "person":
        return [
            r.status.in_(OPEN),
            or_(r.status == RequestStatus.AWAITING_VERIFICATION, r.paused_since.is_not(None)),
        ]
    if q.waiting == "owner":
        return [r.status.in_(OPEN), tasks_in(TaskStatus.ACTION_REQUIRED)]
    if q.waiting == "failed":
        return [r.status.in_(OPEN), tasks_in(TaskStatus.FAILED)]
    if q.waiting == "systems":
        active = (TaskStatus.PENDING, TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.RETRYING)
        return [r.status == RequestStatus.IN_PROGRESS, tasks_in(*active)]
    return []


def conditions(q: QueueQuery, r: Source) -> list[ColumnElement[bool]]:
    """Every filter but status and the page position: the set the counts describe."""
    where: list[ColumnElement[bool]] = []
    if q.kind:
        where.append(r.kind == RequestKind(q.kind))
    if q.regime:
        where.append(r.regime == q.regime)
    if q.assignee == "none":
        where.append(r.assignee_id.is_(None))
    elif q.assignee:
        where.append(r.assignee_id == int(q.assignee))
    if q.due_within is not None:
        where.append(r.due_on <= q.today + timedelta(days=q.due_within))
    if q.overdue:
        where += [r.due_on < q.today, r.status.in_(OPEN)]
    return where + _waiting(q, r)


def counts(q: QueueQuery, r: Source, where: list[ColumnElement[bool]]) -> dict[RequestStatus, int]:
    """How many requests per status match the other filters, in one query. A search finds
    a handful, counted exactly; otherwise each status is counted up to COUNT_CAP + 1 by a
    LIMITed subquery, a short walk of a (status, ...) or (assignee_id, status, ...) index."""
    if q.words is not None:
        rows = db.session.execute(
            select(r.status, func.count()).where(*where).group_by(r.status)
        ).all()
        return {RequestStatus(status): n for status, n in rows}
    statuses = OPEN if q.overdue else ALL  # only open requests are overdue
    columns = [
        select(func.count())
        .select_from(select(r.id).where(r.status == s, *where).limit(COUNT_CAP + 1).subquery())
        .scalar_subquery()
        .label(s.name)
        for s in statuses
    ]
    row = db.session.execute(select(*columns)).one()
    return {s: n for s, n in zip(statuses, row, strict=True) if n}


def _statuses(q: QueueQuery) -> list[RequestStatus]:
    """The statuses the page lists: the chosen one, every one, or the open ones. A search
    looks in every status unless one is chosen: a reference typed in should be found even
    when it is closed."""
    if q.status and q.status != "all":
        return [RequestStatus(q.status)]
    return ALL if q.status == "all" or q.words is not None else OPEN


def _ordered(q: QueueQuery, r: Source) -> tuple[list[ColumnElement[bool]], tuple[Any, ...]]:
    """The page position as a condition, and the order, for the chosen sort."""
    name, newest_first = SORTS[q.sort]
    key = getattr(r, name)
    after: list[ColumnElement[bool]] = []
    if q.cursor is not None:
        position, cursor = tuple_(key, r.id), tuple_(*q.cursor)
        after.append(position < cursor if newest_first else position > cursor)
    order = (key.desc(), r.id.desc()) if newest_first else (key, r.id)
    return after, order


def _rows(q: QueueQuery, r: Source, where: list[ColumnElement[bool]], size: int) -> list[Request]:
    """One page of rows. Without a search, each status's first rows are read on their own
    (a walk of a (status, <sort column>, id) index that stops after `size`) and the few
    found are merged: with an IN list instead, SQLite may choose any index that starts with
    the status, and sort every open request to find the first fifty."""
    after, order = _ordered(q, r)
    statuses = _statuses(q)
    query = select(r)
    if q.words is not None:  # the few requests found: filtered and sorted as they are
        query = query.where(*where, *after, r.status.in_(statuses))
    else:
        firsts = [
            select(Request.id)
            .where(*where, *after, Request.status == s)
            .order_by(*order)
            .limit(size)
            .subquery()
            for s in statuses
        ]
        ids = union_all(*(select(first.c.id) for first in firsts))
        query = query.where(r.id.in_(ids))
    tasks = selectinload(r.tasks).selectinload(Task.system)
    return list(
        db.session.scalars(
            query.options(tasks, selectinload(r.assignee)).order_by(*order).limit(size)
        ).all()
    )


def page(q: QueueQuery) -> Page:
    r = _source(q)
    where = conditions(q, r)
    rows = _rows(q, r, where, PAGE_SIZE + 1)
    return Page(rows=rows[:PAGE_SIZE], counts=counts(q, r, where), more=len(rows) > PAGE_SIZE)


def every_row(q: QueueQuery, *, batch: int = 500) -> Iterator[Request]:
    """Every request the filters select, in the page's order, a batch at a time (CSV)."""
    while True:
        r = _source(q)
        rows = _rows(q, r, conditions(q, r), batch)
        yield from rows
        if len(rows) < batch:
            return
        q = QueueQuery(**{**q.__dict__, "cursor": cursor_of(q.sort, rows[-1])})
        for row in rows:  # a long export keeps one batch in memory, not every request
            db.session.expunge(row)


# -- the page position -------------------------------------------------------------------


def cursor_of(sort: str, row: Request) -> tuple[Any, int]:
    return getattr(row, SORTS[sort][0]), row.id


def format_cursor(sort: str, row: Request) -> str:
    """`2026-03-01.12345` (due) or `<microseconds since 1970>.12345` (received)."""
    value, row_id = cursor_of(sort, row)
    if isinstance(value, datetime):
        return f"{round(value.timestamp() * 1_000_000)}.{row_id}"
    return f"{value.isoformat()}.{row_id}"


def parse_cursor(sort: str, text: str) -> tuple[Any, int] | None:
    """The cursor a page link carries, for the sort it was made for; None if malformed."""
    value, dot, row_id = text.partition(".")
    if not dot or not row_id.isdigit() or len(row_id) > 18:
        return None
    try:
        if SORTS[sort][0] == "received_at":
            if not value.isdigit() or len(value) > 18:
                return None
            micros = int(value)
            at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
            return at, int(row_id)
        return date.fromisoformat(value), int(row_id)
    except (ValueError, OverflowError, KeyError):
        return None
