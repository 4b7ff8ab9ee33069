"""The person's appeal against a denial: from the link in the denial email, or from the
denied request's tracking page. The form is one text: why they disagree."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from dsar import rules
from dsar.exceptions import IntakeRefused, LinkInvalid
from dsar.extensions import limiter
from dsar.forms import Form, long_text
from dsar.i18n import N_
from dsar.models import Request
from dsar.portal import kept
from dsar.portal.views import bp, request_or_404
from dsar.services import appeals


class AppealForm(Form):
    grounds = long_text(
        _l("Why do you disagree with our decision?"),
        _l("Tell us why you disagree."),
        N_("Keep this under %(limit)s characters."),
        appeals.MAX_TEXT,
    )


def _appeal(req: Request, action: str) -> Any:
    form = AppealForm()
    if form.validate_on_submit():
        try:
            filed = appeals.file(req, form.grounds.data)
        except IntakeRefused as exc:
            form.grounds.errors.append(exc.translated())
        else:
            flash("appealed", "receipt")
            return redirect(url_for("portal.status", token=filed.tracking_token))
    return _page(req, form, action)


def _page(req: Request, form: AppealForm, action: str) -> tuple[str, int]:
    page = render_template(
        "portal/appeal.html",
        req=req,
        form=form,
        action=action,
        regime=rules.regime(req.regime),
        kind_label=rules.KIND_LABELS[req.kind],
        reason=rules.regime(req.regime).denial(req.denial_reason),
        may_appeal=appeals.may_appeal(req),
    )
    return page, 422 if form.errors else 200


def _by_link(token: str) -> Request:
    try:
        return appeals.find_by_link(token)
    except LinkInvalid as exc:
        abort(404, exc.translated())


@bp.route("/appeal/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def appeal_by_link(token: str) -> Any:
    return _appeal(_by_link(token), url_for("portal.appeal_by_link", token=token))


@bp.route("/r/<token>/appeal", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def appeal(token: str) -> Any:
    return _appeal(request_or_404(token), url_for("portal.appeal", token=token))


@kept.refills("portal.appeal_by_link")
def _refill_by_link(token: str) -> tuple[str, int]:
    return _page(_by_link(token), AppealForm(), url_for("portal.appeal_by_link", token=token))


@kept.refills("portal.appeal")
def _refill(token: str) -> tuple[str, int]:
    return _page(request_or_404(token), AppealForm(), url_for("portal.appeal", token=token))
