"""The officer's review of an answer: page previews, withholding with a reason, release."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2 as pdfium
from flask import Response, abort, flash, redirect, url_for
from flask_login import login_required

from dsar import inputs
from dsar.documents import answer_data, words
from dsar.models import Request
from dsar.rules import withholding
from dsar.services import downloads, review
from dsar.staff.forms import ConfirmForm, RedactForm
from dsar.staff.request_views import act_on, request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required

PREVIEW_PAGES = 12  # thumbnails shown; the PDF itself is one click away
RECORDS_SHOWN = 50  # per table on the review page; the rest are in the PDF and its files


def review_context(req: Request) -> dict[str, Any]:
    """What the request page shows while the answer waits for review."""
    reasons = withholding.redaction_reasons(req.regime)
    response = next((d for d in reversed(req.documents) if d.kind == "response"), None)
    pages = _page_count(response) if response is not None else 0
    tables = []
    for task in req.tasks:
        for place, rows in ((task.result or {}).get("records") or {}).items():
            if not isinstance(rows, list) or not rows:
                continue
            # Fields the system declares withheld are never shown, here as in the answer.
            hidden = answer_data.withheld_fields(task)
            keys = sorted(
                {
                    str(k)
                    for row in rows[:RECORDS_SHOWN]
                    if isinstance(row, dict)
                    for k in row
                    if str(k).lower() not in hidden
                }
            )
            fields = [(k, words.field_label(task.system, k)) for k in keys]
            tables.append(
                {
                    "system": task.system,
                    "place": place,
                    "label": words.place_label(task.system, place),
                    "fields": fields,
                    "rows": [
                        (
                            n,
                            [
                                (k, label, words.value_words(task.system, k, row[k]))
                                for k, label in fields
                                if k in row
                            ],
                        )
                        for n, row in enumerate(rows[:RECORDS_SHOWN], start=1)
                        if isinstance(row, dict)
                    ],
                    "total": len(rows),
                }
            )
    return {
        "review_reasons": reasons,
        "review_tables": tables,
        "redactions": [(r, _described(req, r)) for r in review.redactions(req)],
        "response_doc": response,
        "preview_urls": [
            url_for("staff.page_preview", reference=req.reference, document_id=response.id, page=n)
            for n in range(1, min(pages, PREVIEW_PAGES) + 1)
        ]
        if response is not None
        else [],
        "preview_pages": pages,
        "redact_form": RedactForm(),
        "reason_words": {r.key: f"{r.label} ({r.citation})" for r in reasons},
    }


def _described(req: Request, redaction: Any) -> str:
    """A redaction in the words the officer reads elsewhere on the page."""
    task = next((t for t in req.tasks if t.system.key == redaction.system_key), None)
    if task is None:
        return f"{redaction.system_key}, record {redaction.record}"
    said = f"{task.system.name} · {words.place_label(task.system, redaction.place)}"
    said += f" · record {redaction.record}"
    if redaction.field:
        said += f" · only “{words.field_label(task.system, redaction.field)}”"
    return said


def _page_count(doc: Any) -> int:
    if downloads.is_purged(doc):
        return 0
    return len(pdfium.PdfDocument(str(downloads.path_of(doc))))


@bp.get("/requests/<reference>/documents/<int:document_id>/pages/<int:page>.png")
@login_required
def page_preview(reference: str, document_id: int, page: int) -> Any:
    """One page of a PDF answer as a picture, for the review; nothing is recorded: the
    picture shows what the staff member's own download would, and is not kept."""
    req = request_or_404(reference)
    doc = next((d for d in req.documents if d.id == document_id and d.kind == "response"), None)
    if doc is None or downloads.is_purged(doc):
        abort(404, f"{reference} has no such answer to preview.")
    pdf = pdfium.PdfDocument(str(downloads.path_of(doc)))
    if not 1 <= page <= len(pdf):
        abort(404, f"The answer has pages 1 to {len(pdf)}.")
    image = pdf[page - 1].render(scale=1.0).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.post("/requests/<reference>/redact")
@roles_required(*ACTORS)
def redact(reference: str) -> Any:
    form = RedactForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        flash("Nothing was withheld: choose the record, what to withhold and why.", "error")
        return redirect(url_for("staff.request_page", reference=reference))
    number = inputs.parse_id(form.record.data, what="record number")
    by = actor()
    return act_on(
        reference,
        lambda req: review.redact(
            req,
            system_key=form.system.data,
            place=form.place.data,
            record_number=number,
            field=form.field.data or "",
            reason=form.reason.data or "",
            note=form.note.data or "",
            actor=by,
        ),
        "Withheld. The answer is being rendered again without it; reload in a moment.",
    )


@bp.post("/requests/<reference>/redactions/<int:redaction_id>/remove")
@roles_required(*ACTORS)
def unredact(reference: str, redaction_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; reload the page and try again. Nothing was changed.", "error")
        return redirect(url_for("staff.request_page", reference=reference))
    by = actor()
    return act_on(
        reference,
        lambda req: review.unredact(req, redaction_id, actor=by),
        "Put back. The answer is being rendered again; reload in a moment.",
    )


@bp.post("/requests/<reference>/release")
@roles_required(*ACTORS)
def release(reference: str) -> Any:
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; reload the page and try again. Nothing was sent.", "error")
        return redirect(url_for("staff.request_page", reference=reference))
    by = actor()
    return act_on(
        reference,
        lambda req: review.release(req, actor=by),
        "Released: the person has been emailed that their answer is ready.",
    )
