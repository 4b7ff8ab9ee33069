"""Check what people and programs send, one way for every door: forms, API bodies, queries.

Text: no lone surrogates (they cannot be stored as UTF-8), no NUL or other control
characters (PostgreSQL refuses NUL; the others hide text from whoever reads it), newlines
only where a field is multi-line, and a required field is not satisfied by spaces or
invisible characters alone. JSON: bounded size and depth, no duplicate keys, no numbers
past what a field can hold. Numbers in URLs and forms: ASCII digits within a 64-bit id.

Every refusal is an `InputRefused` with a message for the person who sent it: English in
`message`, the person's language from `translated()` (dsar.exceptions.Worded). The messages a
person can meet on a form are marked with `N_`; those only the API and staff screens show
(ids, counts, JSON bodies) stay plain English.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from dsar.exceptions import Worded
from dsar.i18n import N_

# Ids are 64-bit signed integers in both databases; a bigger number cannot name a row.
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")

# Characters a trim removes besides whitespace: a byte-order mark or a zero-width space is
# invisible, so a name made of them is as blank as one made of spaces.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u180e"
_EDGES = re.compile(rf"^[\s{_INVISIBLE}]+|[\s{_INVISIBLE}]+$")
_LINE_BREAKS = "\n\r\u2028\u2029\x85\x0b\x0c"

NOT_TEXT = N_("Type this as text: a file cannot be sent in this field.")
BROKEN = N_(
    "This contains characters that are not valid text (perhaps half of an emoji). "
    "Retype it and send it again."
)
CONTROL = N_("This contains invisible control characters. Retype it without them.")
ONE_LINE = N_("Keep this on one line.")
BLANK = N_("This cannot be left blank.")


# The fields of a request, one set of limits for the form, the API and the intake service.
LIMITS = {"name": 200, "email": 254, "phone": 40, "country": 100, "details": 5000}
PHONE_PATTERN = r"^\+?[0-9 ()./-]{5,40}$"
PHONE_MESSAGE = N_("Use digits, spaces and + ( ) - . / only, e.g. +44 20 7946 0958.")
PHONE_DIGITS = N_("A phone number has 5 to 20 digits, e.g. +44 20 7946 0958.")
_PHONE = re.compile(PHONE_PATTERN)


class InputRefused(Worded, ValueError):
    """What was sent cannot be accepted; `message` says why, in plain words (`translated()`:
    in the current language); `params`: the template's values by name."""

    def __init__(self, message: str, *, status: int = 400, **params: Any) -> None:
        super().__init__(self._word(message, params))
        self.status = status


def problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    for ch in value:
        if ch in "\n\t" and multiline:
            continue
        if "\ud800" <= ch <= "\udfff":
            return BROKEN
        if ch in _LINE_BREAKS:
            if multiline and ch == "\r":
                continue
            return CONTROL if multiline else ONE_LINE
        category = unicodedata.category(ch)
        if category == "Cc":
            return CONTROL
        if category == "Cn" and _noncharacter(ch):
            return BROKEN
    return None


def _noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def trim(value: str) -> str:
    """Strip whitespace and invisible characters from both ends."""
    return _EDGES.sub("", value)


def clean(value: Any, *, multiline: bool = False, required: str | None = None) -> str:
    """The text to store: trimmed, newlines as \\n; or `InputRefused` saying what is wrong.

    `required`: the message when nothing but blanks was given (None: may be empty).
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputRefused(NOT_TEXT, status=422)
    why = problem(value, multiline=multiline)
    if why is not None:
        raise InputRefused(why, status=422)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = trim(value)
    if required is not None and not value:
        raise InputRefused(required, status=422)
    return value


def is_clean(value: Any, *, multiline: bool = False) -> bool:
    """Whether a stored value is text `clean` would have let through unchanged."""
    if not isinstance(value, str):
        return False
    if problem(value, multiline=multiline) is not None:
        return False
    return trim(value) == value


def phone_problem(value: str) -> str | None:
    """Why `value` is not a phone number a person could have typed, or None."""
    if not _PHONE.fullmatch(value):
        return PHONE_MESSAGE
    if not 5 <= sum(ch.isdigit() for ch in value) <= 20:
        return PHONE_DIGITS
    return None


# -- numbers --------------------------------------------------------------------------------


def parse_id(raw: Any, *, what: str = "number") -> int:
    """A row id from a form or a query string: ASCII digits, 1 to MAX_ID; else 400."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        raise InputRefused(f"The {what} must be a whole number like 12; nothing was changed.")
    return int(text)


def parse_count(raw: Any, *, maximum: int, what: str = "number") -> int:
    """A small non-negative number (days, a count): ASCII digits up to `maximum`; else 400."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text) or int(text) > maximum:
        raise InputRefused(f"The {what} must be a whole number from 0 to {maximum:,}.")
    return int(text)


# -- JSON -----------------------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
MAX_NUMBER_DIGITS = 18


def _depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without parsing (strings skipped)."""
    deepest = depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InputRefused(f"The key {key!r} appears twice in one object; send it once.")
        if problem(key) is not None:
            raise InputRefused("A key of the JSON body is not valid text.")
        seen[key] = value
    return seen


def _number(text: str) -> int | float:
    if len(text.lstrip("-").split(".")[0].split("e")[0].split("E")[0]) > MAX_NUMBER_DIGITS:
        raise InputRefused(f"Numbers may have at most {MAX_NUMBER_DIGITS} digits.")
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise InputRefused("Numbers must be finite.")
    return value


def _constant(name: str) -> Any:
    raise InputRefused(f"{name} is not a JSON number.")


def load_json(raw: bytes | str, *, max_bytes: int, max_depth: int, what: str = "The body") -> Any:
    """Parse JSON strictly; `InputRefused` (400, or 413 when too large) otherwise.

    `what` names the JSON in the messages ("The body", "This JSON text").
    """
    if len(raw) > max_bytes:
        raise InputRefused(f"{what} is larger than {max_bytes:,} bytes.", status=413)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputRefused(f"{what} is not UTF-8 text.") from None
    if _depth(raw) > max_depth:
        raise InputRefused(f"{what} nests arrays and objects more than {max_depth} deep.")
    try:
        return json.loads(
            raw,
            object_pairs_hook=_no_duplicates,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        message = f"Not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}."
        raise InputRefused(message) from None
    except RecursionError:  # the depth check above should make this unreachable
        raise InputRefused(f"{what} nests too deeply.") from None
