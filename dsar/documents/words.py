"""What the person reads instead of database words: labels, values as words, wrappable text.

A system's registry entry may name its tables and columns for people (`DataSystem.labels`);
anything it does not name gets a humane rendering of the raw name ("shop_customer_id" reads
"Shop customer id"), so no snake_case reaches a letter. Values read as words: a yes/no
column says what yes and no mean, dates read as people write them.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from dsar.i18n import DEFAULT, day
from dsar.models import DataSystem

# Long tokens (a URL, a hash) may break after these; shorter ones, emails included, never do.
BREAK_AFTER = "/.@-_?&=:,;"
LONG_TOKEN = 40
ZWSP = "\u200b"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_FILE_SUFFIX = re.compile(r"\.(csv|json|xlsx?|db|txt)$", re.IGNORECASE)
YES = frozenset({1, "1", "true", "yes", "y", "on"})  # True == 1
NO = frozenset({0, "0", "false", "no", "n", "off"})  # False == 0


# Short words that read as letters: "shop_customer_id" -> "Shop customer ID".
INITIALISMS = {"id", "ssn", "url", "ip", "iban", "bic", "vat", "dob", "pin", "sms", "eu", "uk"}


def humane(name: str) -> str:
    """A raw table or column name as words: "shop_customer_id" -> "Shop customer ID"."""
    text = _FILE_SUFFIX.sub("", str(name))
    text = _CAMEL.sub(" ", text).replace("_", " ").replace("-", " ").replace(".", " ")
    parts = [w.upper() if w.lower() in INITIALISMS else w for w in text.split()]
    text = " ".join(parts)
    return (text[:1].upper() + text[1:]) if text else str(name)


def in_language(table: Any, code: str) -> dict[str, Any]:
    """A registry table (labels or disclosure) with its `languages.<code>` words over the
    default ones: `places` and `fields` merge name by name, other keys replace."""
    if not isinstance(table, dict):
        return {}
    over = (table.get("languages") or {}).get(code)
    if not isinstance(over, dict):
        return table
    merged = {**table, **over}
    for group in ("places", "fields"):
        if isinstance(table.get(group), dict) and isinstance(over.get(group), dict):
            merged[group] = {**table[group], **over[group]}
    return merged


def language() -> str:
    """The code of the language being rendered (a letter renders in the request's)."""
    return str(get_locale() or DEFAULT)


def labels(system: DataSystem) -> dict[str, Any]:
    """The words the registry gives the person for a system, in the current language."""
    return in_language(system.labels, language())


def disclosure(system: DataSystem) -> dict[str, Any]:
    """What the registry says the access letter tells about a system, in the current language."""
    return in_language(system.disclosure, language())


def system_name(system: DataSystem) -> str:
    return labels(system).get("name") or system.name


def system_description(system: DataSystem) -> str:
    return labels(system).get("description") or system.description or ""


def system_owner(system: DataSystem) -> str:
    return labels(system).get("owner") or system.owner or ""


def place_label(system: DataSystem, place: str) -> str:
    return labels(system).get("places", {}).get(place) or humane(place)


def field_label(system: DataSystem, name: str) -> str:
    label = labels(system).get("fields", {}).get(name)
    if isinstance(label, dict):
        return label["label"]
    return label or humane(name)


def _yes_no(system: DataSystem, name: str, value: Any) -> str | None:
    label = labels(system).get("fields", {}).get(name)
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(label, dict) and ("yes" in label or "no" in label):
        if key in YES:
            return label.get("yes") or _("yes")
        if key in NO:
            return label.get("no") or _("no")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return None


def moment(value: str) -> str | None:
    """An ISO date or date-time as people write it; None when it is neither."""
    if _ISO_DATE.match(value):
        try:
            return day(date.fromisoformat(value))
        except ValueError:
            return None
    if _ISO_MOMENT.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return f"{day(parsed)}, {parsed:%H:%M}"
    return None


def value_words(system: DataSystem, name: str, value: Any) -> str:
    """A stored value as the person reads it."""
    words = _yes_no(system, name, value)
    if words is not None:
        return words
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    return moment(text) or text


def wrap_long(text: str) -> str:
    """Let long tokens break at punctuation (or every 40 characters without any), so that a
    table cell never has to split a word inside itself; short words, emails, stay whole."""
    if len(text) <= LONG_TOKEN:
        return text
    out = []
    for token in re.split(r"(\s+)", text):
        if len(token) <= LONG_TOKEN or token.isspace():
            out.append(token)
            continue
        pieces, run = [], 0
        for ch in token:
            pieces.append(ch)
            run += 1
            if ch in BREAK_AFTER or run >= LONG_TOKEN:
                pieces.append(ZWSP)
                run = 0
        out.append("".join(pieces))
    return "".join(out)


def longest_word(text: str) -> int:
    """The longest run of characters a line cannot break inside (after `wrap_long`)."""
    return max((len(w) for w in re.split(rf"[\s{ZWSP}]+", text)), default=0)


def page_counter(pattern: str) -> str:
    """A translated "Page {page} of {pages}" as the CSS `content` of a page's footer."""
    out = []
    for piece in re.split(r"(\{page\}|\{pages\})", str(pattern)):
        if piece in ("{page}", "{pages}"):
            out.append(f"counter({piece[1:-1]})")
        elif piece:
            out.append('"' + re.sub(r'(["\\<>])', lambda m: f"\\{ord(m.group(1)):x} ", piece) + '"')
    return " ".join(out)
