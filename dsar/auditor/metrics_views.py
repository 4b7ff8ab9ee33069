"""The metrics report (CCPA 11 CCR 7102) (routes register on dsar.auditor.views.bp).

One report per calendar year, as a page with charts, a CSV file and a PDF; all three show
the same figures from `dsar.services.metrics.report`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request

from dsar import inputs, spreadsheets
from dsar.auditor.views import bp
from dsar.documents.render import PDF_ASSETS, render_pdf
from dsar.models import Role
from dsar.services import metrics
from dsar.staff.forms import LogoutForm
from dsar.staff.views import roles_required

READERS = (Role.AUDITOR, Role.ADMIN, Role.OFFICER)
NO_STORE = {"Cache-Control": "no-store"}


def _year() -> int:
    """The `year` query argument, or this year in the company's time zone; 400 otherwise."""
    today = datetime.now(ZoneInfo(current_app.config["DSAR_TIMEZONE"])).date()
    raw = request.args.get("year", "").strip()
    if not raw:
        return today.year
    try:
        year = inputs.parse_count(raw, maximum=9999, what="year")
    except inputs.InputRefused:
        year = 0
    if len(raw) != 4 or year < 1000:
        abort(400, f"The year must be four digits, like {today.year}; nothing was counted.")
    try:
        return metrics.check_year(year, today=today)
    except ValueError as exc:
        abort(400, f"{exc} Nothing was counted.")


def _context(report: metrics.Metrics) -> dict[str, Any]:
    return {
        "m": report,
        "num": metrics.format_days,
        "company": current_app.config["DSAR_COMPANY_NAME"],
    }


@bp.get("/metrics")
@roles_required(*READERS)
def metrics_page() -> Any:
    """The year's figures per kind and per law, with bar charts (inline SVG, no scripts)."""
    report = metrics.report(_year())
    html = render_template("auditor/metrics.html", logout_form=LogoutForm(), **_context(report))
    return html, 200, NO_STORE


@bp.get("/metrics.csv")
@roles_required(*READERS)
def metrics_csv() -> Any:
    report = metrics.report(_year())
    return Response(
        spreadsheets.write(metrics.csv_rows(report)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="dsar-metrics-{report.year}.csv"',
            **NO_STORE,
        },
    )


@bp.get("/metrics.pdf")
@roles_required(*READERS)
def metrics_pdf() -> Any:
    report = metrics.report(_year())
    rendered = render_pdf(
        "pdf/metrics.html",
        stylesheet=(PDF_ASSETS / "metrics.css").as_uri(),
        **_context(report),
    )
    return Response(
        rendered.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="dsar-metrics-{report.year}.pdf"',
            **NO_STORE,
        },
    )
