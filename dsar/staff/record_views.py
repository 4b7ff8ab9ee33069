"""Record a request that came by phone, letter, email or in person (officers and admins)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, send_from_directory, url_for
from flask_login import current_user, login_required

from dsar.exceptions import IntakeRefused
from dsar.extensions import db
from dsar.services import intake, staff_intake, uploads
from dsar.services.events import record
from dsar.staff.record_forms import RecordRequestForm
from dsar.staff.request_views import request_or_404
from dsar.staff.views import ACTORS, actor, bp, roles_required


def _day(form: RecordRequestForm) -> date | None:
    try:
        return date.fromisoformat(form.received_on.data or "")
    except ValueError:
        form.received_on.errors = ["That day does not exist; give it as YYYY-MM-DD."]
        return None


def _valid(form: RecordRequestForm) -> bool:
    """The form's own checks, and the day and its reason, so that every mistake shows at
    once."""
    valid = form.validate()
    day = None if form.received_on.errors else _day(form)
    if day is not None:
        for name, message in staff_intake.day_problems(day, form.reason.data or "").items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
            valid = False
    return valid and not form.received_on.errors


def _files(form: RecordRequestForm) -> list[uploads.Incoming]:
    return [
        uploads.Incoming(f.filename or "file", f.read())
        for f in (form.files.data or [])
        if getattr(f, "filename", "")
    ]


@bp.route("/requests/new", methods=["GET", "POST"])
@roles_required(*ACTORS)
def record_request() -> Any:
    form = RecordRequestForm()
    if not form.is_submitted():
        form.received_on.data = staff_intake.today().isoformat()
    elif _valid(form) and (day := _day(form)) is not None:
        sub = intake.Submission(
            kind=form.kind.data,
            regime=form.regime.data,
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data or "",
            country=form.country.data or "",
            details=form.details.data or "",
            correction=form.correction() if form.kind.data == "correction" else None,
        )
        recorded = staff_intake.Recorded(
            channel=form.channel.data,
            received_on=day,
            reason=form.reason.data or "",
            identity_checked=form.identity_checked.data or "",
            files=_files(form),
        )
        try:
            receipt = staff_intake.record_request(sub, recorded, user=current_user)
        except IntakeRefused as exc:
            name = exc.field or "kind"
            if name.startswith("correction"):
                name = form.correction_field(name)
            getattr(form, name).errors = [exc.message]
        else:
            flash(f"Request {receipt.request.reference} recorded.", "success")
            return redirect(url_for("staff.request_page", reference=receipt.request.reference))
    status = 422 if form.errors else 200
    return render_template(
        "staff/record_request.html",
        form=form,
        max_mb=current_app.config["DSAR_UPLOAD_MAX_MB"],
        max_files=uploads.MAX_FILES,
    ), status


@bp.get("/requests/<reference>/correspondence/<int:file_id>")
@login_required
def correspondence_file(reference: str, file_id: int) -> Any:
    """The original letter or email an officer attached; any staff role, every one recorded."""
    req = request_or_404(reference)
    item = next((c for c in req.correspondence if c.id == file_id), None)
    if item is None:
        abort(404, f"{reference} has no attached original {file_id}.")
    if not uploads.path_of(item).is_file():
        abort(410, "This file was deleted under the retention policy; its SHA-256 is kept.")
    record(
        req,
        "correspondence_downloaded",
        actor=actor(),
        detail={"file": item.id, "sha256": item.sha256},
    )
    db.session.commit()
    return send_from_directory(
        uploads.folder(),
        item.filename,
        mimetype=item.media_type,
        as_attachment=True,
        download_name=item.original_name,
        max_age=0,
    )
