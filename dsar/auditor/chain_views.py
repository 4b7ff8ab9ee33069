"""The audit chain's check, for auditors (routes register on dsar.auditor.views.bp)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request, stream_with_context, url_for

from dsar import spreadsheets
from dsar.auditor.views import bp
from dsar.models import Role
from dsar.services import audit_browse, audit_checks, checkpoints
from dsar.staff.forms import LogoutForm
from dsar.staff.views import roles_required

READERS = (Role.AUDITOR, Role.ADMIN, Role.OFFICER)


@bp.get("/chain")
@roles_required(*READERS)
def chain() -> Any:
    """Recompute the whole chain on each view, and compare it with the newest checkpoint
    kept outside the database: the verdict is never a cached one."""
    verdict = audit_checks.check(folder=current_app.config["DSAR_AUDIT_DIR"])
    body = render_template("auditor/chain.html", verdict=verdict, logout_form=LogoutForm())
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/chain/checkpoint.json")
@roles_required(*READERS)
def chain_checkpoint() -> Any:
    """A freshly signed checkpoint of the head, to keep outside dsar and check against later."""
    checkpoint = checkpoints.take()
    return Response(
        checkpoint.to_json(),
        mimetype="application/json",
        headers={
            "Content-Disposition": (
                f'attachment; filename="dsar-audit-checkpoint-seq-{checkpoint.seq}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )


@bp.get("/chain/events")
@roles_required(*READERS)
def chain_events() -> Any:
    """The chain's events, newest first, filtered, each checked where it stands. A filter
    that cannot be used is said next to its field (422) and left out of the list."""
    found = audit_browse.search(request.args)
    filters = found.filters
    shown = audit_browse.page(filters)
    args = filters.args()
    body = render_template(
        "auditor/events.html",
        found=found,
        page=shown,
        older_url=(
            url_for("auditor.chain_events", **args, before=shown.older) if shown.older else None
        ),
        newest_url=url_for("auditor.chain_events", **args) if filters.before else None,
        csv_url=url_for("auditor.chain_events_csv", **args),
        logout_form=LogoutForm(),
    )
    return body, 422 if found.errors else 200


CSV_HEADER = [
    *("id", "seq", "at_utc", "actor", "who", "action", "reference"),
    *("status_before", "status_after", "detail", "hash", "check"),
]


@bp.get("/chain/events.csv")
@roles_required(*READERS)
def chain_events_csv() -> Any:
    """The same events as a CSV file, every page of them; refused filters: the page, 422."""
    found = audit_browse.search(request.args)
    if found.errors:
        return chain_events()

    def lines() -> Any:
        yield spreadsheets.write([CSV_HEADER])
        for shown in audit_browse.every_page(found.filters):
            yield spreadsheets.write(_csv_row(row) for row in shown.rows)

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="dsar-audit-events.csv"'},
    )


def _csv_row(row: audit_browse.Row) -> list[Any]:
    return [
        row.id,
        row.seq if row.seq is not None else "",
        row.at.isoformat(timespec="seconds"),
        row.actor,
        row.who,
        row.action,
        row.reference or "",
        row.status_before,
        row.status_after,
        row.detail_json,
        row.hash,
        row.check,
    ]
