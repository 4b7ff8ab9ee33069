"""The queue: every request by due date, with filters and counts."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dsar import rules, transitions
from dsar.extensions import db
from dsar.models import Request, RequestStatus
from dsar.services import reminders
from dsar.staff.forms import LogoutForm
from dsar.staff.views import bp


@bp.get("/")
@login_required
def queue() -> str:
    status = request.args.get("status", "")
    today = reminders.today_here()
    query = (
        select(Request).options(selectinload(Request.tasks)).order_by(Request.due_on, Request.id)
    )
    if status:
        try:
            query = query.where(Request.status == RequestStatus(status))
        except ValueError:
            abort(400, f"Unknown status {status!r}.")
    if request.args.get("overdue"):
        query = query.where(Request.due_on < today, Request.status.in_(transitions.OPEN_STATUSES))
    requests = db.session.scalars(query.limit(200)).all()
    counts = dict(
        db.session.execute(select(Request.status, func.count()).group_by(Request.status)).all()
    )
    return render_template(
        "staff/queue.html",
        requests=requests,
        counts=counts,
        statuses=list(RequestStatus),
        current=status,
        labels=rules.KIND_LABELS,
        regimes=rules.REGIMES,
        logout_form=LogoutForm(),
        today=today,
        overdue=lambda r: reminders.overdue(r, today),
        overdue_only=bool(request.args.get("overdue")),
    )
