"""What the access answer says about a data system (its `disclosure`), checked one way for the
TOML file and the registry pages. `SystemInvalid.field` names the key at fault
("disclosure.purposes", "disclosure.legal_basis.gdpr", "disclosure.languages") so that a
form can show the message beside the field it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dsar import i18n, rules
from dsar.exceptions import SystemInvalid

# What the access answer says about a system (GDPR Art. 15(1)(a)-(h), CCPA 1798.110 and
# 7024(d)): lists of phrases, or one phrase. `withheld` names fields whose values are never
# disclosed, only said to exist (SSN, driver's licence, account numbers, passwords, ...).
DISCLOSURE_LISTS = frozenset(
    {"purposes", "categories", "recipients", "third_countries", "ccpa_categories", "withheld"}
)
DISCLOSURE_TEXTS = frozenset({"retention", "source", "automated_decisions", "legal_basis"})
MAX_PHRASE = 500
DEFAULT_LAW = "default"


def laws() -> list[str]:
    """The keys a per-law table may use: every configured law, then `default`."""
    return [*rules.REGIMES, DEFAULT_LAW]


def _phrase(text: str, key: str, *, item: int = 0, law: str = "") -> str:
    """A phrase, trimmed; refused past MAX_PHRASE characters, naming the item or law."""
    text = text.strip()
    if len(text) > MAX_PHRASE:
        what = f"item {item}" if item else f"the {law} text" if law else "the text"
        raise SystemInvalid(
            f"disclosure '{key}': {what} has {len(text):,} characters; at most {MAX_PHRASE}",
            field=".".join(["disclosure", key, *([law] if law else [])]),
        )
    return text


def _per_law(key: str, item: Any) -> str | dict[str, str]:
    """One phrase, or one per law (`{gdpr = "...", lgpd = "...", default = "..."}`): a legal
    basis that cites the GDPR must not appear in an LGPD letter."""
    if isinstance(item, str):
        return _phrase(item, key)
    if not isinstance(item, dict) or not item or not all(isinstance(v, str) for v in item.values()):
        message = f"disclosure '{key}' must be text, or a table of text per law"
        raise SystemInvalid(message, field=f"disclosure.{key}")
    unknown = sorted(set(item) - set(laws()))
    if unknown:
        message = f"disclosure '{key}': unknown law {unknown[0]!r}; use {', '.join(sorted(laws()))}"
        raise SystemInvalid(message, field=f"disclosure.{key}")
    return {law: _phrase(text, key, law=law) for law, text in item.items()}


def languages(value: Any, check: Callable[..., dict[str, Any]], field: str) -> dict[str, Any]:
    """`languages = { pt_BR = { ... }, fr_CA = { ... } }`: the same words in another shipped
    language, each table checked as the English one (a letter uses them in that language)."""
    codes = sorted(set(i18n.LANGUAGES) - {i18n.DEFAULT})
    where = f"{field}.languages" if field == "disclosure" else field
    if not isinstance(value, dict):
        raise SystemInvalid(f"{field}: 'languages' must be a table per language", field=where)
    for code in value:
        if code not in codes:
            message = f"{field}: unknown language {code!r}; use {', '.join(codes)}"
            raise SystemInvalid(message, field=where)
    clean = {}
    for code, words in value.items():
        try:
            clean[code] = check(words, nested=True)
        except SystemInvalid as exc:
            raise SystemInvalid(f"{exc.message} (in languages.{code})", field=where) from None
    return {code: words for code, words in clean.items() if words}


def check_disclosure(value: Any, *, nested: bool = False) -> dict[str, Any]:
    """The disclosure table, checked: known keys only, phrases of at most 500 characters;
    `languages` gives them in other languages."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SystemInvalid("'disclosure' must be a table of keys", field="disclosure")
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if key == "languages" and not nested:
            clean[key] = languages(item, check_disclosure, "disclosure")
        elif key in DISCLOSURE_LISTS:
            items = [item] if isinstance(item, str) else item
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                message = f"disclosure '{key}' must be a list of text"
                raise SystemInvalid(message, field=f"disclosure.{key}")
            phrases = [_phrase(i, key, item=n) for n, i in enumerate(items, start=1)]
            clean[key] = [p for p in phrases if p]
        elif key in DISCLOSURE_TEXTS:
            clean[key] = _per_law(key, item)
        else:
            known = ", ".join(sorted(DISCLOSURE_LISTS | DISCLOSURE_TEXTS))
            raise SystemInvalid(
                f"disclosure: unknown key {key!r}; known keys: {known}", field="disclosure"
            )
    return clean
