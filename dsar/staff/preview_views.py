"""Staff read a request's letter as the person will, in the request's language or another
one, before it is sent: rendered now from what the systems reported so far, never stored."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, request
from flask_login import current_user, login_required

from dsar import i18n
from dsar.documents.compose import render_answer
from dsar.extensions import db
from dsar.services.events import record
from dsar.staff.request_views import request_or_404
from dsar.staff.views import bp


@bp.get("/requests/<reference>/letter-preview")
@login_required
def letter_preview(reference: str) -> Any:
    req = request_or_404(reference)
    code = request.args.get("lang") or req.language or i18n.DEFAULT
    if i18n.chosen(code) is None:
        abort(400, f"Choose one of the languages offered: {', '.join(i18n.LANGUAGES)}.")
    g.letter_preview = True  # the letterhead says "preview, not sent"
    pdf = render_answer(req, language=code)[0].data
    db.session.rollback()  # a preview changes nothing
    record(req, "letter_previewed", actor=f"user:{current_user.id}", detail={"language": code})
    db.session.commit()
    name = f"{req.reference}-preview-{i18n.tag(code)}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )
