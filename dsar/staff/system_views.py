"""The data systems registry: list, add, edit, disable, test a connection."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import Field

from dsar import i18n
from dsar.exceptions import SystemInvalid
from dsar.extensions import db
from dsar.models import DataSystem, Role, SystemKind
from dsar.services import decision_effects, system_reach, system_secrets, systems
from dsar.services.system_disclosure import DEFAULT_LAW
from dsar.staff import disclosure_forms
from dsar.staff.decision_views import confirm_page, confirmed
from dsar.staff.disclosure_forms import per_law_name
from dsar.staff.forms import ConfirmForm, LogoutForm
from dsar.staff.system_forms import NewSystemForm, SystemForm, config_examples
from dsar.staff.views import ACTORS, actor, bp, roles_required

LABELS_EXAMPLE = (
    '{"places": {"customers": "Your customer account"}, "fields": {"opted_in": {"label": '
    '"Newsletter", "yes": "you receive it", "no": "you do not receive it"}}, "opt_out": '
    '"You will no longer receive our newsletter.", "opt_out_undo": "Subscribe again on our '
    'website."}'
)


def _system_or_404(key: str) -> DataSystem:
    system = systems.get(key)
    if system is None:
        abort(404, f"No data system with key {key}.")
    return system


@bp.get("/systems")
@login_required
def systems_list() -> str:
    return render_template(
        "staff/systems.html",
        systems=systems.all_systems(),
        kind_labels=systems.KIND_LABELS,
        identity_fields=systems.identity_fields,
        connection=systems.connection_summary,
        is_admin=current_user.role is Role.ADMIN,
        can_test=current_user.role in ACTORS,
        confirm_form=ConfirmForm(),
        logout_form=LogoutForm(),
    )


def _error_field(form: SystemForm, name: str) -> tuple[Field, bool]:
    """The form field a service error names ("disclosure.legal_basis.gdpr" is the GDPR box
    of the legal basis), and whether it is one disclosure key's own."""
    if name in ("disclosure", "disclosure.languages"):
        return form.disclosure_languages, False
    if name.startswith("disclosure."):
        key, _, law = name.removeprefix("disclosure.").partition(".")
        own = per_law_name(key, law) if law and law != DEFAULT_LAW else key
        if own in form:
            return form[own], True
    field = getattr(form, name, None)
    return (field if isinstance(field, Field) else form.config), False


def _show_error(form: SystemForm, exc: SystemInvalid) -> None:
    field, own = _error_field(form, exc.field or "config")
    first, _, rest = exc.message.partition(" ")
    if own:  # "disclosure 'purposes': item 2 has ..." beside Purposes reads "Item 2 has ..."
        message = exc.message.partition(": ")[2] or exc.message
    elif first in {k.value for k in SystemKind}:  # "sql system: ..." reads "SQL system: ..."
        message = f"{first.upper()} {rest}"
    else:
        message = exc.message
    message = message[:1].upper() + message[1:]
    field.errors = [*field.errors, message if message.endswith(".") else message + "."]


def _form_page(form: SystemForm, system: DataSystem | None) -> tuple[str, int]:
    advanced = (form.config, form.labels, form.disclosure_languages)
    page = render_template(
        "staff/system_form.html",
        form=form,
        system=system,
        disclosure_order=disclosure_forms.ORDER,
        disclosure_lists=disclosure_forms.LISTS,
        disclosure_texts=disclosure_forms.TEXTS,
        disclosure_hints={k: disclosure_forms.hint(k) for k in disclosure_forms.ORDER},
        # Open where a new system's connection must be given, or where something is wrong.
        advanced_open=system is None or any(f.errors for f in advanced),
        language_codes=", ".join(c for c in i18n.LANGUAGES if c != i18n.DEFAULT),
        matches=systems.identity_fields(system) if system else [],
        known_fields=system_reach.known_fields(
            system_reach.exported(exclude={system.key} if system else ())
        ),
        spreadsheet_folder=system_reach.spreadsheet_folder(),
        examples=config_examples(),
        kind_labels=systems.KIND_LABELS,
        env_var_help=system_secrets.ENV_VAR_HELP,
        current_kind=form.kind.data or SystemKind.SQL.value,
        labels_example=LABELS_EXAMPLE,
        confirm_form=ConfirmForm(),
        logout_form=LogoutForm(),
    )
    return page, 422 if form.errors else 200


@bp.route("/systems/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_system() -> Any:
    form = NewSystemForm(data={"enabled": True, "config": "{}"})
    if form.validate_on_submit():
        try:
            system = systems.create({"key": form.key.data, **form.values()}, actor=actor())
        except SystemInvalid as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            flash(f"{system.name} ({system.key}) is registered.", "info")
            return redirect(url_for("staff.systems_list"))
    return _form_page(form, None)


@bp.route("/systems/<key>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_system(key: str) -> Any:
    system = _system_or_404(key)
    form = SystemForm(data=SystemForm.initial(system))
    if form.validate_on_submit():
        try:
            changed = systems.update(system, form.values(system), actor=actor())
        except SystemInvalid as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            if changed:
                flash(f"{system.name}: saved ({', '.join(changed)} changed).", "info")
            else:
                flash(f"{system.name}: nothing changed.", "info")
            return redirect(url_for("staff.systems_list"))
    return _form_page(form, system)


def _set_enabled(key: str, enabled: bool) -> Any:
    system = _system_or_404(key)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    if not systems.set_enabled(system, enabled, actor=actor()):
        flash(f"{system.name} was already {'enabled' if enabled else 'disabled'}.", "info")
    elif enabled:
        flash(f"{system.name} is enabled: new requests will reach it.", "info")
    else:
        flash(
            f"{system.name} is disabled: new requests will not reach it; "
            "tasks already created run on.",
            "info",
        )
    return redirect(url_for("staff.systems_list"))


@bp.post("/systems/<key>/disable")
@roles_required(Role.ADMIN)
def disable_system(key: str) -> Any:
    system = _system_or_404(key)
    if system.enabled and not confirmed():
        if not ConfirmForm().validate_on_submit():
            abort(400, "The form expired; reload the page and try again.")
        return confirm_page(
            f"Disable {system.name}",
            decision_effects.disable(system, systems.open_tasks(system)),
            "Yes, disable it",
            url_for("staff.disable_system", key=key),
            url_for("staff.systems_list"),
        )
    return _set_enabled(key, False)


@bp.post("/systems/<key>/enable")
@roles_required(Role.ADMIN)
def enable_system(key: str) -> Any:
    return _set_enabled(key, True)


@bp.post("/systems/<key>/test")
@roles_required(*ACTORS)
def check_connection(key: str) -> Any:
    system = _system_or_404(key)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    check = systems.test_connection(system)
    if system.kind is SystemKind.MANUAL:
        flash(check.message, "info")
    elif check.ok:
        flash(f"Connection OK in {check.elapsed:.2f} s: {check.message}", "info")
    else:
        flash(f"Connection failed: {check.message} (after {check.elapsed:.2f} s)", "error")
    if request.form.get("back") == "edit" and current_user.role is Role.ADMIN:
        return redirect(url_for("staff.edit_system", key=key))
    return redirect(url_for("staff.systems_list"))
