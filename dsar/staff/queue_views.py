"""The queue: requests by due or received date, with filters, a search, capped counts per
status and keyset pages; the same selection as a CSV file. The queries are in
dsar.services.queue_query; this module reads the form and words the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from dsar import rules, spreadsheets
from dsar.extensions import db
from dsar.models import Request, RequestStatus, User
from dsar.rules.denials import LABELS as DENIAL_LABELS
from dsar.services import queue_query, reminders
from dsar.services.events import record
from dsar.services.queue_query import COUNT_CAP, OPEN, QueueQuery
from dsar.services.waiting import waiting_on
from dsar.staff.forms import LogoutForm
from dsar.staff.queue_forms import QueueFilters, status_label
from dsar.staff.views import ACTORS, actor, bp

CSV_HEADER = (
    *("Reference", "Name", "Right", "Law", "Received", "Due", "Days left", "Status"),
    *("Waiting on", "Assignee"),
)


@dataclass(frozen=True)
class Tab:
    label: str
    count: str
    url: str
    current: bool


def _shown(n: int) -> str:
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"


def _total(ns: list[int]) -> str:
    capped = any(n > COUNT_CAP for n in ns)
    total = sum(min(n, COUNT_CAP) for n in ns)
    return f"{total:,}+" if capped else f"{total:,}"


def _tabs(form: QueueFilters, counts: dict[RequestStatus, int], *, searched: bool) -> list[Tab]:
    args = form.query_args()
    args.pop("status", None)
    chosen = "" if form.status.errors else form.status.data or ""
    everything = chosen == "all" or (not chosen and searched)

    def url(status: str) -> str:
        return url_for("staff.queue", **args, **({"status": status} if status else {}))

    open_count = _total([counts.get(s, 0) for s in OPEN])
    tabs = [Tab("Open", open_count, url(""), not chosen and not everything)]
    tabs += [
        Tab(status_label(s), _shown(counts.get(s, 0)), url(s.value), chosen == s.value)
        for s in RequestStatus
        if counts.get(s) or chosen == s.value
    ]
    tabs.append(Tab("All", _total(list(counts.values())), url("all"), everything))
    return tabs


def staff_label(user: User) -> str:
    """A staff member as every staff screen names them: name and role, or email and role."""
    return f"{user.name or user.email} ({user.role.value})"


def _staff() -> list[tuple[int, str]]:
    """Active staff, for the assignee filter."""
    users = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.name, User.email)
    ).all()
    return [(user.id, staff_label(user)) for user in users]


def _query(form: QueueFilters, today: date) -> QueueQuery:
    """The filters as the service takes them; a refused one is left out, so that the page
    still lists what the others select, with the reason beside the refused field."""

    def kept(name: str, value: str) -> str:
        return "" if form[name].errors else value

    assignee = kept("assignee", form.assignee.data or "")
    return QueueQuery(
        status=kept("status", form.status.data or ""),
        kind=kept("kind", form.kind.data or ""),
        regime=kept("regime", form.regime.data or ""),
        assignee=str(current_user.id) if assignee == "me" else assignee,
        due_within=None if form.due_within.errors else form.due_within_days,
        overdue=bool(form.overdue.data),
        words=None if form.q.errors else form.words,
        waiting=kept("waiting", form.waiting.data or ""),
        sort=form.sort_key,
        cursor=None if form.after.errors else form.cursor,
        today=today,
    )


def sort_links(form: QueueFilters) -> dict[str, str]:
    """Per sortable column, the queue sorted by it (or the other way when it already is)."""
    args = form.query_args()
    current = form.sort_key
    links = {}
    for column, first in (("due", "due"), ("received", "-received")):
        other = first[1:] if first.startswith("-") else f"-{first}"
        chosen = other if current == first else first
        links[column] = url_for("staff.queue", **{**args, "sort": chosen})
    return links


def _render(form: QueueFilters, today: date, code: int = 200, **context: Any) -> tuple[str, int]:
    page = render_template(
        "staff/queue.html",
        form=form,
        regimes=rules.REGIMES,
        logout_form=LogoutForm(),
        today=today,
        overdue=lambda r: reminders.overdue(r, today),
        waiting_on=waiting_on,
        staff_label=staff_label,
        sort_links=sort_links(form),
        filtered=bool(form.query_args()),
        # Bulk actions come with their own module; auditors could not use them anyway.
        bulk="staff.bulk" in current_app.view_functions and current_user.role in ACTORS,
        denial_labels=DENIAL_LABELS,
        **{"requests": [], "tabs": [], "next_url": None, "first_url": None, **context},
    )
    return page, code


@bp.get("/queue")
@login_required
def queue() -> tuple[str, int]:
    """The queue; refused filters are named in words (400) and the rest still apply."""
    form = QueueFilters(formdata=request.args, staff=_staff())
    today = reminders.today_here()
    valid = form.validate()
    chosen = _query(form, today)
    found = queue_query.page(chosen)
    args = form.query_args()
    shown = found.rows
    after = queue_query.format_cursor(form.sort_key, shown[-1]) if found.more else None
    return _render(
        form,
        today,
        200 if valid else 400,
        requests=shown,
        tabs=_tabs(form, found.counts, searched=chosen.words is not None),
        next_url=url_for("staff.queue", **args, after=after) if after else None,
        first_url=url_for("staff.queue", **args) if chosen.cursor is not None else None,
        csv_url=url_for("staff.queue_csv", **args) if valid else None,
    )


@bp.get("/queue.csv")
@login_required
def queue_csv() -> Any:
    """Every request the filters select (not one page), as a spreadsheet opens it safely.
    The export is audited: the filters, and whether a search was used (not its words).
    Refused filters export nothing: the queue page says why."""
    form = QueueFilters(formdata=request.args, staff=_staff())
    today = reminders.today_here()
    if not form.validate():
        return queue()
    filters = form.query_args()
    searched = bool(filters.pop("q", ""))
    record(None, "queue_exported", actor=actor(), detail={"filters": filters, "search": searched})
    db.session.commit()
    chosen = QueueQuery(**{**_query(form, today).__dict__, "cursor": None})

    def lines() -> Any:
        yield spreadsheets.write([CSV_HEADER])
        batch: list[list[Any]] = []
        for req in queue_query.every_row(chosen):
            batch.append(_csv_row(req, today))
            if len(batch) == 500:
                yield spreadsheets.write(batch)
                batch = []
        yield spreadsheets.write(batch)

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="dsar-queue-{today}.csv"'},
    )


def _csv_row(req: Request, today: date) -> list[Any]:
    return [
        req.reference or "",
        req.name,
        rules.KIND_LABELS.get(req.kind, req.kind.value),
        rules.REGIMES[req.regime].name if req.regime in rules.REGIMES else req.regime,
        req.received_at.date().isoformat(),
        req.due_on.isoformat(),
        (req.due_on - today).days if req.status in OPEN else "",
        status_label(req.status),
        str(waiting_on(req)),
        staff_label(req.assignee) if req.assignee else "",
    ]
