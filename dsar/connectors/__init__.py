"""Reach a data system: one module per kind, all keeping the contract in `base`: locate,
erase, correct (CORRECTABLE_FIELDS), flag (FLAG_PURPOSES, opt_out among them), lift a flag
again (LIFTABLE_PURPOSES) and opt out of or back in to a choice (`choose`; the choices a
system's settings declare: `declared_choices`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsar.connectors.base import (
    CORRECTABLE_FIELDS,
    FLAG_PURPOSES,
    LIFTABLE_PURPOSES,
    Connector,
    Identity,
    Outcome,
    declared_choices,
)
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind

__all__ = [
    "CORRECTABLE_FIELDS",
    "FLAG_PURPOSES",
    "LIFTABLE_PURPOSES",
    "Connector",
    "Identity",
    "Outcome",
    "connector_for",
    "declared_choices",
    "dependencies",
    "validate_config",
]

_KINDS: dict[SystemKind, type[SqlConnector] | type[HttpConnector] | type[CsvConnector]] = {
    SystemKind.SQL: SqlConnector,
    SystemKind.HTTP: HttpConnector,
    SystemKind.CSV: CsvConnector,
}


def connector_for(
    kind: SystemKind,
    config: Mapping[str, Any],
    *,
    settings: Mapping[str, str],
    timeout: float,
    secrets: Mapping[str, str] | None = None,
    pseudonym_key: bytes = b"",
) -> Connector:
    """Build the connector for a registered system.

    `settings` fills `${DSAR_...}` in config; `secrets` is where `token_env` names are looked
    up (the environment when None); `pseudonym_key` keys the hash of pseudonymised columns
    (an erasure that pseudonymises refuses to run without one).
    """
    try:
        factory = _KINDS[kind]
    except KeyError:
        raise ConnectorError(f"no automated connector for {kind.value} systems") from None
    return factory(
        config, settings=settings, timeout=timeout, secrets=secrets, pseudonym_key=pseudonym_key
    )


def validate_config(kind: SystemKind, config: Mapping[str, Any]) -> None:
    """Raise ConnectorError naming the first problem in a system's config."""
    factory = _KINDS.get(kind)
    if factory is None:
        raise ConnectorError(f"kind {kind.value!r} is not supported yet")
    factory.validate(config)


def dependencies(
    kind: SystemKind, config: Mapping[str, Any]
) -> tuple[frozenset[str], frozenset[str]]:
    """(identifiers the system needs, identifiers it provides) for ordering the fan-out.

    A system that needs `customer_id` runs after the systems that provide it, and gets their
    values in `Identity.extra`. Manual systems need and provide nothing.
    """
    factory = _KINDS.get(kind)
    if factory is None or not isinstance(config, Mapping):
        return frozenset(), frozenset()
    return factory.needs(config), factory.provides(config)
