"""Check a system's settings and a call's arguments, and say exactly what is wrong.

Shared by every kind's validation (`sqlspec`, `httpspec`, `CsvConnector.validate`) and by
the actions that take arguments (a correction's changes, a flag's purpose, the purpose of a
flag to lift, a choice). Messages name settings, columns and fields, never the values being
looked for or written.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dsar.connectors.base import (
    CHOICE_KEYS,
    CORRECTABLE_FIELDS,
    FLAG_PURPOSES,
    IDENTIFIER,
    IDENTITY_FIELDS,
    LIFTABLE_PURPOSES,
)
from dsar.exceptions import ConnectorError


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


def check_keys(config: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse settings the connector does not know (a typo would silently do nothing)."""
    allowed = set(allowed)
    for key in config:
        if key not in allowed:
            raise ConnectorError(
                f"{where}: unknown setting {key!r}; known settings: {', '.join(sorted(allowed))}"
            )


def check_field(ident: Any, where: str) -> str:
    """An identity field (email, phone, name) or the name of an identifier (customer_id)."""
    if not isinstance(ident, str) or not IDENTIFIER.match(ident):
        raise ConnectorError(
            f"{where}: identity field {ident!r} must be one of {sorted(IDENTITY_FIELDS)}"
            " or the name of an identifier another system exports (like customer_id)"
        )
    return ident


def check_match(match: Any, where: str) -> dict[str, str]:
    """`match` maps a column to an identity field or identifier: {"email_address": "email"}."""
    if not isinstance(match, dict) or not match:
        raise ConnectorError(f"{where}: 'match' must map columns to identity fields")
    for column, ident in match.items():
        check_identifier(column, where)
        check_field(ident, where)
    return match


def check_exports(exports: Any, where: str, *, paths: bool = False) -> dict[str, str]:
    """`exports` maps an identifier name to the column (or JSON path) holding its values."""
    if not isinstance(exports, dict) or not exports:
        raise ConnectorError(f"{where}: 'exports' must map identifier names to columns")
    for name, source in exports.items():
        if not isinstance(name, str) or not IDENTIFIER.match(name) or name in IDENTITY_FIELDS:
            raise ConnectorError(
                f"{where}: exported identifier {name!r} must be a plain name other than"
                " email, phone or name"
            )
        if paths:
            if not isinstance(source, str) or not source.strip():
                raise ConnectorError(f"{where}: 'exports.{name}' must be a path like customer.id")
        else:
            check_identifier(source, where)
    return exports


def check_correct(mapping: Any, where: str, *, plain: bool = True) -> dict[str, str]:
    """`correct` maps a column to the person's detail it holds: {"first_name": "given_name"}.

    A database's columns must be `plain` identifiers; a spreadsheet's may be any header.
    """
    if not isinstance(mapping, dict) or not mapping:
        raise ConnectorError(f"{where}: 'correct' must map columns to fields")
    for column, field_name in mapping.items():
        if plain:
            check_identifier(column, where)
        elif not isinstance(column, str) or not column.strip() or len(column) > 200:
            raise ConnectorError(f"{where}: correct: {column!r} is not a column header")
        if field_name not in CORRECTABLE_FIELDS:
            raise ConnectorError(
                f"{where}: correct.{column} = {field_name!r} is not a field; use one of "
                f"{', '.join(CORRECTABLE_FIELDS)}"
            )
    return mapping


def check_changes(changes: Mapping[str, str]) -> None:
    """A correction's changes: known fields with text values, at least one (values unsaid)."""
    if not changes:
        raise ConnectorError("a correction needs at least one change")
    for name, value in changes.items():
        if name not in CORRECTABLE_FIELDS:
            raise ConnectorError(
                f"{name!r} is not a field a correction can change; use one of "
                f"{', '.join(CORRECTABLE_FIELDS)}"
            )
        if not isinstance(value, str) or not value.strip():
            raise ConnectorError(f"the new {name} must be non-empty text")


def check_purpose(purpose: str) -> None:
    if purpose not in FLAG_PURPOSES:
        raise ConnectorError(f"unknown flag {purpose!r}; use one of {', '.join(FLAG_PURPOSES)}")


def check_liftable(purpose: str) -> None:
    """Only a restriction or an objection can be lifted (an opt-out is undone by the person)."""
    if purpose not in LIFTABLE_PURPOSES:
        raise ConnectorError(
            f"cannot lift {purpose!r}: only {' or '.join(LIFTABLE_PURPOSES)} can be lifted"
        )


def check_choice(choice: str) -> None:
    """A choice of the preference centre (CHOICE_KEYS)."""
    if choice not in CHOICE_KEYS:
        raise ConnectorError(f"unknown choice {choice!r}; use one of {', '.join(CHOICE_KEYS)}")


# The two sides of a choice's settings, and what each says.
SIDES = {"out": "how opting out changes the data", "in": "how opting back in changes the data"}


def choice_settings(config: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`choices`: a table of known choices (CHOICE_KEYS), each with its settings; {} when
    absent. Each kind checks the settings of one choice itself (with `check_sides`)."""
    declared = config.get("choices", {})
    if not isinstance(declared, dict):
        raise ConnectorError(f"{where}: 'choices' must be a table keyed by choice")
    for key in declared:
        if key not in CHOICE_KEYS:
            raise ConnectorError(
                f"{where}: unknown choice {key!r} in 'choices'; known choices: "
                f"{', '.join(CHOICE_KEYS)}"
            )
    return declared


def check_sides(spec: Any, where: str, add: Callable[[str], str]) -> None:
    """A choice's settings say both how to opt out (`out`) and how to opt back in (`in`):
    opting in is exactly as configurable as opting out. `add(side)` words the setting to add."""
    if not isinstance(spec, dict):
        raise ConnectorError(f"{where}: must be a table with 'out' and 'in'")
    for side, what in SIDES.items():
        if side not in spec:
            raise ConnectorError(f"{where}: '{side}' is required ({what}); add {add(side)}")


def no_lift(purpose: str, problem: str, add: str) -> ConnectorError:
    """The error of a flag the system sets while its settings say nothing about lifting it:
    `problem` says what is missing, `add` the setting that would say it."""
    return ConnectorError(
        f"{purpose}: {problem}; add {add} to the system's settings, or lift it in the system"
        " by hand"
    )


def needed(match: Mapping[str, str]) -> frozenset[str]:
    """The identifiers (not email, phone or name) a `match` map compares."""
    return frozenset(v for v in match.values() if v not in IDENTITY_FIELDS)
