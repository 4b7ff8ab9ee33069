"""Webhook endpoints of an API key, for admins: add, disable or enable, delete, and the
deliveries with "Send again". A new endpoint's signing secret is shown once, in the answer
to the POST that made it, on a page no browser may store (as a new API key's)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from dsar.models import ApiKey, Role, WebhookEndpoint
from dsar.services import api_keys, webhook_events, webhooks
from dsar.staff.forms import ConfirmForm
from dsar.staff.views import actor, bp, roles_required
from dsar.staff.webhook_forms import WebhookForm


def _key_or_404(key_id: int) -> ApiKey:
    try:
        return api_keys.get(key_id)
    except api_keys.ApiKeyError:
        abort(404, f"There is no API key #{key_id}.")


def _endpoint_or_404(key: ApiKey, endpoint_id: int) -> WebhookEndpoint:
    try:
        return webhooks.get(key, endpoint_id)
    except webhooks.WebhookError as exc:
        abort(404, str(exc))


def _page(
    key: ApiKey, form: WebhookForm, *, secret: str = "", shown: WebhookEndpoint | None = None
) -> tuple[str, int]:
    endpoints = webhooks.of_key(key)
    page = render_template(
        "staff/webhooks.html",
        key=key,
        endpoints=endpoints,
        deliveries={e.id: webhooks.deliveries(e) for e in endpoints},
        form=form,
        confirm_form=ConfirmForm(),
        event_words=webhook_events.EVENTS,
        may_see_identity=api_keys.allows(key, api_keys.DOWNLOAD),
        secret=secret,
        shown=shown,
    )
    return page, 422 if form.errors else 200


def _back(key: ApiKey) -> Any:
    return redirect(url_for("staff.webhooks_page", key_id=key.id))


@bp.get("/api-keys/<int:key_id>/webhooks")
@roles_required(Role.ADMIN)
def webhooks_page(key_id: int) -> tuple[str, int]:
    return _page(_key_or_404(key_id), WebhookForm(formdata=None))


@bp.post("/api-keys/<int:key_id>/webhooks")
@roles_required(Role.ADMIN)
def add_webhook(key_id: int) -> Any:
    key = _key_or_404(key_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(key, form)
    try:
        endpoint, secret = webhooks.add(key, form.url.data, form.events.data, actor=actor())
    except webhooks.WebhookError as exc:
        getattr(form, exc.field).errors = [str(exc)]
        return _page(key, form)
    return _page(key, WebhookForm(formdata=None), secret=secret, shown=endpoint)


@bp.post("/api-keys/<int:key_id>/webhooks/<int:endpoint_id>/active")
@roles_required(Role.ADMIN)
def webhook_active(key_id: int, endpoint_id: int) -> Any:
    key = _key_or_404(key_id)
    endpoint = _endpoint_or_404(key, endpoint_id)
    if ConfirmForm().validate_on_submit():
        webhooks.set_active(endpoint, not endpoint.active, actor=actor())
        state = "sends events again" if endpoint.active else "is disabled: it gets no events"
        flash(f"Endpoint #{endpoint.id} {state}.", "info")
    return _back(key)


@bp.post("/api-keys/<int:key_id>/webhooks/<int:endpoint_id>/delete")
@roles_required(Role.ADMIN)
def delete_webhook(key_id: int, endpoint_id: int) -> Any:
    key = _key_or_404(key_id)
    endpoint = _endpoint_or_404(key, endpoint_id)
    if ConfirmForm().validate_on_submit():
        webhooks.remove(endpoint, actor=actor())
        flash(f"Endpoint #{endpoint_id} and its deliveries' log are deleted.", "info")
    return _back(key)


@bp.post("/api-keys/<int:key_id>/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>")
@roles_required(Role.ADMIN)
def resend_webhook(key_id: int, endpoint_id: int, delivery_id: int) -> Any:
    key = _key_or_404(key_id)
    endpoint = _endpoint_or_404(key, endpoint_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "This form has expired; reload the page and try again.")
    try:
        webhooks.send_again(endpoint, delivery_id, actor=actor())
    except webhooks.WebhookError as exc:
        flash(str(exc), "error")
        return _back(key)
    flash(f"Delivery #{delivery_id} is being sent again, with the same Dsar-Delivery id.", "info")
    return _back(key)
