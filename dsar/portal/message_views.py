"""The person writes to the privacy team, or answers our question, on their tracking page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from dsar.exceptions import IntakeRefused
from dsar.extensions import limiter
from dsar.portal import kept
from dsar.portal.forms import MessageForm
from dsar.portal.views import bp, request_or_404, status_page
from dsar.services import messages, uploads


def _files(form: MessageForm) -> list[uploads.Incoming]:
    return [
        uploads.Incoming(f.filename or "file", f.read())
        for f in (form.files.data or [])
        if getattr(f, "filename", "")
    ]


@bp.post("/r/<token>/messages")
@limiter.limit("10 per hour")
def send_message(token: str) -> Any:
    req = request_or_404(token)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messages.from_person(req, form.body.data, _files(form))
        except IntakeRefused as exc:
            if exc.field:
                getattr(form, exc.field).errors.append(exc.translated())
            else:  # not the form's fault: the request's state (the form may not even show)
                flash(exc.translated(), "error")
        else:
            flash("message_sent", "receipt")
            return redirect(url_for("portal.status", token=token) + "#messages")
    return status_page(token, req, message_form=form), 422


@kept.refills("portal.send_message")
def _refill(token: str) -> Any:
    req = request_or_404(token)
    return status_page(token, req, message_form=MessageForm())
