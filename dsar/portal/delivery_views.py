"""The person's side of delivery: an emailed code, a short grant, then the answer's files."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import LazyString, ngettext
from flask_babel import lazy_gettext as _l

from dsar.exceptions import (
    AnswerNotReady,
    CodeRejected,
    DeliveryExpired,
    DeliveryRefused,
    DocumentPurged,
    DownloadNotAllowed,
    TooManyCodes,
)
from dsar.extensions import limiter
from dsar.models import Document, Request
from dsar.portal.forms import CodeForm, ConfirmForm
from dsar.portal.views import bp, request_or_404
from dsar.services import delivery, downloads

# The session (a signed cookie) holds {request id: end of grant, as a UNIX time}: a grant
# belongs to the browser that entered the code, and never appears in a URL.
GRANTS = "download_grants"

_REFUSALS: dict[type[DeliveryRefused], tuple[int, LazyString]] = {
    AnswerNotReady: (404, _l("Not ready yet")),
    DownloadNotAllowed: (403, _l("Enter your download code first")),
    CodeRejected: (422, _l("That code did not work")),
    TooManyCodes: (429, _l("Too many codes")),
    DeliveryExpired: (410, _l("This download link has expired")),
    DocumentPurged: (410, _l("These files were deleted")),
    DeliveryRefused: (503, _l("We could not send the email")),
}

DOWNLOAD_NAMES = {"response": "{}.pdf", "data_json": "{}-data.json", "data_csv": "{}-data.csv"}


def granted(req: Request) -> bool:
    until = session.get(GRANTS, {}).get(str(req.id))
    return isinstance(until, int | float) and until > time.time()


def grant(req: Request, until: datetime) -> None:
    now = time.time()
    grants = {k: v for k, v in session.get(GRANTS, {}).items() if v > now}
    grants[str(req.id)] = until.timestamp()
    session[GRANTS] = grants


def _refused(req: Request, token: str, exc: DeliveryRefused) -> Any:
    status, title = next(_REFUSALS[c] for c in type(exc).__mro__ if c in _REFUSALS)
    page = render_template(
        "portal/refused.html",
        req=req,
        token=token,
        title=title,
        message=exc.translated(),
        offer_code=isinstance(exc, DownloadNotAllowed),
        send_form=ConfirmForm(),
    )
    return page, status


@bp.post("/r/<token>/code")
@limiter.limit("10 per hour")
def send_code(token: str) -> Any:
    """Email a one-time download code to the request's address, then ask for it."""
    req = request_or_404(token)
    try:
        delivery.issue_code(req)
    except DeliveryRefused as exc:
        return _refused(req, token, exc)
    minutes = current_app.config["DSAR_CODE_MINUTES"]
    flash(
        ngettext(
            "We have emailed a download code to the address you gave us. "
            "It works once, for %(num)d minute.",
            "We have emailed a download code to the address you gave us. "
            "It works once, for %(num)d minutes.",
            minutes,
        ),
        "info",
    )
    return redirect(url_for("portal.download", token=token))


@bp.route("/r/<token>/download", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def download(token: str) -> Any:
    """Ask for the emailed code; once it is entered, list the files of the answer."""
    req = request_or_404(token)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            until = delivery.redeem_code(req, form.code.data)
        except CodeRejected as exc:
            form.code.errors.append(exc.translated())
        except DeliveryRefused as exc:
            return _refused(req, token, exc)
        else:
            grant(req, until)
            return redirect(url_for("portal.download", token=token))
    try:
        files = delivery.check_deliverable(req)
    except DeliveryRefused as exc:
        return _refused(req, token, exc)
    page = render_template(
        "portal/download.html",
        req=req,
        token=token,
        form=form,
        send_form=ConfirmForm(),
        granted=granted(req) and not form.errors,
        files=[(doc, downloads.is_purged(doc)) for doc in files],
    )
    return page, 422 if form.errors else 200


@bp.get("/r/<token>/files/<int:document_id>")
def answer_file(token: str, document_id: int) -> Any:
    """Serve one file of the answer to the browser holding a grant; record the download."""
    req = request_or_404(token)
    try:
        doc = delivery.open_document(req, document_id, granted=granted(req))
    except DeliveryRefused as exc:
        return _refused(req, token, exc)
    return _send(req, doc)


def _send(req: Request, doc: Document) -> Any:
    return send_from_directory(
        current_app.config["DSAR_DOCUMENTS_DIR"],
        doc.filename,
        mimetype=downloads.media_type(doc),
        as_attachment=True,
        download_name=DOWNLOAD_NAMES.get(doc.kind, "{}-" + doc.kind).format(req.reference),
        max_age=0,
    )


@bp.get("/r/<token>/response.pdf")
def response_pdf(token: str) -> Any:
    """The old direct link: serves the answer only with a grant, else asks for a code."""
    req = request_or_404(token)
    doc = next((d for d in delivery.person_documents(req) if d.kind == "response"), None)
    if doc is None or not granted(req):
        return redirect(url_for("portal.download", token=token))
    return answer_file(token, doc.id)
