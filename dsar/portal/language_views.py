"""The language switcher: a cookie that holds only the chosen language's code."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask_babel import gettext

from dsar import i18n
from dsar.portal.views import bp


def _back_to(value: str | None) -> str:
    """Where to go after choosing: a path of ours only (never another site)."""
    ours = value and value.startswith("/") and not value.startswith(("//", "/\\"))
    if ours and len(value) < 2000:
        return value
    return url_for("portal.home")


@bp.get("/language")
def choose_language() -> Any:
    code = i18n.chosen(request.args.get("lang"))
    if code is None:
        abort(400, gettext("Choose one of the languages offered."))
    resp = redirect(_back_to(request.args.get("next")))
    i18n.remember(resp, code)
    return resp
