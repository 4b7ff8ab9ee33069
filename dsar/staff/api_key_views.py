"""API keys, for admins: list, create, change scopes, rotate, revoke.

A new or rotated secret is shown once, in the answer to the POST that made it (never in a
redirect, a flash message or the session cookie), on a page no browser may store.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from dsar.models import ApiKey, Role
from dsar.services import api_keys, webhooks
from dsar.staff.forms import ApiKeyForm, ConfirmForm, ScopesForm
from dsar.staff.views import actor, bp, roles_required


def _key_or_404(key_id: int) -> ApiKey:
    try:
        return api_keys.get(key_id)
    except api_keys.ApiKeyError:
        abort(404, f"There is no API key #{key_id}.")


def _scopes_form(key: ApiKey, **kwargs: Any) -> ScopesForm:
    """One form per key on the page, each with its own field ids."""
    return ScopesForm(prefix=f"key{key.id}", scopes=key.scopes, **kwargs)


def _page(form: ApiKeyForm, *, secret: str = "", shown: ApiKey | None = None) -> tuple[str, int]:
    keys = api_keys.listed()
    page = render_template(
        "staff/api_keys.html",
        keys=keys,
        form=form,
        scopes_forms={k.id: _scopes_form(k, formdata=None) for k in keys},
        confirm_form=ConfirmForm(),
        scope_words=api_keys.SCOPES,
        webhook_counts=webhooks.counts(),
        secret=secret,
        shown=shown,
    )
    return page, 422 if form.errors else 200


@bp.get("/api-keys")
@roles_required(Role.ADMIN)
def api_keys_page() -> tuple[str, int]:
    return _page(ApiKeyForm(formdata=None))


@bp.post("/api-keys")
@roles_required(Role.ADMIN)
def create_api_key() -> Any:
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _page(form)
    try:
        key, secret = api_keys.create(form.name.data, scopes=form.scopes.data, actor=actor())
    except api_keys.ApiKeyError as exc:
        form.scopes.errors = [str(exc)]
        return _page(form)
    return _page(ApiKeyForm(formdata=None), secret=secret, shown=key)


@bp.post("/api-keys/<int:key_id>/rotate")
@roles_required(Role.ADMIN)
def rotate_api_key(key_id: int) -> Any:
    key = _key_or_404(key_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "This form has expired; reload the page and try again.")
    try:
        secret = api_keys.rotate(key, actor=actor())
    except api_keys.ApiKeyError as exc:
        flash(f"{exc}.", "error")
        return redirect(url_for("staff.api_keys_page"))
    return _page(ApiKeyForm(formdata=None), secret=secret, shown=key)


@bp.post("/api-keys/<int:key_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_api_key(key_id: int) -> Any:
    key = _key_or_404(key_id)
    if ConfirmForm().validate_on_submit():
        api_keys.revoke(key, actor=actor())
        flash(f"API key #{key.id} ({key.name}) is revoked: calls with it now get 401.", "info")
    return redirect(url_for("staff.api_keys_page"))


@bp.post("/api-keys/<int:key_id>/scopes")
@roles_required(Role.ADMIN)
def api_key_scopes(key_id: int) -> Any:
    key = _key_or_404(key_id)
    form = _scopes_form(key)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("staff.api_keys_page"))
    api_keys.set_scopes(key, form.scopes.data, actor=actor())
    flash(f"API key #{key.id} ({key.name}) may now: {', '.join(key.scopes)}.", "info")
    return redirect(url_for("staff.api_keys_page"))
