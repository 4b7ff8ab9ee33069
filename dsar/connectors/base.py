"""The contract every connector keeps: locate, erase and opt out, each idempotent."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dsar.exceptions import ConnectorError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
IDENTITY_FIELDS = frozenset({"email", "phone", "name"})


@dataclass(frozen=True)
class Identity:
    """Who to look for. Values are normalised so that every system compares alike."""

    email: str
    phone: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip().lower())
        object.__setattr__(self, "phone", self.phone.strip())
        object.__setattr__(self, "name", self.name.strip())

    def value(self, field_name: str) -> str:
        return getattr(self, field_name)


@dataclass
class Outcome:
    """What one call did: records per table or endpoint, counts, and receipts in words."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    found: int = 0
    erased: int = 0
    retained: int = 0
    receipts: list[str] = field(default_factory=list)

    def add_records(self, place: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.records.setdefault(place, []).extend(rows)
            self.found += len(rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "found": self.found,
            "erased": self.erased,
            "retained": self.retained,
            "receipts": self.receipts,
        }


class Connector(Protocol):
    def locate(self, identity: Identity) -> Outcome: ...

    def erase(self, identity: Identity) -> Outcome: ...

    def opt_out(self, identity: Identity) -> Outcome: ...

    def test(self) -> Outcome: ...


def expand(value: str, settings: Mapping[str, str]) -> str:
    """Fill `${DSAR_...}` placeholders from dsar's settings; refuse unknown names."""
    try:
        return string.Template(value).substitute(settings)
    except (KeyError, ValueError) as exc:
        raise ConnectorError(f"unknown placeholder {exc} in the system's configuration") from None


def require(config: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = config.get(key)
    if not isinstance(value, kind) or (isinstance(value, str | list | dict) and not value):
        raise ConnectorError(f"{where}: '{key}' is required ({kind.__name__})")
    return value


def check_identifier(name: Any, where: str) -> str:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ConnectorError(f"{where}: {name!r} is not a plain column or table name")
    return name


def check_match(match: Any, where: str) -> dict[str, str]:
    """`match` maps a column to an identity field: {"email_address": "email"}."""
    if not isinstance(match, dict) or not match:
        raise ConnectorError(f"{where}: 'match' must map columns to identity fields")
    for column, ident in match.items():
        check_identifier(column, where)
        if ident not in IDENTITY_FIELDS:
            raise ConnectorError(
                f"{where}: identity field {ident!r} must be one of {sorted(IDENTITY_FIELDS)}"
            )
    return match
