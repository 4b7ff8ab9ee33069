"""The person's language: which ones ship, how a page picks one, and how to mark rule texts.

A page of the portal speaks the language the person chose with the switcher (a cookie that
holds only the language's code), else the best match of the browser's Accept-Language, else
English. A system owner's task page speaks the switcher's language, else the one the registry
gives the system (`owner_language`, the language of the owner's emails), else the browser's.
Staff and auditor screens stay in English. Catalogues live in
`translations/<code>/LC_MESSAGES/messages.po` (the legal terms each one uses are in
`translations/<code>/GLOSSARY.md`); `scripts/bootstrap.sh` compiles them, and
tests/test_i18n.py fails on a message left untranslated, fuzzy, or with other placeholders.

Rule texts (a law's summary, a right's label) stay plain English strings in `dsar.rules`,
marked with `N_` so that extraction finds them; pages translate them when they show them.
So do the refusals the services raise: an `N_` template and its values, English in
`str(exc)`, the page's language from `exc.translated()` (dsar.exceptions.Worded). An error
page with no blueprint (a 404, a 405) is the person's unless its path is the company's.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from flask import Flask, g, has_request_context, request

# Code (as Babel names the catalogue) -> the language's name in itself, for the switcher.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr_CA": "Français (Canada)",
    "pt_BR": "Português (Brasil)",
    "es": "Español",
    "de": "Deutsch",
    "tr": "Türkçe",
    "ro": "Română",
    "el": "Ελληνικά",
    "id": "Bahasa Indonesia",
}
DEFAULT = "en"
COOKIE = "dsar_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a year
# Blueprints whose pages speak their reader's language (the person's, a system owner's); the
# others are the company's screens.
PERSON_FACING = frozenset({"portal", "owner"})
# An address no blueprint answers (a 404, a 405) is the person's too, unless it lies under
# the company's screens (staff, auditor, the owner's registry pages), the API or the static files.
COMPANY_PATHS = ("/staff", "/audit", "/owner", "/api", "/static")


def N_(text: str) -> str:  # the customary name of gettext_noop
    """Mark a rule text for translation; it is translated where it is shown."""
    return text


@cache
def names_in_english() -> dict[str, str]:
    """Each shipped language's name in English, for staff screens ("French (Canada)")."""
    from babel import Locale

    return {code: Locale.parse(code).get_display_name("en") for code in LANGUAGES}


def tag(code: str) -> str:
    """The BCP 47 tag of a catalogue code, for `<html lang>`: fr_CA -> fr-CA."""
    return code.replace("_", "-")


def chosen(value: str | None) -> str | None:
    """A language code the person may choose, or None (anything else is ignored)."""
    return value if value in LANGUAGES else None


def best_for_browser() -> str:
    """The shipped language that best matches the browser's Accept-Language, else English."""
    tags = {tag(code): code for code in LANGUAGES}
    match = request.accept_languages.best_match(list(tags))
    if match is None:  # "fr" or "pt" alone: the shipped variant of that language
        for asked, _quality in request.accept_languages:
            primary = asked.split("-")[0].lower()
            found = next((c for t, c in tags.items() if t.split("-")[0].lower() == primary), None)
            if found:
                return found
        return DEFAULT
    return tags[match]


def remember(response: Any, code: str) -> None:
    """Set the switcher's cookie: the language's code and nothing else, for a year."""
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=request.is_secure,
    )


def person_facing() -> bool:
    """Whether the current request is the person's: a portal page, or an address no
    blueprint answers outside the company's paths (its error page)."""
    if request.blueprint is not None:
        return request.blueprint in PERSON_FACING
    return not request.path.startswith(COMPANY_PATHS)


def select_locale() -> str:
    """Flask-Babel's locale selector (outside a request, as in a worker: English; a letter
    in the request's language uses flask_babel.force_locale)."""
    if not has_request_context() or not person_facing():
        return DEFAULT
    picked = chosen(request.cookies.get(COOKIE))
    if request.blueprint == "owner":  # the owner's switcher, then what the registry says
        picked = chosen(request.args.get("lang")) or picked or chosen(g.get("owner_language"))
    return picked or best_for_browser()


def english() -> bool:
    """Whether the current language is English (outside a request too)."""
    from flask_babel import get_locale

    return str(get_locale() or DEFAULT) == DEFAULT


def day(value: date | datetime | None, *, weekday: bool = False) -> str:
    """A date in the current language: "29 November 2026" (English, as the letters always
    wrote it), "29 novembre 2026", "29. November 2026"… With `weekday`, the day's name too."""
    from flask_babel import format_date, get_locale

    if value is None:
        return ""
    if str(get_locale() or DEFAULT) == DEFAULT:
        return value.strftime("%A %-d %B %Y" if weekday else "%-d %B %Y")
    return format_date(value, format="full" if weekday else "long")


def init_app(app: Flask) -> None:
    from flask_babel import get_locale

    from dsar.config import ROOT
    from dsar.extensions import babel

    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )

    app.jinja_env.filters["day"] = day  # {{ request.due_on | day }}
    app.jinja_env.filters["weekday"] = lambda value: day(value, weekday=True)

    @app.context_processor
    def _languages() -> dict[str, object]:
        code = str(get_locale() or DEFAULT)
        return {
            "languages": LANGUAGES,
            "language_names_en": names_in_english(),
            "lang_code": code,
            "lang_tag": tag(code),
        }
