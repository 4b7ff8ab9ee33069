"""A person's consent ledger, for officers, admins and auditors: every change of their
choices with its source, notice version, audit-chain check and each system's receipt. Looked
up by email address (posted, never in the address) or from a request's page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from dsar.auditor.chain_views import READERS
from dsar.auditor.views import bp
from dsar.rules.choices import BY_KEY
from dsar.services import consent
from dsar.staff.forms import LogoutForm
from dsar.staff.request_views import request_or_404
from dsar.staff.views import roles_required


def _page(email: str | None, problem: str = "", status: int = 200, typed: str = "") -> Any:
    entries = consent.ledger(email) if email else []
    return (
        render_template(
            "auditor/ledger.html",
            email=email,
            entries=entries,
            intact={e.id: consent.intact(e) for e in entries},
            current=consent.current(email) if email else {},
            choices=BY_KEY,
            problem=problem,
            typed=typed,
            logout_form=LogoutForm(),
        ),
        status,
    )


@bp.get("/choices")
@roles_required(*READERS)
def ledger_search() -> Any:
    return _page(None)


@bp.post("/choices")
@roles_required(*READERS)
def ledger_lookup() -> Any:
    typed = request.form.get("email", "")
    try:
        email = consent.normal_email(typed)
    except consent.ChoiceRefused as exc:
        return _page(None, str(exc), 422, typed=typed[:254] if isinstance(typed, str) else "")
    return _page(email)


@bp.get("/choices/request/<reference>")
@roles_required(*READERS)
def request_ledger(reference: str) -> Any:
    return _page(request_or_404(reference).email.lower())
