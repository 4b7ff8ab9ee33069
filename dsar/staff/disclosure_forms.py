"""The disclosure part of the data system form: one field per key the access answer reads
(dsar.services.system_disclosure), lists as one item a line, texts with optional wording per
law. The form shapes what was typed into the `disclosure` table; the service checks it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wtforms import Field, TextAreaField
from wtforms.validators import Length

from dsar import rules
from dsar.forms import Form
from dsar.rules import letters
from dsar.services.system_disclosure import DEFAULT_LAW

MAX_BOX = 20_000
# The order of the form: the GDPR letter's, then what only one law or the masking reads.
LISTS = ("purposes", "categories", "recipients", "third_countries", "ccpa_categories", "withheld")
TEXTS = ("legal_basis", "retention", "source", "automated_decisions")
ORDER = (
    "purposes",
    "legal_basis",
    "categories",
    "recipients",
    "third_countries",
    "retention",
    "source",
    "automated_decisions",
    "ccpa_categories",
    "withheld",
)
LABELS = {
    "purposes": "Purposes: why the data is used",
    "legal_basis": "Legal basis",
    "categories": "Categories of personal data",
    "recipients": "Recipients: who receives it",
    "third_countries": "Transfers abroad: countries outside the EEA/UK, and the safeguard",
    "retention": "Retention: how long it is kept",
    "source": "Source: where the data comes from",
    "automated_decisions": "Automated decisions, including profiling",
    "ccpa_categories": "CCPA categories of personal information",
    "withheld": "Withheld fields: values never shown to the person",
}
# What to type, before where it is shown.
GUIDANCE = {
    "purposes": "e.g. Delivering orders.",
    "legal_basis": "e.g. Our contract with you (GDPR Art. 6(1)(b)).",
    "categories": "e.g. Identifiers (name, email, phone).",
    "recipients": "e.g. Parcel carriers.",
    "third_countries": (
        "A country, with the safeguard in brackets, e.g. United States (EU Standard "
        "Contractual Clauses). Leave empty when nothing leaves the EEA/UK."
    ),
    "retention": "e.g. Until 3 years after the last order, then deleted.",
    "source": "e.g. Given by the person when ordering.",
    "automated_decisions": "Write None when there are none; an empty field is not an answer.",
    "ccpa_categories": "As Civ. Code 1798.140(v) names them, e.g. Identifiers.",
    "withheld": (
        "A column or field name, e.g. password_hash: wherever the system holds it, the answer "
        "and its data files say “held — not disclosed” instead of the value."
    ),
}
NOT_STATED = "Left empty, the letter says “not stated by the system owner”."


def per_law_name(key: str, law: str) -> str:
    return f"{key}__{law}"


def _short(regime_key: str) -> str:
    """'European Union (GDPR)' -> 'GDPR'."""
    name = rules.REGIMES[regime_key].name if regime_key in rules.REGIMES else regime_key
    return name[name.find("(") + 1 : name.rfind(")")] if "(" in name else name


def shown_in(key: str) -> str:
    """Where the access answer prints the key, heading by heading, with the laws whose
    letter has it (dsar.rules.letters), so that the hint never drifts from the letters."""
    headings: dict[str, list[str]] = {}
    for regime_key, letter in letters.ACCESS_LETTERS.items():
        for item in letter.items:
            if key in item.fields:
                headings.setdefault(item.heading, []).append(_short(regime_key))
    if not headings:
        return ""
    places = "; ".join(f"“{h}” ({', '.join(laws)})" for h, laws in headings.items())
    return f"Shown in the access answer under {places}, and on the public privacy page."


def hint(key: str) -> str:
    """What to type, where the answer shows it, and what it says when left empty (transfers
    are printed after the recipients: none to print, nothing said)."""
    where = shown_in(key)
    empty = NOT_STATED if where and key != "third_countries" else ""
    return "\n".join(part for part in (GUIDANCE[key], f"{where} {empty}".strip()) if part)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _phrase(text: str | None) -> str:
    return " ".join((text or "").split())


def _box(label: str) -> TextAreaField:
    return TextAreaField(
        label, validators=[Length(max=MAX_BOX, message="Keep this under 20,000 characters.")]
    )


class DisclosureForm(Form):
    """The disclosure fields; SystemForm adds the system's own."""

    disclosure_languages = _box("The same words in other languages (JSON)")

    parsed_languages: dict[str, Any] | None = None

    def rows(self, key: str) -> int:
        """Rows enough to show what the field holds (a line wraps about every 70 characters)."""
        lines = (self[key].data or "").splitlines()
        wanted = sum(1 + len(line) // 70 for line in lines) + 1
        return max(3 if key in LISTS else 2, min(wanted, 14))

    def law_fields(self, key: str) -> list[Field]:
        return [self[per_law_name(key, law)] for law in rules.REGIMES]

    def disclosure(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The typed values as the service takes them. A key left empty is left out, unless
        `base` (what is stored) has it: then it stays, empty, so that an untouched form
        changes nothing."""
        out: dict[str, Any] = {}
        for key in LISTS:
            items = _lines(self[key].data)
            if items or key in base:
                out[key] = items
        for key in TEXTS:
            default = _phrase(self[key].data)
            laws = {law: _phrase(self[per_law_name(key, law)].data) for law in rules.REGIMES}
            laws = {law: text for law, text in laws.items() if text}
            if laws or (default and isinstance(base.get(key), dict)):
                out[key] = {**laws, **({DEFAULT_LAW: default} if default else {})}
            elif default or key in base:
                out[key] = default
        if self.parsed_languages or "languages" in base:
            out["languages"] = self.parsed_languages or {}
        return out

    @staticmethod
    def disclosure_initial(stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """What the fields start with: the stored disclosure, one item a line."""
        stored = stored or {}
        data: dict[str, Any] = {}
        for key in LISTS:
            value = stored.get(key) or []
            data[key] = "\n".join(value if isinstance(value, list) else [str(value)])
        for key in TEXTS:
            value = stored.get(key) or ""
            if isinstance(value, dict):
                data[key] = value.get(DEFAULT_LAW, "")
                for law in rules.REGIMES:
                    data[per_law_name(key, law)] = value.get(law, "")
            else:
                data[key] = str(value)
        languages = stored.get("languages")
        data["disclosure_languages"] = (
            json.dumps(languages, indent=2, ensure_ascii=False) if languages else ""
        )
        return data


for _key in LISTS:
    setattr(DisclosureForm, _key, _box(LABELS[_key] + " (one per line)"))
for _key in TEXTS:
    setattr(DisclosureForm, _key, _box(LABELS[_key]))
    for _law, _regime in rules.REGIMES.items():
        setattr(DisclosureForm, per_law_name(_key, _law), _box(_regime.name))
