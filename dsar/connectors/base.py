"""The contract every connector keeps: locate, erase, correct, set flags (opt out,
restrict, object, limit), lift a restriction or an objection again, and opt out of or back
in to one of the preference centre's choices, each idempotent.

An `Identity` says who to look for, normalised once so that every system compares alike:
the email trimmed and lower-cased, the phone in E.164. Systems store those normalised values
(the SQL connector compares columns as they are, so that their indexes are used); a phone
column may also hold the usual national or international renderings, which
`Identity.phone_variants()` lists. `extra` carries identifiers other systems found
(`{"customer_id": ("1042",)}`), so that a person found by email in one system is found by id
in another.

A correction names the person's details by CORRECTABLE_FIELDS; each system maps them to its
own columns. A flag is one of FLAG_PURPOSES; each system says which columns it sets. A flag
of LIFTABLE_PURPOSES can be lifted (GDPR Art. 18(3): a restriction is lifted; Art. 21: an
objection is withdrawn); each system says how it clears it. A choice is one of CHOICE_KEYS
(`dsar.rules.choices`); a system that holds it says, under `choices`, both how to opt out of
it and how to opt back in (`declared_choices` lists those it holds). The checks of settings
and arguments live in `checks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import phonenumbers

from dsar.rules import choices, corrections

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
IDENTITY_FIELDS = frozenset({"email", "phone", "name"})
# The person's details a correction may change (the rules' list, in the officer's order);
# a system's `correct` settings map its columns to these.
CORRECTABLE_FIELDS = tuple(f.key for f in corrections.DECIDED)
# The flags a system may set on the person's records, one set of settings each.
FLAG_PURPOSES = ("opt_out", "restriction", "objection", "limit_sensitive")
# What a system says when it has no setting for a purpose (each kind words opt_out its own way).
NOTHING_TO_FLAG = {
    "restriction": "has no restriction setting; nothing to change",
    "objection": "has no objection setting; nothing to change",
    "limit_sensitive": "has no sensitive-data limit setting; nothing to change",
}
# The flags that can be lifted again, what a system without their settings says, and what
# lifting one did, in words.
LIFTABLE_PURPOSES = ("restriction", "objection")
NOTHING_TO_LIFT = {
    "restriction": "has no restriction setting; nothing to lift",
    "objection": "has no objection setting; nothing to lift",
}
LIFTED = {"restriction": "restriction lifted", "objection": "objection withdrawn"}
NOTHING_CORRECTABLE = "no correctable fields configured; nothing changed"
# The choices of the preference centre, in its order, and what a system that does not hold
# one says when asked to change it.
CHOICE_KEYS = choices.KEYS
NOTHING_TO_CHOOSE = {key: f"holds no {key} setting; nothing to change" for key in CHOICE_KEYS}
_FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
)


def parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number `raw` denotes (read as a number of `region` without a +), or None."""
    text = raw.strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def normalise_phone(raw: str, region: str = "US") -> str:
    """`raw` in E.164 (+442079460958), or "" when it is not a phone number."""
    number = parse_phone(raw, region)
    if number is None:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Identity:
    """Who to look for. Values are normalised so that every system compares alike."""

    email: str
    phone: str = ""
    name: str = ""
    extra: Mapping[str, tuple[str, ...]] | None = field(default=None, kw_only=True, hash=False)
    region: str = field(default="US", kw_only=True)
    # The phone as given (trimmed), kept for phone_variants(); never shown or stored.
    given_phone: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw_phone = (self.phone or "").strip()
        object.__setattr__(self, "email", (self.email or "").strip().lower())
        object.__setattr__(self, "name", " ".join((self.name or "").split()))
        object.__setattr__(self, "phone", normalise_phone(raw_phone, self.region))
        object.__setattr__(self, "given_phone", raw_phone if self.phone else "")
        extra = {
            str(k): tuple(dict.fromkeys(str(v).strip() for v in vs if str(v).strip()))
            for k, vs in (self.extra or {}).items()
        }
        object.__setattr__(self, "extra", {k: v for k, v in extra.items() if v})

    def phone_variants(self) -> tuple[str, ...]:
        """The phone in E.164 and its usual renderings, for `IN (...)` on a phone column."""
        if not self.phone:
            return ()
        number = phonenumbers.parse(self.phone)
        found = [phonenumbers.format_number(number, f) for f in _FORMATS]
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        national = "".join(ch for ch in found[2] if ch.isdigit())
        found += [digits, "00" + digits, national, self.given_phone]
        return tuple(dict.fromkeys(v for v in found if v))

    def values(self, field_name: str) -> tuple[str, ...]:
        """The values to match for a field: an identity field, or an identifier in `extra`."""
        if field_name == "phone":
            return self.phone_variants()
        if field_name in ("email", "name"):
            value = getattr(self, field_name)
            return (value,) if value else ()
        return (self.extra or {}).get(field_name, ())

    def value(self, field_name: str) -> str:
        """The first value to match for a field, or ""."""
        found = self.values(field_name)
        return found[0] if found else ""

    def as_body(self, identifiers: Iterable[str] = ()) -> dict[str, Any]:
        """The identity as a JSON object for an HTTP service: set fields and the identifiers."""
        body: dict[str, Any] = {k: getattr(self, k) for k in ("email", "phone", "name")}
        body = {k: v for k, v in body.items() if v}
        for name in identifiers:
            if self.values(name):
                body[name] = list(self.values(name))
        return body


@dataclass
class Outcome:
    """What one call did: records per place, counts, identifiers for other systems, what was
    kept under a legal exception and why, and receipts in words (counts and names only)."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    found: int = 0
    erased: int = 0
    retained: int = 0
    receipts: list[str] = field(default_factory=list)
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    kept: list[dict[str, Any]] = field(default_factory=list)
    # A correction: where each field was written, and the asked fields the system lacks.
    changed: list[dict[str, Any]] = field(default_factory=list)
    not_held: list[str] = field(default_factory=list)

    def add_records(self, place: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.records.setdefault(place, []).extend(rows)
            self.found += len(rows)

    def add_identifiers(self, name: str, values: Iterable[Any]) -> None:
        """Remember identifier values (as text) that other systems may match on."""
        known = self.identifiers.setdefault(name, [])
        for value in values:
            text = "" if value is None or isinstance(value, bool) else str(value).strip()
            if text and text not in known:
                known.append(text)
        if not known:
            del self.identifiers[name]

    def keep(self, place: str, count: int, reason: str, citation: str) -> None:
        """Count `count` records of `place` as retained under an exception."""
        if count:
            self.kept.append(
                {"place": place, "count": count, "reason": reason, "citation": citation}
            )
            self.retained += count

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "found": self.found,
            "erased": self.erased,
            "retained": self.retained,
            "receipts": self.receipts,
            "identifiers": self.identifiers,
            "kept": self.kept,
            "changed": self.changed,
            "not_held": self.not_held,
        }

    def change(self, place: str, field_name: str, column: str, count: int) -> None:
        """Record that `count` records of `place` now hold the new `field_name` value."""
        self.changed.append({"place": place, "field": field_name, "column": column, "count": count})
        self.receipts.append(f"{place}: {field_name} changed on {count} row(s)")

    def lacks(self, changes: Iterable[str], held: Iterable[str]) -> None:
        """Note the asked fields the system keeps nowhere (all of them when it maps none)."""
        held = set(held)
        self.not_held = [name for name in changes if name not in held]
        if not held:
            self.receipts.append(NOTHING_CORRECTABLE)
            return
        self.receipts += [f"holds no {name}; nothing to change" for name in self.not_held]


def declared_choices(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The choices a system's settings declare under `choices`, in CHOICE_KEYS order; () for
    any other config (a manual system's, one without `choices`). Unknown keys are not listed:
    validation refuses them."""
    declared = config.get("choices") if isinstance(config, Mapping) else None
    if not isinstance(declared, Mapping):
        return ()
    return tuple(key for key in CHOICE_KEYS if declared.get(key))


class Connector(Protocol):
    def locate(self, identity: Identity) -> Outcome: ...

    def erase(self, identity: Identity) -> Outcome: ...

    def opt_out(self, identity: Identity) -> Outcome: ...

    def flag(self, identity: Identity, purpose: str) -> Outcome:
        """Set the settings of `purpose` (one of FLAG_PURPOSES) on the person's records."""
        ...

    def lift(self, identity: Identity, purpose: str) -> Outcome:
        """Clear the flag of `purpose` (one of LIFTABLE_PURPOSES) from the person's records,
        as the system's settings say; ConnectorError when they set it but say not how."""
        ...

    def choose(self, identity: Identity, choice: str, opted_in: bool) -> Outcome:
        """Opt the person out of (`opted_in` False) or back in to (True) `choice` (one of
        CHOICE_KEYS) as the system's `choices` settings say; a system that does not declare
        the choice changes nothing and says so (NOTHING_TO_CHOOSE); an unknown choice is a
        ConnectorError. Running it again changes nothing more."""
        ...

    def correct(self, identity: Identity, changes: Mapping[str, str]) -> Outcome:
        """Write `changes` (a CORRECTABLE_FIELDS name -> its new, normalised value) into the
        person's records, found by `identity` (the old values); fill `changed`/`not_held`."""
        ...

    def test(self) -> Outcome: ...
