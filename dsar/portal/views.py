"""Portal views: parse input, call one service, render or redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from dsar import i18n, rules
from dsar.exceptions import IntakeRefused, LinkExpired, LinkInvalid
from dsar.extensions import limiter
from dsar.models import (
    Request,
    RequestKind,
    RequestStatus,
)
from dsar.portal import kept, status_words
from dsar.portal.forms import ConfirmForm, GpcForm, MessageForm, RequestForm
from dsar.portal.notices import notices
from dsar.rules import agents as agent_rules
from dsar.services import appeals, delivery, intake, messages, uploads

bp = Blueprint("portal", __name__)


def request_or_404(token: str) -> Request:
    try:
        return intake.find_by_tracking(token)
    except LinkInvalid:
        abort(404, gettext("This tracking link is not valid. Check that you copied it whole."))


def gpc_signal() -> bool:
    """Whether the browser sent a Global Privacy Control signal; only `Sec-GPC: 1` is one."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def _gpc_form() -> GpcForm | None:
    return GpcForm(prefix="gpc") if gpc_signal() else None


@bp.get("/")
def home() -> str:
    return render_template(
        "portal/home.html",
        regimes=rules.REGIMES.values(),
        labels=rules.KIND_LABELS,
        offered=rules.OFFERED_KINDS,
        gpc_form=_gpc_form(),
    )


@bp.post("/gpc")
@limiter.limit("20 per hour")
def gpc_opt_out() -> Any:
    """File the one-step opt-out a GPC signal asks for: no verification may be required."""
    if not gpc_signal():
        abort(
            400,
            gettext(
                "Your browser did not send a Global Privacy Control signal with this form, so "
                "nothing was saved. To opt out, use the request form."
            ),
        )
    form = GpcForm(prefix="gpc")
    if form.validate_on_submit():
        try:
            receipt = intake.submit_gpc_opt_out(email=form.email.data, phone=form.phone.data or "")
        except IntakeRefused as exc:
            form.email.errors.append(exc.translated())
        else:
            flash("submitted", "receipt")
            return redirect(url_for("portal.status", token=receipt.tracking_token))
    return _gpc_page(form)


@kept.refills("portal.gpc_opt_out")
def _gpc_page(form: GpcForm | None = None) -> tuple[str, int]:
    return render_template("portal/gpc.html", gpc_form=form or GpcForm(prefix="gpc")), 422


@bp.route("/request", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def new_request() -> Any:
    form = RequestForm()
    if not form.is_submitted():  # "Ask online" on the home page names the right and the law
        if request.args.get("regime") in rules.REGIMES:
            form.regime.data = request.args["regime"]
        if request.args.get("kind") in {k.value for k in rules.OFFERED_KINDS}:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            receipt = intake.submit(
                intake.Submission(
                    kind=form.kind.data,
                    regime=form.regime.data,
                    name=form.name.data,
                    email=form.email.data,
                    phone=form.phone.data or "",
                    country=form.country.data or "",
                    details=form.details.data or "",
                    correction=form.correction() if form.kind.data == "correction" else None,
                    # A hidden field (another kind chosen) is not sent: as for corrections.
                    transfer_url=(form.transfer_url.data or "")
                    if form.kind.data == "portability"
                    else "",
                    agent=form.agent(),
                    language=str(get_locale() or "en"),
                ),
                channel="portal",
            )
        except IntakeRefused as exc:
            name = exc.field or "kind"
            if name.startswith("correction"):
                name = form.correction_field(name)
            getattr(form, name).errors.append(exc.translated())
        else:
            flash("submitted", "receipt")
            return redirect(url_for("portal.status", token=receipt.tracking_token))
    return _request_page(form)


@kept.refills("portal.new_request")
def _request_page(form: RequestForm | None = None) -> tuple[str, int]:
    form = form or RequestForm()  # a refill: as posted
    status = 422 if form.errors else 200
    return render_template(
        "portal/request_form.html",
        form=form,
        gpc_form=_gpc_form(),
        laws=_laws_by_kind(),
        correction_label=rules.KIND_LABELS[RequestKind.CORRECTION],
        opt_out_label=rules.KIND_LABELS[RequestKind.OPT_OUT],
        agent_laws=agent_rules.summary(
            rules.REGIMES, rules.KIND_LABELS, translate=None if i18n.english() else gettext
        ),
        region_name=status_words.region_name(current_app.config["DSAR_PHONE_REGION"]),
    ), status


def _laws_by_kind() -> dict[str, str]:
    """For each right taken online, the laws that grant it (the form shows only those)."""
    return {
        kind.value: " ".join(r.key for r in rules.REGIMES.values() if kind in r.kinds)
        for kind in rules.OFFERED_KINDS
    }


@bp.get("/r/<token>")
def status(token: str) -> str:
    return status_page(token, request_or_404(token))


def status_page(token: str, req: Request, *, message_form: Any = None) -> str:
    """The tracking page; `message_form` as sent, when the person's message was refused."""
    regime = rules.regime(req.regime)
    return render_template(
        "portal/status.html",
        req=req,
        token=token,
        regime=regime,
        kind_label=rules.KIND_LABELS[req.kind],
        progress=status_words.state(req),
        notices=notices(req),
        why=status_words.why_this_date(req),
        delivery_state=delivery.state(req),
        granted=delivery_views.granted(req),
        send_form=ConfirmForm(),
        denial=regime.denial(req.denial_reason) if req.status is RequestStatus.DENIED else None,
        may_appeal=appeals.may_appeal(req),
        thread=[(m, messages.files_of(req, m)) for m in req.messages],
        may_write=messages.may_write(req),
        answering=messages.open_question(req) is not None,
        message_form=message_form or MessageForm(),
        max_files=uploads.MAX_FILES,
    )


@bp.get("/r/<token>/progress")
def progress(token: str) -> Any:
    return status_words.state(request_or_404(token))


@bp.route("/r/<token>/verify/<code>", methods=["GET", "POST"])
def verify(token: str, code: str) -> Any:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            intake.verify(token, code)
        except LinkExpired:  # the request's page offers a fresh link
            flash("link_expired", "receipt")
            return redirect(url_for("portal.status", token=token))
        except LinkInvalid as exc:
            abort(404, exc.translated())
        flash("verified", "receipt")
        return redirect(url_for("portal.status", token=token))
    req = request_or_404(token)
    return render_template("portal/verify.html", req=req, form=form, token=token, code=code)


@bp.post("/r/<token>/verify-again")
@limiter.limit("10 per hour")
def verify_again(token: str) -> Any:
    """Send the confirmation email again: the same request, a fresh link."""
    if not ConfirmForm().validate_on_submit():
        abort(400, gettext("The form expired. Reload the page and try again."))
    try:
        intake.send_verification_again(token)
    except LinkInvalid as exc:
        abort(404, exc.translated())
    except IntakeRefused as exc:
        flash(exc.translated(), "error")
    else:
        flash("resent", "receipt")
    return redirect(url_for("portal.status", token=token))


@bp.post("/r/<token>/verify/<code>/disown")
def disown(token: str, code: str) -> Any:
    """The person did not ask the agent who filed this request: it is closed."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, gettext("The form expired. Open the link in our email again."))
    try:
        intake.disown(token, code)
    except LinkInvalid as exc:
        abort(404, exc.translated())
    flash("disowned", "receipt")
    return redirect(url_for("portal.status", token=token))


@bp.after_request
def no_store(response: Any) -> Any:
    """Tracking pages and answers hold personal data: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# The answer's delivery (download codes, grants, files) and the appeal form register on
# `bp` when imported.
from dsar.portal import (  # noqa: E402, F401
    appeal_views,
    choice_views,
    delivery_views,
    language_views,
    message_views,
    transparency_views,
)
