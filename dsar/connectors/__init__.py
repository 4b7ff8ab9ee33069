"""Reach a data system: one module per kind, all keeping the contract in `base`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dsar.connectors.base import Connector, Identity, Outcome
from dsar.connectors.csvfile import CsvConnector
from dsar.connectors.http import HttpConnector
from dsar.connectors.sql import SqlConnector
from dsar.exceptions import ConnectorError
from dsar.models import SystemKind

__all__ = ["Connector", "Identity", "Outcome", "connector_for", "validate_config"]

_KINDS: dict[SystemKind, Callable[..., Connector]] = {
    SystemKind.SQL: SqlConnector,
    SystemKind.HTTP: HttpConnector,
    SystemKind.CSV: CsvConnector,
}


def connector_for(
    kind: SystemKind, config: Mapping[str, Any], *, settings: Mapping[str, str], timeout: float
) -> Connector:
    """Build the connector for a registered system; `settings` fills `${DSAR_...}` in config."""
    try:
        factory = _KINDS[kind]
    except KeyError:
        raise ConnectorError(f"no automated connector for {kind.value} systems") from None
    return factory(config, settings=settings, timeout=timeout)


def validate_config(kind: SystemKind, config: Mapping[str, Any]) -> None:
    """Raise ConnectorError naming the first problem in a system's config."""
    factory = _KINDS.get(kind)
    if factory is None:
        raise ConnectorError(f"kind {kind.value!r} is not supported yet")
    factory.validate(config)  # type: ignore[attr-defined]
