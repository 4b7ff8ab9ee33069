"""The text the staff search reads: one folded line per request, and the words of a query.

A request's reference, name, email and phone are folded (lower case, accents removed, "ß" as
"ss") into one line with a space before each word; the reference and phone also as digits.
The databases index that line by trigrams (SQLite FTS5, PostgreSQL pg_trgm: migration 0022),
so any part of three characters or more is found through the index, and a two-character word
("Li", "Wu") is found at the start of a word: the space before it makes the third character.

The same folding runs on the query, so "José", "JOSE" and "jose" find the same requests.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 6
MIN_LENGTH = 2
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./-]*")
_SPACES = re.compile(r"\s+")

TOO_SHORT = "Type at least two letters or digits to search."
TOO_MANY = f"Search with at most {MAX_WORDS} words."


def fold(text: str) -> str:
    """Lower case, without accents or other marks, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip()


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def line(reference: str | None, name: str, email: str, phone: str) -> str:
    """What a request is found by, as the search column stores it."""
    parts = [fold(reference or ""), fold(name or ""), fold(email or ""), fold(phone or "")]
    # Digits alone too, so "+1 (555) 013-4" and "2026-000002" find them however typed.
    parts += [d for d in (digits(reference or ""), digits(phone or "")) if d]
    words = " ".join(p for p in parts if p).split(" ")
    return "".join(f" {w}" for w in words if w) + (" " if any(words) else "")


class QueryRefused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def words(query: str) -> list[str]:
    """The query's words, folded, each matched on its own (all must match). A word of two
    characters is matched at the start of a word (it is returned with its leading space);
    a query of digits and phone punctuation is matched by its digits alone."""
    text = query.strip()
    if _PHONE_LIKE.fullmatch(text) and len(digits(text)) >= 5:
        found = [digits(text)]
    else:
        found = [w for w in fold(text).split(" ") if w]
    if not found or all(len(w) < MIN_LENGTH for w in found):
        raise QueryRefused(TOO_SHORT)
    if len(found) > MAX_WORDS:
        raise QueryRefused(TOO_MANY)
    # One letter alone finds half the queue: such words are left out when others remain.
    kept = [w for w in found if len(w) >= MIN_LENGTH]
    return [f" {w}" if len(w) < 3 else w for w in kept]
