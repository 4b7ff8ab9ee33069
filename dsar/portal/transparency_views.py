"""The transparency page: what the company holds, in which kinds of systems, why, on which
legal basis, for how long, who receives it and what goes abroad; made from the registry
(dsar.services.transparency), in the reader's language where the registry gives it."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template
from flask_babel import gettext

from dsar import rules
from dsar.documents.words import in_language, language
from dsar.i18n import N_
from dsar.models import NoticeVersion
from dsar.portal.views import bp
from dsar.services import transparency

# The kind of system, as a reader would say it.
KINDS = {
    "sql": N_("A database"),
    "http": N_("An online service"),
    "csv": N_("A spreadsheet"),
    "manual": N_("Records kept by hand (for example on paper)"),
}
# The disclosure's keys, in the order the page shows them.
LISTS = ("categories", "purposes", "recipients", "third_countries", "ccpa_categories")
TEXTS = ("legal_basis", "retention", "source", "automated_decisions")


def _per_law(value: Any) -> list[tuple[str, str]]:
    """A phrase, or one per law: [("", text)] or [(law's name, text), ...], default first."""
    if isinstance(value, str):
        return [("", value)] if value.strip() else []
    if not isinstance(value, dict):
        return []
    out = [("", value["default"])] if value.get("default") else []
    for key, regime in rules.REGIMES.items():
        if value.get(key):
            out.append((gettext(regime.name), value[key]))
    return out


def _system(entry: dict[str, Any], code: str) -> dict[str, Any]:
    words = in_language(entry.get("labels") or {}, code)
    disclosure = in_language(entry.get("disclosure") or {}, code)
    return {
        "key": entry["key"],
        "name": words.get("name") or entry["name"],
        "description": words.get("description") or entry.get("description", ""),
        "kind": gettext(KINDS[entry["kind"]]) if entry.get("kind") in KINDS else "",
        **{k: [str(i) for i in disclosure.get(k) or []] for k in LISTS},
        **{k: _per_law(disclosure.get(k)) for k in TEXTS},
    }


def _union(systems: list[dict[str, Any]], key: str) -> list[str]:
    seen: dict[str, None] = {}
    for s in systems:
        for item in s[key]:
            seen.setdefault(item, None)
    return list(seen)


def _page(shown: NoticeVersion, latest: NoticeVersion) -> str:
    code = language()
    systems = [_system(e, code) for e in shown.content.get("systems", [])]
    newer = transparency.version(shown.number + 1)
    return render_template(
        "portal/transparency.html",
        version=shown,
        latest=latest,
        replaced_on=newer.published_at if newer else None,
        systems=systems,
        summary={k: _union(systems, k) for k in ("categories", "purposes", "recipients")},
        abroad=_union(systems, "third_countries"),
    )


@bp.get("/privacy")
def transparency_page() -> str:
    current = transparency.current()
    return _page(current, current)


@bp.get("/privacy/versions/<int:number>")
def transparency_version(number: int) -> str:
    latest = transparency.current()
    shown = transparency.version(number)
    if shown is None:
        abort(404, gettext("There is no version %(number)s of this page.", number=number))
    return _page(shown, latest)


@bp.get("/privacy/versions")
def transparency_versions() -> str:
    transparency.current()
    return render_template("portal/transparency_versions.html", versions=transparency.versions())
