"""The queue: requests by due date, with filters, capped counts per status and keyset pages.

Every query here is shaped for the indexes on `requests` (see `Request.__table_args__`):
pages walk `(due_on, id)` from a cursor, never an OFFSET, and the counts stop at a cap, so a
page costs about the same with a thousand requests or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.orm import aliased, selectinload

from dsar import rules, transitions
from dsar.extensions import db
from dsar.models import Request, RequestKind, RequestStatus, User
from dsar.rules.denials import LABELS as DENIAL_LABELS
from dsar.services import reminders
from dsar.staff.forms import LogoutForm
from dsar.staff.queue_forms import QueueFilters, format_after, status_label
from dsar.staff.views import ACTORS, bp

PAGE_SIZE = 50
# Counts stop here: counting every row of a status with a million requests means reading
# every one of them on each page view, so each status is counted through a LIMITed subquery
# and shows "1,000+" beyond the cap. Below the cap the numbers are exact.
COUNT_CAP = 1000

_ALL = list(RequestStatus)
_OPEN = [s for s in _ALL if s in transitions.OPEN_STATUSES]

# `Request`, or an alias of it over the requests a search found (see `_source`).
Source = Any


@dataclass(frozen=True)
class Tab:
    label: str
    count: str
    url: str
    current: bool


def _source(form: QueueFilters) -> Source:
    """What the queries read: the requests table, or, with a search, the few requests the
    reference or email finds. Those are fetched first (a MATERIALIZED CTE, SQLite 3.35+ and
    PostgreSQL 12+): whenever another filter is set, an unanalysed SQLite otherwise prefers
    the composite queue indexes to the email index, and reads every request of an assignee
    or of a status to find one."""
    search = form.search
    if search is None:
        return Request
    column = Request.reference if search[0] == "reference" else Request.email
    found = select(Request).where(column == search[1]).cte("found").prefix_with("MATERIALIZED")
    return aliased(Request, found)


def _conditions(form: QueueFilters, r: Source, today: date) -> list[ColumnElement[bool]]:
    """Every filter but status and the page position: the set the counts describe."""
    where: list[ColumnElement[bool]] = []
    if form.kind.data:
        where.append(r.kind == RequestKind(form.kind.data))
    if form.regime.data:
        where.append(r.regime == form.regime.data)
    assignee = form.assignee.data
    if assignee == "me":
        where.append(r.assignee_id == current_user.id)
    elif assignee == "none":
        where.append(r.assignee_id.is_(None))
    elif assignee:
        where.append(r.assignee_id == form.assignee_id)
    days = form.due_within_days
    if days is not None:
        where.append(r.due_on <= today + timedelta(days=days))
    if form.overdue.data:
        where += [r.due_on < today, r.status.in_(_OPEN)]
    return where


def _status_condition(form: QueueFilters, r: Source) -> ColumnElement[bool] | None:
    """Open requests by default, one status, or all of them. A search looks in every status
    unless one is chosen: a reference typed in should be found even when it is closed.

    "Every status" is still spelled out as an IN list: it selects the same rows, but lets
    SQLite walk the (status, due_on, id) indexes one status at a time and stop after a page;
    without it, a filter on one assignee sorts every request that person ever had.
    """
    chosen = form.status.data
    if chosen and chosen != "all":
        return r.status == RequestStatus(chosen)
    if form.search is not None:
        return None
    return r.status.in_(_ALL if chosen == "all" else _OPEN)


def _counts(
    form: QueueFilters, r: Source, where: list[ColumnElement[bool]]
) -> dict[RequestStatus, int]:
    """How many requests per status match the other filters, in one query. A search finds
    a handful, counted exactly; otherwise each status is counted up to COUNT_CAP + 1 by a
    LIMITed subquery, a short walk of a (status, ...) or (assignee_id, status, ...) index."""
    if form.search is not None:
        rows = db.session.execute(
            select(r.status, func.count()).where(*where).group_by(r.status)
        ).all()
        return {RequestStatus(status): n for status, n in rows}
    statuses = _OPEN if form.overdue.data else _ALL  # only open requests are overdue
    columns = [
        select(func.count())
        .select_from(select(r.id).where(r.status == s, *where).limit(COUNT_CAP + 1).subquery())
        .scalar_subquery()
        .label(s.name)
        for s in statuses
    ]
    row = db.session.execute(select(*columns)).one()
    return {s: n for s, n in zip(statuses, row, strict=True) if n}


def _shown(n: int) -> str:
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"


def _total(ns: list[int]) -> str:
    capped = any(n > COUNT_CAP for n in ns)
    total = sum(min(n, COUNT_CAP) for n in ns)
    return f"{total:,}+" if capped else f"{total:,}"


def _tabs(form: QueueFilters, counts: dict[RequestStatus, int]) -> list[Tab]:
    args = form.query_args()
    args.pop("status", None)
    chosen = form.status.data or ""
    everything = chosen == "all" or (not chosen and form.search is not None)

    def url(status: str) -> str:
        return url_for("staff.queue", **args, **({"status": status} if status else {}))

    open_count = _total([counts.get(s, 0) for s in _OPEN])
    tabs = [Tab("Open", open_count, url(""), not chosen and not everything)]
    tabs += [
        Tab(status_label(s), _shown(counts.get(s, 0)), url(s.value), chosen == s.value)
        for s in RequestStatus
        if counts.get(s) or chosen == s.value
    ]
    tabs.append(Tab("All", _total(list(counts.values())), url("all"), everything))
    return tabs


def _staff() -> list[tuple[int, str]]:
    """Active staff, for the assignee filter."""
    rows = db.session.execute(
        select(User.id, User.email).where(User.active.is_(True)).order_by(User.email)
    ).all()
    return [(user_id, email) for user_id, email in rows]


def _render(form: QueueFilters, today: date, code: int = 200, **context: Any) -> tuple[str, int]:
    page = render_template(
        "staff/queue.html",
        form=form,
        regimes=rules.REGIMES,
        logout_form=LogoutForm(),
        today=today,
        overdue=lambda r: reminders.overdue(r, today),
        filtered=bool(form.query_args()),
        # Bulk actions come with their own module; auditors could not use them anyway.
        bulk="staff.bulk" in current_app.view_functions and current_user.role in ACTORS,
        denial_labels=DENIAL_LABELS,
        **{"requests": [], "tabs": [], "next_url": None, "first_url": None, **context},
    )
    return page, code


@bp.get("/")
@login_required
def queue() -> tuple[str, int]:
    form = QueueFilters(formdata=request.args, staff=_staff())
    today = reminders.today_here()
    if not form.validate():
        return _render(form, today, 400)
    r = _source(form)
    where = _conditions(form, r, today)
    query = select(r).where(*where)
    status = _status_condition(form, r)
    if status is not None:
        query = query.where(status)
    cursor = form.cursor
    if cursor is not None:
        query = query.where(tuple_(r.due_on, r.id) > tuple_(*cursor))
    rows = db.session.scalars(
        query.options(selectinload(r.tasks), selectinload(r.assignee))
        .order_by(r.due_on, r.id)
        .limit(PAGE_SIZE + 1)
    ).all()
    shown = rows[:PAGE_SIZE]
    args = form.query_args()
    next_url = (
        url_for("staff.queue", **args, after=format_after(shown[-1].due_on, shown[-1].id))
        if len(rows) > PAGE_SIZE
        else None
    )
    return _render(
        form,
        today,
        requests=shown,
        tabs=_tabs(form, _counts(form, r, where)),
        next_url=next_url,
        first_url=url_for("staff.queue", **args) if cursor is not None else None,
    )
